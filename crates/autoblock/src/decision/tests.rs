use omnitide_attest::json::{canonical_value_into, parse_strict};

use super::*;

fn body(action: &str, scope: &str, value: &str) -> Body {
    Body {
        action: action.into(),
        scope: scope.into(),
        value: value.into(),
        issued_at: 1764600000123.0,
        expires_at: 1764614400123.0,
        reason: "scenario t: trigger".into(),
        evidence: vec!["ab".repeat(32)],
        origin: "scenario:t".into(),
        rate: None,
        lifts: None,
        global: false,
        nonce: "0123456789abcdef".into(),
    }
}

/// Every optional field, escapes, non-ASCII, and numbers JS prints in exponent form or as null.
fn bodies() -> Vec<Body> {
    let plain = body("ban", "ip", "10.0.0.1");
    let every = Body {
        expires_at: f64::NAN,
        reason: "q\"uo\\te \n\t\u{1}\u{1f} é 😀 \u{2028} </".into(),
        evidence: vec![],
        origin: "operator".into(),
        rate: Some((1.5, 1e21)),
        lifts: Some("cd".repeat(32)),
        global: true,
        nonce: "fedcba9876543210".into(),
        ..body("throttle", "range", "10.0.0.0/8")
    };
    let odd_numbers = Body {
        issued_at: 9007199254740994.0,
        expires_at: f64::INFINITY,
        reason: String::new(),
        evidence: vec!["a".into(), "b".into()],
        origin: "operator".into(),
        lifts: Some("ef".repeat(32)),
        nonce: "00".into(),
        ..body("unban", "user", "user:ops")
    };
    vec![plain, every, odd_numbers]
}

/// What node's `JSON.stringify` printed for the TypeScript objects of `bodies()`.
fn json_stringify() -> Vec<String> {
    vec![
        format!(
            "{{\"v\":1,\"action\":\"ban\",\"scope\":\"ip\",\"value\":\"10.0.0.1\",\"issuedAt\":1764600000123,\"expiresAt\":1764614400123,\"reason\":\"scenario t: trigger\",\"evidence\":[\"{}\"],\"domain\":\"site-a\",\"origin\":\"scenario:t\",\"nonce\":\"0123456789abcdef\"}}",
            "ab".repeat(32)
        ),
        format!(
            "{{\"v\":1,\"action\":\"throttle\",\"scope\":\"range\",\"value\":\"10.0.0.0/8\",\"issuedAt\":1764600000123,\"expiresAt\":null,\"reason\":\"q\\\"uo\\\\te \\n\\t\\u0001\\u001f é 😀 \u{2028} </\",\"evidence\":[],\"domain\":\"site-a\",\"origin\":\"operator\",\"rate\":{{\"pps\":1.5,\"burst\":1e+21}},\"lifts\":\"{}\",\"global\":true,\"nonce\":\"fedcba9876543210\"}}",
            "cd".repeat(32)
        ),
        format!(
            "{{\"v\":1,\"action\":\"unban\",\"scope\":\"user\",\"value\":\"user:ops\",\"issuedAt\":9007199254740994,\"expiresAt\":null,\"reason\":\"\",\"evidence\":[\"a\",\"b\"],\"domain\":\"site-a\",\"origin\":\"operator\",\"lifts\":\"{}\",\"nonce\":\"00\"}}",
            "ef".repeat(32)
        ),
    ]
}

#[test]
fn body_text_is_json_stringify_and_predicate_is_its_canonical_form() {
    for (b, js) in bodies().iter().zip(json_stringify()) {
        let mut out = Vec::new();
        b.write_js("site-a", &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), js);
        // the predicate the old path made: the request text parsed strictly and canonicalised
        let mut want = Vec::new();
        canonical_value_into(&mut want, &parse_strict(js.as_bytes()).unwrap()).unwrap();
        let mut got = Vec::new();
        b.write_canonical("site-a", &mut got).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap());
        let s = b.subject("site-a").unwrap();
        assert_eq!(s.digest["blake3"], blake3::hash(js.as_bytes()).to_hex().to_string());
    }
    assert_eq!(bodies()[1].subject("d").unwrap().name, "autoblock/throttle/range/10.0.0.0_8");
}

/// The columns `ts/autoblock/issue.ts` packs for `bodies`.
fn columns(bodies: &[Body]) -> (Vec<u16>, Vec<u32>, Vec<f64>) {
    let (mut text, mut lens, mut nums) = (Vec::new(), Vec::new(), Vec::new());
    let put = |s: &str, text: &mut Vec<u16>, lens: &mut Vec<u32>| {
        let u: Vec<u16> = s.encode_utf16().collect();
        lens.push(u.len() as u32);
        text.extend(u);
    };
    for b in bodies {
        for s in [&b.action, &b.scope, &b.value, &b.reason, &b.origin, &b.nonce] {
            put(s, &mut text, &mut lens);
        }
        put(b.lifts.as_deref().unwrap_or(""), &mut text, &mut lens);
        lens.push(b.evidence.len() as u32);
        for e in &b.evidence {
            put(e, &mut text, &mut lens);
        }
        let (pps, burst) = b.rate.unwrap_or((f64::NAN, f64::NAN));
        nums.extend([b.issued_at, b.expires_at, pps, burst, if b.global { 1.0 } else { 0.0 }]);
    }
    (text, lens, nums)
}

fn same(a: &Body, b: &Body) -> bool {
    let num = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
    a.action == b.action
        && a.scope == b.scope
        && a.value == b.value
        && num(a.issued_at, b.issued_at)
        && num(a.expires_at, b.expires_at)
        && a.reason == b.reason
        && a.evidence == b.evidence
        && a.origin == b.origin
        && a.rate.is_some() == b.rate.is_some()
        && a.rate.zip(b.rate).is_none_or(|(x, y)| num(x.0, y.0) && num(x.1, y.1))
        && a.lifts == b.lifts
        && a.global == b.global
        && a.nonce == b.nonce
}

#[test]
fn columns_round_trip_and_bad_columns_name_the_field() {
    let all = bodies();
    let (text, lens, nums) = columns(&all);
    let back = from_columns(&text, &lens, &nums).unwrap();
    assert_eq!(back.len(), all.len());
    for (a, b) in all.iter().zip(&back) {
        assert!(same(a, b), "{a:?} != {b:?}");
    }
    let err = |t: &[u16], l: &[u32], n: &[f64]| from_columns(t, l, n).unwrap_err().to_string();
    let mut bad = bodies();
    bad[1].action = "drop".into();
    let (t, l, n) = columns(&bad);
    assert!(err(&t, &l, &n).contains("decisions[1].action"), "{}", err(&t, &l, &n));
    bad[1].action = "ban".into();
    bad[1].scope = "host".into();
    let (t, l, n) = columns(&bad);
    assert!(err(&t, &l, &n).contains("decisions[1].scope"));
    // a lone surrogate in a reason: refused, named
    let (mut t, l, n) = columns(&bodies());
    let at = l[..3].iter().sum::<u32>() as usize; // first unit of decision 0's reason
    t[at] = 0xd800;
    assert!(err(&t, &l, &n).contains("decisions[0].reason: not well-formed UTF-16"), "{}", err(&t, &l, &n));
    let (t, l, n) = columns(&bodies());
    assert!(err(&t, &l[..l.len() - 1], &n).contains("lens"));
    assert!(err(&t[..t.len() - 1], &l, &n).contains("text"));
    assert!(err(&t, &l, &n[..n.len() - 1]).contains("nums"));
    let mut longer = t.clone();
    longer.push(b'x' as u16);
    assert!(err(&longer, &l, &n).contains("do not add up"));
    assert!(from_columns(&[], &[], &[]).unwrap().is_empty());
}

#[test]
fn issued_statements_are_what_the_request_json_path_signs() {
    use omnitide_attest::statement::{payload, Meta, Statement};
    let dir = tempfile::tempdir().unwrap();
    let a = Authority::open(dir.path(), omnitide_attest::OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
    let key = a.create_key("site-a").unwrap();
    // 70 decisions: more than the small-batch path, all shapes
    let all: Vec<Body> = (0..70).map(|i| Body { nonce: format!("{i:016x}"), ..bodies()[i % 3].clone() }).collect();
    let issued = issue(&a, "site-a", "site-a", &all, None).unwrap();
    assert_eq!(issued.len(), all.len());
    let roots = omnitide_attest::TrustRoot::from_keys(&[key.public_key], 1).unwrap();
    for (b, i) in all.iter().zip(&issued) {
        let env = omnitide_attest::Envelope::parse(&i.envelope, omnitide_attest::Limits::default().envelope_limits()).unwrap();
        assert_eq!(env.to_json(), i.envelope);
        let st = Statement::parse(&env.payload, 1).unwrap();
        // the old path: JSON.stringify's text, parsed strictly, hashed, canonicalised into the statement
        let mut js = Vec::new();
        b.write_js("site-a", &mut js).unwrap();
        let old_subject = omnitide_attest::Subject {
            name: format!("autoblock/{}/{}/{}", b.action, b.scope, b.value.replace('/', "_")),
            digest: [("blake3".to_string(), blake3::hash(&js).to_hex().to_string())].into(),
        };
        let meta = Meta { issued_at: st.meta.issued_at, expires_at: None, nonce: st.meta.nonce.clone() };
        let old = payload(&[old_subject], PREDICATE_TYPE, &parse_strict(&js).unwrap(), &meta).unwrap();
        assert_eq!(String::from_utf8(env.payload.clone()).unwrap(), String::from_utf8(old).unwrap());
        let v = omnitide_attest::verify(&i.envelope, &omnitide_attest::VerifyOptions::new(&roots, omnitide_attest::now_ms())).unwrap();
        assert!(v.valid, "{v:?}");
        assert_eq!(v.id.as_deref(), Some(i.id.as_str()));
        // the audit log holds every attestation
        assert_eq!(a.audit_bundle(&i.id).unwrap().proof.index, i.log_index);
    }
    let e = issue(&a, "nobody", "site-a", &all[..1], None).unwrap_err().to_string();
    assert!(e.contains("nobody"), "{e}");
}

#[test]
fn a_batch_logged_elsewhere_is_one_audit_entry_listing_its_ids() {
    use omnitide_attest::ledger_log::FollowerLog;
    use omnitide_attest::log::AuditLog;
    let dir = tempfile::tempdir().unwrap();
    let a = Authority::open(dir.path(), omnitide_attest::OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
    let key = a.create_key("site-a").unwrap();
    let audit = FollowerLog::open(&dir.path().join("ledger")).unwrap();
    let roots = omnitide_attest::TrustRoot::from_keys(&[key.public_key], 1).unwrap();
    // below and above the size at which signing goes parallel
    for n in [3usize, 70] {
        let all: Vec<Body> = (0..n).map(|i| Body { nonce: format!("{i:016x}"), ..bodies()[i % 3].clone() }).collect();
        let before = audit.size().unwrap();
        let logged = issue(&a, "site-a", "site-a", &all, Some("decisions.example/site-a")).unwrap();
        let audited = issue(&a, "site-a", "site-a", &all, None).unwrap();
        assert_eq!(logged.len(), n);
        for (l, o) in logged.iter().zip(&audited) {
            // the same statement as the audited path (but for its own time and nonce), validly signed
            let st = |e: &[u8]| {
                let env = omnitide_attest::Envelope::parse(e, omnitide_attest::Limits::default().envelope_limits()).unwrap();
                omnitide_attest::Statement::parse(&env.payload, 1).unwrap()
            };
            let (sl, so) = (st(&l.envelope), st(&o.envelope));
            assert_eq!((&sl.subject, &sl.predicate_type, &sl.predicate), (&so.subject, &so.predicate_type, &so.predicate));
            let v = omnitide_attest::verify(&l.envelope, &omnitide_attest::VerifyOptions::new(&roots, omnitide_attest::now_ms())).unwrap();
            assert!(v.valid, "{v:?}");
            assert_eq!(v.id.as_deref(), Some(l.id.as_str()));
            // not copied into the audit log: the batch entry accounts for it
            assert!(a.audit_bundle(&l.id).is_err());
            assert_eq!(l.log_index, before);
        }
        // one entry for the logged batch, then one per audited envelope
        assert_eq!(audit.size().unwrap(), before + 1 + n as u64);
        let entry = audit.read_from(before, 1).unwrap().pop().unwrap();
        let v = omnitide_attest::json::parse_strict(&entry).unwrap();
        assert_eq!(v["kind"], "issue-batch");
        assert_eq!(v["signer"], key.keyid.as_str());
        assert_eq!(v["batch"]["count"], n as u64);
        assert_eq!(v["batch"]["loggedIn"], "decisions.example/site-a");
        assert_eq!(v["batch"]["predicateType"], PREDICATE_TYPE);
        let ids: Vec<&str> = v["batch"]["ids"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        assert_eq!(ids, logged.iter().map(|l| l.id.as_str()).collect::<Vec<_>>());
        // canonical like every other entry
        assert_eq!(omnitide_attest::json::canonical(&v).unwrap(), entry);
    }
    // a batch must name the log it goes to
    let e = issue(&a, "site-a", "site-a", &bodies(), Some("")).unwrap_err().to_string();
    assert!(e.contains("loggedIn"), "{e}");
}
