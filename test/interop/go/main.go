// Interop oracle for omnitide's ledger: Go's golang.org/x/mod/sumdb/note
// (C2SP signed notes) and github.com/transparency-dev/merkle (RFC 6962
// proofs) check what omnitide produced, and produce what omnitide checks.
//
// Reads a JSON array of requests on stdin, writes a JSON array of results.
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
)

type request struct {
	Op       string   `json:"op"`
	Note     string   `json:"note,omitempty"`
	Verifier string   `json:"verifier,omitempty"`
	Name     string   `json:"name,omitempty"`
	Text     string   `json:"text,omitempty"`
	Entry    []byte   `json:"entry,omitempty"`
	Entries  [][]byte `json:"entries,omitempty"`
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	Size2    uint64   `json:"size2"`
	Proof    [][]byte `json:"proof,omitempty"`
	Root     []byte   `json:"root,omitempty"`
	Root2    []byte   `json:"root2,omitempty"`
}

type result struct {
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	Text     string   `json:"text,omitempty"`
	Verifier string   `json:"verifier,omitempty"`
	Note     string   `json:"note,omitempty"`
	Root     []byte   `json:"root,omitempty"`
	Root2    []byte   `json:"root2,omitempty"`
	Proof    [][]byte `json:"proof,omitempty"`
}

func fail(err error) result { return result{Error: err.Error()} }

func do(r request) result {
	switch r.Op {
	case "open-note": // verify a signed note (our checkpoint) under a verifier key
		v, err := note.NewVerifier(r.Verifier)
		if err != nil {
			return fail(err)
		}
		n, err := note.Open([]byte(r.Note), note.VerifierList(v))
		if err != nil {
			return fail(err)
		}
		return result{OK: true, Text: n.Text}
	case "sign-note": // a note signed by a fresh Go key
		skey, vkey, err := note.GenerateKey(rand.Reader, r.Name)
		if err != nil {
			return fail(err)
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			return fail(err)
		}
		msg, err := note.Sign(&note.Note{Text: r.Text}, s)
		if err != nil {
			return fail(err)
		}
		return result{OK: true, Verifier: vkey, Note: string(msg)}
	case "verify-inclusion":
		leaf := rfc6962.DefaultHasher.HashLeaf(r.Entry)
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.Index, r.Size, leaf, r.Proof, r.Root); err != nil {
			return fail(err)
		}
		return result{OK: true}
	case "verify-consistency":
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, r.Size, r.Size2, r.Proof, r.Root, r.Root2); err != nil {
			return fail(err)
		}
		return result{OK: true}
	case "prove": // a tree of `entries`: inclusion of `index` in `size`, consistency `size` -> `size2`
		t := testonly.New(rfc6962.DefaultHasher)
		for _, e := range r.Entries {
			t.AppendData(e)
		}
		inc, err := t.InclusionProof(r.Index, r.Size)
		if err != nil {
			return fail(err)
		}
		cons, err := t.ConsistencyProof(r.Size, r.Size2)
		if err != nil {
			return fail(err)
		}
		res := result{OK: true, Root: t.HashAt(r.Size), Root2: t.HashAt(r.Size2), Proof: inc}
		res.Note = ""
		out, _ := json.Marshal(cons)
		res.Text = string(out)
		return res
	}
	return fail(fmt.Errorf("unknown op %q", r.Op))
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(2)
	}
	out := make([]result, len(reqs))
	for i, r := range reqs {
		out[i] = do(r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}
