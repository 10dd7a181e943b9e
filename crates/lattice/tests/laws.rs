mod common;
use common::*;
use omnitide_lattice::{Bits, BuildOptions, Lattice};

fn lattices() -> Vec<Lattice> {
    [(21, 0.2), (22, 0.5), (23, 0.8)]
        .iter()
        .map(|&(s, d)| Lattice::build(random_context(s, 25, 10, d), &BuildOptions::default()).unwrap())
        .collect()
}

#[test]
fn join_and_meet_obey_the_lattice_laws() {
    for l in lattices() {
        let mut rng = Rng(77);
        let n = l.len();
        for _ in 0..300 {
            let (a, b, c) = (rng.below(n) as u32, rng.below(n) as u32, rng.below(n) as u32);
            let j = |x: u32, y: u32| l.join(&[x, y]).unwrap();
            let m = |x: u32, y: u32| l.meet(&[x, y]).unwrap();
            assert_eq!(j(a, a), a, "join idempotent");
            assert_eq!(m(a, a), a, "meet idempotent");
            assert_eq!(j(a, b), j(b, a), "join commutative");
            assert_eq!(m(a, b), m(b, a), "meet commutative");
            assert_eq!(j(j(a, b), c), j(a, j(b, c)), "join associative");
            assert_eq!(m(m(a, b), c), m(a, m(b, c)), "meet associative");
            assert_eq!(j(a, m(a, b)), a, "absorption 1");
            assert_eq!(m(a, j(a, b)), a, "absorption 2");
            assert_eq!(l.join(&[a, b, c]).unwrap(), j(j(a, b), c), "n-ary join");
            assert_eq!(l.meet(&[a, b, c]).unwrap(), m(m(a, b), c), "n-ary meet");
            // order consistency: a ≤ b iff a ∧ b = a iff a ∨ b = b
            let le = l.leq(a, b).unwrap();
            assert_eq!(le, m(a, b) == a);
            assert_eq!(le, j(a, b) == b);
            // join is the least upper bound
            let jab = j(a, b);
            assert!(l.leq(a, jab).unwrap() && l.leq(b, jab).unwrap());
            for &u in &l.ancestors(a).unwrap() {
                if l.leq(b, u).unwrap() {
                    assert!(l.leq(jab, u).unwrap());
                }
            }
        }
        assert_eq!(l.join(&[]).unwrap(), l.bottom());
        assert_eq!(l.meet(&[]).unwrap(), l.top());
        let all: Vec<u32> = (0..n as u32).collect();
        assert_eq!(l.join(&all).unwrap(), l.top());
        assert_eq!(l.meet(&all).unwrap(), l.bottom());
    }
}

#[test]
fn ancestors_descendants_and_levels_agree_with_the_order() {
    for l in lattices() {
        let levels = l.levels();
        for a in 0..l.len() as u32 {
            let anc = l.ancestors(a).unwrap();
            let want: Vec<u32> = (0..l.len() as u32).filter(|&b| b != a && l.leq(a, b).unwrap()).collect();
            assert_eq!(anc, want);
            let desc = l.descendants(a).unwrap();
            let want: Vec<u32> = (0..l.len() as u32).filter(|&b| b != a && l.leq(b, a).unwrap()).collect();
            assert_eq!(desc, want);
            for &u in l.upper_covers(a as usize) {
                assert!(levels[u as usize] < levels[a as usize]);
            }
        }
        assert_eq!(levels[l.top() as usize], 0);
    }
}

#[test]
fn queries_match_definitions() {
    for l in lattices() {
        let ctx = l.context().clone();
        let m = ctx.n_attributes();
        let mut rng = Rng(5);
        for _ in 0..100 {
            let q = Bits::from_indices(m, (0..m).filter(|_| rng.chance(0.2)));
            let got = l.concepts_with_attributes(&q);
            let want: Vec<u32> = (0..l.len() as u32).filter(|&i| q.is_subset(l.concept(i as usize).intent)).collect();
            assert_eq!(got, want);
            // classification: maximal concepts whose intent ⊆ q
            let cls = l.classify(&q);
            let under: Vec<u32> = (0..l.len() as u32).filter(|&i| l.concept(i as usize).intent.is_subset(&q)).collect();
            let want: Vec<u32> = under.iter().copied().filter(|&i| !under.iter().any(|&j| j != i && l.leq(j, i).unwrap())).collect();
            assert_eq!(cls, want);
        }
        let (e, i) = l.similarity(l.top(), l.top()).unwrap();
        assert_eq!((e, i), (1.0, 1.0));
    }
}

#[test]
fn stability_matches_subset_enumeration() {
    let ctx = random_context(31, 9, 6, 0.5);
    let l = Lattice::build(ctx.clone(), &BuildOptions::default()).unwrap();
    let st = l.stability(10_000).unwrap();
    for (i, &got) in st.iter().enumerate() {
        let c = l.concept(i);
        let ext: Vec<usize> = c.extent.ones().collect();
        let mut hits = 0;
        for mask in 0u32..(1 << ext.len()) {
            let sub = Bits::from_indices(ctx.n_objects(), ext.iter().enumerate().filter(|(k, _)| mask >> k & 1 == 1).map(|(_, &g)| g));
            if ctx.intent_of(&sub) == *c.intent {
                hits += 1;
            }
        }
        let want = hits as f64 / (1u64 << ext.len()) as f64;
        assert!((got - want).abs() < 1e-9, "concept {i}: {got} vs {want}");
    }
}
