use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use omnitide_common::code;
use omnitide_ledger::merkle::{self, HashAlg, MemoryTree};
use omnitide_ledger::store::{node_count, node_slot};
use omnitide_ledger::{bundle, checkpoint, Bundle, Durability, Ledger, Options};

const SK: [u8; 32] = [7; 32];

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("omni-ledger-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn opts(alg: HashAlg) -> Options {
    let mut o = Options::new("example.com/log");
    o.hash = alg;
    o.signer = Some(SK.to_vec());
    o.durability = Durability::None;
    o
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i} {}", "x".repeat((i % 13) as usize)).into_bytes()
}

fn fill(l: &mut Ledger, from: u64, to: u64) {
    let es: Vec<Vec<u8>> = (from..to).map(entry).collect();
    let (first, hashes) = l.append_many(&es).unwrap();
    assert_eq!(first, from);
    assert_eq!(hashes.len() as u64, to - from);
}

#[test]
fn slots_are_post_order() {
    // leaf0 leaf1 n(1,0) leaf2 leaf3 n(1,1) n(2,0) leaf4 ...
    assert_eq!(node_slot(0, 0), 0);
    assert_eq!(node_slot(0, 1), 1);
    assert_eq!(node_slot(1, 0), 2);
    assert_eq!(node_slot(0, 2), 3);
    assert_eq!(node_slot(0, 3), 4);
    assert_eq!(node_slot(1, 1), 5);
    assert_eq!(node_slot(2, 0), 6);
    assert_eq!(node_slot(0, 4), 7);
    for n in 1..200u64 {
        assert_eq!(node_count(n), node_slot(0, n - 1) + 1 + (n - 1).trailing_ones() as u64);
    }
}

#[test]
fn ct_reference_values_through_the_store() {
    let d = tmp("ct");
    let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    for e in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"] {
        l.append(&hex::decode(e).unwrap()).unwrap();
    }
    assert_eq!(hex::encode(l.root(None).unwrap()), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    assert_eq!(hex::encode(l.root(Some(3)).unwrap()), "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
    assert_eq!(hex::encode(l.root(Some(0)).unwrap()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(hex::encode(l.inclusion_proof(5, None).unwrap()[0]), "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn store_agrees_with_memory_tree_and_survives_reopen() {
    for alg in [HashAlg::Sha256, HashAlg::Blake3] {
        let d = tmp(&format!("agree-{}", alg.name()));
        let mut mem = MemoryTree::new(alg);
        {
            let mut l = Ledger::open(&d, opts(alg)).unwrap();
            assert_eq!(l.size(), 0);
            assert_eq!(l.root(None).unwrap(), alg.empty_root());
            for i in 0..20 {
                let (idx, lh) = l.append(&entry(i)).unwrap();
                assert_eq!(idx, i);
                assert_eq!(lh, mem.push(&entry(i)));
            }
            fill(&mut l, 20, 77);
        }
        for i in 20..77 {
            mem.push(&entry(i));
        }
        let l = Ledger::open(&d, opts(alg)).unwrap();
        assert!(l.recovery().is_clean());
        assert_eq!(l.size(), 77);
        l.verify(true).unwrap();
        for n in 0..=77u64 {
            assert_eq!(l.root(Some(n)).unwrap(), mem.root(n), "root {n}");
            for i in 0..n {
                assert_eq!(l.inclusion_proof(i, Some(n)).unwrap(), mem.inclusion_proof(i, n).unwrap());
            }
            for m in 0..=n {
                assert_eq!(l.consistency_proof(m, Some(n)).unwrap(), mem.consistency_proof(m, n).unwrap());
            }
        }
        for i in 0..77 {
            assert_eq!(l.get(i).unwrap(), entry(i));
            assert_eq!(l.leaf_hash(i).unwrap(), alg.leaf_hash(&entry(i)));
        }
        assert_eq!(l.get_range(10, 30).unwrap(), (10..30).map(entry).collect::<Vec<_>>());
        assert_eq!(l.get_range(70, 77).unwrap().len(), 7);
        assert!(l.get_range(5, 5).unwrap().is_empty());
        drop(l);
        fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn large_batches_cross_internal_chunks() {
    let d = tmp("chunks");
    let mut l = Ledger::open(&d, opts(HashAlg::Blake3)).unwrap();
    let es: Vec<[u8; 64]> = (0..150_000u32)
        .map(|i| {
            let mut e = [0u8; 64];
            e[..4].copy_from_slice(&i.to_le_bytes());
            e
        })
        .collect();
    l.append_many(&es).unwrap();
    let mut mem = MemoryTree::new(HashAlg::Blake3);
    for e in &es {
        mem.push(e);
    }
    assert_eq!(l.root(None).unwrap(), mem.root(150_000));
    assert_eq!(l.root(Some(65_537)).unwrap(), mem.root(65_537));
    drop(l);
    let l = Ledger::open(&d, opts(HashAlg::Blake3)).unwrap();
    l.verify(true).unwrap();
    let p = l.inclusion_proof(123_456, None).unwrap();
    merkle::verify_inclusion(HashAlg::Blake3, &HashAlg::Blake3.leaf_hash(&es[123_456]), 123_456, 150_000, &p, &mem.root(150_000)).unwrap();
    drop(l);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_input_is_a_clear_error_and_writes_nothing() {
    let d = tmp("bad");
    let mut o = opts(HashAlg::Sha256);
    o.max_entry_size = 100;
    let mut l = Ledger::open(&d, o).unwrap();
    fill(&mut l, 0, 5);
    let e = l.append_many(&[vec![1u8; 10], vec![0u8; 101]]).unwrap_err();
    assert_eq!(e.code, code::LIMIT);
    assert!(e.message.contains("entries[1]") && e.message.contains("maxEntrySize 100"), "{}", e.message);
    assert_eq!(l.size(), 5);
    let e = l.get(5).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (code::INVALID_ARGUMENT, "index: must be < size 5, got 5"));
    assert_eq!(l.inclusion_proof(0, Some(6)).unwrap_err().code, code::INVALID_ARGUMENT);
    assert!(l.inclusion_proof(5, Some(5)).unwrap_err().message.starts_with("index:"));
    assert!(l.consistency_proof(4, Some(3)).unwrap_err().message.starts_with("oldSize:"));
    assert!(l.consistency_proof(1, Some(9)).unwrap_err().message.starts_with("newSize:"));
    assert!(l.root(Some(6)).unwrap_err().message.starts_with("treeSize:"));
    assert!(l.get_range(3, 9).is_err());
    assert!(l.append_packed(b"abc", &[2, 1]).is_err());
    drop(l);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(l.size(), 5);
    drop(l);
    for bad_origin in ["", "has space", "a+b", "line\nbreak"] {
        let mut o = opts(HashAlg::Sha256);
        o.origin = bad_origin.into();
        assert_eq!(Ledger::open(tmp("bad-origin"), o).err().unwrap().code, code::INVALID_ARGUMENT);
    }
    let mut o = opts(HashAlg::Sha256);
    o.signer = Some(vec![1; 31]);
    assert!(Ledger::open(tmp("bad-signer"), o).err().unwrap().message.contains("secretKey"));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn origin_or_hash_mismatch_on_reopen_is_an_error() {
    let d = tmp("mismatch");
    drop(Ledger::open(&d, opts(HashAlg::Sha256)).unwrap());
    let e = Ledger::open(&d, opts(HashAlg::Blake3)).err().unwrap();
    assert_eq!(e.code, code::INVALID_ARGUMENT);
    assert!(e.message.starts_with("hash:") && e.message.contains("'sha256'"), "{}", e.message);
    let mut o = opts(HashAlg::Sha256);
    o.origin = "other.example/log".into();
    let e = Ledger::open(&d, o).err().unwrap();
    assert!(e.message.starts_with("origin:") && e.message.contains("example.com/log"), "{}", e.message);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn second_writer_gets_locked_error() {
    let d = tmp("lock");
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    let e = Ledger::open(&d, opts(HashAlg::Sha256)).err().unwrap();
    assert_eq!(e.code, code::LOCKED);
    assert!(e.message.contains("already open for writing"));
    drop(l);
    Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    fs::remove_dir_all(&d).unwrap();
}

fn append_bytes(p: &Path, bytes: &[u8]) {
    OpenOptions::new().append(true).open(p).unwrap().write_all(bytes).unwrap();
}

#[test]
fn torn_tails_are_truncated_and_reported() {
    let d = tmp("torn");
    {
        let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
        fill(&mut l, 0, 10);
    }
    let root10 = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap().root(None).unwrap();
    // A half-written record, a partial index record, half a tree node.
    append_bytes(&d.join("entries.dat"), &[50, 0, 0, 0, 1, 2, 3]);
    append_bytes(&d.join("entries.idx"), &[1, 2, 3]);
    append_bytes(&d.join("tree.dat"), &[9; 17]);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(l.size(), 10);
    assert_eq!(l.root(None).unwrap(), root10);
    let r = l.recovery().clone();
    assert_eq!((r.truncated_data_bytes, r.truncated_index_bytes, r.truncated_tree_bytes), (7, 3, 17));
    drop(l);
    assert!(Ledger::open(&d, opts(HashAlg::Sha256)).unwrap().recovery().is_clean());

    // A complete record and index entry whose tree nodes never made it: dropped.
    let data_len = fs::metadata(d.join("entries.dat")).unwrap().len();
    let mut frame = vec![3, 0, 0, 0, b'a', b'b', b'c'];
    frame.extend_from_slice(&HashAlg::Sha256.leaf_hash(b"abc")[..8]);
    append_bytes(&d.join("entries.dat"), &frame);
    append_bytes(&d.join("entries.idx"), &data_len.to_le_bytes());
    let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(l.size(), 10);
    assert_eq!(l.recovery().dropped_entries, 1);
    assert_eq!(l.recovery().truncated_data_bytes, 15);
    // And the log continues normally.
    fill(&mut l, 10, 12);
    l.verify(true).unwrap();
    drop(l);

    // Index entry pointing past the end of data (data write lost): dropped too.
    append_bytes(&d.join("entries.idx"), &(1u64 << 40).to_le_bytes());
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(l.size(), 12);
    drop(l);
    fs::remove_dir_all(&d).unwrap();
}

fn flip(p: &Path, at: u64) {
    let f = OpenOptions::new().read(true).write(true).open(p).unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    b[0] ^= 0x20;
    f.write_all_at(&b, at).unwrap();
}

fn corrupt_index(e: &omnitide_common::Error) -> u64 {
    assert_eq!(e.code, code::LEDGER_CORRUPT, "{e}");
    e.message.strip_prefix("index ").unwrap().split(':').next().unwrap().parse().unwrap()
}

fn record_offset(d: &Path, i: u64) -> u64 {
    let mut b = [0u8; 8];
    fs::File::open(d.join("entries.idx")).unwrap().read_exact_at(&mut b, i * 8).unwrap();
    u64::from_le_bytes(b)
}

#[test]
fn tampering_is_detected_with_the_first_bad_index() {
    let d = tmp("tamper");
    let build = |d: &Path| {
        let _ = fs::remove_dir_all(d);
        let mut l = Ledger::open(d, opts(HashAlg::Sha256)).unwrap();
        fill(&mut l, 0, 200);
    };
    // An old entry: the fast open check does not see it, get() and verify(full) do.
    build(&d);
    flip(&d.join("entries.dat"), record_offset(&d, 37) + 6);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(corrupt_index(&l.get(37).unwrap_err()), 37);
    assert_eq!(corrupt_index(&l.get_range(30, 40).unwrap_err()), 37);
    l.verify(false).expect("verify(false) checks the same 64-entry tail as open (issue 12 item 7)");
    assert_eq!(corrupt_index(&l.verify(true).unwrap_err()), 37);
    drop(l);

    // A recent entry: open() itself refuses.
    build(&d);
    flip(&d.join("entries.dat"), record_offset(&d, 190) + 5);
    assert_eq!(corrupt_index(&Ledger::open(&d, opts(HashAlg::Sha256)).err().unwrap()), 190);
    // The very last entry is tampering too, not a torn tail.
    build(&d);
    flip(&d.join("entries.dat"), record_offset(&d, 199) + 5);
    assert_eq!(corrupt_index(&Ledger::open(&d, opts(HashAlg::Sha256)).err().unwrap()), 199);

    // A stored leaf hash and an interior node.
    build(&d);
    flip(&d.join("tree.dat"), node_slot(0, 12) * 32 + 1);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(corrupt_index(&l.verify(true).unwrap_err()), 12);
    drop(l);
    build(&d);
    flip(&d.join("tree.dat"), node_slot(3, 2) * 32 + 1);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(corrupt_index(&l.verify(true).unwrap_err()), 16);
    drop(l);

    // The index.
    build(&d);
    flip(&d.join("entries.idx"), 8 * 50);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(corrupt_index(&l.verify(true).unwrap_err()), 50);
    drop(l);

    // A stored subtree hash under a signed checkpoint no longer matches it: caught at open,
    // and the full scan names the first entry that node covers.
    build(&d);
    {
        let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
        l.checkpoint().unwrap();
    }
    flip(&d.join("tree.dat"), node_slot(6, 2) * 32);
    assert_eq!(corrupt_index(&Ledger::open(&d, opts(HashAlg::Sha256)).err().unwrap()), 128);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn checkpoints_are_c2sp_signed_notes() {
    let d = tmp("cp");
    let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    fill(&mut l, 0, 8);
    let pk = l.public_key().unwrap();
    let s = l.checkpoint_at(1_700_000_000_000).unwrap();
    let lines: Vec<&str> = s.text.split('\n').collect();
    assert_eq!(lines[0], "example.com/log");
    assert_eq!(lines[1], "8");
    assert_eq!(lines[3], "timestamp 1700000000000");
    assert_eq!(lines[4], "");
    assert!(lines[5].starts_with("\u{2014} example.com/log "));
    assert_eq!(lines[6], "");
    // key id = SHA-256(name || 0x0A || 0x01 || pk)[:4]
    use sha2::Digest;
    let mut hh = sha2::Sha256::new();
    hh.update(b"example.com/log\n\x01");
    hh.update(pk);
    assert_eq!(s.key_id, hh.finalize()[..4]);
    assert!(checkpoint::verifier_key("example.com/log", &pk).starts_with(&format!("example.com/log+{}+", hex::encode(s.key_id))));

    let v = checkpoint::verify(&s.text, &pk, None).unwrap();
    assert!(v.valid, "{:?}", v.reason);
    assert_eq!(v.checkpoint.size, 8);
    assert_eq!(v.checkpoint.root_hash, l.root(None).unwrap());
    assert_eq!(v.checkpoint.timestamp, Some(1_700_000_000_000));

    let other = omnitide_crypto::ed25519::public_key_from_secret(&[9; 32]).unwrap();
    let v = checkpoint::verify(&s.text, &other, None).unwrap();
    assert!(!v.valid && v.reason.unwrap().contains("no signature line"));
    let forged = s.text.replacen("\n8\n", "\n9\n", 1);
    let v = checkpoint::verify(&forged, &pk, None).unwrap();
    assert!(!v.valid && v.reason.unwrap().contains("does not verify"));
    // Malformed texts are errors.
    for bad in ["", "example.com/log\n8\n", "a\nb\nc\n\n\u{2014} a AAAA\n", "example.com/log\n08\nAAAA\n\n\u{2014} k AAAAAAAA\n"] {
        assert_eq!(checkpoint::verify(bad, &pk, None).unwrap_err().code, code::INVALID_ARGUMENT, "{bad:?}");
    }
    assert!(checkpoint::verify(&s.text, &pk[..31], None).unwrap_err().message.starts_with("publicKey"));
    // Extra signature lines of other keys are fine (witness cosignatures).
    let with_witness = format!("{}\u{2014} witness.example AAAAAAAAAAAA\n", s.text);
    assert!(checkpoint::verify(&with_witness, &pk, None).unwrap().valid);

    // Growing and re-signing is consistent.
    fill(&mut l, 8, 20);
    let s2 = l.checkpoint().unwrap();
    let c2 = checkpoint::verify(&s2.text, &pk, None).unwrap().checkpoint;
    let p = l.consistency_proof(8, Some(20)).unwrap();
    merkle::verify_consistency(HashAlg::Sha256, 8, 20, &s.checkpoint.root_hash, &c2.root_hash, &p).unwrap();
    drop(l);
    let l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    assert_eq!(l.last_checkpoint().unwrap().0.size, 20);
    drop(l);

    // Without a signer: a clear error.
    let mut o = opts(HashAlg::Sha256);
    o.signer = None;
    let mut l = Ledger::open(&d, o).unwrap();
    assert!(l.checkpoint().unwrap_err().message.starts_with("signer:"));
    drop(l);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn never_signs_a_tree_inconsistent_with_a_signed_one() {
    let d = tmp("fork");
    {
        let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
        fill(&mut l, 0, 10);
        l.checkpoint().unwrap();
    }
    // Rewrite history on disk: replace the whole log by a different one of the same origin
    // while keeping the old checkpoint.
    let cp = fs::read(d.join("checkpoint")).unwrap();
    fs::remove_dir_all(&d).unwrap();
    {
        let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
        let es: Vec<Vec<u8>> = (0..12).map(|i| format!("forged {i}").into_bytes()).collect();
        l.append_many(&es).unwrap();
    }
    fs::write(d.join("checkpoint"), &cp).unwrap();
    let e = Ledger::open(&d, opts(HashAlg::Sha256)).err().unwrap();
    assert_eq!(e.code, code::LEDGER_CORRUPT);
    assert!(e.message.contains("differs from the one signed"), "{}", e.message);
    // A log shorter than its checkpoint lost acknowledged entries.
    fs::remove_dir_all(&d).unwrap();
    {
        let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
        fill(&mut l, 0, 3);
    }
    fs::write(d.join("checkpoint"), &cp).unwrap();
    let e = Ledger::open(&d, opts(HashAlg::Sha256)).err().unwrap();
    assert_eq!(corrupt_index(&e), 3);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bundles_verify_offline_and_reject_tampering() {
    let d = tmp("bundle");
    let mut l = Ledger::open(&d, opts(HashAlg::Blake3)).unwrap();
    fill(&mut l, 0, 33);
    let pk = l.public_key().unwrap();
    let b = l.bundle(17).unwrap();
    assert_eq!(b.tree_size, 33);
    let bytes = b.encode();
    let back = Bundle::decode(&bytes).unwrap();
    assert_eq!(back, b);
    let v = bundle::verify(&back, &pk, None).unwrap();
    assert!(v.valid, "{:?}", v.reason);
    // Reuses the checkpoint while it covers the index.
    fill(&mut l, 33, 40);
    assert_eq!(l.bundle(3).unwrap().tree_size, 33);
    assert_eq!(l.bundle(35).unwrap().tree_size, 40);

    let mut t = b.clone();
    t.entry[0] ^= 1;
    assert!(bundle::verify(&t, &pk, None).unwrap().reason.unwrap().starts_with("inclusion proof"));
    let mut t = b.clone();
    t.index = 18;
    assert!(!bundle::verify(&t, &pk, None).unwrap().valid);
    let mut t = b.clone();
    t.tree_size = 34;
    assert!(!bundle::verify(&t, &pk, None).unwrap().valid);
    let other = omnitide_crypto::ed25519::public_key_from_secret(&[9; 32]).unwrap();
    assert!(bundle::verify(&b, &other, None).unwrap().reason.unwrap().starts_with("checkpoint"));
    for cut in [0, 3, 10, bytes.len() / 2, bytes.len() - 1] {
        let e = Bundle::decode(&bytes[..cut]).unwrap_err();
        assert_eq!(e.code, code::INVALID_ARGUMENT);
        assert!(e.message.starts_with("bundle: malformed bundle"), "{}", e.message);
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(Bundle::decode(&long).is_err());
    assert!(l.bundle(40).is_err());
    drop(l);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn durability_modes_all_persist_across_reopen() {
    for d_mode in [Durability::Always, Durability::Batch, Durability::None] {
        let d = tmp(&format!("dur-{d_mode:?}"));
        let mut o = opts(HashAlg::Sha256);
        o.durability = d_mode;
        {
            let mut l = Ledger::open(&d, o.clone()).unwrap();
            fill(&mut l, 0, 50);
            l.append(b"one more").unwrap();
            l.sync().unwrap();
        }
        let l = Ledger::open(&d, o).unwrap();
        assert_eq!(l.size(), 51);
        l.verify(true).unwrap();
        drop(l);
        fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn bounded_ranges_stop_early_but_make_progress() {
    let d = tmp("bounded");
    let mut l = Ledger::open(&d, opts(HashAlg::Sha256)).unwrap();
    let es: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 100]).collect();
    l.append_many(&es).unwrap();
    // Each record is 112 bytes: 250 bytes of budget covers 3 record starts.
    let got = l.get_range_bounded(2, 10, 250).unwrap();
    assert_eq!(got, es[2..5].to_vec());
    assert_eq!(l.get_range_bounded(9, 10, 0).unwrap(), es[9..10].to_vec());
    assert_eq!(l.get_range_bounded(0, 10, 1 << 20).unwrap(), es);
    assert_eq!(l.get_range_bounded(0, 1, 0).unwrap().len(), 1);
    assert!(l.get_range_bounded(0, 11, 10).is_err());
    drop(l);
    fs::remove_dir_all(&d).unwrap();
}
