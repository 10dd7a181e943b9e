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
