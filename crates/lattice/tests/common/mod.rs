#![allow(dead_code)]
use omnitide_lattice::{Bits, Context};

/// xorshift64*: deterministic randomness without a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

pub fn random_rows(rng: &mut Rng, n: usize, m: usize, density: f64) -> Vec<Vec<u32>> {
    (0..n).map(|_| (0..m as u32).filter(|_| rng.chance(density)).collect()).collect()
}

pub fn random_context(seed: u64, n: usize, m: usize, density: f64) -> Context {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let rows = random_rows(&mut rng, n, m, density);
    Context::new((0..n).map(|i| format!("g{i}")).collect(), (0..m).map(|i| format!("m{i}")).collect(), &rows).unwrap()
}

/// All intents by brute force: the closures of every attribute subset.
pub fn brute_intents(ctx: &Context) -> Vec<Vec<u32>> {
    let m = ctx.n_attributes();
    assert!(m <= 14);
    let mut set = std::collections::BTreeSet::new();
    for mask in 0u32..(1 << m) {
        let b = Bits::from_indices(m, (0..m).filter(|i| mask >> i & 1 == 1));
        set.insert(ctx.close_intent(&b).to_vec());
    }
    set.into_iter().collect()
}
