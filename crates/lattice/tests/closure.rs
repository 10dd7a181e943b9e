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
/// the caller's thread and large enough to be split across the pool.
#[test]
fn batch_closure_forms_equal_close_intent() {
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    for (n, m, density, batch) in
        [(300, 40, 0.5, 500), (700, 70, 0.9, 9000), (2000, 130, 0.05, 7000), (20, 10, 0.3, 300), (90, 64, 0.5, 5000), (5, 0, 0.5, 10)]
    {
        let rows: Vec<Vec<u32>> = (0..n).map(|_| (0..m as u32).filter(|_| r.f() < density).collect()).collect();
        let ctx = Context::new((0..n).map(|i| format!("g{i}")).collect(), (0..m).map(|j| format!("m{j}")).collect(), &rows).unwrap();
        let sets: Vec<Vec<u32>> = (0..batch)
            .map(|_| if m == 0 { vec![] } else { (0..(r.f() * 4.0) as usize).map(|_| (r.f() * m as f64) as u32).collect() })
            .collect();
        let data: Vec<u32> = sets.iter().flatten().copied().collect();
        let ends: Vec<u32> = sets
            .iter()
            .scan(0u32, |a, s| {
                *a += s.len() as u32;
                Some(*a)
            })
            .collect();
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
