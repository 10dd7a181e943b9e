//! Quick Rust-side measurements (the official benchmark is bench/attest.ts):
//! `cargo run --release -p omnitide-attest --example attest_bench`
use std::sync::Arc;
use std::time::Instant;

use omnitide_attest::log::MemLog;
use omnitide_attest::*;
use serde_json::json;

fn req(signer: &str, i: usize) -> IssueRequest {
    IssueRequest {
        signer: signer.into(),
        subjects: vec![Subject { name: format!("pkg/a/{i}"), digest: [("sha256".to_string(), "ab".repeat(32))].into() }],
        predicate_type: "https://slsa.dev/provenance/v1".into(),
        predicate: json!({"builder": {"id": "ci"}, "n": i}),
        expires_at: None,
        issued_at: None,
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let a = Authority::open(
        dir.path(),
        OpenOptions { log: Some(Arc::new(MemLog::new("bench"))), insecure_plaintext: true, ..Default::default() },
    )
    .unwrap();
    for k in ["root", "a", "b", "c"] {
        a.create_key(k).unwrap();
    }
    let s = |t: Option<&[&str]>, g: Option<&[&str]>, d| Scope {
        predicate_types: t.map(|t| t.iter().map(|x| x.to_string()).collect()),
        subjects: g.map(|t| t.iter().map(|x| x.to_string()).collect()),
        max_depth: d,
        expires_at: None,
    };
    let d = [
        a.delegate("root", "a", &s(Some(&["https://slsa.dev/provenance/v1"]), Some(&["pkg/**"]), Some(2))).unwrap().envelope,
        a.delegate("a", "b", &s(None, Some(&["pkg/a/**"]), Some(1))).unwrap().envelope,
        a.delegate("b", "c", &s(None, Some(&["pkg/a/*"]), Some(0))).unwrap().envelope,
    ];
    let ds: Vec<&[u8]> = d.iter().map(|x| x.as_slice()).collect();
    let roots = TrustRoot::from_keys(&[a.export_public_key("root").unwrap()], 1).unwrap();

    let t = Instant::now();
    let reqs: Vec<IssueRequest> = (0..n).map(|i| req("c", i)).collect();
    let envs: Vec<Vec<u8>> = a.issue_many(&reqs).unwrap().into_iter().map(|i| i.envelope).collect();
    println!("issue_many (mem log): {:.0}/s", n as f64 / t.elapsed().as_secs_f64());

    let refs: Vec<&[u8]> = envs.iter().map(|x| x.as_slice()).collect();
    let mut o = VerifyOptions::new(&roots, now_ms());
    o.delegations = &ds;
    o.limits.max_envelope_bytes = 1 << 20;
    let t = Instant::now();
    let r = verify_many(&refs, &o).unwrap();
    assert!(r.iter().all(|v| v.valid));
    println!("verify_many, 3-level chain: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());

    {
        use omnitide_crypto::ed25519;
        let envs2: Vec<Envelope> = refs.iter().map(|e| Envelope::parse(e, o.limits.envelope_limits()).unwrap()).collect();
        let t = Instant::now();
        let envs3: Vec<Envelope> = refs.iter().map(|e| Envelope::parse(e, o.limits.envelope_limits()).unwrap()).collect();
        let parse = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for e in &envs3 {
            Statement::parse(&e.payload, 1024).unwrap();
        }
        let sparse = t.elapsed().as_secs_f64();
        let paes: Vec<Vec<u8>> = envs2.iter().map(|e| e.pae()).collect();
        let pk = a.export_public_key("c").unwrap();
        let items: Vec<ed25519::Item> =
            envs2.iter().zip(&paes).map(|(e, p)| ed25519::Item { signature: &e.signatures[0].sig, message: p, public_key: &pk }).collect();
        let t = Instant::now();
        ed25519::verify_batch(&items, ed25519::Mode::Strict, false).unwrap();
        let vb = t.elapsed().as_secs_f64();
        println!(
            "per envelope: envelope parse {:.1} us, statement parse {:.1} us, batch sig {:.1} us",
            parse / n as f64 * 1e6,
            sparse / n as f64 * 1e6,
            vb / n as f64 * 1e6
        );
    }
    let mut lat = Vec::with_capacity(2000);
    for e in refs.iter().take(2000) {
        let t = Instant::now();
        assert!(verify(e, &o).unwrap().valid);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("single verify, 3-level chain: p50 {:.0} us, p99 {:.0} us", lat[lat.len() / 2], lat[lat.len() * 99 / 100]);

    let fdir = tempfile::tempdir().unwrap();
    let fa = Authority::open(fdir.path(), OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
    fa.create_key("c").unwrap();
    let t = Instant::now();
    for chunk in reqs.chunks(256) {
        fa.issue_many(chunk).unwrap();
    }
    println!("issue_many x256 (file log, fsync per batch): {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    for r in reqs.iter().take(200) {
        fa.issue(r).unwrap();
    }
    println!("issue (file log, fsync each): {:.0}/s", 200.0 / t.elapsed().as_secs_f64());
}
