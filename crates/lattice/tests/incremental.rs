mod common;
use common::*;
use omnitide_lattice::{BuildOptions, Context, Lattice};

fn scratch(l: &Lattice) -> Lattice {
    Lattice::build(l.context().clone(), &BuildOptions::default()).unwrap()
}

#[test]
fn random_add_remove_sequences_equal_from_scratch() {
    for seed in 0..20u64 {
        let mut rng = Rng(seed * 7 + 3);
        let density = [0.15, 0.4, 0.7][seed as usize % 3];
        let ctx = random_context(seed, 8, 7, density);
        let mut l = Lattice::build(ctx, &BuildOptions::default()).unwrap();
        let mut next = 0;
        for step in 0..25 {
            let c = l.context().clone();
            match rng.below(4) {
                0 | 1 => {
                    let attrs: Vec<u32> = (0..c.n_attributes() as u32).filter(|_| rng.chance(density)).collect();
                    l.add_object(&format!("new{next}"), &attrs).unwrap();
                    next += 1;
                }
                2 if c.n_objects() > 0 => {
                    let g = rng.below(c.n_objects());
                    l.remove_object(&c.objects()[g]).unwrap();
                }
                2 => {}
                _ => {
                    if rng.chance(0.5) || c.n_attributes() == 0 {
                        let objs: Vec<u32> = (0..c.n_objects() as u32).filter(|_| rng.chance(density)).collect();
                        l.add_attribute(&format!("a{next}"), &objs).unwrap();
                        next += 1;
                    } else {
                        let m = rng.below(c.n_attributes());
                        l.remove_attribute(&c.attributes()[m]).unwrap();
                    }
                }
            }
            l.check_invariants().unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
            assert_eq!(l.canonical(), scratch(&l).canonical(), "seed {seed} step {step}");
        }
    }
}

#[test]
fn add_object_rejects_duplicates_and_the_limit_without_changing_anything() {
    let ctx = Context::new(vec!["a".into(), "b".into()], vec!["x".into(), "y".into(), "z".into()], &[vec![0, 1], vec![1, 2]]).unwrap();
    let mut l = Lattice::build(ctx, &BuildOptions { limit: 5, ..Default::default() }).unwrap();
    let before = l.canonical();
    let e = l.add_object("a", &[0]).unwrap_err();
    assert!(e.message.contains("duplicate name 'a'"), "{}", e.message);
    let e = l.add_object("c", &[7]).unwrap_err();
    assert!(e.message.contains("unknown attribute index 7"), "{}", e.message);
    // {x,z} creates {x,z} and {z}... beyond 5 concepts
    let e = l.add_object("c", &[0, 2]).unwrap_err();
    assert_eq!(e.code, "ERR_OMNI_LIMIT");
    assert_eq!(l.canonical(), before);
    assert_eq!(l.context().n_objects(), 2);
}

/// Adds that carry the object count and the attribute count across a 64-bit word boundary
/// (extents and intents change width; the flat intent copy is re-strided) keep the lattice
/// equal to one built from scratch.
#[test]
fn adds_across_word_boundaries_equal_from_scratch() {
    let mut rng = Rng(0xC0FF_EE00);
    let mut l = Lattice::build(random_context(5, 60, 60, 0.08), &BuildOptions::default()).unwrap();
    for step in 0..12 {
        let c = l.context().clone();
        if step % 2 == 0 {
            let attrs: Vec<u32> = (0..c.n_attributes() as u32).filter(|_| rng.chance(0.08)).collect();
            l.add_object(&format!("new{step}"), &attrs).unwrap();
        } else {
            let objs: Vec<u32> = (0..c.n_objects() as u32).filter(|_| rng.chance(0.08)).collect();
            l.add_attribute(&format!("a{step}"), &objs).unwrap();
        }
        l.check_invariants().unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert_eq!(l.canonical(), scratch(&l).canonical(), "step {step}");
    }
    assert_eq!((l.context().n_objects(), l.context().n_attributes()), (66, 66));
}

/// Removals of objects and attributes that bring a count back below a multiple of 64 (the
/// extent or intent arena is re-laid with one word less) keep the lattice equal to one built
/// from scratch, down to no objects at all.
#[test]
fn removals_across_word_boundaries_equal_from_scratch() {
    let mut rng = Rng(0xBADC_0DE5);
    let mut l = Lattice::build(random_context(9, 67, 66, 0.1), &BuildOptions::default()).unwrap();
    for step in 0..6 {
        let c = l.context().clone();
        if step % 2 == 0 {
            l.remove_object(&c.objects()[rng.below(c.n_objects())]).unwrap();
        } else {
            l.remove_attribute(&c.attributes()[rng.below(c.n_attributes())]).unwrap();
        }
        l.check_invariants().unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert_eq!(l.canonical(), scratch(&l).canonical(), "step {step}");
    }
    assert_eq!((l.context().n_objects(), l.context().n_attributes()), (64, 63));
    while let Some(g) = l.context().objects().first().cloned() {
        l.remove_object(&g).unwrap();
        if l.context().n_objects().is_multiple_of(16) {
            l.check_invariants().unwrap();
            assert_eq!(l.canonical(), scratch(&l).canonical(), "{} objects left", l.context().n_objects());
        }
    }
}

/// A row for the one-by-one tests: mostly random at `density`, but sometimes empty, full,
/// or a copy of an earlier row (a duplicate object), the cases AddIntent treats specially.
fn test_row(rng: &mut Rng, rows: &[Vec<u32>], m: usize, density: f64) -> Vec<u32> {
    match rng.below(8) {
        0 => Vec::new(),
        1 => (0..m as u32).collect(),
        2 | 3 if !rows.is_empty() => rows[rng.below(rows.len())].clone(),
        _ => (0..m as u32).filter(|_| rng.chance(density)).collect(),
    }
}

fn context_of(rows: &[Vec<u32>], m: usize) -> Context {
    Context::new((0..rows.len()).map(|i| format!("g{i}")).collect(), (0..m).map(|j| format!("m{j}")).collect(), rows).unwrap()
}

/// Objects added one by one, starting from the lattice of no objects, give the lattice built
/// from scratch (concepts and covers) after every add: random contexts of several shapes and
/// densities (object and attribute counts crossing a 64-bit word), with duplicate, empty and
/// full rows.
#[test]
fn adding_objects_one_by_one_equals_building_from_scratch() {
    for seed in 0..24u64 {
        let mut rng = Rng(seed * 0x9E37 + 11);
        let density = [0.1, 0.3, 0.5, 0.8][seed as usize % 4];
        let (m, n) = [(6, 20), (11, 40), (70, 12), (9, 75)][seed as usize / 4 % 4];
        let mut rows: Vec<Vec<u32>> = Vec::new();
        let mut l = Lattice::build(context_of(&rows, m), &BuildOptions::default()).unwrap();
        for g in 0..n {
            let row = test_row(&mut rng, &rows, m, density);
            let oc = l.add_object(&format!("g{g}"), &row).unwrap();
            rows.push(row.clone());
            assert_eq!(
                l.concept(oc as usize).intent.to_vec(),
                l.context().close_intent(&omnitide_lattice::Bits::from_indices(m, row.iter().map(|&a| a as usize))).to_vec(),
                "seed {seed} object {g}: the returned id is the object concept"
            );
            // The full comparison on every add for small shapes, every few adds for the wide ones.
            if m <= 11 || g % 4 == 3 || g + 1 == n {
                l.check_invariants().unwrap_or_else(|e| panic!("seed {seed} object {g}: {e}"));
                let fresh = Lattice::build(context_of(&rows, m), &BuildOptions::default()).unwrap();
                assert_eq!(l.canonical(), fresh.canonical(), "seed {seed} object {g}");
            }
        }
    }
}

/// With a concept limit, every add either succeeds (and the lattice stays equal to the one
/// built from scratch, never above the limit) or fails with ERR_OMNI_LIMIT, reporting the
/// limit and a count above it, and leaves the lattice, its covers, its index and the
/// context exactly as before: later adds still work.
#[test]
fn adds_over_the_concept_limit_fail_whole_and_change_nothing() {
    let mut failures = 0;
    for seed in 0..30u64 {
        let mut rng = Rng(seed * 31 + 5);
        let m = [7, 10, 66][seed as usize % 3];
        let density = [0.3, 0.5, 0.7][seed as usize / 3 % 3];
        let mut rows: Vec<Vec<u32>> = (0..4).map(|_| (0..m as u32).filter(|_| rng.chance(density)).collect()).collect();
        let start = Lattice::build(context_of(&rows, m), &BuildOptions::default()).unwrap();
        let limit = start.len() + 1 + rng.below(3 * start.len());
        let mut l = Lattice::build(context_of(&rows, m), &BuildOptions { limit, ..Default::default() }).unwrap();
        for g in 4..40 {
            let row = test_row(&mut rng, &rows, m, density);
            let before = l.canonical();
            match l.add_object(&format!("g{g}"), &row) {
                Ok(_) => {
                    rows.push(row);
                    assert!(l.len() <= limit, "seed {seed}: {} concepts over the limit {limit} (lattice limit {})", l.len(), l.limit());
                    let fresh = Lattice::build(context_of(&rows, m), &BuildOptions::default()).unwrap();
                    assert_eq!(l.canonical(), fresh.canonical(), "seed {seed} object {g}");
                }
                Err(e) => {
                    failures += 1;
                    assert_eq!(e.code, "ERR_OMNI_LIMIT", "{}", e.message);
                    let field = |k: &str| {
                        e.fields.iter().find_map(|(n, v)| match v {
                            omnitide_common::Field::Uint(x) if *n == k => Some(*x as usize),
                            _ => None,
                        })
                    };
                    assert_eq!(field("limit"), Some(limit), "{:?}", e.fields);
                    let mut with_row = rows.clone();
                    with_row.push(row.clone());
                    let would_be = Lattice::build(context_of(&with_row, m), &BuildOptions::default()).unwrap().len();
                    assert!(would_be > limit);
                    assert_eq!(field("count"), Some(would_be), "the error counts the concepts the add needed");
                    assert_eq!(l.canonical(), before, "seed {seed} object {g}: a failed add changed the lattice");
                    assert_eq!(l.context().n_objects(), rows.len());
                    l.check_invariants().unwrap_or_else(|e| panic!("seed {seed} object {g}: {e}"));
                }
            }
        }
        // The same through the dual: attributes added until one passes the limit.
        for a in 0..6 {
            let objs: Vec<u32> = (0..rows.len() as u32).filter(|_| rng.chance(density)).collect();
            let before = l.canonical();
            match l.add_attribute(&format!("new{a}"), &objs) {
                Ok(_) => assert!(l.len() <= limit),
                Err(e) => {
                    failures += 1;
                    assert_eq!(e.code, "ERR_OMNI_LIMIT", "{}", e.message);
                    assert_eq!(l.canonical(), before, "seed {seed} attribute {a}: a failed add changed the lattice");
                    l.check_invariants().unwrap_or_else(|e| panic!("seed {seed} attribute {a}: {e}"));
                }
            }
            assert_eq!(l.canonical(), Lattice::build(l.context().clone(), &BuildOptions::default()).unwrap().canonical());
        }
    }
    assert!(failures > 20, "the limit was hit only {failures} times");
}
