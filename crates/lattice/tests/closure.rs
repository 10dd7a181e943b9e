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
