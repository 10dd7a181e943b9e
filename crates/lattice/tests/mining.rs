mod common;
use common::*;
use omnitide_lattice::{BuildOptions, Lattice};

#[test]
fn concepts_equal_brute_force_closures_on_random_contexts() {
    for (seed, density) in [(1, 0.1), (2, 0.3), (3, 0.5), (4, 0.8), (5, 0.95)] {
        for (n, m) in [(0, 5), (6, 0), (12, 8), (30, 11)] {
            let ctx = random_context(seed * 100 + n as u64, n, m, density);
            let l = Lattice::build(ctx.clone(), &BuildOptions::default()).unwrap();
            l.check_invariants().unwrap();
            let mut got: Vec<Vec<u32>> = l.concepts().map(|c| c.intent.to_vec()).collect();
            got.sort();
            assert_eq!(got, brute_intents(&ctx), "seed {seed} density {density} {n}x{m}");
        }
    }
}

#[test]
fn covers_equal_brute_force_hasse_diagram() {
    for seed in 0..12 {
        let ctx = random_context(seed, 15, 9, [0.2, 0.5, 0.8][seed as usize % 3]);
        let l = Lattice::build(ctx, &BuildOptions::default()).unwrap();
        let n = l.len();
        let lt = |a: usize, b: usize| a != b && l.concept(a).extent.is_subset(l.concept(b).extent);
        for a in 0..n {
            let mut want: Vec<u32> = (0..n).filter(|&b| lt(a, b) && !(0..n).any(|c| lt(a, c) && lt(c, b))).map(|b| b as u32).collect();
            want.sort();
            let mut got = l.upper_covers(a).to_vec();
            got.sort();
            assert_eq!(got, want, "upper covers of {a} (seed {seed})");
        }
    }
}

#[test]
fn limit_stops_with_the_count_reached() {
    let ctx = random_context(9, 40, 14, 0.5);
    let full = Lattice::build(ctx.clone(), &BuildOptions::default()).unwrap().len();
    let err = Lattice::build(ctx.clone(), &BuildOptions { limit: full - 1, ..Default::default() }).unwrap_err();
    assert_eq!(err.code, "ERR_OMNI_LIMIT");
    assert!(err.message.contains(&format!("more than {}", full - 1)), "{}", err.message);
    assert_eq!(Lattice::build(ctx, &BuildOptions { limit: full, ..Default::default() }).unwrap().len(), full);
}

#[test]
fn memory_budget_caps_the_limit() {
    let ctx = random_context(10, 40, 14, 0.5);
    let err = Lattice::build(ctx, &BuildOptions { limit: 1_000_000, max_bytes: 2000 }).unwrap_err();
    assert_eq!(err.code, "ERR_OMNI_LIMIT");
}

#[test]
fn iceberg_mining_matches_filtered_lattice() {
    let ctx = random_context(11, 50, 12, 0.4);
    let l = Lattice::build(ctx.clone(), &BuildOptions::default()).unwrap();
    for minsup in [1, 5, 10, 20] {
        let mut want: Vec<Vec<u32>> = l.iceberg(minsup).iter().map(|&i| l.concept(i as usize).intent.to_vec()).collect();
        want.sort();
        let mut got: Vec<Vec<u32>> =
            omnitide_lattice::mine(&ctx, usize::MAX, minsup).unwrap().into_iter().map(|c| c.intent.to_vec()).collect();
        got.sort();
        assert_eq!(got, want, "min support {minsup}");
    }
}

#[test]
fn repeated_rows_are_merged_and_extents_expanded() {
    for seed in 70..76 {
        let mut rng = Rng(seed);
        let distinct = random_rows(&mut rng, 6, 9, 0.45);
        let rows: Vec<Vec<u32>> = (0..40).map(|_| distinct[rng.below(6)].clone()).collect();
        let ctx =
            omnitide_lattice::Context::new((0..40).map(|i| format!("g{i}")).collect(), (0..9).map(|i| format!("m{i}")).collect(), &rows)
                .unwrap();
        assert!(ctx.clarify_objects().0.n_objects() <= 6);
        let l = Lattice::build(ctx.clone(), &BuildOptions::default()).unwrap();
        l.check_invariants().unwrap();
        let mut got: Vec<Vec<u32>> = l.concepts().map(|c| c.intent.to_vec()).collect();
        got.sort();
        assert_eq!(got, brute_intents(&ctx));
        let n = l.len();
        let lt = |a: usize, b: usize| a != b && l.concept(a).extent.is_subset(l.concept(b).extent);
        for a in 0..n {
            let want: Vec<u32> = (0..n).filter(|&b| lt(a, b) && !(0..n).any(|c| lt(a, c) && lt(c, b))).map(|b| b as u32).collect();
            let mut got = l.upper_covers(a).to_vec();
            got.sort();
            assert_eq!(got, want);
        }
    }
}

/// A context big enough that the miner forks onto the pool (over `SEQUENTIAL_CELLS` cells once
/// clarified) and with repeated rows over several words of objects, so each forked subtree
/// writes its own arena part and the extents are expanded word by word. The oracle is the
/// lattice grown one object at a time by AddIntent, which shares none of that code.
#[test]
fn forked_mining_and_expanded_extents_equal_incremental_construction() {
    let mut rng = Rng(4242);
    let (distinct, m) = (110, 40);
    let rows_distinct = random_rows(&mut rng, distinct, m, 0.2);
    let rows: Vec<Vec<u32>> =
        (0..2 * distinct).map(|i| rows_distinct[if i < distinct { i } else { rng.below(distinct) }].clone()).collect();
    let names: Vec<String> = (0..rows.len()).map(|i| format!("g{i}")).collect();
    let attrs: Vec<String> = (0..m).map(|j| format!("m{j}")).collect();
    let ctx = omnitide_lattice::Context::new(names.clone(), attrs.clone(), &rows).unwrap();
    assert!(ctx.clarify_objects().0.n_objects() * m > 4096, "the clarified context must be large enough to fork");
    let built = Lattice::build(ctx, &BuildOptions::default()).unwrap();
    built.check_invariants().unwrap();
    let mut grown = Lattice::build(omnitide_lattice::Context::new(vec![], attrs, &[]).unwrap(), &BuildOptions::default()).unwrap();
    for (name, row) in names.iter().zip(&rows) {
        grown.add_object(name, row).unwrap();
    }
    assert!(built.len() > 1000, "{} concepts", built.len());
    assert_eq!(built.canonical(), grown.canonical());
}
