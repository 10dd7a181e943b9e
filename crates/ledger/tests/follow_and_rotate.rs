//! Issue 10 items 4, 10, 13 and issue 12 item 7: the signer of a ledger
//! cannot be switched silently, extension lines are opaque, a read-only
//! follower works while the writer holds the lock, `verify` checks the same
//! tail as `open`.

use std::fs;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use omnitide_crypto::ed25519 as ed;
use omnitide_ledger::{bundle, checkpoint, Durability, HashAlg, Ledger, LedgerReader, Options, READ_ONLY};

const OLD: [u8; 32] = [7; 32];
const NEW: [u8; 32] = [8; 32];

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("omni-ledger-trust-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn opts(signer: Option<[u8; 32]>) -> Options {
    let mut o = Options::new("example.com/log");
    o.signer = signer.map(|s| s.to_vec());
    o.durability = Durability::None;
    o
}

fn pk(sk: &[u8; 32]) -> [u8; 32] {
    ed::public_key_from_secret(sk).unwrap()
}

#[test]
fn reopening_with_another_signer_is_refused_unless_rotating() {
    let d = tmp("switch");
    let mut l = Ledger::open(&d, opts(Some(OLD))).unwrap();
    l.append_many(&[b"a".as_slice(), b"b".as_slice(), b"c".as_slice()]).unwrap();
    l.checkpoint().unwrap();
    drop(l);

    // The old code opened silently and bundle(0) handed out the OLD key's checkpoint.
    let e = Ledger::open(&d, opts(Some(NEW))).err().expect("a different signer must be refused");
    assert!(e.message.starts_with("signer:") && e.message.contains("rotateSigner"), "{}", e.message);

    let mut o = opts(Some(NEW));
    o.rotate_signer = true;
    let mut l = Ledger::open(&d, o).unwrap();
    let b = l.bundle(0).unwrap();
    assert!(bundle::verify(&b, &pk(&NEW), None).unwrap().valid, "bundles verify under the current key after a rotation");
    assert!(!bundle::verify(&b, &pk(&OLD), None).unwrap().valid);
    let rec: serde_json::Value = serde_json::from_str(fs::read_to_string(d.join("rotations")).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(rec["size"], 3);
    assert!(checkpoint::verify(rec["previousCheckpoint"].as_str().unwrap(), &pk(&OLD), None).unwrap().valid);
    assert!(checkpoint::verify(rec["checkpoint"].as_str().unwrap(), &pk(&NEW), None).unwrap().valid);
    assert_eq!(rec["publicKey"], STANDARD.encode(pk(&NEW)));
    drop(l);
    // The new key is now the ledger's key: plain reopen works, the old key is refused.
    drop(Ledger::open(&d, opts(Some(NEW))).unwrap());
    assert!(Ledger::open(&d, opts(Some(OLD))).is_err());
    // Opening without a signer (read the log, no signing) stays possible.
    drop(Ledger::open(&d, opts(None)).unwrap());
    fs::remove_dir_all(&d).unwrap();
}

fn signed_note(body: &str, sk: &[u8; 32]) -> String {
    let pk = pk(sk);
    let sig = ed::Signer::new(sk).unwrap().sign(body.as_bytes()).unwrap();
    let mut blob = checkpoint::key_id("example.com/log", &pk).to_vec();
    blob.extend_from_slice(&sig);
    format!("{body}\n\u{2014} example.com/log {}\n", STANDARD.encode(blob))
}

#[test]
fn extension_lines_are_opaque() {
    let root = STANDARD.encode([1u8; 32]);
    for (ext, ts) in [
        ("timestamp 2024-01-01T00:00:00Z\n", None),
        ("timestamp 1700000000000\nwitness-policy v1 something\n", Some(1_700_000_000_000)),
        ("something else entirely\n", None),
    ] {
        let text = signed_note(&format!("example.com/log\n5\n{root}\n{ext}"), &OLD);
        let v = checkpoint::verify(&text, &pk(&OLD), None).unwrap();
        assert!(v.valid, "{ext:?}: {:?}", v.reason);
        assert_eq!(v.checkpoint.timestamp, ts);
        assert_eq!(v.checkpoint.size, 5);
    }
}

#[test]
fn a_reader_follows_a_live_writer_without_the_lock() {
    let d = tmp("follow");
    let mut w = Ledger::open(&d, opts(Some(OLD))).unwrap();
    let mut r = LedgerReader::open(&d).unwrap();
    assert_eq!((r.size(), r.origin(), r.hash_alg()), (0, "example.com/log", HashAlg::Sha256));
    w.append_many(&(0..10u8).map(|i| vec![i; i as usize + 1]).collect::<Vec<_>>()).unwrap();
    assert_eq!(r.size(), 0, "the view only moves on refresh");
    assert_eq!(r.refresh().unwrap(), 10);
    assert_eq!(r.get(9).unwrap(), vec![9u8; 10]);
    assert_eq!(r.root(None).unwrap(), w.root(None).unwrap());
    assert_eq!(r.inclusion_proof(3, None).unwrap(), w.inclusion_proof(3, None).unwrap());
    assert_eq!(r.consistency_proof(4, None).unwrap(), w.consistency_proof(4, None).unwrap());
    r.verify(true).unwrap();
    assert!(r.bundle_stored(2).is_err(), "no checkpoint yet");
    w.checkpoint().unwrap();
    r.refresh().unwrap();
    assert_eq!(r.last_checkpoint().unwrap().0.size, 10);
    let b = r.bundle_stored(2).unwrap();
    assert!(bundle::verify(&b, &pk(&OLD), None).unwrap().valid);
    // Capped refresh: a view of the first 4 entries only.
    w.append(b"more").unwrap();
    assert_eq!(r.refresh_upto(Some(4)).unwrap(), 4);
    assert_eq!(r.root(None).unwrap(), w.root(Some(4)).unwrap());
    assert_eq!(r.refresh().unwrap(), 11);
    // A torn tail the writer has not committed is ignored, not truncated.
    fs::OpenOptions::new().append(true).open(d.join("entries.idx")).unwrap().set_len(11 * 8 + 5).unwrap();
    assert_eq!(r.refresh().unwrap(), 11);
    assert_eq!(fs::metadata(d.join("entries.idx")).unwrap().len(), 11 * 8 + 5);
    drop(w);
    assert!(Ledger::open(&d, opts(Some(OLD))).unwrap().recovery().truncated_index_bytes == 5);
    assert!(LedgerReader::open(tmp("none")).err().unwrap().message.contains("no ledger"));
    assert_ne!(READ_ONLY, omnitide_common::code::CLOSED);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn verify_checks_the_configured_tail() {
    let d = tmp("tail");
    let mut o = opts(None);
    o.tail_check = 2;
    let mut l = Ledger::open(&d, o.clone()).unwrap();
    l.append_many(&(0..100u32).map(|i| i.to_le_bytes().to_vec()).collect::<Vec<_>>()).unwrap();
    drop(l);
    // Corrupt entry 50's checksum byte: outside the 2-entry tail.
    let rec_off = u64::from_le_bytes(fs::read(d.join("entries.idx")).unwrap()[50 * 8..51 * 8].try_into().unwrap());
    let mut data = fs::read(d.join("entries.dat")).unwrap();
    data[rec_off as usize + 4] ^= 1;
    fs::write(d.join("entries.dat"), data).unwrap();
    let l = Ledger::open(&d, o).unwrap();
    l.verify(false).expect("the tail (last 2 entries) is intact");
    let e = l.verify(true).unwrap_err();
    assert!(e.message.starts_with("index 50:"), "{}", e.message);
    fs::remove_dir_all(&d).unwrap();
}
