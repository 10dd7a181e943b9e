mod common;
use common::*;
use omnitide_lattice::{association_rules, canonical_basis, close_under, entails, Bits, BuildOptions, Lattice};

#[test]
fn basis_closure_equals_context_closure_for_every_attribute_set() {
    for (seed, density) in [(41, 0.2), (42, 0.4), (43, 0.6), (44, 0.85)] {
        let ctx = random_context(seed, 20, 9, density);
        let basis = canonical_basis(&ctx, 100_000).unwrap();
        let m = ctx.n_attributes();
        for mask in 0u32..(1 << m) {
            let x = Bits::from_indices(m, (0..m).filter(|i| mask >> i & 1 == 1));
            assert_eq!(close_under(&basis, &x, false), ctx.close_intent(&x), "seed {seed} set {x:?}");
        }
    }
}

#[test]
fn basis_premises_are_exactly_the_pseudo_intents() {
    // P is pseudo-closed iff P != P'' and Q'' ⊆ P for every pseudo-closed Q ⊊ P.
    for seed in 50..56 {
        let ctx = random_context(seed, 14, 8, 0.45);
        let m = ctx.n_attributes();
        let mut all: Vec<Bits> = (0u32..(1 << m)).map(|mask| Bits::from_indices(m, (0..m).filter(|i| mask >> i & 1 == 1))).collect();
        all.sort_by_key(|b| b.count());
        let mut pseudo: Vec<Bits> = Vec::new();
        for p in all {
            if ctx.close_intent(&p) == p {
                continue;
            }
            if pseudo.iter().filter(|q| q.is_subset(&p) && **q != p).all(|q| ctx.close_intent(q).is_subset(&p)) {
                pseudo.push(p);
            }
        }
        let basis = canonical_basis(&ctx, 100_000).unwrap();
        let mut got: Vec<Vec<u32>> = basis.iter().map(|i| i.premise.to_vec()).collect();
        let mut want: Vec<Vec<u32>> = pseudo.iter().map(|p| p.to_vec()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "seed {seed}");
        for imp in &basis {
            assert_eq!(imp.premise.or(&imp.conclusion), ctx.close_intent(&imp.premise));
            assert_eq!(imp.support, ctx.extent_of(&imp.premise).count());
            // The basis is non-redundant: dropping an implication loses it.
            let rest: Vec<_> = basis.iter().filter(|j| *j != imp).cloned().collect();
            assert!(!entails(&rest, &imp.premise, &imp.conclusion));
        }
    }
}

#[test]
fn basis_limit_is_reported() {
    let ctx = random_context(60, 30, 10, 0.5);
    let n = canonical_basis(&ctx, 100_000).unwrap().len();
    assert!(n > 2);
    assert_eq!(canonical_basis(&ctx, n - 1).unwrap_err().code, "ERR_OMNI_LIMIT");
}

#[test]
fn association_rules_have_exact_support_and_confidence() {
    let ctx = random_context(61, 40, 8, 0.5);
    let l = Lattice::build(ctx.clone(), &BuildOptions::default()).unwrap();
    let rules = association_rules(&l, 0.1, 0.5);
    assert!(!rules.is_empty());
    for r in rules {
        let both = ctx.extent_of(&r.premise.or(&r.conclusion)).count() as f64;
        let prem = ctx.extent_of(&r.premise).count() as f64;
        assert!((r.support - both / 40.0).abs() < 1e-12);
        assert!((r.confidence - both / prem).abs() < 1e-12);
        assert!(r.support >= 0.1 && r.confidence >= 0.5 && r.confidence < 1.0);
    }
}
