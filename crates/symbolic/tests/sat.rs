use omnitide_symbolic::sat::*;

#[path = "common/gen.rs"]
mod gen;
use gen::{pigeonhole, random_3sat};
use std::process::Command;

fn oracle(cnf: &Cnf) -> Option<bool> {
    let dir = std::env::temp_dir().join(format!("omni-sat-{}-{}", std::process::id(), rand_id()));
    std::fs::create_dir_all(&dir).ok()?;
    let f = dir.join("in.cnf");
    std::fs::write(&f, cnf.to_dimacs()).ok()?;
    let out = Command::new("minisat").arg("-verb=0").arg(&f).arg(dir.join("out")).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    match out.status.code() {
        Some(10) => Some(true),
        Some(20) => Some(false),
        _ => None,
    }
}
fn picosat(cnf: &Cnf) -> Option<bool> {
    let dir = std::env::temp_dir().join(format!("omni-pico-{}-{}", std::process::id(), rand_id()));
    std::fs::create_dir_all(&dir).ok()?;
    let f = dir.join("in.cnf");
    std::fs::write(&f, cnf.to_dimacs()).ok()?;
    let out = Command::new("picosat").arg(&f).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    match out.status.code() {
        Some(10) => Some(true),
        Some(20) => Some(false),
        _ => None,
    }
}
fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn check(cnf: &Cnf) -> bool {
    match solve(cnf, true).unwrap() {
        SatResult::Sat { model } => {
            assert!(check_model(cnf, &model), "model does not satisfy the formula");
            true
        }
        SatResult::Unsat { drat } => {
            let c = check_drat(cnf, &drat);
            assert!(c.valid, "DRAT proof rejected: {}", c.reason);
            false
        }
    }
}

#[test]
fn random_3sat_agrees_with_minisat_and_proofs_check() {
    let have = oracle(&pigeonhole(2, 2)).is_some();
    if !have && std::env::var("CI").as_deref() == Ok("true") {
        panic!("minisat is required under CI (apt-get install minisat picosat)");
    }
    let (mut sat, mut unsat) = (0, 0);
    for seed in 0..40 {
        let cnf = random_3sat(60, 256, seed);
        let r = check(&cnf);
        if r {
            sat += 1
        } else {
            unsat += 1
        }
        if have {
            assert_eq!(oracle(&cnf), Some(r), "seed {seed}");
            if let Some(p) = picosat(&cnf) {
                assert_eq!(p, r, "picosat seed {seed}");
            }
        }
    }
    assert!(sat > 0 && unsat > 0, "sat {sat} unsat {unsat}");
}

#[test]
fn pigeonhole_unsat_with_checked_proofs() {
    for (p, h) in [(3, 2), (5, 4), (6, 5), (7, 6)] {
        let cnf = pigeonhole(p, h);
        assert!(!check(&cnf));
        if let Some(o) = oracle(&cnf) {
            assert!(!o);
        }
    }
    assert!(check(&pigeonhole(5, 5)));
}

#[test]
fn checker_rejects_bogus_proofs() {
    let cnf = pigeonhole(5, 4);
    let c = check_drat(&cnf, "0\n");
    assert!(!c.valid);
    let c = check_drat(&cnf, "");
    assert!(!c.valid);
    // a satisfiable formula has no proof
    let cnf = random_3sat(20, 40, 1);
    assert!(!check_drat(&cnf, "1 0\n-1 0\n0\n").valid);
    // a real proof with its lemmas truncated fails
    if let SatResult::Unsat { drat } = solve(&pigeonhole(6, 5), true).unwrap() {
        let lines: Vec<&str> = drat.lines().filter(|l| !l.starts_with('d')).collect();
        let short = lines[lines.len() / 2..].join("\n");
        assert!(!check_drat(&pigeonhole(6, 5), &short).valid);
    } else {
        panic!()
    }
}

#[test]
fn dimacs_and_expressions() {
    let cnf = parse_dimacs("c x\np cnf 2 3\n1 2 0\n-1 0\n-2 0\n").unwrap();
    assert_eq!(cnf.clauses.len(), 3);
    assert!(!check(&cnf));
    assert!(parse_dimacs("p cnf x 1\n").is_err());
    match solve_expr("(a or b) and not a").unwrap() {
        ExprSat::Sat { model } => {
            assert!(!model["a"]);
            assert!(model["b"]);
        }
        _ => panic!(),
    }
    match solve_expr("a and not a").unwrap() {
        ExprSat::Unsat { drat, cnf } => assert!(check_drat(&cnf, &drat).valid),
        _ => panic!(),
    }
    match solve_expr("(a xor b) and (a == b)").unwrap() {
        ExprSat::Unsat { drat, cnf } => assert!(check_drat(&cnf, &drat).valid),
        _ => panic!(),
    }
}

#[test]
fn bdd_canonical_form() {
    assert_eq!(bool_canonical("a and b or a and not b").unwrap(), "a");
    assert_eq!(bool_canonical("not (a and b)").unwrap(), bool_canonical("not a or not b").unwrap());
    assert_eq!(bool_canonical("a or not a").unwrap(), "true");
    assert_eq!(bool_canonical("a xor a").unwrap(), "false");
    assert_eq!(bool_canonical("b and a").unwrap(), bool_canonical("a and b").unwrap());
}

#[test]
fn constant_names_are_plain_variables_in_logic() {
    assert_eq!(bool_canonical("i and not e").unwrap(), "not e and i");
    match solve_expr("pi and not pi").unwrap() {
        ExprSat::Unsat { drat, cnf } => assert!(check_drat(&cnf, &drat).valid),
        _ => panic!(),
    }
}
