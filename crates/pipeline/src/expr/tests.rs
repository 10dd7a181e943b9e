use serde_json::json;

use super::*;
use crate::fused::FusedPlan;
use crate::keys::KeyDictionary;
use crate::window::WindowedAggregator;

fn stages(v: serde_json::Value) -> Vec<StageSpec> {
    Program::parse_stages(&v).expect("stages parse")
}

fn layout() -> Vec<(String, ColumnType)> {
    vec![("ts".into(), ColumnType::F64), ("user".into(), ColumnType::U32), ("amount".into(), ColumnType::F64)]
}

/// A small deterministic generator (xorshift), with NaN, infinities, signed zeros and negatives mixed in.
fn data(n: usize, seed: u64) -> (Vec<f64>, Vec<u32>, Vec<f64>) {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 5.0, -5.0];
    let mut ts = Vec::with_capacity(n);
    let (mut user, mut amount) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        ts.push(i as f64 * 0.5);
        user.push((next() % 50) as u32);
        let r = next();
        amount.push(if r % 11 == 0 { specials[(r / 11 % 7) as usize] } else { (r % 20_000) as f64 / 100.0 - 50.0 });
    }
    (ts, user, amount)
}

fn run(p: &Program, ts: &[f64], user: &[u32], amount: &[f64], emit: &[&str]) -> Selection {
    let f = [ts, amount];
    let u = [user];
    let emit: Vec<Src> = emit.iter().map(|c| p.output(c, "emit").unwrap()).collect();
    p.run(&Inputs { len: ts.len(), f64s: &f, u32s: &u }, &emit).unwrap()
}

fn js_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() || b.is_sign_negative() {
            -0.0
        } else {
            0.0
        }
    } else if a < b {
        a
    } else {
        b
    }
}

#[test]
fn map_and_filter_match_a_row_at_a_time_reference() {
    // Sizes around the block size: empty, one row, a partial block, several blocks and a tail.
    for (n, seed) in [(0, 1), (1, 2), (1000, 3), (BLOCK, 4), (3 * BLOCK + 17, 5)] {
        let (ts, user, amount) = data(n, seed);
        let p = Program::compile(
            &layout(),
            &stages(json!([
                { "map": { "amount": { "mul": ["amount", 1.1] }, "m": { "min": [{ "abs": "amount" }, { "div": ["user", 7] }] } } },
                { "filter": { "or": [{ "gt": ["amount", 5] }, { "not": { "eq": ["m", "m"] } }] } },
                { "map": { "d": { "sub": [{ "neg": "amount" }, { "max": ["m", -0.0] }] } } },
                { "filter": { "and": [{ "ne": ["user", 3] }, true] } }
            ])),
        )
        .unwrap();
        let s = run(&p, &ts, &user, &amount, &["amount", "m", "d", "user"]);
        let (mut sel, mut am, mut ms, mut ds) = (vec![], vec![], vec![], vec![]);
        let (mut k1, mut k2) = (0u64, 0u64);
        for i in 0..n {
            let a = amount[i] * 1.1;
            let m = js_min(amount[i].abs(), f64::from(user[i]) / 7.0);
            #[allow(clippy::eq_op)]
            let keep1 = a > 5.0 || m != m;
            if !keep1 {
                continue;
            }
            k1 += 1;
            let mx = if m.is_nan() {
                f64::NAN
            } else if m == 0.0 {
                0.0
            } else {
                m.max(-0.0)
            };
            let d = -a - mx;
            if user[i] == 3 {
                continue;
            }
            k2 += 1;
            sel.push(i as u32);
            am.push(a);
            ms.push(m);
            ds.push(d);
        }
        assert_eq!(s.sel, sel, "n={n}");
        assert_eq!(s.kept, vec![k1, k2]);
        let bits = |v: &[f64]| v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<_>>();
        assert_eq!(bits(&s.columns[0]), bits(&am));
        assert_eq!(bits(&s.columns[1]), bits(&ms));
        assert_eq!(bits(&s.columns[2]), bits(&ds));
        assert_eq!(s.columns[3], sel.iter().map(|&r| f64::from(user[r as usize])).collect::<Vec<_>>());
    }
}

#[test]
fn bit_exact_literals() {
    let p = Program::compile(
        &layout(),
        &stages(json!([{ "map": { "z": { "bits": "8000000000000000" }, "t": { "bits": "3fd3333333333334" } } }])),
    )
    .unwrap();
    let s = run(&p, &[0.0], &[0], &[0.0], &["z", "t"]);
    assert!(s.columns[0][0] == 0.0 && s.columns[0][0].is_sign_negative());
    assert_eq!(s.columns[1][0], 0.1 + 0.2);
    let e = Program::compile(&layout(), &stages(json!([{ "map": { "x": { "bits": "12" } } }]))).unwrap_err();
    assert_eq!(e.message, "stages[0].map.x.bits: expected 16 hex digits, got \"12\"");
}

#[test]
fn ieee_division_and_js_min_max() {
    let p = Program::compile(
        &[("a".into(), ColumnType::F64), ("b".into(), ColumnType::F64)],
        &stages(json!([{ "map": { "q": { "div": ["a", "b"] }, "lo": { "min": ["a", "b"] }, "hi": { "max": ["a", "b"] } } }])),
    )
    .unwrap();
    let a = [1.0, -1.0, 0.0, f64::NAN, 0.0, -0.0, 2.0];
    let b = [0.0, 0.0, 0.0, 1.0, -0.0, 0.0, f64::NAN];
    let f = [&a[..], &b[..]];
    let emit = [p.output("q", "q").unwrap(), p.output("lo", "lo").unwrap(), p.output("hi", "hi").unwrap()];
    let s = p.run(&Inputs { len: 7, f64s: &f, u32s: &[] }, &emit).unwrap();
    let q = &s.columns[0];
    assert_eq!((q[0], q[1]), (f64::INFINITY, f64::NEG_INFINITY));
    assert!(q[2].is_nan() && q[3].is_nan());
    let (lo, hi) = (&s.columns[1], &s.columns[2]);
    assert!(lo[3].is_nan() && hi[3].is_nan() && lo[6].is_nan() && hi[6].is_nan());
    assert!(lo[4].is_sign_negative() && lo[5].is_sign_negative());
    assert!(hi[4].is_sign_positive() && hi[5].is_sign_positive() && hi[4] == 0.0);
}

#[test]
fn map_stage_assignments_read_the_columns_before_the_stage() {
    let p = Program::compile(
        &[("a".into(), ColumnType::F64), ("b".into(), ColumnType::F64)],
        &stages(json!([{ "map": { "a": "b", "b": "a", "c": 2 } }])),
    )
    .unwrap();
    let (a, b) = ([1.0, 2.0], [10.0, 20.0]);
    let f = [&a[..], &b[..]];
    let emit: Vec<Src> = ["a", "b", "c"].iter().map(|c| p.output(c, c).unwrap()).collect();
    let s = p.run(&Inputs { len: 2, f64s: &f, u32s: &[] }, &emit).unwrap();
    assert_eq!(s.columns, vec![vec![10.0, 20.0], vec![1.0, 2.0], vec![2.0, 2.0]]);
    assert_eq!(p.computed(), ["a", "b", "c"]);
}

#[test]
fn bad_programs_name_the_argument() {
    let err = |v: serde_json::Value| match Program::parse_stages(&v).and_then(|s| Program::compile(&layout(), &s)) {
        Err(e) => e.message,
        Ok(_) => panic!("{v} compiled"),
    };
    assert_eq!(
        err(json!([{ "filter": { "gt": ["amt", 5] } }])),
        "stages[0].filter.gt[0]: unknown column 'amt' (columns: amount, ts, user)"
    );
    assert!(err(json!([{ "filter": { "mul": ["amount", 5] } }])).starts_with("stages[0].filter: type mismatch: a filter needs a boolean"));
    assert!(err(json!([{ "map": { "x": { "gt": ["amount", 5] } } }])).starts_with("stages[0].map.x: type mismatch: a map computes numbers"));
    assert_eq!(
        err(json!([{ "filter": { "and": ["amount", true] } }])),
        "stages[0].filter.and[0]: type mismatch: 'and' needs a boolean, this is a number"
    );
    assert!(err(json!([{ "filter": { "pow": ["amount", 2] } }])).starts_with("stages[0].filter: unknown operator 'pow'"));
    assert_eq!(err(json!([{ "map": { "x": { "add": ["amount"] } } }])), "stages[0].map.x.add: takes 2 arguments, got 1");
    assert!(err(json!([{ "map": { "x": null } }])).starts_with("stages[0].map.x: expected a number, a column name"));
    assert!(err(json!([{ "map": {} }])).starts_with("stages[0].map: expected"));
    assert!(err(json!([{ "sort": "amount" }])).starts_with("stages[0]: expected"));
    assert!(err(json!({ "filter": true })).starts_with("stages: expected a list"));
    let p = Program::compile(&layout(), &[]).unwrap();
    assert!(p.output("nope", "key").unwrap_err().message.starts_with("key: unknown column 'nope'"));
    // Inputs that do not match the compiled layout are an error, not a panic.
    let e = p.run(&Inputs { len: 1, f64s: &[&[1.0]], u32s: &[] }, &[]).unwrap_err();
    assert_eq!(e.code, code::INVALID_ARGUMENT);
    let e = p.run(&Inputs { len: 2, f64s: &[&[1.0], &[1.0]], u32s: &[&[1]] }, &[]).unwrap_err();
    assert!(e.message.contains("2 rows"));
}

fn window_spec(policy: &str) -> String {
    json!({ "window": { "type": "tumbling", "size": 100.0 }, "maxOutOfOrderness": 0.0, "allowedLateness": 0.0, "latePolicy": policy,
        "aggregates": [{ "kind": "count", "column": 0, "q": 0 }, { "kind": "sum", "column": 0, "q": 0 }, { "kind": "max", "column": 1, "q": 0 }], "columns": 2 })
    .to_string()
}

#[test]
fn fused_equals_the_unfused_chain_bit_for_bit() {
    let (mut ts, user, amount) = data(5 * BLOCK + 3, 9);
    // A bad time and a late row (dead letters, mapped back to input rows), then in-order rows again.
    ts[100] = f64::NAN;
    ts[2000] = 10.0;
    let prog = || {
        Program::compile(
            &layout(),
            &stages(json!([{ "map": { "amount": { "mul": ["amount", 1.1] }, "v": { "abs": "amount" } } }, { "filter": { "gt": ["amount", 5] } }])),
        )
        .unwrap()
    };
    let mut plan = FusedPlan::new(prog(), "user", Some("ts"), &["amount".into(), "v".into()]).unwrap();
    let (mut fd, mut fw) = (KeyDictionary::new(), WindowedAggregator::from_json(&window_spec("deadLetter")).unwrap());
    let (mut ud, mut uw) = (fd.clone(), fw.clone());
    let mut fused_out = Vec::new();
    let mut unfused_out = Vec::new();
    // Batches of uneven sizes, so blocks and batches do not line up.
    let mut at = 0;
    for len in [700, 0, 3000, 1, 1500, 2000] {
        let end = (at + len).min(ts.len());
        let (t, u, a) = (&ts[at..end], &user[at..end], &amount[at..end]);
        let f = [t, a];
        let uu = [u];
        let o = plan.push(&Inputs { len: end - at, f64s: &f, u32s: &uu }, &mut fd, &mut fw).unwrap();
        // Unfused: materialise the mapped and filtered columns, then encode and push as the TS aggregate does.
        let p = prog();
        let emit: Vec<Src> = ["user", "ts", "amount", "v"].iter().map(|c| p.output(c, c).unwrap()).collect();
        let s = p.run(&Inputs { len: end - at, f64s: &f, u32s: &uu }, &emit).unwrap();
        let ku: Vec<u32> = s.sel.iter().map(|&r| u[r as usize]).collect();
        let mut keys = vec![0; ku.len()];
        let mut added = Vec::new();
        ud.encode_u32(&ku, &mut keys, &mut added).unwrap();
        let values: Vec<f64> = s.columns[2].iter().zip(&s.columns[3]).flat_map(|(a, v)| [*a, *v]).collect();
        let mut pu = uw.push(&keys, &s.columns[1], &values).unwrap();
        for r in &mut pu.dead_rows {
            *r = s.sel[*r as usize];
        }
        assert_eq!(o.added_keys, added);
        assert_eq!(o.selected, s.sel.len());
        fused_out.push(o.push);
        unfused_out.push(pu);
        at = end;
    }
    fused_out.push(crate::window::PushOutcome { emitted: fw.advance_watermark(f64::INFINITY), ..Default::default() });
    unfused_out.push(crate::window::PushOutcome { emitted: uw.advance_watermark(f64::INFINITY), ..Default::default() });
    assert!(fused_out.iter().any(|o| !o.dead_rows.is_empty()), "the data has dead rows");
    assert!(fused_out.iter().map(|o| o.emitted.keys.len()).sum::<usize>() > 100);
    let bits = |o: &Vec<crate::window::PushOutcome>| {
        o.iter()
            .map(|p| {
                (
                    p.emitted.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    p.emitted.keys.clone(),
                    p.emitted.starts.clone(),
                    p.dead_rows.clone(),
                    p.dead_reasons.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&fused_out), bits(&unfused_out));
}

#[test]
fn fused_plan_names_unknown_columns() {
    let p = Program::compile(&layout(), &[]).unwrap();
    assert!(FusedPlan::new(p.clone(), "who", Some("ts"), &[]).unwrap_err().message.starts_with("key: unknown column 'who'"));
    assert!(FusedPlan::new(p.clone(), "user", Some("when"), &[]).unwrap_err().message.starts_with("time: unknown column 'when'"));
    assert!(FusedPlan::new(p, "user", None, &["amount".into(), "x".into()])
        .unwrap_err()
        .message
        .starts_with("values[1]: unknown column 'x'"));
}

#[test]
fn a_batch_the_filters_empty_leaves_the_window_as_it_was() {
    let p = Program::compile(&layout(), &stages(json!([{ "filter": { "gt": ["amount", 100] } }]))).unwrap();
    let mut plan = FusedPlan::new(p, "user", Some("ts"), &["amount".into(), "amount".into()]).unwrap();
    let mut w = WindowedAggregator::from_json(&window_spec("deadLetter")).unwrap();
    let mut d = KeyDictionary::new();
    let (ts, user) = ([1.0, 2.0], [1u32, 2]);
    let f = [&ts[..], &[500.0, 600.0][..]];
    let u = [&user[..]];
    let o = plan.push(&Inputs { len: 2, f64s: &f, u32s: &u }, &mut d, &mut w).unwrap();
    assert_eq!((o.selected, o.kept.clone()), (2, vec![2]));
    let open = w.open_windows();
    let f = [&ts[..], &[5.0, 6.0][..]];
    let o = plan.push(&Inputs { len: 2, f64s: &f, u32s: &u }, &mut d, &mut w).unwrap();
    assert_eq!((o.selected, o.kept, o.push), (0, vec![0], crate::window::PushOutcome::default()));
    assert_eq!(w.open_windows(), open);
    let e = w.advance_watermark(f64::INFINITY);
    // Keys are dictionary ids: user 1 is id 0, user 2 id 1.
    assert_eq!((e.keys, e.values), (vec![0, 1], vec![1.0, 500.0, 500.0, 1.0, 600.0, 600.0]));
}
