//! Tests with real second processes: the test binary re-executes itself with
//! `OMNI_ATTEST_CHILD` set, and the `child_role` test then plays that role.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use omnitide_attest::authority::LogTail;
use omnitide_attest::*;
use serde_json::json;

fn req(name: &str) -> IssueRequest {
    IssueRequest {
        signer: "root".into(),
        subjects: vec![Subject { name: name.into(), digest: [("sha256".to_string(), "ab".repeat(32))].into() }],
        predicate_type: "https://example.com/p/v1".into(),
        predicate: json!({}),
        expires_at: None,
        issued_at: None,
    }
}

fn spawn(role: &str, dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["child_role", "--exact", "--nocapture", "--test-threads=1"])
        .env("OMNI_ATTEST_CHILD", role)
        .env("OMNI_ATTEST_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Writes a line straight to fd 1 (bypassing the test harness's capture and buffering).
fn say(line: &str) {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let mut f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
}

#[test]
fn child_role() {
    let Ok(role) = std::env::var("OMNI_ATTEST_CHILD") else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var("OMNI_ATTEST_DIR").unwrap());
    match role.as_str() {
        "verifier" => {
            let env = std::fs::read(dir.join("envelope.json")).unwrap();
            let roots = TrustRoot::parse(&std::fs::read(dir.join("roots.json")).unwrap()).unwrap();
            let mut tail = LogTail::open_dir(&dir, Duration::from_millis(50)).unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut announced = false;
            while Instant::now() < deadline {
                tail.refresh_if_stale().unwrap();
                let mut o = VerifyOptions::new(&roots, now_ms());
                o.revocations = Some(tail.revocations());
                let v = verify(&env, &o).unwrap();
                if v.valid && !announced {
                    say("CHILD valid");
                    announced = true;
                }
                if v.reason == Some(Reason::Revoked) {
                    say(&format!("CHILD revoked {}", now_ms()));
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("revocation not seen");
        }
        "issuer" => {
            let a = Authority::open(&dir, OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
            for i in 0.. {
                let iss = a.issue(&req(&format!("n{i}"))).unwrap();
                say(&format!("CHILD issued {}", iss.id));
            }
        }
        _ => unreachable!(),
    }
}

#[test]
fn revocation_is_seen_by_a_second_process() {
    let dir = tempfile::tempdir().unwrap();
    let a = Authority::open(dir.path(), OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
    let root = a.create_key("root").unwrap();
    let iss = a.issue(&req("x")).unwrap();
    std::fs::write(dir.path().join("envelope.json"), &iss.envelope).unwrap();
    std::fs::write(dir.path().join("roots.json"), TrustRoot::from_keys(&[root.public_key], 1).unwrap().to_json()).unwrap();
    let mut child = spawn("verifier", dir.path());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut wait_for = |prefix: &str| loop {
        let l = lines.next().expect("child output").unwrap();
        if let Some(p) = l.find(prefix) {
            return l[p + prefix.len()..].to_owned();
        }
    };
    wait_for("CHILD valid");
    let t = now_ms();
    a.revoke(Target::Attestation(iss.id.clone()), "test", Some(t - 1), "root").unwrap();
    let seen: i64 = wait_for("CHILD revoked ").trim().parse().unwrap();
    assert!(child.wait().unwrap().success());
    eprintln!("revocation seen by the second process after {} ms", seen - t);
}

#[test]
fn issuer_killed_mid_append_never_reports_an_unlogged_attestation() {
    let dir = tempfile::tempdir().unwrap();
    {
        let a = Authority::open(dir.path(), OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
        a.create_key("root").unwrap();
    }
    let mut reported = Vec::new();
    for round in 0..6 {
        let mut child = spawn("issuer", dir.path());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let stop_after = 3 + (round * 17) % 40;
        let mut n = 0;
        while n < stop_after {
            let l = lines.next().expect("child output").unwrap();
            if let Some(p) = l.find("CHILD issued ") {
                reported.push(l[p + 13..].to_owned());
                n += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL, typically in the middle of the next append
        child.wait().unwrap();
        // Lines already printed before the kill are reported too.
        for l in lines.map_while(|l| l.ok()) {
            if let Some(p) = l.find("CHILD issued ") {
                reported.push(l[p + 13..].to_owned());
            }
        }
    }
    let a = Authority::open(dir.path(), OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
    let size = a.log().size().unwrap();
    assert!(size >= reported.len() as u64);
    for id in &reported {
        let b = a.audit_bundle(id).unwrap_or_else(|e| panic!("reported {id} has no audit entry: {e}"));
        let lk = a.log().public_key().unwrap();
        assert!(omnitide_attest::authority::verify_bundle(&b.to_json(), Some(&lk), None).unwrap().valid);
    }
    eprintln!("{} reported attestations, {size} log entries after 6 kills", reported.len());
}
