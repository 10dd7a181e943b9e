//! `cargo run -p omnitide-autoblock --example throughput [sshd.conf]`: events/s
//! and lines/s of the engine alone (no N-API), for profiling.
use std::time::Instant;

use omnitide_autoblock::Engine;

fn main() {
    let mut e = Engine::from_json(
        r#"{"scenarios":[{"file":"b.yaml","text":"type: leaky\nname: bf\nfilter: \"evt.Meta.log_type == 'auth_fail'\"\ngroupby: evt.Meta.source_ip\ncapacity: 50\nleakspeed: 1s\n"}]}"#,
    )
    .unwrap();
    let n = 200_000;
    let mut buf = Vec::new();
    for i in 0..n {
        buf.extend_from_slice(
            format!(
                "{}\x1flog_type\x1eauth_fail\x1fsource_ip\x1e10.{}.{}.{}\x1fuser\x1eroot\n",
                1.0e9 + i as f64 * 0.001,
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            )
            .as_bytes(),
        );
    }
    let t = Instant::now();
    e.process_packed(&buf);
    println!("events: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    e.process_packed(&buf);
    println!("events (warm buckets): {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    let filter = std::env::args().nth(1).unwrap_or_else(|| "/etc/fail2ban/filter.d/sshd.conf".into());
    let mut j = Engine::from_json(&format!(r#"{{"jails":[{{"name":"sshd","filter":{{"path":"{filter}"}}}}]}}"#)).unwrap();
    let mut log = String::new();
    for i in 0..100_000u32 {
        match i % 4 {
            0 => log.push_str(&format!(
                "Nov 30 10:00:01 srv sshd[{i}]: Failed password for root from 10.0.{}.{} port 22 ssh2\n",
                (i >> 8) & 255,
                i & 255
            )),
            1 => log.push_str(&format!(
                "Nov 30 10:00:01 srv sshd[{i}]: Accepted publickey for git from 10.1.0.1 port {i} ssh2: ED25519 SHA256:x\n"
            )),
            2 => log.push_str(&format!(
                "Nov 30 10:00:01 srv CRON[{i}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n"
            )),
            _ => log.push_str(&format!("Nov 30 10:00:01 srv sshd[{i}]: Connection closed by 10.2.0.{} port 22 [preauth]\n", i & 255)),
        }
    }
    let t = Instant::now();
    j.process_lines(log.as_bytes(), None, 1.8e9).unwrap();
    println!("lines: {:.0}/s", 100_000.0 / t.elapsed().as_secs_f64());
    // OMNI_AB_LOG=<file>: the bench's generated auth.log (mostly noise), best of 3 fresh engines
    if let Ok(path) = std::env::var("OMNI_AB_LOG") {
        let text = std::fs::read(&path).unwrap();
        let n = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        let mut best = f64::MAX;
        for _ in 0..3 {
            let mut j = Engine::from_json(&format!(r#"{{"jails":[{{"name":"sshd","filter":{{"path":"{filter}"}}}}]}}"#)).unwrap();
            let t = Instant::now();
            j.process_lines(&text, None, 1.8e9).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{path}: {:.0} lines/s", n as f64 / best);
    }
}
