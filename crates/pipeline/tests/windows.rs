//! Windows against a direct reference: the reference sees the records in the
//! same order, computes each record's lateness with the same watermark rule,
//! and groups the on-time ones by (key, window) with plain sums.

use std::collections::BTreeMap;

use omnitide_pipeline::window::{REASON_BAD_TIMESTAMP, REASON_TOO_LATE};
use omnitide_pipeline::{AggKind, AggSpec, LatePolicy, WindowConfig, WindowKind, WindowedAggregator};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Mostly increasing times with jitter, so some records arrive late.
fn events(n: usize, seed: u64) -> (Vec<u32>, Vec<f64>, Vec<f64>) {
    let mut r = Lcg(seed);
    let mut keys = Vec::new();
    let mut times = Vec::new();
    let mut vals = Vec::new();
    for i in 0..n {
        keys.push((r.next() % 7) as u32);
        times.push((i * 10) as f64 + (r.next() % 400) as f64);
        vals.push((r.next() % 1000) as f64 / 10.0);
    }
    (keys, times, vals)
}

fn cfg(window: WindowKind, policy: LatePolicy) -> WindowConfig {
    WindowConfig {
        window,
        max_out_of_orderness: 100.0,
        allowed_lateness: 50.0,
        late_policy: policy,
        aggregates: vec![
            AggSpec { kind: AggKind::Count, column: 0, q: 0.0 },
            AggSpec { kind: AggKind::Sum, column: 0, q: 0.0 },
            AggSpec { kind: AggKind::Max, column: 0, q: 0.0 },
        ],
        columns: 1,
    }
}

type Finals = BTreeMap<(u32, u64), (f64, f64, f64, f64)>;

fn run(c: &WindowConfig, keys: &[u32], times: &[f64], vals: &[f64], chunk: usize) -> (Finals, Vec<u32>) {
    let mut agg = WindowedAggregator::new(c.clone()).unwrap();
    let mut finals = Finals::new();
    let mut dead = Vec::new();
    let mut take = |e: &omnitide_pipeline::Emitted| {
        for i in 0..e.keys.len() {
            // The last pane of a window is its final result.
            finals.insert((e.keys[i], e.starts[i].to_bits()), (e.ends[i], e.values[3 * i], e.values[3 * i + 1], e.values[3 * i + 2]));
        }
    };
    let mut at = 0;
    while at < keys.len() {
        let end = (at + chunk).min(keys.len());
        let o = agg.push(&keys[at..end], &times[at..end], &vals[at..end]).unwrap();
        take(&o.emitted);
        dead.extend(o.dead_rows.iter().map(|r| r + at as u32));
        at = end;
    }
    take(&agg.advance_watermark(f64::INFINITY));
    assert_eq!(agg.open_windows(), 0);
    (finals, dead)
}

fn reference(c: &WindowConfig, keys: &[u32], times: &[f64], vals: &[f64]) -> (Finals, Vec<u32>) {
    let (size, slide) = match c.window {
        WindowKind::Tumbling { size } => (size, size),
        WindowKind::Sliding { size, slide } => (size, slide),
        _ => unreachable!(),
    };
    let mut wm = f64::NEG_INFINITY;
    let mut finals = Finals::new();
    let mut dead = Vec::new();
    for i in 0..keys.len() {
        let t = times[i];
        let mut any = false;
        let mut s = (t / slide).floor() * slide;
        while s > t - size {
            let end = s + size;
            let k = (keys[i], s.to_bits());
            let closed = wm >= end + c.allowed_lateness;
            if !closed {
                any = true;
                let e = finals.entry(k).or_insert((end, 0.0, 0.0, f64::NEG_INFINITY));
                e.1 += 1.0;
                e.2 += vals[i];
                e.3 = e.3.max(vals[i]);
            }
            s -= slide;
        }
        if !any {
            dead.push(i as u32);
        }
        wm = wm.max(t - c.max_out_of_orderness);
    }
    (finals, dead)
}

fn assert_close(a: &Finals, b: &Finals) {
    assert_eq!(a.len(), b.len());
    for ((k, x), (k2, y)) in a.iter().zip(b) {
        assert_eq!(k, k2);
        assert_eq!((x.0, x.1, x.3), (y.0, y.1, y.3));
        assert!((x.2 - y.2).abs() < 1e-6);
    }
}

#[test]
fn tumbling_and_sliding_match_the_reference_for_any_batching() {
    let (k, t, v) = events(5000, 7);
    for policy in [LatePolicy::DeadLetter, LatePolicy::Update] {
        for w in [WindowKind::Tumbling { size: 250.0 }, WindowKind::Sliding { size: 300.0, slide: 100.0 }] {
            let c = cfg(w, policy);
            let (want, want_dead) = reference(&c, &k, &t, &v);
            assert!(!want_dead.is_empty(), "the data has late records");
            for chunk in [1, 97, 5000] {
                let (got, dead) = run(&c, &k, &t, &v, chunk);
                assert_close(&got, &want);
                assert_eq!(dead, want_dead, "{w:?} {policy:?} chunk {chunk}");
            }
        }
    }
}

#[test]
fn update_policy_emits_a_later_pane_for_late_data() {
    let c = cfg(WindowKind::Tumbling { size: 100.0 }, LatePolicy::Update);
    let mut a = WindowedAggregator::new(c).unwrap();
    let o = a.push(&[1, 1], &[10.0, 220.0], &[1.0, 2.0]).unwrap();
    // watermark 120 >= end 100: window [0,100) fired with one record.
    assert_eq!(o.emitted.keys, vec![1]);
    assert_eq!((o.emitted.panes[0], o.emitted.values[0]), (0, 1.0));
    // 20 is late (wm 150 >= 100) but within lateness (120 < 100 + 50): pane 1.
    let o = a.push(&[1], &[20.0], &[5.0]).unwrap();
    assert_eq!((o.emitted.panes[0], o.emitted.values[0], o.emitted.values[1]), (1, 2.0, 6.0));
    // Watermark 400 closes [0,100) for good: the next record there is dead.
    let o = a.push(&[1, 1], &[500.0, 30.0], &[0.0, 0.0]).unwrap();
    assert_eq!(o.dead_rows, vec![1]);
    assert_eq!(o.dead_reasons, vec![REASON_TOO_LATE]);
}

#[test]
fn absurd_timestamps_go_to_the_dead_letter() {
    let mut a = WindowedAggregator::new(cfg(WindowKind::Tumbling { size: 10.0 }, LatePolicy::DeadLetter)).unwrap();
    let o = a.push(&[0, 0, 0, 0], &[f64::NAN, -5.0, 1e300, 3.0], &[0.0; 4]).unwrap();
    assert_eq!(o.dead_rows, vec![0, 1, 2]);
    assert!(o.dead_reasons.iter().all(|r| *r == REASON_BAD_TIMESTAMP));
}

#[test]
fn sessions_merge_and_close_on_the_watermark() {
    let mut c = cfg(WindowKind::Session { gap: 10.0 }, LatePolicy::DeadLetter);
    c.max_out_of_orderness = 0.0;
    c.allowed_lateness = 0.0;
    let mut a = WindowedAggregator::new(c).unwrap();
    // Key 0: 0, 25 (separate) then 12 bridges them? 12+10=22 < 25: no. 18 does: [18,28) overlaps [25,35).
    let o = a.push(&[0, 0], &[0.0, 25.0], &[1.0, 2.0]).unwrap();
    assert_eq!(o.emitted.keys.len(), 1, "session [0,10) closed at wm 25");
    assert_eq!((o.emitted.starts[0], o.emitted.ends[0], o.emitted.values[0]), (0.0, 10.0, 1.0));
    // Late for the closed session [0,10) but starting a new one [8, 18) would be late too (wm 25 >= 18).
    let o = a.push(&[0], &[8.0], &[4.0]).unwrap();
    assert_eq!(o.dead_rows, vec![0]);
    let e = a.advance_watermark(f64::INFINITY);
    assert_eq!((e.starts[0], e.ends[0], e.values[0], e.values[1]), (25.0, 35.0, 1.0, 2.0));
}

#[test]
fn session_windows_merge_bridging_events() {
    let mut c = cfg(WindowKind::Session { gap: 10.0 }, LatePolicy::DeadLetter);
    c.max_out_of_orderness = 100.0;
    let mut a = WindowedAggregator::new(c).unwrap();
    a.push(&[3, 3, 3], &[0.0, 30.0, 15.0], &[1.0, 2.0, 3.0]).unwrap();
    // 15 bridges [0,10) and [30,40)? [15,25) overlaps neither [0,10) (10 < 15) — touches? 0..10 ends at 10 < 15 no.
    a.push(&[3], &[22.0], &[4.0]).unwrap();
    // 22 -> [22,32) overlaps [15,25) and [30,40): merged [15,40) with 3 records.
    let e = a.advance_watermark(f64::INFINITY);
    assert_eq!(e.starts, vec![0.0, 15.0]);
    assert_eq!(e.ends, vec![10.0, 40.0]);
    assert_eq!(e.values[3..6], [3.0, 9.0, 4.0]);
}

#[test]
fn a_restored_snapshot_continues_exactly() {
    let (k, t, v) = events(3000, 11);
    let c = cfg(WindowKind::Tumbling { size: 200.0 }, LatePolicy::DeadLetter);
    let (want, _) = run(&c, &k, &t, &v, 500);
    let spec = serde_json::to_string(&c).unwrap();
    let mut a = WindowedAggregator::new(c.clone()).unwrap();
    let mut got = Finals::new();
    let mut take = |e: &omnitide_pipeline::Emitted| {
        for i in 0..e.keys.len() {
            got.insert((e.keys[i], e.starts[i].to_bits()), (e.ends[i], e.values[3 * i], e.values[3 * i + 1], e.values[3 * i + 2]));
        }
    };
    take(&a.push(&k[..1500], &t[..1500], &v[..1500]).unwrap().emitted);
    let snap = a.snapshot().unwrap();
    drop(a);
    let mut b = WindowedAggregator::restore(&spec, &snap).unwrap();
    take(&b.push(&k[1500..], &t[1500..], &v[1500..]).unwrap().emitted);
    take(&b.advance_watermark(f64::INFINITY));
    assert_close(&got, &want);
    assert!(WindowedAggregator::restore(&spec, b"junk").is_err());
}

#[test]
fn bad_specs_name_the_field() {
    let e = WindowedAggregator::from_json(
        r#"{"window":{"type":"tumbling","size":-1},"latePolicy":"update","aggregates":[{"kind":"count"}],"columns":0}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("window.size"), "{}", e.message);
    let e = WindowedAggregator::from_json(
        r#"{"window":{"type":"global"},"latePolicy":"update","aggregates":[{"kind":"sum","column":2}],"columns":1}"#,
    )
    .unwrap_err();
    assert!(e.message.contains("aggregates[0].column"), "{}", e.message);
}

/// A batch group-by (global window) against plain per-key sums, with keys both
/// below and above the dense table's limit, for any batching and across a
/// snapshot taken half-way.
#[test]
fn global_group_by_matches_per_key_sums_for_dense_and_sparse_keys() {
    let (k, t, v) = events(4000, 5);
    // Every third key far above the dense limit (1 << 20): those live in the hash map.
    let keys: Vec<u32> = k.iter().enumerate().map(|(i, &x)| if i % 3 == 0 { 3_000_000_000 + x } else { x }).collect();
    let mut want: BTreeMap<u32, (f64, f64, f64)> = BTreeMap::new();
    for i in 0..keys.len() {
        let e = want.entry(keys[i]).or_insert((0.0, 0.0, f64::NEG_INFINITY));
        e.0 += 1.0;
        e.1 += v[i];
        e.2 = e.2.max(v[i]);
    }
    let c = cfg(WindowKind::Global, LatePolicy::DeadLetter);
    let spec = serde_json::to_string(&c).unwrap();
    let check = |e: &omnitide_pipeline::Emitted| {
        assert_eq!(e.keys.len(), want.len());
        for i in 0..e.keys.len() {
            let w = want[&e.keys[i]];
            assert_eq!((e.values[3 * i], e.values[3 * i + 2]), (w.0, w.2), "key {}", e.keys[i]);
            assert!((e.values[3 * i + 1] - w.1).abs() < 1e-6);
        }
        // Ordered by key (all windows end at the same +inf).
        assert!(e.keys.windows(2).all(|p| p[0] < p[1]));
    };
    for chunk in [1, 333, 4000] {
        let mut a = WindowedAggregator::new(c.clone()).unwrap();
        for at in (0..keys.len()).step_by(chunk) {
            let end = (at + chunk).min(keys.len());
            assert!(a.push(&keys[at..end], &t[at..end], &v[at..end]).unwrap().emitted.keys.is_empty());
        }
        assert_eq!(a.open_windows(), want.len());
        check(&a.advance_watermark(f64::INFINITY));
        assert_eq!(a.open_windows(), 0);
    }
    let mut a = WindowedAggregator::new(c.clone()).unwrap();
    a.push(&keys[..2000], &t[..2000], &v[..2000]).unwrap();
    let mut b = WindowedAggregator::restore(&spec, &a.snapshot().unwrap()).unwrap();
    assert_eq!(b.open_windows(), a.open_windows());
    b.push(&keys[2000..], &t[2000..], &v[2000..]).unwrap();
    check(&b.advance_watermark(f64::INFINITY));
}

/// The batch group-by's columnar path (dense keys, valid times) against the
/// row-at-a-time path (the same batches with one out-of-range time, which
/// takes the row path and is dead-lettered) and a direct reference: every
/// aggregate kind, two value columns, NaN values skipped, any batching.
#[test]
fn columnar_group_by_path_equals_the_row_path() {
    let mut r = Lcg(9);
    let n = 5000;
    let keys: Vec<u32> = (0..n).map(|_| (r.next() % 40) as u32).collect();
    let vals: Vec<f64> =
        (0..2 * n).map(|i| if r.next().is_multiple_of(17) { f64::NAN } else { (r.next() % 1000) as f64 / 7.0 - (i % 3) as f64 }).collect();
    let kinds =
        [AggKind::Count, AggKind::Sum, AggKind::Min, AggKind::Max, AggKind::Mean, AggKind::Variance, AggKind::Distinct, AggKind::Quantile];
    let aggregates: Vec<AggSpec> = kinds.iter().enumerate().map(|(i, &kind)| AggSpec { kind, column: i % 2, q: 0.5 }).collect();
    let c = WindowConfig {
        window: WindowKind::Global,
        max_out_of_orderness: 1e300,
        allowed_lateness: 0.0,
        late_policy: LatePolicy::DeadLetter,
        aggregates,
        columns: 2,
    };
    let spec = serde_json::to_string(&c).unwrap();
    let run = |batch: usize, poison: bool| {
        let mut a = WindowedAggregator::from_json(&spec).unwrap();
        for at in (0..n).step_by(batch) {
            let end = (at + batch).min(n);
            let mut t = vec![0.0; end - at];
            let mut k = keys[at..end].to_vec();
            let mut v = vals[2 * at..2 * end].to_vec();
            if poison {
                // One bad time sends the batch down the row path (and that row to the dead letter).
                t.push(-1.0);
                k.push(0);
                v.extend([1e9, 1e9]);
            }
            let o = a.push(&k, &t, &v).unwrap();
            assert_eq!(o.dead_rows.len(), usize::from(poison));
        }
        a.advance_watermark(f64::INFINITY)
    };
    let rows = run(700, true);
    assert_eq!(rows.keys.len(), 40);
    for batch in [1, 333, 4096, n] {
        let cols = run(batch, false);
        assert_eq!(cols.keys, rows.keys);
        for (i, (x, y)) in cols.values.iter().zip(&rows.values).enumerate() {
            let kind = kinds[i % kinds.len()];
            let tol = if matches!(kind, AggKind::Quantile | AggKind::Distinct) { 0.05 * y.abs().max(1.0) } else { 1e-9 * y.abs().max(1.0) };
            assert!((x - y).abs() <= tol, "batch {batch}, {kind:?} of key {}: {x} vs {y}", cols.keys[i / kinds.len()]);
        }
    }
    // And the row path against a direct reference for count, sum, min, max, mean.
    for (g, key) in rows.keys.iter().enumerate() {
        let col = |c: usize| (0..n).filter(|i| keys[*i] == *key).map(|i| vals[2 * i + c]).filter(|v| !v.is_nan()).collect::<Vec<f64>>();
        let (c0, c1) = (col(0), col(1));
        let v = &rows.values[g * kinds.len()..(g + 1) * kinds.len()];
        assert_eq!(v[0], keys.iter().filter(|k| *k == key).count() as f64);
        assert!((v[1] - c1.iter().sum::<f64>()).abs() < 1e-6);
        assert_eq!(v[2], c0.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(v[3], c1.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        assert!((v[4] - c0.iter().sum::<f64>() / c0.len() as f64).abs() < 1e-9);
    }
}

/// Empty `times` (rows without an event time) equals explicit zeros, on the
/// columnar group-by path and on the row path (a key above the dense table).
#[test]
fn empty_times_mean_time_zero() {
    let (k, _, v) = events(3000, 13);
    let c = cfg(WindowKind::Global, LatePolicy::DeadLetter);
    let spec = serde_json::to_string(&c).unwrap();
    for sparse in [false, true] {
        let keys: Vec<u32> = k.iter().enumerate().map(|(i, &x)| if sparse && i % 5 == 0 { 3_000_000_000 } else { x }).collect();
        let run = |untimed: bool| {
            let mut a = WindowedAggregator::from_json(&spec).unwrap();
            for at in (0..keys.len()).step_by(500) {
                let end = (at + 500).min(keys.len());
                let zeros = vec![0.0; end - at];
                let o = a.push(&keys[at..end], if untimed { &[] } else { &zeros }, &v[at..end]).unwrap();
                assert!(o.dead_rows.is_empty());
            }
            (a.watermark(), a.advance_watermark(f64::INFINITY))
        };
        let (wm_a, a) = run(true);
        let (wm_b, b) = run(false);
        assert_eq!(wm_a, wm_b);
        assert_eq!(a, b, "sparse {sparse}");
        assert!(!a.keys.is_empty());
    }
    // A wrong non-empty length is still an error naming `times`.
    let mut a = WindowedAggregator::from_json(&spec).unwrap();
    assert!(a.push(&[1, 2], &[0.0], &[1.0, 2.0]).unwrap_err().to_string().contains("times"));
}

/// Windows are dropped and their slots reused as time moves on: with many keys
/// and short windows, every output is ordered by (end, key, start) and each
/// window fires exactly once (policy deadLetter), with the reference's sums.
#[test]
fn reused_window_slots_keep_order_and_fire_each_window_once() {
    let mut r = Lcg(11);
    let n = 20_000;
    let keys: Vec<u32> = (0..n).map(|_| (r.next() % 300) as u32).collect();
    let times: Vec<f64> = (0..n).map(|i| i as f64 + (r.next() % 30) as f64).collect();
    let vals: Vec<f64> = (0..n).map(|_| (r.next() % 100) as f64).collect();
    let c = cfg(WindowKind::Tumbling { size: 40.0 }, LatePolicy::DeadLetter);
    let (want, want_dead) = reference(&c, &keys, &times, &vals);
    let mut agg = WindowedAggregator::new(c).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut got = Finals::new();
    let mut dead = Vec::new();
    let mut check = |e: &omnitide_pipeline::Emitted| {
        for i in 0..e.keys.len() {
            if i > 0 {
                let prev = (e.ends[i - 1], e.keys[i - 1], e.starts[i - 1]);
                assert!(prev < (e.ends[i], e.keys[i], e.starts[i]), "order at {i}");
            }
            assert!(seen.insert((e.keys[i], e.starts[i].to_bits())), "window fired twice");
            assert_eq!(e.panes[i], 0);
            got.insert((e.keys[i], e.starts[i].to_bits()), (e.ends[i], e.values[3 * i], e.values[3 * i + 1], e.values[3 * i + 2]));
        }
    };
    for at in (0..n).step_by(1000) {
        let o = agg.push(&keys[at..at + 1000], &times[at..at + 1000], &vals[at..at + 1000]).unwrap();
        check(&o.emitted);
        dead.extend(o.dead_rows.iter().map(|d| d + at as u32));
    }
    check(&agg.advance_watermark(f64::INFINITY));
    assert_eq!(agg.open_windows(), 0);
    assert_close(&got, &want);
    assert_eq!(dead, want_dead);
}

/// A tumbling window of `size` over one value column.
fn tumbling(size: f64, out_of_orderness: f64, lateness: f64, policy: LatePolicy, aggregates: &[AggSpec]) -> WindowConfig {
    WindowConfig {
        window: WindowKind::Tumbling { size },
        max_out_of_orderness: out_of_orderness,
        allowed_lateness: lateness,
        late_policy: policy,
        aggregates: aggregates.to_vec(),
        columns: 1,
    }
}

/// A reference: each window's accumulators, by (key, start bits).
type Reference = BTreeMap<(u32, u64), Vec<omnitide_pipeline::agg::Acc>>;
/// Each window's aggregate values as bits, by (key, start bits).
type ValueBits = BTreeMap<(u32, u64), Vec<u64>>;

/// One row into its reference window: `Acc::add` per aggregate, in input order.
fn add_to_window(want: &mut Reference, window: (u32, u64), aggregates: &[AggSpec], v: f64) {
    let accs = want.entry(window).or_insert_with(|| aggregates.iter().map(omnitide_pipeline::agg::Acc::new).collect());
    accs.iter_mut().zip(aggregates).for_each(|(a, s)| a.add(if s.kind == AggKind::Count { 0.0 } else { v }));
}

/// Per-window aggregate values of a reference as bits.
fn value_bits(want: Reference, kinds: &[AggKind]) -> ValueBits {
    want.into_iter().map(|(k, mut accs)| (k, accs.iter_mut().zip(kinds).map(|(a, &kind)| a.value(kind, 0.0).to_bits()).collect())).collect()
}

/// Pushes the events in batches of `chunk`, then a final watermark: each
/// window's values as bits (each window fires once) and the dead rows.
/// `ordered` also checks the output order, (end, key, start), and pane 0.
fn chunked_value_bits(c: &WindowConfig, keys: &[u32], times: &[f64], vals: &[f64], chunk: usize, ordered: bool) -> (ValueBits, Vec<u32>) {
    let per = c.aggregates.len();
    let mut agg = WindowedAggregator::new(c.clone()).unwrap();
    let mut got = ValueBits::new();
    let mut dead = Vec::new();
    let mut last = (f64::NEG_INFINITY, 0u32, f64::NEG_INFINITY);
    let mut take = |e: &omnitide_pipeline::Emitted| {
        for i in 0..e.keys.len() {
            if ordered {
                let at = (e.ends[i], e.keys[i], e.starts[i]);
                assert!(last < at, "order");
                last = at;
                assert_eq!(e.panes[i], 0);
            }
            let v = e.values[i * per..(i + 1) * per].iter().map(|x| x.to_bits()).collect();
            assert!(got.insert((e.keys[i], e.starts[i].to_bits()), v).is_none(), "window fired twice");
        }
    };
    let n = keys.len();
    for at in (0..n).step_by(chunk) {
        let end = (at + chunk).min(n);
        let o = agg.push(&keys[at..end], &times[at..end], &vals[at..end]).unwrap();
        take(&o.emitted);
        dead.extend(o.dead_rows.iter().map(|d| d + at as u32));
    }
    take(&agg.advance_watermark(f64::INFINITY));
    assert_eq!(agg.open_windows(), 0);
    (got, dead)
}

/// In-order batches take the dense tumbling store, others the general store
/// (a late row, a bad time): every window's results are bit for bit those of
/// `Acc::add` over its rows in input order, whatever the batching, and the
/// output is ordered by (end, key, start) with each window once.
#[test]
fn dense_tumbling_windows_equal_per_row_accumulators_bit_for_bit() {
    let mut r = Lcg(5);
    let n = 30_000;
    let keys: Vec<u32> = (0..n).map(|_| (r.next() % 50) as u32).collect();
    let mut times: Vec<f64> = (0..n).map(|i| i as f64 * 0.7 + (r.next() % 20) as f64 * 0.1).collect();
    // A row far behind (late: dead letter) and a bad time, each forcing its batch onto the row path.
    times[9_000] = 10.0;
    times[21_000] = f64::NAN;
    let vals: Vec<f64> = (0..n).map(|i| if i % 101 == 0 { f64::NAN } else { (r.next() % 1000) as f64 / 7.0 }).collect();
    // One count (kept in the dense store's key pass) and two counts (each in its own loop).
    let one_count = [AggKind::Count, AggKind::Sum, AggKind::Min, AggKind::Max, AggKind::Mean, AggKind::Variance];
    let two_counts = [AggKind::Sum, AggKind::Count, AggKind::Max, AggKind::Count, AggKind::Variance];
    for (kinds, (policy, lateness)) in
        [&one_count[..], &two_counts[..]].into_iter().flat_map(|k| [(k, (LatePolicy::DeadLetter, 30.0)), (k, (LatePolicy::Update, 0.0))])
    {
        let aggregates: Vec<AggSpec> = kinds.iter().map(|&kind| AggSpec { kind, column: 0, q: 0.0 }).collect();
        let c = tumbling(25.0, 2.0, lateness, policy, &aggregates);
        // Reference: the row rule for lateness, then Acc::add per window in input order.
        let mut wm = f64::NEG_INFINITY;
        let mut want = Reference::new();
        let mut want_dead = Vec::new();
        for i in 0..n {
            let t = times[i];
            if !t.is_finite() {
                want_dead.push(i as u32);
                continue;
            }
            let s = (t / 25.0).floor() * 25.0;
            if wm >= s + 25.0 + lateness {
                want_dead.push(i as u32);
            } else {
                add_to_window(&mut want, (keys[i], s.to_bits()), &aggregates, vals[i]);
            }
            wm = wm.max(t - 2.0);
        }
        let want = (value_bits(want, kinds), want_dead);
        for chunk in [1, 64, 1000, n] {
            assert_eq!(chunked_value_bits(&c, &keys, &times, &vals, chunk, true), want, "{policy:?} chunk {chunk}");
        }
    }
}

/// A checkpoint taken while windows sit in the dense store restores them into
/// the general store and the run continues to the same results.
#[test]
fn a_snapshot_of_dense_windows_continues_exactly() {
    let n = 4_000;
    let keys: Vec<u32> = (0..n).map(|i| (i * 13 % 17) as u32).collect();
    let times: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let vals: Vec<f64> = (0..n).map(|i| (i % 31) as f64 * 0.3).collect();
    let c = cfg(WindowKind::Tumbling { size: 100.0 }, LatePolicy::DeadLetter);
    let spec = serde_json::to_string(&c).unwrap();
    let (want, _) = run(&c, &keys, &times, &vals, 500);
    let mut a = WindowedAggregator::new(c.clone()).unwrap();
    let mut finals = Finals::new();
    let mut take = |e: &omnitide_pipeline::Emitted| {
        for i in 0..e.keys.len() {
            finals.insert((e.keys[i], e.starts[i].to_bits()), (e.ends[i], e.values[3 * i], e.values[3 * i + 1], e.values[3 * i + 2]));
        }
    };
    take(&a.push(&keys[..2050], &times[..2050], &vals[..2050]).unwrap().emitted);
    assert!(a.open_windows() > 0);
    let mut b = WindowedAggregator::restore(&spec, &a.snapshot().unwrap()).unwrap();
    assert_eq!(b.open_windows(), a.open_windows());
    take(&b.push(&keys[2050..], &times[2050..], &vals[2050..]).unwrap().emitted);
    take(&b.advance_watermark(f64::INFINITY));
    assert_close(&finals, &want);
}

/// Sorted batches take the dense store's sorted fast path (a binary search per
/// window run, lateness checked per run): the same windows and dead rows as the
/// row rule, with window sizes whose boundaries round (0.3 over times k * 0.1),
/// repeated times, and a watermark that has passed the first windows.
#[test]
fn sorted_batches_equal_the_row_rule_at_rounding_edges() {
    let mut r = Lcg(11);
    let n = 20_000;
    let keys: Vec<u32> = (0..n).map(|_| (r.next() % 40) as u32).collect();
    // Sorted, with runs of equal times; then a sorted tail that restarts behind the watermark (late rows).
    let mut times: Vec<f64> = (0..n).map(|i| (i / 3) as f64 * 0.1).collect();
    for t in times[15_000..].iter_mut() {
        *t -= 30.0;
    }
    let vals: Vec<f64> = (0..n).map(|_| (r.next() % 1000) as f64 / 3.0).collect();
    let kinds = [AggKind::Count, AggKind::Sum, AggKind::Max];
    let aggregates: Vec<AggSpec> = kinds.iter().map(|&kind| AggSpec { kind, column: 0, q: 0.0 }).collect();
    for (size, ooo) in [(0.3, 0.0), (0.7, 0.25), (25.0, 0.0)] {
        let c = tumbling(size, ooo, 0.0, LatePolicy::DeadLetter, &aggregates);
        let mut wm = f64::NEG_INFINITY;
        let mut want = Reference::new();
        let mut want_dead = Vec::new();
        for i in 0..n {
            let t = times[i];
            let w = (t / size) as u64;
            if t < 0.0 || wm >= w as f64 * size + size {
                want_dead.push(i as u32);
            } else {
                add_to_window(&mut want, (keys[i], (w as f64 * size).to_bits()), &aggregates, vals[i]);
            }
            if t >= 0.0 {
                wm = wm.max(t - ooo);
            }
        }
        let want = (value_bits(want, &kinds), want_dead);
        for chunk in [1, 333, 4096, n] {
            assert_eq!(chunked_value_bits(&c, &keys, &times, &vals, chunk, false), want, "size {size} chunk {chunk}");
        }
    }
}

#[test]
fn emitted_values_by_aggregate_are_the_row_major_values_transposed() {
    use omnitide_pipeline::Emitted;
    let e = Emitted {
        keys: vec![0, 1, 2],
        starts: vec![0.0; 3],
        ends: vec![1.0; 3],
        panes: vec![0; 3],
        values: vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0],
    };
    assert_eq!(e.values_by_aggregate(), vec![1.0, 2.0, 3.0, 10.0, 20.0, 30.0]);
    let one = Emitted { values: vec![1.0, 2.0, 3.0], ..e.clone() };
    assert_eq!(one.values_by_aggregate(), vec![1.0, 2.0, 3.0]);
    assert!(Emitted::default().values_by_aggregate().is_empty());
}
