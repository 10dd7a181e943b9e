//! Closure queries (`close_intent`, `Lattice::closure_many`) against the definition
//! B'' = intent_of(extent_of(B)) on random contexts of several densities and sizes, so both
//! the row-wise (few objects) and the column-wise (many objects) paths are exercised.

use omnitide_lattice::{BuildOptions, Context, Lattice};

struct Rng(u64);
impl Rng {
    fn f(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Sets as the batch API takes them: all indices in one array, each set's end offset.
fn packed(sets: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>) {
    let data = sets.iter().flatten().copied().collect();
    let ends = sets
        .iter()
        .scan(0u32, |a, s| {
            *a += s.len() as u32;
            Some(*a)
        })
        .collect();
    (data, ends)
}

#[test]
fn closure_equals_the_derivation_twice() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for (n, m, density) in [(300, 40, 0.5), (700, 70, 0.9), (500, 130, 0.05), (20, 10, 0.3), (130, 65, 0.97), (90, 14, 0.5)] {
        let rows: Vec<Vec<u32>> = (0..n).map(|_| (0..m as u32).filter(|_| r.f() < density).collect()).collect();
        let ctx = Context::new((0..n).map(|i| format!("g{i}")).collect(), (0..m).map(|j| format!("m{j}")).collect(), &rows).unwrap();
        let sets: Vec<Vec<u32>> = (0..400).map(|_| (0..(r.f() * 4.0) as usize).map(|_| (r.f() * m as f64) as u32).collect()).collect();
        let data: Vec<u32> = sets.iter().flatten().copied().collect();
        let mut ends = Vec::new();
        let mut at = 0u32;
        for s in &sets {
            at += s.len() as u32;
            ends.push(at);
        }
        let bits = ctx.unpack_sets("sets", &data, &ends, true).unwrap();
        let expected: Vec<_> = bits.iter().map(|b| ctx.intent_of(&ctx.extent_of(b))).collect();
        for (b, e) in bits.iter().zip(&expected) {
            assert_eq!(&ctx.close_intent(b), e, "n={n} m={m} d={density} B={:?}", b.to_vec());
        }
        if m <= 14 {
            let l = Lattice::build(ctx, &BuildOptions::default()).unwrap();
            assert_eq!(l.closure_many(&bits), expected);
        }
    }
}

/// The batch forms that cross N-API (bit words with a fixed stride, packed
/// indices) equal `close_intent` per set, on batches small enough to run on
/// the caller's thread and large enough to be split across the pool, and
/// batches below and above the size (4 sets per attribute) from which the
/// answers are seeded with the closures of single attributes.
#[test]
fn batch_closure_forms_equal_close_intent() {
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    for (n, m, density, batch) in [
        (300, 40, 0.5, 500),
        (300, 40, 0.5, 100),
        (700, 70, 0.9, 9000),
        (2000, 130, 0.05, 7000),
        (20, 10, 0.3, 300),
        (90, 64, 0.5, 5000),
        (5, 0, 0.5, 10),
    ] {
        let rows: Vec<Vec<u32>> = (0..n).map(|_| (0..m as u32).filter(|_| r.f() < density).collect()).collect();
        let ctx = Context::new((0..n).map(|i| format!("g{i}")).collect(), (0..m).map(|j| format!("m{j}")).collect(), &rows).unwrap();
        let sets: Vec<Vec<u32>> = (0..batch)
            .map(|_| if m == 0 { vec![] } else { (0..(r.f() * 4.0) as usize).map(|_| (r.f() * m as f64) as u32).collect() })
            .collect();
        let (data, ends) = packed(&sets);
        let bits = ctx.unpack_sets("sets", &data, &ends, true).unwrap();
        let expected: Vec<Vec<u32>> = bits.iter().map(|b| ctx.close_intent(b).to_vec()).collect();
        let words = ctx.closure_words_many("sets", &data, &ends).unwrap();
        let stride = (m as usize).div_ceil(32);
        assert_eq!(words.len(), stride * batch);
        for (i, e) in expected.iter().enumerate() {
            let got: Vec<u32> = (0..m as u32).filter(|&j| words[i * stride + j as usize / 32] >> (j % 32) & 1 == 1).collect();
            assert_eq!(&got, e, "words n={n} m={m} set {i}");
        }
        let (pd, pe) = ctx.closure_packed_many("sets", &data, &ends).unwrap();
        assert_eq!(pe.len(), batch);
        let mut start = 0;
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(&pd[start..pe[i] as usize], e.as_slice(), "packed n={n} m={m} set {i}");
            start = pe[i] as usize;
        }
        assert_eq!(start, pd.len());
    }
}

/// A context with many implications (objects drawn from a few prototypes, one
/// value per nominal group, as the bench's Mushroom-shaped one): single-attribute
/// closures are large, so a seeded batch takes much of its answers from them.
/// Every answer equals `close_intent`, seeded (a large batch) or not (a small one).
#[test]
fn seeded_batch_closures_equal_close_intent_on_a_context_with_many_implications() {
    let mut r = Rng(0x94D0_49BB_1331_11EB);
    let groups = [2usize, 6, 4, 10, 3, 9, 5, 2, 7, 12, 3];
    let offsets: Vec<usize> = groups.iter().scan(0, |a, g| Some(std::mem::replace(a, *a + g))).collect();
    let m: usize = groups.iter().sum();
    let protos: Vec<Vec<usize>> = (0..30).map(|_| groups.iter().map(|&k| (r.f() * k as f64) as usize).collect()).collect();
    let rows: Vec<Vec<u32>> = (0..1500)
        .map(|_| {
            let p = &protos[(r.f() * r.f() * 30.0) as usize];
            // Mostly the prototype's value; sometimes another one, so not every pair is an implication.
            groups
                .iter()
                .enumerate()
                .map(|(g, &k)| (offsets[g] + if r.f() < 0.9 { p[g] } else { (r.f() * k as f64) as usize }) as u32)
                .collect()
        })
        .collect();
    let ctx = Context::new((0..1500).map(|i| format!("g{i}")).collect(), (0..m).map(|j| format!("m{j}")).collect(), &rows).unwrap();
    let stride = m.div_ceil(32);
    for batch in [20, 6000] {
        let sets: Vec<Vec<u32>> = (0..batch).map(|_| (0..(r.f() * 4.0) as usize).map(|_| (r.f() * m as f64) as u32).collect()).collect();
        let (data, ends) = packed(&sets);
        let words = ctx.closure_words_many("sets", &data, &ends).unwrap();
        let bits = ctx.unpack_sets("sets", &data, &ends, true).unwrap();
        let mut larger = 0;
        for (i, b) in bits.iter().enumerate() {
            let expected = ctx.close_intent(b).to_vec();
            larger += usize::from(expected.len() > b.count());
            let got: Vec<u32> = (0..m as u32).filter(|&j| words[i * stride + j as usize / 32] >> (j % 32) & 1 == 1).collect();
            assert_eq!(got, expected, "batch {batch} set {i} {:?}", sets[i]);
        }
        if batch > 1000 {
            assert!(larger * 4 > batch, "many closures add attributes here ({larger} of {batch})");
        }
    }
}

#[test]
fn batch_closure_names_the_bad_set() {
    let ctx = Context::new(vec!["g".into()], vec!["a".into(), "b".into()], &[vec![0]]).unwrap();
    let e = ctx.closure_words_many("sets", &[0, 1, 0, 2], &[2, 3, 4]).unwrap_err();
    assert!(e.to_string().contains("sets[2]") && e.to_string().contains("unknown attribute index 2"), "{e}");
    let e = ctx.closure_packed_many("sets", &[0, 1], &[2, 1]).unwrap_err();
    assert!(e.to_string().contains("out of order"), "{e}");
    let e = ctx.closure_packed_many("sets", &[0, 1], &[3]).unwrap_err();
    assert!(e.to_string().contains("past the data"), "{e}");
    // Indices after the last end are not part of any set and are not checked.
    assert_eq!(ctx.closure_packed_many("sets", &[0, 9], &[1]).unwrap(), (vec![0], vec![1]));
}
