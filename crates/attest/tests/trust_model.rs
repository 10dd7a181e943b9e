//! Issue 10: the trust-model defects. Each test fails on the code before the fix.

use std::sync::Arc;

use omnitide_attest::authority::{verify_bundle, LogTail};
use omnitide_attest::dsse::pae;
use omnitide_attest::log::MemLog;
use omnitide_attest::*;
use omnitide_crypto::ed25519;
use serde_json::json;

const T1: &str = "https://slsa.dev/provenance/v1";

fn authority() -> (tempfile::TempDir, Authority, Arc<MemLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(MemLog::new("test"));
    let a = Authority::open(dir.path(), OpenOptions { log: Some(log.clone()), insecure_plaintext: true, ..Default::default() }).unwrap();
    (dir, a, log)
}

fn req(signer: &str, name: &str) -> IssueRequest {
    IssueRequest {
        signer: signer.into(),
        subjects: vec![Subject { name: name.into(), digest: [("sha256".to_string(), "ab".repeat(32))].into() }],
        predicate_type: T1.into(),
        predicate: json!({}),
        expires_at: None,
        issued_at: None,
    }
}

fn reason(v: &Verification) -> &'static str {
    v.reason.map(|r| r.as_str()).unwrap_or("valid")
}

fn kid(a: &Authority, n: &str) -> String {
    a.key_info(n).unwrap().keyid
}

fn scope(subjects: &[&str], depth: u32) -> Scope {
    Scope { subjects: Some(subjects.iter().map(|s| s.to_string()).collect()), max_depth: Some(depth), ..Default::default() }
}

#[test]
fn item1_a_narrow_delegate_cannot_revoke_what_it_has_no_authority_over() {
    let (_d, a, _) = authority();
    for k in ["root", "narrow"] {
        a.create_key(k).unwrap();
    }
    let roots = TrustRoot::from_keys(&[a.export_public_key("root").unwrap()], 1).unwrap();
    let d = a.delegate("root", "narrow", &scope(&["pkg:npm/only-this"], 0)).unwrap();
    let ds: Vec<&[u8]> = vec![&d.envelope];
    let by_root = a.issue(&req("root", "pkg:npm/other")).unwrap();
    let past = now_ms() - 60_000;
    a.revoke(Target::Attestation(by_root.id.clone()), "I say so", Some(past), "narrow").unwrap();
    a.revoke(Target::Key(kid(&a, "root")), "I say so", Some(past), "narrow").unwrap();
    let mut o = VerifyOptions::new(&roots, now_ms() + 60_000);
    o.delegations = &ds;
    let v = a.verify(&by_root.envelope, &o).unwrap();
    assert!(v.valid, "an unauthorised revocation must be ignored: {v:?}");
    assert_eq!(v.warnings.len(), 2, "{:?}", v.warnings);
    assert!(v.warnings.iter().all(|w| w.starts_with("ignored revocation") && w.contains(&kid(&a, "narrow"))), "{:?}", v.warnings);
    // Every revocation records who revoked.
    let revs = a.revocations().unwrap();
    assert!(revs.iter().all(|r| r.by == kid(&a, "narrow")) && revs.len() == 2);

    // The delegate may revoke its own attestations; the root anything below it.
    let own = a.issue(&req("narrow", "pkg:npm/only-this")).unwrap();
    let v = a.verify(&own.envelope, &o).unwrap();
    assert!(v.valid, "{v:?}");
    a.revoke(Target::Attestation(own.id.clone()), "mine", Some(past), "narrow").unwrap();
    assert_eq!(reason(&a.verify(&own.envelope, &o).unwrap()), "revoked");
    a.revoke(Target::Attestation(by_root.id.clone()), "bad build", Some(past), "root").unwrap();
    let v = a.verify(&by_root.envelope, &o).unwrap();
    assert_eq!(reason(&v), "revoked");
    assert!(v.detail.contains("bad build") && v.detail.contains(&kid(&a, "root")), "{}", v.detail);
}

#[test]
fn item1_a_root_key_falls_only_to_a_root_threshold() {
    let (_d, a, _) = authority();
    for k in ["r1", "r2", "r3", "leaf"] {
        a.create_key(k).unwrap();
    }
    let pk = |n: &str| a.export_public_key(n).unwrap();
    let roots = TrustRoot::from_keys(&[pk("r1"), pk("r2"), pk("r3")], 2).unwrap();
    let d1 = a.delegate("r1", "leaf", &Scope::default()).unwrap();
    let d2 = a.delegate("r2", "leaf", &Scope::default()).unwrap();
    let ds: Vec<&[u8]> = vec![&d1.envelope, &d2.envelope];
    let iss = a.cosign(&a.issue(&req("r1", "x")).unwrap().envelope, "r2").unwrap();
    let mut o = VerifyOptions::new(&roots, now_ms() + 1);
    o.delegations = &ds;
    assert!(a.verify(&iss.envelope, &o).unwrap().valid);
    let past = now_ms() - 60_000;
    // r1 alone (threshold 2) cannot revoke r1; nor can the delegate below it.
    a.revoke(Target::Key(kid(&a, "r1")), "alone", Some(past), "r1").unwrap();
    a.revoke(Target::Key(kid(&a, "r1")), "from below", Some(past), "leaf").unwrap();
    let v = a.verify(&iss.envelope, &o).unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.warnings.len(), 2, "{:?}", v.warnings);
    // Two root keys can.
    a.revoke_cosigned(Target::Key(kid(&a, "r1")), "compromised", Some(past), "r2", &["r3"]).unwrap();
    let v = a.verify(&iss.envelope, &o).unwrap();
    assert_eq!(reason(&v), "threshold_not_met", "r1's signature no longer counts: {v:?}");
}

#[test]
fn item1_revocations_seen_by_a_follower_are_judged_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let a = Authority::open(dir.path(), OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
    a.create_key("root").unwrap();
    a.create_key("other").unwrap();
    let roots = TrustRoot::from_keys(&[a.export_public_key("root").unwrap()], 1).unwrap();
    let iss = a.issue(&req("root", "x")).unwrap();
    a.revoke(Target::Attestation(iss.id.clone()), "no authority", Some(now_ms() - 1000), "other").unwrap();
    let mut tail = LogTail::open_dir(dir.path(), std::time::Duration::ZERO).unwrap();
    tail.refresh().unwrap();
    let mut o = VerifyOptions::new(&roots, now_ms() + 1);
    o.revocations = Some(tail.revocations());
    let v = verify(&iss.envelope, &o).unwrap();
    assert!(v.valid && v.warnings.len() == 1, "{v:?}");
}

#[test]
fn item2_bundles_need_caller_anchors() {
    let (_d, a, log) = authority();
    let (_d2, rogue, _) = authority();
    a.create_key("root").unwrap();
    rogue.create_key("root").unwrap();
    let roots = TrustRoot::from_keys(&[a.export_public_key("root").unwrap()], 1).unwrap();
    let fake = rogue.issue(&req("root", "x")).unwrap();
    let fake_b = rogue.audit_bundle(&fake.id).unwrap().to_json();
    // The bundle's own log key is not an anchor.
    let v = verify_bundle(&fake_b, None, None).unwrap();
    assert_eq!(reason(&v), "unknown_key");
    assert!(v.detail.contains("no trust anchors"), "{}", v.detail);
    assert_eq!(reason(&verify_bundle(&fake_b, Some(&log.public_key()), None).unwrap()), "unknown_key");
    assert_eq!(reason(&verify_bundle(&fake_b, None, Some(&VerifyOptions::new(&roots, now_ms() + 1))).unwrap()), "unknown_key");
    // A genuine bundle verifies under either anchor, with a warning for the unchecked part.
    let real = a.issue(&req("root", "x")).unwrap();
    let b = a.audit_bundle(&real.id).unwrap().to_json();
    let v = verify_bundle(&b, Some(&log.public_key()), None).unwrap();
    assert!(v.valid && v.warnings.len() == 1, "{v:?}");
    let v = verify_bundle(&b, None, Some(&VerifyOptions::new(&roots, now_ms() + 1))).unwrap();
    assert!(v.valid && v.warnings[0].contains("no trusted log key"), "{v:?}");
    assert!(verify_bundle(&b, Some(&log.public_key()), Some(&VerifyOptions::new(&roots, now_ms() + 1))).unwrap().warnings.is_empty());
    // Anchored in the authority, the revocation of the signer applies.
    a.create_key("ci").unwrap();
    let d = a.delegate("root", "ci", &Scope::default()).unwrap();
    let by_ci = a.issue(&req("ci", "y")).unwrap();
    let bb = a.audit_bundle(&by_ci.id).unwrap().to_json();
    a.revoke(Target::Key(kid(&a, "ci")), "leaked", Some(now_ms() - 60_000), "root").unwrap();
    let ds: Vec<&[u8]> = vec![&d.envelope];
    let mut o = VerifyOptions::new(&roots, now_ms() + 1);
    o.delegations = &ds;
    assert_eq!(reason(&a.verify_bundle(&bb, None, Some(&o)).unwrap()), "revoked");
}

#[test]
fn item3_the_root_threshold_applies_without_a_role() {
    let (_d, a, _) = authority();
    for k in ["k1", "k2"] {
        a.create_key(k).unwrap();
    }
    let roots = TrustRoot::from_keys(&[a.export_public_key("k1").unwrap(), a.export_public_key("k2").unwrap()], 2).unwrap();
    let o = VerifyOptions::new(&roots, now_ms() + 1);
    let one = a.issue(&req("k1", "x")).unwrap();
    assert_eq!(reason(&verify(&one.envelope, &o).unwrap()), "threshold_not_met");
    let mut twice = Envelope::parse(&one.envelope, Limits::default().envelope_limits()).unwrap();
    twice.signatures.push(twice.signatures[0].clone());
    assert_eq!(reason(&verify(&twice.to_json(), &o).unwrap()), "threshold_not_met");
    let both = a.cosign(&one.envelope, "k2").unwrap();
    assert!(verify(&both.envelope, &o).unwrap().valid);
    // An undefined role is an answer, not an error (issue 11 item 16).
    let mut o2 = VerifyOptions::new(&roots, now_ms() + 1);
    o2.role = Some("release");
    let v = verify(&both.envelope, &o2).unwrap();
    assert_eq!(reason(&v), "unknown_key");
    assert!(v.detail.contains("role 'release' is not defined"), "{}", v.detail);
}

#[test]
fn item7_a_revoked_key_cannot_sign() {
    let (_d, a, _) = authority();
    for k in ["root", "ci", "other"] {
        a.create_key(k).unwrap();
    }
    a.delegate("root", "ci", &Scope::default()).unwrap();
    let before = a.issue(&req("ci", "x")).unwrap();
    // A revocation by a key without authority over ci does not stop it.
    a.revoke(Target::Key(kid(&a, "ci")), "spite", None, "other").unwrap();
    a.issue(&req("ci", "x2")).unwrap();
    a.revoke(Target::Key(kid(&a, "ci")), "leaked", None, "root").unwrap();
    let e = a.issue(&req("ci", "y")).unwrap_err();
    assert!(e.message.starts_with("signer: key 'ci'") && e.message.contains("revoked"), "{}", e.message);
    assert!(a.cosign(&before.envelope, "ci").is_err());
    assert!(a.delegate("ci", "other", &Scope::default()).is_err());
    assert!(a.issue(&req("root", "z")).is_ok());
    // A key that revokes itself is done too.
    a.revoke(Target::Key(kid(&a, "other")), "retired", None, "other").unwrap();
    assert!(a.issue(&req("other", "w")).is_err());
}

fn raw_envelope(payload_type: &str, payload: &[u8], keyid: &str, sk: &[u8; 32]) -> Vec<u8> {
    let sig = ed25519::sign(&pae(payload_type, payload), sk).unwrap();
    Envelope {
        payload_type: payload_type.into(),
        payload: payload.to_vec(),
        signatures: vec![Signature { keyid: keyid.into(), sig: sig.to_vec() }],
    }
    .to_json()
}

#[test]
fn item8_and_9_foreign_keyids_and_predicate_payload_types() {
    let (sk, pk) = ed25519::generate_keypair();
    let roots = TrustRoot::from_keys(&[pk], 1).unwrap();
    let st = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{}"}}}}],"predicateType":"{T1}","predicate":{{}}}}"#,
        "ab".repeat(32)
    );
    let o = VerifyOptions::new(&roots, now_ms());
    // securesystemslib's default keyid (SHA-256 of its key JSON), Go's SSH fingerprint, none.
    for hint in
        ["5d9c0e8e9b6a51b3c4a2d8f1e0b7c6a5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", ""]
    {
        let v = verify(&raw_envelope("application/vnd.in-toto+json", st.as_bytes(), hint, &sk), &o).unwrap();
        assert!(v.valid, "{hint}: {v:?}");
        assert_eq!(v.signers, vec![keyid(&pk)]);
    }
    let v = verify(&raw_envelope("application/vnd.in-toto.provenance+json", st.as_bytes(), "x", &sk), &o).unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(reason(&verify(&raw_envelope("application/json", st.as_bytes(), "x", &sk), &o).unwrap()), "malformed");
    // A wrong key behind a foreign keyid is still bad.
    let (sk2, _) = ed25519::generate_keypair();
    assert_eq!(reason(&verify(&raw_envelope("application/vnd.in-toto+json", st.as_bytes(), "abc", &sk2), &o).unwrap()), "unknown_key");
}

#[test]
fn item11_per_authority_origin_and_sha256() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let open = |d: &std::path::Path, hash| {
        Authority::open(d, OpenOptions { insecure_plaintext: true, log_hash: hash, ..Default::default() }).unwrap()
    };
    let (a1, a2) = (open(d1.path(), None), open(d2.path(), Some(log::HashAlg::Sha256)));
    assert_ne!(a1.log().origin(), a2.log().origin());
    for a in [&a1, &a2] {
        let pk = a.log().public_key().unwrap();
        assert_eq!(a.log().origin(), authority::default_origin(&pk));
    }
    assert_eq!(a2.log().hash_alg(), log::HashAlg::Sha256);
    a2.create_key("root").unwrap();
    let iss = a2.issue(&req("root", "x")).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&a2.audit_bundle(&iss.id).unwrap().to_json()).unwrap();
    assert_eq!(b["hashAlg"], "sha256");
    assert!(b["checkpoint"]["text"].as_str().unwrap().starts_with(&format!("{}\n", a2.log().origin())));
    drop(a2);
    // Reopened, the ledger keeps its origin and hash; an explicit origin names a new one.
    let again = open(d2.path(), None);
    assert_eq!(again.log().hash_alg(), log::HashAlg::Sha256);
    let d3 = tempfile::tempdir().unwrap();
    let named = Authority::open(
        d3.path(),
        OpenOptions { insecure_plaintext: true, log_origin: Some("example.com/attest".into()), ..Default::default() },
    )
    .unwrap();
    assert_eq!(named.log().origin(), "example.com/attest");
}
