//! Prequential (test-then-train) metrics, cumulative or over a rolling window of the last `w`
//! samples: accuracy, log loss, F1 and ROC AUC of the positive class (label 1) for classifiers;
//! MAE, RMSE and R² for regressors. Sums are kept incrementally (O(1) per sample); ROC AUC is
//! exact over the window (rank statistic, ties counted half), computed when read.

use serde_json::{json, Value};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    y: f64,
    pred: f64,
    /// Probability the model gave the true class (classification), for log loss.
    p_true: f64,
    /// Probability of the positive class (binary), for ROC AUC; NaN when not binary.
    p_pos: f64,
}

#[derive(Clone, Debug, Default)]
struct Sums {
    n: f64,
    correct: f64,
    log_loss: f64,
    tp: f64,
    fp: f64,
    fn_: f64,
    abs: f64,
    sq: f64,
    y: f64,
    y2: f64,
}

impl Sums {
    fn apply(&mut self, s: &Sample, sign: f64, classification: bool) {
        self.n += sign;
        if classification {
            self.correct += sign * (s.pred == s.y) as u8 as f64;
            let p = s.p_true.clamp(1e-15, 1.0 - 1e-15);
            self.log_loss += sign * -p.ln();
            let (pp, yp) = (s.pred == 1.0, s.y == 1.0);
            self.tp += sign * (pp && yp) as u8 as f64;
            self.fp += sign * (pp && !yp) as u8 as f64;
            self.fn_ += sign * (!pp && yp) as u8 as f64;
        } else {
            let e = s.pred - s.y;
            self.abs += sign * e.abs();
            self.sq += sign * e * e;
            self.y += sign * s.y;
            self.y2 += sign * s.y * s.y;
        }
    }
}

#[derive(Clone, Debug)]
pub struct Metrics {
    classification: bool,
    window: Option<usize>,
    buf: VecDeque<Sample>,
    sums: Sums,
    /// For cumulative ROC AUC every (score, label) is kept; bounded by the caller's stream.
    keep_all_scores: bool,
}

impl Metrics {
    pub fn new(classification: bool, window: Option<usize>) -> Self {
        Self { classification, window, buf: VecDeque::new(), sums: Sums::default(), keep_all_scores: window.is_none() }
    }

    pub fn update(&mut self, y: f64, pred: f64, p_true: f64, p_pos: f64) {
        let s = Sample { y, pred, p_true, p_pos };
        self.sums.apply(&s, 1.0, self.classification);
        if self.window.is_some() || (self.keep_all_scores && self.classification) {
            self.buf.push_back(s);
        }
        if let Some(w) = self.window {
            if self.buf.len() > w {
                let old = self.buf.pop_front().unwrap();
                self.sums.apply(&old, -1.0, self.classification);
            }
        }
    }

    fn auc(&self) -> Option<f64> {
        let mut v: Vec<(f64, bool)> = self.buf.iter().filter(|s| !s.p_pos.is_nan()).map(|s| (s.p_pos, s.y == 1.0)).collect();
        let pos = v.iter().filter(|e| e.1).count() as f64;
        let neg = v.len() as f64 - pos;
        if pos == 0.0 || neg == 0.0 {
            return None;
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Mann-Whitney U with average ranks for ties.
        let mut rank_sum = 0.0;
        let mut i = 0;
        while i < v.len() {
            let mut j = i;
            while j + 1 < v.len() && v[j + 1].0 == v[i].0 {
                j += 1;
            }
            let avg = (i + j) as f64 / 2.0 + 1.0;
            rank_sum += avg * v[i..=j].iter().filter(|e| e.1).count() as f64;
            i = j + 1;
        }
        Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
    }

    pub fn n(&self) -> f64 {
        self.sums.n
    }

    pub fn accuracy(&self) -> f64 {
        if self.sums.n == 0.0 {
            0.0
        } else {
            self.sums.correct / self.sums.n
        }
    }

    pub fn report(&self) -> Value {
        let s = &self.sums;
        let n = s.n;
        let div = |a: f64, b: f64| if b == 0.0 { Value::Null } else { json!(a / b) };
        if self.classification {
            let f1 = if s.tp == 0.0 { 0.0 } else { 2.0 * s.tp / (2.0 * s.tp + s.fp + s.fn_) };
            json!({
                "n": n,
                "accuracy": div(s.correct, n),
                "logLoss": div(s.log_loss, n),
                "f1": f1,
                "rocAuc": self.auc(),
            })
        } else {
            let mean = if n > 0.0 { s.y / n } else { 0.0 };
            let ss_tot = s.y2 - n * mean * mean;
            json!({
                "n": n,
                "mae": div(s.abs, n),
                "rmse": if n == 0.0 { Value::Null } else { json!((s.sq / n).sqrt()) },
                "r2": if n == 0.0 || ss_tot <= 0.0 { Value::Null } else { json!(1.0 - s.sq / ss_tot) },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_metrics() {
        let mut m = Metrics::new(true, None);
        // (y, pred, p_pos)
        for (y, p) in [(1.0, 0.9), (0.0, 0.2), (1.0, 0.4), (0.0, 0.6)] {
            let pred = if p > 0.5 { 1.0 } else { 0.0 };
            m.update(y, pred, if y == 1.0 { p } else { 1.0 - p }, p);
        }
        let r = m.report();
        assert_eq!(r["accuracy"], 0.5);
        assert_eq!(r["f1"], 0.5);
        assert_eq!(r["rocAuc"], 0.75);
        let ll = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln() + 0.4f64.ln()) / 4.0;
        assert!((r["logLoss"].as_f64().unwrap() - ll).abs() < 1e-12);
    }

    #[test]
    fn rolling_window_forgets() {
        let mut m = Metrics::new(false, Some(2));
        for (y, p) in [(0.0, 10.0), (1.0, 1.0), (2.0, 3.0)] {
            m.update(y, p, f64::NAN, f64::NAN);
        }
        let r = m.report();
        assert_eq!(r["n"], 2.0);
        assert_eq!(r["mae"], 0.5);
        assert!((r["rmse"].as_f64().unwrap() - 0.5f64.sqrt()).abs() < 1e-12);
    }
}
