//! Random token soup must give results or errors, never panics or hangs.
use omnitide_symbolic::canon::{rationalize, simplify, Options};
use omnitide_symbolic::ops::{derivative, factor};
use omnitide_symbolic::sat::bool_canonical;

#[test]
fn token_soup_never_panics() {
    let toks = [
        "x", "y", "2", "0", "1/2", "+", "-", "*", "/", "^", "(", ")", "sin(", "cos(", "sqrt(",
        "abs(", "exp(", "log(", "pi", "e", "i", ",", "!", "10", "0.5", " ", "and", "not", "x^2",
        "-1",
    ];
    let mut s: u64 = 99;
    let mut rnd = |n: usize| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % n as u64) as usize
    };
    let mut ok = 0;
    let mut o = Options::default();
    o.limits.max_terms = 5_000;
    o.limits.max_exponent = 200;
    for _ in 0..3000 {
        let len = 1 + rnd(14);
        let src: String = (0..len)
            .map(|_| toks[rnd(toks.len())])
            .collect::<Vec<_>>()
            .join("");
        let r = std::panic::catch_unwind(|| {
            let a = simplify(&src, &o).is_ok();
            let _ = factor(&src, &o);
            let _ = rationalize(&src, &o);
            let _ = derivative(&src, "x", &o);
            let _ = bool_canonical(&src);
            a
        });
        match r {
            Ok(true) => ok += 1,
            Ok(false) => {}
            Err(_) => panic!("panic on input {src:?}"),
        }
    }
    assert!(ok > 150, "only {ok} inputs parsed");
}
