//! The kill -9 test: a child process (this test binary re-executed) appends in
//! a loop and reports every acknowledged index; the parent kills it with
//! SIGKILL at random moments, many times, then reopens and checks that every
//! acknowledged entry is there, intact, and that the tree is consistent with
//! the last signed checkpoint.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use omnitide_ledger::{checkpoint, merkle, Durability, HashAlg, Ledger, Options};

const SK: [u8; 32] = [42; 32];
const CHILD_ENV: &str = "OMNI_LEDGER_CRASH_CHILD";

fn entry(i: u64) -> Vec<u8> {
    let mut e = format!("crash entry {i:010} ").into_bytes();
    e.resize(20 + (i % 97) as usize, b'.');
    e
}

fn opts(d: Durability) -> Options {
    let mut o = Options::new("crash.example/log");
    o.signer = Some(SK.to_vec());
    o.durability = d;
    o
}

fn durability(s: &str) -> Durability {
    Durability::parse("d", s).unwrap()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs only when re-executed by `kill_minus_9_many_times`.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mode = std::env::var("OMNI_LEDGER_CRASH_DURABILITY").unwrap();
    let mut l = Ledger::open(&dir, opts(durability(&mode))).unwrap();
    let mut rng = Rng(std::process::id() as u64 * 0x9E37_79B9 + 1);
    let mut out = std::io::stdout().lock();
    writeln!(out, "open {}", l.size()).unwrap();
    out.flush().unwrap();
    let mut batches = 0u64;
    loop {
        let n = 1 + rng.below(64);
        let start = l.size();
        let es: Vec<Vec<u8>> = (start..start + n).map(entry).collect();
        let (first, _) = if n == 1 { l.append(&es[0]).map(|(i, h)| (i, vec![h])).unwrap() } else { l.append_many(&es).unwrap() };
        assert_eq!(first, start);
        writeln!(out, "ack {}", start + n - 1).unwrap();
        out.flush().unwrap();
        batches += 1;
        if batches.is_multiple_of(5) {
            let s = l.checkpoint().unwrap();
            writeln!(out, "cp {}", s.checkpoint.size).unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn kill_minus_9_many_times() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("omni-ledger-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exe = std::env::current_exe().unwrap();
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = Rng(seed);
    let rounds = std::env::var("OMNI_LEDGER_CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(25u32);
    let pk = omnitide_crypto::ed25519::public_key_from_secret(&SK).unwrap();
    let mut acked_total: Option<u64> = None;
    let mut prev_cp: Option<checkpoint::Checkpoint> = None;
    let mut torn_seen = 0;
    for round in 0..rounds {
        let mode = ["batch", "always", "none"][round as usize % 3];
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .env("OMNI_LEDGER_CRASH_DURABILITY", mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let state = Arc::new(Mutex::new((None::<u64>, None::<u64>, false)));
        let st = state.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut s = st.lock().unwrap();
                if let Some(v) = line.strip_prefix("ack ") {
                    s.0 = Some(v.parse().unwrap());
                } else if let Some(v) = line.strip_prefix("cp ") {
                    s.1 = Some(v.parse().unwrap());
                } else if line.contains("open ") {
                    // libtest prints "test child_writer ... " before the first line
                    s.2 = true;
                }
            }
        });
        // Wait until the child has opened the ledger, then let it run a random while.
        let t0 = std::time::Instant::now();
        while !state.lock().unwrap().2 && t0.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(5 + rng.below(120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let (acked, cp_size, opened) = *state.lock().unwrap();
        assert!(opened, "round {round}: child never opened the ledger");
        if let Some(a) = acked {
            acked_total = Some(acked_total.map_or(a, |t: u64| t.max(a)));
        }

        let l = Ledger::open(&dir, opts(Durability::Batch)).unwrap_or_else(|e| panic!("round {round} ({mode}): reopen failed: {e}"));
        if !l.recovery().is_clean() {
            torn_seen += 1;
        }
        let need = acked_total.map_or(0, |a| a + 1);
        assert!(l.size() >= need, "round {round} ({mode}): size {} but index {} was acknowledged", l.size(), need.saturating_sub(1));
        // Every entry present and intact, and the tree matches it.
        l.verify(true).unwrap();
        let got = l.get_range(0, l.size()).unwrap();
        for (i, e) in got.iter().enumerate() {
            assert_eq!(*e, entry(i as u64), "round {round}: entry {i}");
        }
        // The stored checkpoint is at least the last reported one, verifies, and the
        // current tree extends it (and the previous round's).
        if let Some((cp, text)) = l.last_checkpoint() {
            let v = checkpoint::verify(text, &pk, None).unwrap();
            assert!(v.valid);
            if let Some(reported) = cp_size {
                assert!(cp.size >= reported);
            }
            assert_eq!(l.root(Some(cp.size)).unwrap(), cp.root_hash);
            if let Some(prev) = &prev_cp {
                let p = l.consistency_proof(prev.size, Some(cp.size)).unwrap();
                merkle::verify_consistency(HashAlg::Sha256, prev.size, cp.size, &prev.root_hash, &cp.root_hash, &p).unwrap();
            }
            prev_cp = Some(cp.clone());
        } else {
            assert!(cp_size.is_none(), "round {round}: a checkpoint was reported but none is stored");
        }
        drop(l);
    }
    eprintln!(
        "kill -9: {rounds} rounds, {} entries acknowledged, {torn_seen} reopen(s) truncated a torn tail",
        acked_total.map_or(0, |a| a + 1)
    );
    assert!(acked_total.is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}
