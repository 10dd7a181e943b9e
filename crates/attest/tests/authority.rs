use std::collections::BTreeMap;
use std::sync::Arc;

use omnitide_attest::authority::{verify_bundle, LogTail};
use omnitide_attest::log::{AuditLog, MemLog};
use omnitide_attest::verify::verify_rotation;
use omnitide_attest::*;
use serde_json::{json, Value};

const T1: &str = "https://slsa.dev/provenance/v1";
const T2: &str = "https://example.com/test-result/v1";

fn mem_authority() -> (tempfile::TempDir, Authority, Arc<MemLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(MemLog::new("test"));
    let a = Authority::open(dir.path(), OpenOptions { log: Some(log.clone()), insecure_plaintext: true, ..Default::default() }).unwrap();
    (dir, a, log)
}

fn subject(name: &str) -> Subject {
    Subject { name: name.into(), digest: [("sha256".to_string(), hex::encode(blake3::hash(name.as_bytes()).as_bytes()))].into() }
}

fn req(signer: &str, name: &str, ptype: &str) -> IssueRequest {
    IssueRequest {
        signer: signer.into(),
        subjects: vec![subject(name)],
        predicate_type: ptype.into(),
        predicate: json!({"ok": true}),
        expires_at: None,
        issued_at: None,
    }
}

fn roots(a: &Authority, names: &[&str]) -> TrustRoot {
    let keys: Vec<[u8; 32]> = names.iter().map(|n| a.export_public_key(n).unwrap()).collect();
    TrustRoot::from_keys(&keys, 1).unwrap()
}

fn now() -> i64 {
    now_ms()
}

fn check(env: &[u8], o: &VerifyOptions) -> Verification {
    verify(env, o).unwrap()
}

fn reason(v: &Verification) -> &'static str {
    v.reason.map(|r| r.as_str()).unwrap_or("valid")
}

#[test]
fn issue_and_verify_round_trip() {
    let (_d, a, log) = mem_authority();
    let info = a.create_key("root").unwrap();
    assert_eq!(info.keyid, keyid(&info.public_key));
    let r = roots(&a, &["root"]);
    let iss = a.issue(&req("root", "pkg/a", T1)).unwrap();
    assert_eq!(iss.log_index, 0);
    assert_eq!(log.size().unwrap(), 1);
    let v = check(&iss.envelope, &VerifyOptions::new(&r, now()));
    assert!(v.valid, "{v:?}");
    assert_eq!(v.id.as_deref(), Some(iss.id.as_str()));
    assert_eq!(v.signers, vec![info.keyid.clone()]);
    assert!(v.chain.is_empty());
    assert_eq!(v.predicate_type.as_deref(), Some(T1));
    // The payload is an in-toto Statement v1 in RFC 8785 form.
    let env: Value = serde_json::from_slice(&iss.envelope).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(env["signatures"][0]["keyid"], info.keyid.as_str());
    let payload = json::unb64(env["payload"].as_str().unwrap()).unwrap();
    let st: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], T1);
    assert_eq!(json::canonical(&st).unwrap(), payload);
    // The audit entry is canonical JSON recording exactly this envelope.
    let entry = log.read_from(0, 1).unwrap().pop().unwrap();
    let ev: Value = serde_json::from_slice(&entry).unwrap();
    assert_eq!(json::canonical(&ev).unwrap(), entry);
    assert_eq!(ev["kind"], "issue");
    assert_eq!(ev["id"], iss.id.as_str());
    assert_eq!(json::canonical(&ev["envelope"]).unwrap(), iss.envelope);
}

#[test]
fn reserialized_envelope_stays_valid_and_foreign_payload_verifies_over_received_bytes() {
    let (_d, a, _) = mem_authority();
    a.create_key("root").unwrap();
    let r = roots(&a, &["root"]);
    let iss = a.issue(&req("root", "x", T1)).unwrap();
    let v: Value = serde_json::from_slice(&iss.envelope).unwrap();
    // Pretty printed, keys reordered, URL-safe unpadded Base64.
    let p = json::unb64(v["payload"].as_str().unwrap()).unwrap();
    use base64::Engine;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&p);
    let re = json!({"signatures": v["signatures"], "payload": url, "payloadType": v["payloadType"]});
    let pretty = serde_json::to_vec_pretty(&re).unwrap();
    assert!(check(&pretty, &VerifyOptions::new(&r, now())).valid);
    // DSSE allows signatures without keyid: the (few) known keys are tried.
    let mut nokid = Envelope::parse(&iss.envelope, Limits::default().envelope_limits()).unwrap();
    nokid.signatures[0].keyid = String::new();
    let v = check(&nokid.to_json(), &VerifyOptions::new(&r, now()));
    assert!(v.valid, "{v:?}");
    assert_eq!(v.signers, vec![a.key_info("root").unwrap().keyid]);

    // A payload that is not canonical (as another tool may produce) verifies
    // over its exact bytes; canonicalizing it breaks the signature.
    let foreign = format!(
        "{{ \"predicateType\": \"{T1}\", \"_type\": \"https://in-toto.io/Statement/v1\",\n \"subject\": [{{\"name\": \"x\", \"digest\": {{\"sha256\": \"{}\"}}}}], \"predicate\": {{}} }}",
        "ab".repeat(32)
    );
    let sk_env = sign_raw(&a, "root", foreign.as_bytes());
    assert!(check(&sk_env, &VerifyOptions::new(&r, now())).valid);
    let mut e = Envelope::parse(&sk_env, Limits::default().envelope_limits()).unwrap();
    e.payload = json::canonical(&serde_json::from_slice::<Value>(foreign.as_bytes()).unwrap()).unwrap();
    assert_eq!(reason(&check(&e.to_json(), &VerifyOptions::new(&r, now()))), "bad_signature");
}

/// Signs an arbitrary payload through a cosign of an unsigned envelope is not
/// possible (envelopes need a signature), so build it with the key store's
/// signer via cosign on a placeholder signature.
fn sign_raw(a: &Authority, signer: &str, payload: &[u8]) -> Vec<u8> {
    let placeholder = Envelope {
        payload_type: "application/vnd.in-toto+json".into(),
        payload: payload.to_vec(),
        signatures: vec![Signature { keyid: "placeholder".into(), sig: vec![0; 64] }],
    };
    let signed = a.cosign(&placeholder.to_json(), signer).unwrap();
    let mut e = Envelope::parse(&signed.envelope, Limits::default().envelope_limits()).unwrap();
    e.signatures.retain(|s| s.keyid != "placeholder");
    e.to_json()
}

#[test]
fn tampered_payload_or_signature_is_bad_signature() {
    let (_d, a, _) = mem_authority();
    a.create_key("root").unwrap();
    let r = roots(&a, &["root"]);
    let iss = a.issue(&req("root", "pkg/a", T1)).unwrap();
    let e = Envelope::parse(&iss.envelope, Limits::default().envelope_limits()).unwrap();
    let mut t = e.clone();
    let s = String::from_utf8(t.payload.clone()).unwrap().replace("pkg/a", "pkg/b");
    t.payload = s.into_bytes();
    assert_eq!(reason(&check(&t.to_json(), &VerifyOptions::new(&r, now()))), "bad_signature");
    let mut t = e.clone();
    t.signatures[0].sig[10] ^= 1;
    assert_eq!(reason(&check(&t.to_json(), &VerifyOptions::new(&r, now()))), "bad_signature");
    let mut t = e.clone();
    t.signatures[0].sig.truncate(63);
    assert_eq!(reason(&check(&t.to_json(), &VerifyOptions::new(&r, now()))), "bad_signature");
    let mut t = e;
    t.payload_type = "application/json".into();
    assert_eq!(reason(&check(&t.to_json(), &VerifyOptions::new(&r, now()))), "malformed");
}

#[test]
fn unknown_key_and_malformed() {
    let (_d, a, _) = mem_authority();
    a.create_key("root").unwrap();
    a.create_key("stranger").unwrap();
    let r = roots(&a, &["root"]);
    let iss = a.issue(&req("stranger", "x", T1)).unwrap();
    assert_eq!(reason(&check(&iss.envelope, &VerifyOptions::new(&r, now()))), "unknown_key");
    for bad in [
        &b"not json"[..],
        b"{}",
        b"[]",
        br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"a","sig":"AA=="}]}"#,
    ] {
        let v = check(bad, &VerifyOptions::new(&r, now()));
        assert_eq!(reason(&v), "malformed", "{}", String::from_utf8_lossy(bad));
        assert!(!v.detail.is_empty());
    }
    // Duplicate JSON keys are rejected rather than resolved one way or another.
    let s = String::from_utf8(iss.envelope.clone()).unwrap();
    let dup = s.replacen("{\"payload\"", "{\"payload\":\"e30=\",\"payload\"", 1);
    assert_eq!(reason(&check(dup.as_bytes(), &VerifyOptions::new(&r, now()))), "malformed");
    // Size limit.
    let mut o = VerifyOptions::new(&r, now());
    o.limits.max_envelope_bytes = 100;
    let v = check(&iss.envelope, &o);
    assert_eq!(reason(&v), "malformed");
    assert!(v.detail.contains("exceeds the limit"));
}

#[test]
fn expired_replay_and_clock_skew() {
    let (_d, a, _) = mem_authority();
    a.create_key("root").unwrap();
    let r = roots(&a, &["root"]);
    let t0 = now();
    let mut q = req("root", "x", T1);
    q.issued_at = Some(t0 - 10_000);
    q.expires_at = Some(t0 - 5_000);
    let iss = a.issue(&q).unwrap();
    // Replaying the expired envelope later fails; at a time inside its validity it was fine.
    assert_eq!(reason(&check(&iss.envelope, &VerifyOptions::new(&r, t0))), "expired");
    assert!(check(&iss.envelope, &VerifyOptions::new(&r, t0 - 6_000)).valid);
    let mut o = VerifyOptions::new(&r, t0);
    o.clock_skew_ms = 6_000;
    assert!(check(&iss.envelope, &o).valid);
    // Not yet valid (issued in the future beyond skew).
    assert_eq!(reason(&check(&iss.envelope, &VerifyOptions::new(&r, t0 - 20_000))), "expired");
    // An expired trust root.
    let mut r2 = r.clone();
    r2.expires_at = Some(t0 - 1);
    assert_eq!(reason(&check(&a.issue(&req("root", "y", T1)).unwrap().envelope, &VerifyOptions::new(&r2, t0))), "expired");
    // Programmer errors throw.
    let mut o = VerifyOptions::new(&r, t0);
    o.clock_skew_ms = -1;
    assert!(verify(&iss.envelope, &o).is_err());
    // An undefined role is an answer, not an error (issue 11 item 16).
    let mut o = VerifyOptions::new(&r, t0);
    o.role = Some("nope");
    assert_eq!(reason(&verify(&iss.envelope, &o).unwrap()), "unknown_key");
    // Issuing an already expired attestation is a programmer error.
    let mut q = req("root", "x", T1);
    q.expires_at = Some(t0 - 1);
    assert!(a.issue(&q).is_err());
}

struct Chain {
    d: Vec<Vec<u8>>,
    ids: Vec<String>,
}

fn scope(types: Option<&[&str]>, subjects: Option<&[&str]>, depth: Option<u32>, exp: Option<i64>) -> Scope {
    Scope {
        predicate_types: types.map(|t| t.iter().map(|s| s.to_string()).collect()),
        subjects: subjects.map(|t| t.iter().map(|s| s.to_string()).collect()),
        max_depth: depth,
        expires_at: exp,
    }
}

/// root -> a -> b -> c with the given scopes.
fn chain3(a: &Authority, s1: &Scope, s2: &Scope, s3: &Scope) -> Chain {
    for k in ["root", "a", "b", "c"] {
        if a.key_info(k).is_err() {
            a.create_key(k).unwrap();
        }
    }
    let x = [a.delegate("root", "a", s1).unwrap(), a.delegate("a", "b", s2).unwrap(), a.delegate("b", "c", s3).unwrap()];
    Chain { d: x.iter().map(|i| i.envelope.clone()).collect(), ids: x.iter().map(|i| i.id.clone()).collect() }
}

fn opts<'a>(r: &'a TrustRoot, d: &'a [&'a [u8]]) -> VerifyOptions<'a> {
    let mut o = VerifyOptions::new(r, now());
    o.delegations = d;
    o
}

#[test]
fn three_level_delegation_chain_verifies_offline() {
    let (_d, a, _) = mem_authority();
    let far = now() + 3_600_000;
    let c = chain3(
        &a,
        &scope(Some(&[T1, T2]), Some(&["pkg/**"]), Some(2), Some(far)),
        &scope(Some(&[T1]), Some(&["pkg/a/*"]), Some(1), None),
        &scope(None, None, Some(0), None),
    );
    let r = roots(&a, &["root"]);
    let iss = a.issue(&req("c", "pkg/a/x", T1)).unwrap();
    // Delegations given in any order.
    let ds: Vec<&[u8]> = c.d.iter().rev().map(|v| v.as_slice()).collect();
    let v = check(&iss.envelope, &opts(&r, &ds));
    assert!(v.valid, "{v:?}");
    assert_eq!(v.chain, c.ids);
    assert_eq!(v.signers, vec![a.key_info("c").unwrap().keyid]);
    // Without the chain the key is unknown; with a link missing there is no chain.
    assert_eq!(reason(&check(&iss.envelope, &VerifyOptions::new(&r, now()))), "unknown_key");
    let partial: Vec<&[u8]> = vec![&c.d[0], &c.d[2]];
    assert_eq!(reason(&check(&iss.envelope, &opts(&r, &partial))), "unknown_key");
    // Out of the effective scope: a subject outside the narrowest glob, a type only the top allows.
    let ds: Vec<&[u8]> = c.d.iter().map(|v| v.as_slice()).collect();
    assert_eq!(reason(&check(&a.issue(&req("c", "pkg/b/x", T1)).unwrap().envelope, &opts(&r, &ds))), "out_of_scope");
    assert_eq!(reason(&check(&a.issue(&req("c", "pkg/a/x/y", T1)).unwrap().envelope, &opts(&r, &ds))), "out_of_scope");
    assert_eq!(reason(&check(&a.issue(&req("c", "pkg/a/x", T2)).unwrap().envelope, &opts(&r, &ds))), "out_of_scope");
    // An attestation outliving the delegation.
    let mut q = req("c", "pkg/a/x", T1);
    q.expires_at = Some(far + 1);
    assert_eq!(reason(&check(&a.issue(&q).unwrap().envelope, &opts(&r, &ds))), "out_of_scope");
    // c may not delegate further (maxDepth 0).
    a.create_key("d").unwrap();
    let dd = a.delegate("c", "d", &Scope::default()).unwrap();
    let mut ds2 = ds.clone();
    ds2.push(&dd.envelope);
    let v = check(&a.issue(&req("d", "pkg/a/x", T1)).unwrap().envelope, &opts(&r, &ds2));
    assert_eq!(reason(&v), "out_of_scope");
    assert!(v.detail.contains("maxDepth"), "{}", v.detail);
    // A chain longer than the configured limit is not followed.
    let mut o = opts(&r, &ds);
    o.limits.max_chain_depth = 2;
    assert_eq!(reason(&check(&iss.envelope, &o)), "unknown_key");
    let mut o = opts(&r, &ds);
    o.limits.max_delegations = 2;
    assert_eq!(reason(&check(&iss.envelope, &o)), "malformed");
}

#[test]
fn a_child_that_widens_its_parent_fails() {
    let far = now() + 3_600_000;
    let top = scope(Some(&[T1]), Some(&["pkg/a/**"]), Some(2), Some(far));
    let cases: Vec<(&str, Scope)> = vec![
        ("predicateTypes", scope(Some(&[T1, T2]), None, None, None)),
        ("subjects", scope(None, Some(&["pkg/**"]), None, None)),
        ("subjects", scope(None, Some(&["other/*"]), None, None)),
        ("maxDepth", scope(None, None, Some(2), None)),
        ("outlives", scope(None, None, None, Some(far + 1))),
    ];
    for (what, widened) in cases {
        let (_d, a, _) = mem_authority();
        let c = chain3(&a, &top, &widened, &Scope::default());
        let r = roots(&a, &["root"]);
        let ds: Vec<&[u8]> = c.d.iter().map(|v| v.as_slice()).collect();
        let v = check(&a.issue(&req("c", "pkg/a/x", T1)).unwrap().envelope, &opts(&r, &ds));
        assert_eq!(reason(&v), "out_of_scope", "{what}: {v:?}");
        assert!(v.detail.contains(what) || v.detail.contains("widens"), "{what}: {}", v.detail);
    }
    // Narrowing (and inheriting) is fine.
    let (_d, a, _) = mem_authority();
    let c = chain3(&a, &top, &scope(None, Some(&["pkg/a/x*"]), Some(1), Some(far - 1)), &scope(Some(&[T1]), None, None, None));
    let r = roots(&a, &["root"]);
    let ds: Vec<&[u8]> = c.d.iter().map(|v| v.as_slice()).collect();
    assert!(check(&a.issue(&req("c", "pkg/a/xy", T1)).unwrap().envelope, &opts(&r, &ds)).valid);
}

#[test]
fn expired_or_tampered_delegation() {
    let (_d, a, _) = mem_authority();
    let soon = now() + 60_000;
    let c = chain3(&a, &scope(None, None, None, Some(soon)), &Scope::default(), &Scope::default());
    let r = roots(&a, &["root"]);
    let iss = a.issue(&req("c", "x", T1)).unwrap();
    let ds: Vec<&[u8]> = c.d.iter().map(|v| v.as_slice()).collect();
    assert!(check(&iss.envelope, &opts(&r, &ds)).valid);
    let mut o = opts(&r, &ds);
    o.at_ms = soon + 1;
    assert_eq!(reason(&check(&iss.envelope, &o)), "expired");
    // Tamper with the middle delegation's signature.
    let mut e = Envelope::parse(&c.d[1], Limits::default().envelope_limits()).unwrap();
    e.signatures[0].sig[0] ^= 1;
    let t = e.to_json();
    let ds2: Vec<&[u8]> = vec![&c.d[0], &t, &c.d[2]];
    assert_eq!(reason(&check(&iss.envelope, &opts(&r, &ds2))), "bad_signature");
}

fn role_root(a: &Authority, role: &[&str], k: u32) -> TrustRoot {
    let mut r = roots(a, &["root"]);
    for n in role {
        let pk = a.export_public_key(n).unwrap();
        r.keys.insert(keyid(&pk), pk);
    }
    r.roles.insert("release".into(), Role { keyids: role.iter().map(|n| a.key_info(n).unwrap().keyid).collect(), threshold: k });
    r.validate().unwrap();
    r
}

#[test]
fn threshold_counts_distinct_keys_only() {
    let (_d, a, _) = mem_authority();
    for k in ["root", "k1", "k2", "k3"] {
        a.create_key(k).unwrap();
    }
    let r = role_root(&a, &["k1", "k2", "k3"], 2);
    // Issue first: verifying at a time before the issue time is "not yet valid".
    let one = a.issue(&req("k1", "x", T1)).unwrap();
    let mut o = VerifyOptions::new(&r, now());
    o.role = Some("release");
    let v = check(&one.envelope, &o);
    assert_eq!(reason(&v), "threshold_not_met");
    assert_eq!(v.signers.len(), 1);
    // The same key's signature twice counts once.
    let mut e = Envelope::parse(&one.envelope, Limits::default().envelope_limits()).unwrap();
    e.signatures.push(e.signatures[0].clone());
    assert_eq!(reason(&check(&e.to_json(), &o)), "threshold_not_met");
    // And so does a second signature by the same key under another keyid hint.
    let mut e2 = e.clone();
    e2.signatures[1].keyid = a.key_info("k2").unwrap().keyid;
    assert_eq!(reason(&check(&e2.to_json(), &o)), "threshold_not_met");
    // Two distinct role keys meet it; the ID does not change with cosigning.
    let two = a.cosign(&one.envelope, "k2").unwrap();
    assert_eq!(two.id, one.id);
    let v = check(&two.envelope, &o);
    assert!(v.valid, "{v:?}");
    assert_eq!(v.signers.len(), 2);
    assert!(a.cosign(&two.envelope, "k2").is_err(), "double cosign is refused");
    // A non-role key does not count; without a role the root must sign.
    let other = a.cosign(&one.envelope, "root").unwrap();
    assert_eq!(reason(&check(&other.envelope, &o)), "threshold_not_met");
    assert_eq!(reason(&check(&one.envelope, &VerifyOptions::new(&r, now()))), "unknown_key");
    // Two keys delegated by the same role key count as that one role key.
    a.create_key("d1").unwrap();
    a.create_key("d2").unwrap();
    let x1 = a.delegate("k1", "d1", &Scope::default()).unwrap();
    let x2 = a.delegate("k1", "d2", &Scope::default()).unwrap();
    let e = a.cosign(&a.issue(&req("d1", "x", T1)).unwrap().envelope, "d2").unwrap();
    let ds: Vec<&[u8]> = vec![&x1.envelope, &x2.envelope];
    let mut o2 = VerifyOptions::new(&r, now());
    o2.role = Some("release");
    o2.delegations = &ds;
    let v = check(&e.envelope, &o2);
    assert_eq!(reason(&v), "threshold_not_met", "{v:?}");
    let e3 = a.cosign(&e.envelope, "k3").unwrap();
    assert!(check(&e3.envelope, &o2).valid);
}

#[test]
fn revocation_of_attestation_key_and_delegation() {
    let (_d, a, _) = mem_authority();
    let c = chain3(&a, &Scope::default(), &Scope::default(), &Scope::default());
    let r = roots(&a, &["root"]);
    let ds: Vec<&[u8]> = c.d.iter().map(|v| v.as_slice()).collect();
    let t0 = now();
    let early = {
        let mut q = req("c", "x", T1);
        q.issued_at = Some(t0);
        a.issue(&q).unwrap()
    };
    let late = {
        let mut q = req("c", "y", T1);
        q.issued_at = Some(t0 + 5_000);
        a.issue(&q).unwrap()
    };
    let at = t0 + 10_000;
    let verify_now = |e: &[u8]| {
        let mut o = opts(&r, &ds);
        o.at_ms = at;
        a.verify(e, &o).unwrap()
    };
    assert!(verify_now(&early.envelope).valid && verify_now(&late.envelope).valid);

    // Revoking the attestation itself.
    a.revoke(Target::Attestation(early.id.clone()), "superseded", Some(t0 + 1), "root").unwrap();
    let v = verify_now(&early.envelope);
    assert_eq!(reason(&v), "revoked");
    assert!(v.detail.contains("superseded"));
    assert!(verify_now(&late.envelope).valid);

    // Revoking the middle delegation from t0+1000: things below issued after that fail.
    let (_d2, a2, _) = mem_authority();
    let c2 = chain3(&a2, &Scope::default(), &Scope::default(), &Scope::default());
    let r2 = roots(&a2, &["root"]);
    let ds2: Vec<&[u8]> = c2.d.iter().map(|v| v.as_slice()).collect();
    let iss_at = |t: i64| {
        let mut q = req("c", "x", T1);
        q.issued_at = Some(t);
        a2.issue(&q).unwrap()
    };
    // The delegation b -> c itself was issued before the effective time, so
    // only statements below it issued later are affected.
    let eff = now() + 1_000;
    a2.revoke(Target::Attestation(c2.ids[1].clone()), "compromised team key", Some(eff), "a").unwrap();
    let mut o = opts(&r2, &ds2);
    o.at_ms = t0 + 10_000;
    assert!(a2.verify(&iss_at(eff - 100).envelope, &o).unwrap().valid);
    let v = a2.verify(&iss_at(eff + 100).envelope, &o).unwrap();
    assert_eq!(reason(&v), "revoked");
    assert!(v.detail.contains(&c2.ids[1]), "{}", v.detail);

    // Revoking a key: statements it (or anything below it) issued from T on are revoked.
    let (_d3, a3, _) = mem_authority();
    let c3 = chain3(&a3, &Scope::default(), &Scope::default(), &Scope::default());
    let r3 = roots(&a3, &["root"]);
    let ds3: Vec<&[u8]> = c3.d.iter().map(|v| v.as_slice()).collect();
    let eff = now() + 1_000;
    let iss3 = |t: i64| {
        let mut q = req("c", "x", T1);
        q.issued_at = Some(t);
        a3.issue(&q).unwrap()
    };
    let ok_before = iss3(eff - 10);
    let bad_after = iss3(eff + 10);
    a3.revoke(Target::Key(a3.key_info("a").unwrap().keyid), "lost laptop", Some(eff), "root").unwrap();
    let mut o = opts(&r3, &ds3);
    o.at_ms = eff + 1_000;
    assert!(a3.verify(&ok_before.envelope, &o).unwrap().valid);
    let v = a3.verify(&bad_after.envelope, &o).unwrap();
    assert_eq!(reason(&v), "revoked");
    assert!(v.detail.contains("lost laptop"));
    // Revocation sets are also usable directly, offline.
    let rs = a3.revocations().unwrap();
    assert_eq!(rs.len(), 1);
    let mut o = opts(&r3, &ds3);
    o.at_ms = eff + 1_000;
    o.revocations = Some(&*rs);
    assert_eq!(reason(&verify(&bad_after.envelope, &o).unwrap()), "revoked");
    assert!(a3.revoke(Target::Key("nothex".into()), "x", None, "root").is_err());
}

#[test]
fn verify_many_answers_like_verify() {
    let (_d, a, _) = mem_authority();
    let c = chain3(&a, &scope(None, Some(&["ok/*"]), None, None), &Scope::default(), &Scope::default());
    let r = roots(&a, &["root"]);
    let ds: Vec<&[u8]> = c.d.iter().map(|v| v.as_slice()).collect();
    let mut envs: Vec<Vec<u8>> = Vec::new();
    for i in 0..40 {
        let name = if i % 7 == 3 { format!("bad/{i}") } else { format!("ok/{i}") };
        let mut e = a.issue(&req(if i % 2 == 0 { "c" } else { "root" }, &name, T1)).unwrap().envelope;
        if i % 11 == 5 {
            let n = e.len();
            e[n / 2] ^= 1;
        }
        if i % 13 == 6 {
            let mut x = Envelope::parse(&e, Limits::default().envelope_limits()).unwrap();
            x.signatures[0].sig[3] ^= 0x40;
            e = x.to_json();
        }
        envs.push(e);
    }
    let refs: Vec<&[u8]> = envs.iter().map(|v| v.as_slice()).collect();
    let o = opts(&r, &ds);
    let many = verify_many(&refs, &o).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for (e, m) in refs.iter().zip(&many) {
        let one = verify(e, &o).unwrap();
        assert_eq!(one.valid, m.valid);
        assert_eq!(one.reason, m.reason);
        kinds.insert(reason(m));
    }
    assert!(kinds.contains("valid") && kinds.contains("bad_signature") && kinds.contains("out_of_scope"), "{kinds:?}");
}

#[test]
fn root_rotation_needs_old_and_new_thresholds() {
    let (_d, a, _) = mem_authority();
    for k in ["r1", "r2", "r3", "r4", "r5"] {
        a.create_key(k).unwrap();
    }
    let pk = |n: &str| a.export_public_key(n).unwrap();
    let old = TrustRoot::from_keys(&[pk("r1"), pk("r2"), pk("r3")], 2).unwrap();
    let mut new = TrustRoot::from_keys(&[pk("r3"), pk("r4"), pk("r5")], 2).unwrap();
    new.version = 2;
    let lim = Limits::default();
    let good = a.sign_root(&new, &["r1", "r2", "r4", "r5"]).unwrap();
    assert_eq!(verify_rotation(&old, &good.envelope, &lim).unwrap(), new);
    // r3 is in both sets: it counts for each, so r1 + r3 + r4 is enough too.
    assert!(verify_rotation(&old, &a.sign_root(&new, &["r1", "r3", "r4"]).unwrap().envelope, &lim).is_ok());
    for signers in [&["r1", "r2"][..], &["r4", "r5"], &["r1", "r4", "r5"], &["r1", "r2", "r4"]] {
        let e = a.sign_root(&new, signers).unwrap();
        assert_eq!(verify_rotation(&old, &e.envelope, &lim).unwrap_err().0, Reason::ThresholdNotMet, "{signers:?}");
    }
    let mut skip = new.clone();
    skip.version = 3;
    let e = a.sign_root(&skip, &["r1", "r2", "r3", "r4", "r5"]).unwrap();
    assert_eq!(verify_rotation(&old, &e.envelope, &lim).unwrap_err().0, Reason::OutOfScope);
    // After rotation, attestations by the new root keys verify and r1's do not.
    // (The new root is 2-of-3: its threshold applies without a role, issue 10 item 3.)
    let by_r4 = a.issue(&req("r4", "x", T1)).unwrap();
    assert_eq!(reason(&check(&by_r4.envelope, &VerifyOptions::new(&new, now()))), "threshold_not_met");
    assert!(check(&a.cosign(&by_r4.envelope, "r5").unwrap().envelope, &VerifyOptions::new(&new, now())).valid);
    assert_eq!(reason(&check(&a.issue(&req("r1", "x", T1)).unwrap().envelope, &VerifyOptions::new(&new, now()))), "unknown_key");
    // Trust roots round-trip through JSON.
    assert_eq!(TrustRoot::parse(&new.to_json()).unwrap(), new);
    let mut badr: Value = serde_json::from_slice(&new.to_json()).unwrap();
    badr["roles"]["root"]["threshold"] = json!(4);
    assert!(TrustRoot::parse(&serde_json::to_vec(&badr).unwrap()).is_err());
    let _ = BTreeMap::<u8, u8>::new();
}

#[test]
fn audit_bundle_verifies_offline() {
    let (_d, a, log) = mem_authority();
    a.create_key("root").unwrap();
    let r = roots(&a, &["root"]);
    let mut last = None;
    for i in 0..9 {
        last = Some(a.issue(&req("root", &format!("p{i}"), T1)).unwrap());
    }
    let target = a.issue(&req("root", "target", T1)).unwrap();
    a.issue(&req("root", "after", T1)).unwrap();
    let b = a.audit_bundle(&target.id).unwrap();
    let bytes = b.to_json();
    let lk = log.public_key();
    assert!(verify_bundle(&bytes, Some(&lk), None).unwrap().valid);
    let v = verify_bundle(&bytes, Some(&lk), Some(&VerifyOptions::new(&r, now()))).unwrap();
    assert!(v.valid);
    assert_eq!(v.id.as_deref(), Some(target.id.as_str()));
    let x: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(x["checkpoint"]["text"].as_str().unwrap().starts_with("test\n11\n"), "C2SP signed note");
    // Wrong log key, another envelope, a tampered proof.
    assert_eq!(reason(&verify_bundle(&bytes, Some(&[7u8; 32]), None).unwrap()), "unknown_key");
    let mut x: Value = serde_json::from_slice(&bytes).unwrap();
    x["envelope"] = serde_json::from_slice(&last.unwrap().envelope).unwrap();
    assert_eq!(reason(&verify_bundle(&serde_json::to_vec(&x).unwrap(), Some(&lk), None).unwrap()), "malformed");
    let mut x: Value = serde_json::from_slice(&bytes).unwrap();
    x["inclusionProof"]["index"] = json!(3);
    assert_eq!(reason(&verify_bundle(&serde_json::to_vec(&x).unwrap(), Some(&lk), None).unwrap()), "bad_signature");
    let mut x: Value = serde_json::from_slice(&bytes).unwrap();
    let t = x["checkpoint"]["text"].as_str().unwrap().replacen("\n11\n", "\n5\n", 1);
    x["checkpoint"]["text"] = json!(t);
    assert_eq!(reason(&verify_bundle(&serde_json::to_vec(&x).unwrap(), Some(&lk), None).unwrap()), "bad_signature");
    assert_eq!(reason(&verify_bundle(b"{", Some(&lk), None).unwrap()), "malformed");
    assert!(a.audit_bundle(&"0".repeat(64)).is_err());
}

#[test]
fn nothing_is_reported_issued_when_the_log_append_fails() {
    let (_d, a, log) = mem_authority();
    a.create_key("root").unwrap();
    a.create_key("b").unwrap();
    a.issue(&req("root", "x", T1)).unwrap();
    log.set_failing(true);
    let e = a.issue(&req("root", "y", T1)).unwrap_err();
    assert_eq!(e.code, "ERR_OMNI_IO");
    assert!(a.issue_many(&[req("root", "y", T1), req("root", "z", T1)]).is_err());
    assert!(a.delegate("root", "b", &Scope::default()).is_err());
    assert!(a.revoke(Target::Key("0".repeat(64)), "x", None, "root").is_err());
    assert_eq!(log.size().unwrap(), 1);
    log.set_failing(false);
    let ok = a.issue(&req("root", "y", T1)).unwrap();
    assert_eq!(ok.log_index, 1);
    assert!(a.audit_bundle(&ok.id).is_ok());
}

#[test]
fn file_backed_authority_with_passphrase_reopens_and_tail_sees_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let o = || OpenOptions { passphrase: Some("pw".into()), ..Default::default() };
    let a = Authority::open(dir.path(), o()).unwrap();
    a.create_key("root").unwrap();
    let iss = a.issue(&req("root", "x", T1)).unwrap();
    let r = roots(&a, &["root"]);
    // A verifier reading the same directory (as another process would).
    let mut tail = LogTail::open_dir(dir.path(), std::time::Duration::from_millis(0)).unwrap();
    tail.refresh().unwrap();
    assert!(tail.revocations().is_empty());
    a.revoke(Target::Attestation(iss.id.clone()), "bad build", None, "root").unwrap();
    tail.refresh().unwrap();
    let mut vo = VerifyOptions::new(&r, now() + 1);
    vo.revocations = Some(tail.revocations());
    assert_eq!(reason(&verify(&iss.envelope, &vo).unwrap()), "revoked");
    drop(a);
    assert!(Authority::open(dir.path(), OpenOptions { insecure_plaintext: true, ..Default::default() }).is_err());
    let a = Authority::open(dir.path(), o()).unwrap();
    assert_eq!(a.revocations().unwrap().len(), 1);
    // Bundles from the ledger verify offline against the ledger's checkpoint key.
    let lk = a.log().public_key().unwrap();
    let b = a.audit_bundle(&iss.id).unwrap().to_json();
    assert!(verify_bundle(&b, Some(&lk), None).unwrap().valid);
    // The ledger's checkpoint key is encrypted at rest too.
    let sys = std::fs::read_to_string(dir.path().join("system/audit-log.json")).unwrap();
    assert!(sys.contains("ciphertext") && !sys.contains("plain"));
    let iss2 = a.issue(&req("root", "y", T1)).unwrap();
    assert_eq!(iss2.log_index, 2);
}
