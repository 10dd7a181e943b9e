//! `cargo run --example prequential -p omnitide-learn`: test-then-train throughput of logistic
//! regression on the bench's stream shape (8 uniform features), for profiling the batch path.
use std::time::Instant;

use omnitide_learn::Model;

fn main() {
    let (n, d) = (200_000usize, 8usize);
    let mut s: u32 = 12345;
    let mut rnd = || {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        s as f64 / 4_294_967_296.0
    };
    let mut x = vec![0.0; n * d];
    let mut y = vec![0.0; n];
    for i in 0..n {
        for j in 0..d {
            x[i * d + j] = rnd() * 10.0;
        }
        let noisy = rnd() < 0.05;
        y[i] = f64::from(u8::from((x[i * d] + x[i * d + 1] > 9.0) != noisy));
    }
    for kind in ["logistic-regression", "hoeffding-tree"] {
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let mut m = Model::from_spec(&format!(r#"{{"kind":"{kind}","nFeatures":{d}}}"#)).unwrap();
            let mut out = vec![0.0; 10_000];
            let t = Instant::now();
            for b in (0..n).step_by(10_000) {
                m.prequential(&x[b * d..(b + 10_000) * d], &y[b..b + 10_000], &mut out, None).unwrap();
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{kind}: {:.2}M samples/s ({:.1} ns/sample)", n as f64 / best / 1e6, best / n as f64 * 1e9);
    }
}
