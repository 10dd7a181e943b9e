//! Reptile on the MAML paper's sinusoid regression: y = A sin(x + phase), A in [0.1, 5],
//! phase in [0, pi], x in [-5, 5]. After meta-training, k = 5 SGD passes over 10 points of a new
//! task must cut the error well below the meta-initialisation's (and below a random network
//! adapted the same way).

use omnitide_learn::domain::{adapt, reptile};
use omnitide_learn::mlp::{Mlp, MlpSpec};
use omnitide_learn::stats::Rng;

fn task(rng: &mut Rng, n: usize) -> (f64, f64, Vec<f64>, Vec<f64>) {
    let a = rng.uniform(0.1, 5.0);
    let ph = rng.uniform(0.0, std::f64::consts::PI);
    let xs: Vec<f64> = (0..n).map(|_| rng.uniform(-5.0, 5.0)).collect();
    let ys = xs.iter().map(|x| a * (x + ph).sin()).collect();
    (a, ph, xs, ys)
}

fn mse(m: &Mlp, a: f64, ph: f64) -> f64 {
    let xs: Vec<f64> = (0..100).map(|i| -5.0 + 10.0 * i as f64 / 99.0).collect();
    xs.iter().map(|x| (m.predict_value(&[*x]) - a * (x + ph).sin()).powi(2)).sum::<f64>() / xs.len() as f64
}

#[test]
fn reptile_adapts_to_new_sinusoids_in_a_few_steps() {
    let spec: MlpSpec =
        serde_json::from_str(r#"{"hidden": [40, 40], "outputs": 1, "task": "regression", "activation": "tanh", "lr": 0.01, "seed": 1}"#)
            .unwrap();
    let mut meta = Mlp::new(&spec, 1).unwrap();
    let t0 = std::time::Instant::now();
    reptile(
        &mut meta,
        3000,
        3,
        0.5,
        |rng| {
            let (_, _, x, y) = task(rng, 10);
            (x, y)
        },
        7,
    )
    .unwrap();
    let meta_time = t0.elapsed();
    let mut rng = Rng::new(99);
    let (mut before, mut after, mut scratch) = (0.0, 0.0, 0.0);
    let n = 20;
    for _ in 0..n {
        let (a, ph, xs, ys) = task(&mut rng, 10);
        before += mse(&meta, a, ph) / n as f64;
        let mut m = meta.clone();
        adapt(&mut m, &xs, &ys, 5).unwrap();
        after += mse(&m, a, ph) / n as f64;
        let mut r = Mlp::new(&spec, 1).unwrap();
        adapt(&mut r, &xs, &ys, 5).unwrap();
        scratch += mse(&r, a, ph) / n as f64;
    }
    println!("reptile sinusoid: MSE unadapted {before:.3}, after 5 steps on 10 points {after:.3}, random init after 5 steps {scratch:.3}; meta-training {meta_time:?}");
    assert!(after < 0.5 * before, "after {after} before {before}");
    assert!(after < scratch, "after {after} scratch {scratch}");
}
