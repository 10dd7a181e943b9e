//! `OMNI_AB_LOG=<file> cargo run --release -p omnitide-autoblock --example f2b_lines [filter] [rounds]`:
//! lines/s of one sshd jail over a log file (no N-API), for profiling the fail2ban path.
use std::time::Instant;

use omnitide_autoblock::Engine;

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_else(|| "/etc/fail2ban/filter.d/sshd.conf".into());
    let rounds: usize = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(5);
    let path = std::env::var("OMNI_AB_LOG").expect("OMNI_AB_LOG=<log file>");
    let text = std::fs::read(&path).unwrap();
    let n = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..rounds {
        let mut j = Engine::from_json(&format!(r#"{{"jails":[{{"name":"sshd","filter":{{"path":"{filter}"}}}}]}}"#)).unwrap();
        let t = Instant::now();
        found = j.process_lines(&text, None, 1.8e9).unwrap().len();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{path}: {:.0} lines/s ({n} lines, {found} detections)", n as f64 / best);
}
