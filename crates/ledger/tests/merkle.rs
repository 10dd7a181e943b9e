//! RFC 6962 reference values (the Certificate Transparency test data also
//! used by transparency-dev/merkle) and exhaustive proof checks.

use omnitide_ledger::merkle::{self, split_point, HashAlg, MemoryTree};

fn h(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

const LEAVES: [&str; 8] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference() -> MemoryTree {
    let mut t = MemoryTree::new(HashAlg::Sha256);
    for l in LEAVES {
        t.push(&hex::decode(l).unwrap());
    }
    t
}

#[test]
fn roots_match_rfc6962_reference() {
    let t = reference();
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(hex::encode(t.root(n as u64)), *want, "size {n}");
    }
}

#[test]
fn split_rule_is_the_rfcs() {
    for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512), (1u64 << 40, 1u64 << 39)] {
        assert_eq!(split_point(n), k, "n={n}");
    }
}

#[test]
fn inclusion_proofs_match_reference() {
    let t = reference();
    let cases: &[(u64, u64, &[&str])] = &[
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (0, 1, &[]),
    ];
    for (i, n, want) in cases {
        let p = t.inclusion_proof(*i, *n).unwrap();
        assert_eq!(p.iter().map(hex::encode).collect::<Vec<_>>(), *want, "leaf {i} size {n}");
        let leaf = HashAlg::Sha256.leaf_hash(&hex::decode(LEAVES[*i as usize]).unwrap());
        merkle::verify_inclusion(HashAlg::Sha256, &leaf, *i, *n, &p, &h(ROOTS[*n as usize])).unwrap();
    }
}

#[test]
fn consistency_proofs_match_reference() {
    let t = reference();
    let cases: &[(u64, u64, &[&str])] = &[
        (
            2,
            8,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, want) in cases {
        let p = t.consistency_proof(*m, *n).unwrap();
        assert_eq!(p.iter().map(hex::encode).collect::<Vec<_>>(), *want, "{m}->{n}");
        merkle::verify_consistency(HashAlg::Sha256, *m, *n, &h(ROOTS[*m as usize]), &h(ROOTS[*n as usize]), &p).unwrap();
    }
}

fn tree(alg: HashAlg, n: u64) -> MemoryTree {
    let mut t = MemoryTree::new(alg);
    for i in 0..n {
        t.push(format!("entry {i}").as_bytes());
    }
    t
}

#[test]
fn every_inclusion_proof_verifies_and_mangled_ones_do_not() {
    for alg in [HashAlg::Sha256, HashAlg::Blake3] {
        let t = tree(alg, 40);
        for n in 1..=40u64 {
            let root = t.root(n);
            for i in 0..n {
                let leaf = alg.leaf_hash(format!("entry {i}").as_bytes());
                let p = t.inclusion_proof(i, n).unwrap();
                merkle::verify_inclusion(alg, &leaf, i, n, &p, &root).unwrap();
                assert_eq!(merkle::root_from_inclusion(alg, &leaf, i, n, &p), Some(root));
                if i + 1 < n {
                    assert!(merkle::verify_inclusion(alg, &leaf, i + 1, n, &p, &root).is_err());
                }
                let mut longer = p.clone();
                longer.push([7; 32]);
                assert!(merkle::verify_inclusion(alg, &leaf, i, n, &longer, &root).is_err());
                if !p.is_empty() {
                    let mut flipped = p.clone();
                    flipped[0][3] ^= 1;
                    assert!(merkle::verify_inclusion(alg, &leaf, i, n, &flipped, &root).is_err());
                    assert!(merkle::verify_inclusion(alg, &leaf, i, n, &p[..p.len() - 1], &root).is_err());
                }
                assert!(merkle::verify_inclusion(alg, &[0; 32], i, n, &p, &root).is_err());
            }
            assert!(merkle::verify_inclusion(alg, &[0; 32], n, n, &[], &root).is_err());
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_mangled_ones_do_not() {
    for alg in [HashAlg::Sha256, HashAlg::Blake3] {
        let t = tree(alg, 40);
        for n in 0..=40u64 {
            for m in 0..=n {
                let p = t.consistency_proof(m, n).unwrap();
                let (r1, r2) = (t.root(m), t.root(n));
                merkle::verify_consistency(alg, m, n, &r1, &r2, &p).unwrap();
                if m > 0 && m < n {
                    let mut flipped = p.clone();
                    flipped[0][0] ^= 0x80;
                    assert!(merkle::verify_consistency(alg, m, n, &r1, &r2, &flipped).is_err(), "{m}->{n}");
                    assert!(merkle::verify_consistency(alg, m, n, &r1, &r2, &p[..p.len() - 1]).is_err());
                    let mut longer = p.clone();
                    longer.push([1; 32]);
                    assert!(merkle::verify_consistency(alg, m, n, &r1, &r2, &longer).is_err());
                    assert!(merkle::verify_consistency(alg, m, n, &r2, &r2, &p).is_err());
                    assert!(merkle::verify_consistency(alg, m, n, &r1, &r1, &p).is_err());
                    assert!(merkle::verify_consistency(alg, n, m, &r2, &r1, &p).is_err());
                }
            }
        }
    }
}

#[test]
fn blake3_and_sha256_trees_differ_and_use_prefixes() {
    let a = HashAlg::Sha256.leaf_hash(b"x");
    let b = HashAlg::Blake3.leaf_hash(b"x");
    assert_ne!(a, b);
    assert_eq!(b, *blake3::hash(&[0x00, b'x']).as_bytes());
    let node = HashAlg::Blake3.node_hash(&a, &b);
    let mut buf = vec![1u8];
    buf.extend_from_slice(&a);
    buf.extend_from_slice(&b);
    assert_eq!(node, *blake3::hash(&buf).as_bytes());
    assert_eq!(HashAlg::Blake3.empty_root(), *blake3::hash(b"").as_bytes());
}
