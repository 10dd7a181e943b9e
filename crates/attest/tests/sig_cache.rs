//! The cache of verified delegation signatures: a hit only ever stands for
//! byte-identical (signed bytes, key, signature) that verified before, and
//! every other check (scope, expiry, revocation) still runs on each verify.

use std::sync::Arc;

use omnitide_attest::cache::sig_cache;
use omnitide_attest::log::MemLog;
use omnitide_attest::*;
use serde_json::json;

const T1: &str = "https://slsa.dev/provenance/v1";

fn mem_authority() -> (tempfile::TempDir, Authority) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(MemLog::new("test"));
    let a = Authority::open(dir.path(), OpenOptions { log: Some(log), insecure_plaintext: true, ..Default::default() }).unwrap();
    (dir, a)
}

fn req(signer: &str, name: &str, issued_at: Option<i64>) -> IssueRequest {
    IssueRequest {
        signer: signer.into(),
        subjects: vec![Subject { name: name.into(), digest: [("sha256".to_string(), "ab".repeat(32))].into() }],
        predicate_type: T1.into(),
        predicate: json!({"ok": true}),
        expires_at: None,
        issued_at,
    }
}

fn reason(v: &Verification) -> &'static str {
    v.reason.map(|r| r.as_str()).unwrap_or("valid")
}

/// root -> a -> b -> c; returns (delegation envelopes, delegation ids, roots).
fn chain3(a: &Authority, top: &Scope) -> (Vec<Vec<u8>>, Vec<String>, TrustRoot) {
    for k in ["root", "a", "b", "c"] {
        a.create_key(k).unwrap();
    }
    let x = [
        a.delegate("root", "a", top).unwrap(),
        a.delegate("a", "b", &Scope::default()).unwrap(),
        a.delegate("b", "c", &Scope::default()).unwrap(),
    ];
    let r = TrustRoot::from_keys(&[a.export_public_key("root").unwrap()], 1).unwrap();
    (x.iter().map(|i| i.envelope.clone()).collect(), x.iter().map(|i| i.id.clone()).collect(), r)
}

fn opts<'a>(r: &'a TrustRoot, d: &'a [&'a [u8]], at: i64) -> VerifyOptions<'a> {
    let mut o = VerifyOptions::new(r, at);
    o.delegations = d;
    o
}

/// Flips one bit of one payload byte inside the `nonce` string (stays valid JSON).
fn flip_payload_byte(env: &[u8]) -> Vec<u8> {
    let mut e = Envelope::parse(env, Limits::default().envelope_limits()).unwrap();
    let at = e.payload.windows(9).position(|w| w == b"\"nonce\":\"").expect("delegation has a nonce") + 9;
    e.payload[at] ^= 1;
    e.to_json()
}

fn flip_sig_byte(env: &[u8], i: usize) -> Vec<u8> {
    let mut e = Envelope::parse(env, Limits::default().envelope_limits()).unwrap();
    e.signatures[0].sig[i] ^= 1;
    e.to_json()
}

#[test]
fn a_cache_hit_never_accepts_a_tampered_delegation() {
    let (_d, a) = mem_authority();
    let (d, _, r) = chain3(&a, &Scope::default());
    let iss = a.issue(&req("c", "pkg/x", None)).unwrap();
    let ds: Vec<&[u8]> = d.iter().map(|v| v.as_slice()).collect();
    assert!(verify(&iss.envelope, &opts(&r, &ds, now_ms())).unwrap().valid);
    // Second verify: all three delegation signatures come from the cache.
    let (h0, _) = sig_cache().stats();
    let v = verify(&iss.envelope, &opts(&r, &ds, now_ms())).unwrap();
    assert!(v.valid, "{v:?}");
    assert!(sig_cache().stats().0 >= h0 + 3, "expected cache hits for the three delegations");

    for level in 0..3 {
        for tampered in [flip_payload_byte(&d[level]), flip_sig_byte(&d[level], 0), flip_sig_byte(&d[level], 63)] {
            let mut ds2: Vec<&[u8]> = ds.clone();
            ds2[level] = &tampered;
            // Twice: a failed check must not be remembered as a success either.
            for _ in 0..2 {
                let v = verify(&iss.envelope, &opts(&r, &ds2, now_ms())).unwrap();
                assert_eq!(reason(&v), "bad_signature", "level {level}: {v:?}");
            }
            // verifyMany (batched path) agrees.
            let vs = verify_many(&[&iss.envelope, &iss.envelope], &opts(&r, &ds2, now_ms())).unwrap();
            assert!(vs.iter().all(|v| reason(v) == "bad_signature"), "level {level}: {vs:?}");
        }
    }
    // The untouched chain is still valid (the cache was not poisoned).
    assert!(verify(&iss.envelope, &opts(&r, &ds, now_ms())).unwrap().valid);
}

#[test]
fn a_signature_from_another_key_over_the_same_bytes_is_not_a_hit() {
    // Same delegation bytes, but the trust root holds a different key: the
    // cached success for (bytes, root key, sig) must not carry over.
    let (_d, a) = mem_authority();
    let (d, _, r) = chain3(&a, &Scope::default());
    let iss = a.issue(&req("c", "pkg/x", None)).unwrap();
    let ds: Vec<&[u8]> = d.iter().map(|v| v.as_slice()).collect();
    assert!(verify(&iss.envelope, &opts(&r, &ds, now_ms())).unwrap().valid);
    a.create_key("other").unwrap();
    let mut r2 = TrustRoot::from_keys(&[a.export_public_key("other").unwrap()], 1).unwrap();
    // Pretend "other" is the root by mapping the root's key ID to other's key.
    let root_id = keyid(&a.export_public_key("root").unwrap());
    let other_pk = a.export_public_key("other").unwrap();
    r2.keys.clear();
    r2.keys.insert(root_id.clone(), other_pk);
    r2.roles.get_mut("root").unwrap().keyids = vec![root_id];
    // (validate() would reject this root; verification must still not accept it.)
    let v = verify(&iss.envelope, &opts(&r2, &ds, now_ms())).unwrap();
    assert!(!v.valid, "{v:?}");
    assert_eq!(reason(&v), "bad_signature");
}

#[test]
fn revocation_and_expiry_after_a_cached_verify_are_seen() {
    let (_d, a) = mem_authority();
    let far = now_ms() + 3_600_000;
    let (d, ids, r) = chain3(&a, &Scope { expires_at: Some(far), ..Default::default() });
    let t0 = now_ms();
    let iss = a.issue(&req("c", "pkg/x", Some(t0 + 100))).unwrap();
    let ds: Vec<&[u8]> = d.iter().map(|v| v.as_slice()).collect();
    let at = t0 + 1_000;
    for _ in 0..3 {
        assert!(verify(&iss.envelope, &opts(&r, &ds, at)).unwrap().valid);
    }
    // Expiry of the top delegation still applies with cached signatures.
    assert_eq!(reason(&verify(&iss.envelope, &opts(&r, &ds, far + 1)).unwrap()), "expired");

    // Revoke the middle delegation, effective before the attestation was issued.
    a.revoke(Target::Attestation(ids[1].clone()), "compromised", Some(t0), "a").unwrap();
    let rs = a.revocations().unwrap();
    let mut o = opts(&r, &ds, at);
    o.revocations = Some(&*rs);
    let v = verify(&iss.envelope, &o).unwrap();
    assert_eq!(reason(&v), "revoked", "{v:?}");
    assert!(v.detail.contains(&ids[1]), "{}", v.detail);
    let vs = verify_many(&[&iss.envelope], &o).unwrap();
    assert_eq!(reason(&vs[0]), "revoked");
    // Authority::verify (which loads its own revocations) agrees.
    assert_eq!(reason(&a.verify(&iss.envelope, &opts(&r, &ds, at)).unwrap()), "revoked");

    // Key revocation after cached verifies, on a fresh chain.
    let (_d2, a2) = mem_authority();
    let (d2, _, r2) = chain3(&a2, &Scope::default());
    // Times taken after the chain exists (a loaded machine may take seconds to get here).
    let t1 = now_ms();
    let at = t1 + 1_000;
    let iss2 = a2.issue(&req("c", "pkg/y", Some(t1 + 100))).unwrap();
    let ds2: Vec<&[u8]> = d2.iter().map(|v| v.as_slice()).collect();
    for _ in 0..2 {
        assert!(verify(&iss2.envelope, &opts(&r2, &ds2, at)).unwrap().valid);
    }
    a2.revoke(Target::Key(a2.key_info("b").unwrap().keyid), "lost laptop", Some(t1), "root").unwrap();
    let rs2 = a2.revocations().unwrap();
    let mut o2 = opts(&r2, &ds2, at);
    o2.revocations = Some(&*rs2);
    let v = verify(&iss2.envelope, &o2).unwrap();
    assert_eq!(reason(&v), "revoked");
    assert!(v.detail.contains("lost laptop"), "{}", v.detail);
}

#[test]
fn verification_is_the_same_after_the_cache_is_cleared() {
    let (_d, a) = mem_authority();
    let (d, ids, r) = chain3(&a, &Scope::default());
    let iss = a.issue(&req("c", "pkg/x", None)).unwrap();
    let ds: Vec<&[u8]> = d.iter().map(|v| v.as_slice()).collect();
    let first = verify(&iss.envelope, &opts(&r, &ds, now_ms())).unwrap();
    sig_cache().clear();
    let second = verify(&iss.envelope, &opts(&r, &ds, now_ms())).unwrap();
    assert!(first.valid && second.valid);
    assert_eq!(first, second);
    assert_eq!(second.chain, ids);
    assert!(sig_cache().len() <= omnitide_attest::cache::SIG_CACHE_CAPACITY);
}
