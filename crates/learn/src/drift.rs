//! Drift detectors with River's semantics and defaults (`river.drift`): ADWIN (exponential
//! histogram of buckets, cut checks every `clock` samples), DDM (binary error stream, warning at
//! 2 sigma, drift at 3), Page-Hinkley (cumulative deviation with forgetting `alpha`).
//! As in River, the update after a detection starts from a fresh state.

use crate::codec::{Dec, Enc};
use crate::stats::Mean;
use omnitide_common::{Error, Result};
use serde::Deserialize;

const MAX_BUCKETS: usize = 5;

#[derive(Clone, Debug)]
struct Row {
    total: [f64; MAX_BUCKETS + 1],
    variance: [f64; MAX_BUCKETS + 1],
    len: usize,
}

impl Row {
    fn new() -> Self {
        Self { total: [0.0; MAX_BUCKETS + 1], variance: [0.0; MAX_BUCKETS + 1], len: 0 }
    }
    fn push(&mut self, t: f64, v: f64) {
        self.total[self.len] = t;
        self.variance[self.len] = v;
        self.len += 1;
    }
    fn drop_front(&mut self, k: usize) {
        self.total.copy_within(k.., 0);
        self.variance.copy_within(k.., 0);
        for i in MAX_BUCKETS + 1 - k..=MAX_BUCKETS {
            self.total[i] = 0.0;
            self.variance[i] = 0.0;
        }
        self.len -= k;
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdwinSpec {
    #[serde(default = "d_adwin_delta")]
    pub delta: f64,
    #[serde(default = "d_clock")]
    pub clock: u32,
    #[serde(default = "d_min_window")]
    pub min_window_length: u32,
    #[serde(default = "d_grace")]
    pub grace_period: u32,
}
fn d_adwin_delta() -> f64 {
    0.002
}
fn d_clock() -> u32 {
    32
}
fn d_min_window() -> u32 {
    5
}
fn d_grace() -> u32 {
    10
}

/// ADWIN (Bifet & Gavaldà 2007) with River's bucket layout and cut test.
#[derive(Clone, Debug)]
pub struct Adwin {
    delta: f64,
    clock: u64,
    min_window: f64,
    grace: f64,
    rows: Vec<Row>,
    total: f64,
    variance: f64,
    width: f64,
    tick: u64,
    pub detected: bool,
    pub n_detections: u64,
}

impl Adwin {
    pub fn new(spec: &AdwinSpec) -> Result<Self> {
        if !(spec.delta > 0.0 && spec.delta < 1.0) {
            return Err(Error::invalid_arg("delta", "must be in (0, 1)"));
        }
        if spec.clock == 0 {
            return Err(Error::invalid_arg("clock", "must be >= 1"));
        }
        Ok(Self {
            delta: spec.delta,
            clock: spec.clock as u64,
            min_window: spec.min_window_length as f64,
            grace: spec.grace_period as f64,
            rows: vec![Row::new()],
            total: 0.0,
            variance: 0.0,
            width: 0.0,
            tick: 0,
            detected: false,
            n_detections: 0,
        })
    }

    fn reset(&mut self) {
        self.rows = vec![Row::new()];
        self.total = 0.0;
        self.variance = 0.0;
        self.width = 0.0;
        self.tick = 0;
    }

    pub fn width(&self) -> f64 {
        self.width
    }
    pub fn estimation(&self) -> f64 {
        if self.width == 0.0 {
            0.0
        } else {
            self.total / self.width
        }
    }

    /// Adds one value; true when a change was detected.
    pub fn update(&mut self, x: f64) -> bool {
        if self.detected {
            self.reset();
        }
        self.insert(x);
        self.detected = self.detect();
        if self.detected {
            self.n_detections += 1;
        }
        self.detected
    }

    fn insert(&mut self, value: f64) {
        self.rows[0].push(value, 0.0);
        self.width += 1.0;
        if self.width > 1.0 {
            let d = value - self.total / (self.width - 1.0);
            self.variance += (self.width - 1.0) * d * d / self.width;
        }
        self.total += value;
        self.compress();
    }

    fn compress(&mut self) {
        let mut idx = 0;
        while idx < self.rows.len() {
            if self.rows[idx].len != MAX_BUCKETS + 1 {
                break;
            }
            if idx + 1 == self.rows.len() {
                self.rows.push(Row::new());
            }
            let n = 2f64.powi(idx as i32);
            let (t0, t1) = (self.rows[idx].total[0], self.rows[idx].total[1]);
            let (m0, m1) = (t0 / n, t1 / n);
            let v = self.rows[idx].variance[0] + self.rows[idx].variance[1] + n * 0.5 * (m0 - m1) * (m0 - m1);
            self.rows[idx + 1].push(t0 + t1, v);
            self.rows[idx].drop_front(2);
            if self.rows[idx + 1].len <= MAX_BUCKETS {
                break;
            }
            idx += 1;
        }
    }

    fn delete_oldest(&mut self) -> f64 {
        let last = self.rows.len() - 1;
        let n = 2f64.powi(last as i32);
        let u = self.rows[last].total[0];
        let v = self.rows[last].variance[0];
        let mu = u / n;
        self.width -= n;
        self.total -= u;
        let mu_w = self.total / self.width;
        self.variance -= v + n * self.width * (mu - mu_w) * (mu - mu_w) / (n + self.width);
        self.rows[last].drop_front(1);
        if self.rows[last].len == 0 {
            self.rows.pop();
        }
        n
    }

    fn cut(&self, n0: f64, n1: f64, delta_mean: f64) -> bool {
        let delta_prime = (2.0 * self.width.ln() / self.delta).ln();
        let m_recip = 1.0 / (n0 - self.min_window + 1.0) + 1.0 / (n1 - self.min_window + 1.0);
        let eps = (2.0 * m_recip * (self.variance / self.width) * delta_prime).sqrt() + 2.0 / 3.0 * delta_prime * m_recip;
        delta_mean.abs() > eps
    }

    fn detect(&mut self) -> bool {
        let mut change = false;
        self.tick += 1;
        if !self.tick.is_multiple_of(self.clock) || self.width <= self.grace {
            return false;
        }
        let mut reduce = true;
        while reduce {
            reduce = false;
            let mut exit = false;
            let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
            let mut idx = self.rows.len();
            while idx > 0 && !exit {
                idx -= 1;
                let n2 = 2f64.powi(idx as i32);
                let len = self.rows[idx].len;
                for k in 0..len {
                    let u2 = self.rows[idx].total[k];
                    n0 += n2;
                    n1 -= n2;
                    u0 += u2;
                    u1 -= u2;
                    // The newest bucket is never cut off on its own.
                    if idx == 0 && k + 1 == len {
                        exit = true;
                        break;
                    }
                    if n1 >= self.min_window && n0 >= self.min_window && self.cut(n0, n1, u0 / n0 - u1 / n1) {
                        reduce = true;
                        change = true;
                        if self.width > 0.0 {
                            self.delete_oldest();
                            exit = true;
                            break;
                        }
                    }
                }
            }
        }
        change
    }

    pub fn save(&self, e: &mut Enc) {
        for v in [self.delta, self.min_window, self.grace, self.total, self.variance, self.width] {
            e.f64(v);
        }
        e.u64(self.clock);
        e.u64(self.tick);
        e.u64(self.n_detections);
        e.bool(self.detected);
        e.usize(self.rows.len());
        for r in &self.rows {
            e.usize(r.len);
            for i in 0..r.len {
                e.f64(r.total[i]);
                e.f64(r.variance[i]);
            }
        }
    }

    pub fn load(d: &mut Dec) -> Result<Self> {
        let v: Vec<f64> = (0..6).map(|_| d.f64()).collect::<Result<_>>()?;
        let (clock, tick, n_detections, detected) = (d.u64()?, d.u64()?, d.u64()?, d.bool()?);
        let nrows = d.usize()?;
        let mut rows = Vec::with_capacity(nrows.min(128));
        for _ in 0..nrows {
            let len = d.usize()?;
            if len > MAX_BUCKETS + 1 {
                return Err(Error::invalid_arg("bytes", "model file is malformed (ADWIN bucket row)"));
            }
            let mut r = Row::new();
            for _ in 0..len {
                let (t, va) = (d.f64()?, d.f64()?);
                r.push(t, va);
            }
            rows.push(r);
        }
        if rows.is_empty() || clock == 0 {
            return Err(Error::invalid_arg("bytes", "model file is malformed (ADWIN state)"));
        }
        Ok(Self {
            delta: v[0],
            min_window: v[1],
            grace: v[2],
            total: v[3],
            variance: v[4],
            width: v[5],
            clock,
            tick,
            n_detections,
            detected,
            rows,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdmSpec {
    #[serde(default = "d_warm")]
    pub warm_start: u32,
    #[serde(default = "d_warn")]
    pub warning_threshold: f64,
    #[serde(default = "d_drift")]
    pub drift_threshold: f64,
}
fn d_warm() -> u32 {
    30
}
fn d_warn() -> f64 {
    2.0
}
fn d_drift() -> f64 {
    3.0
}

/// DDM (Gama et al. 2004) on a 0/1 error stream.
#[derive(Clone, Debug)]
pub struct Ddm {
    spec: (f64, f64, f64),
    p: Mean,
    p_min: f64,
    s_min: f64,
    ps_min: f64,
    pub warning: bool,
    pub detected: bool,
}

impl Ddm {
    pub fn new(s: &DdmSpec) -> Result<Self> {
        if !(s.warning_threshold.is_finite() && s.drift_threshold.is_finite() && s.warning_threshold > 0.0 && s.drift_threshold > 0.0) {
            return Err(Error::invalid_arg("driftThreshold", "thresholds must be finite numbers > 0"));
        }
        Ok(Self {
            spec: (s.warm_start as f64, s.warning_threshold, s.drift_threshold),
            p: Mean::default(),
            p_min: f64::NAN,
            s_min: f64::NAN,
            ps_min: f64::INFINITY,
            warning: false,
            detected: false,
        })
    }
    pub fn update(&mut self, x: f64) -> bool {
        if self.detected {
            *self = Self {
                spec: self.spec,
                p: Mean::default(),
                p_min: f64::NAN,
                s_min: f64::NAN,
                ps_min: f64::INFINITY,
                warning: false,
                detected: false,
            };
        }
        self.p.update(x, 1.0);
        let p = self.p.mean;
        let n = self.p.n;
        let s = (p * (1.0 - p) / n).sqrt();
        if n > self.spec.0 {
            if p + s <= self.ps_min {
                self.p_min = p;
                self.s_min = s;
                self.ps_min = p + s;
            }
            self.warning = p + s > self.p_min + self.spec.1 * self.s_min;
            if p + s > self.p_min + self.spec.2 * self.s_min {
                self.detected = true;
                self.warning = false;
            }
        }
        self.detected
    }
    pub fn save(&self, e: &mut Enc) {
        for v in [self.spec.0, self.spec.1, self.spec.2, self.p.n, self.p.mean, self.p_min, self.s_min, self.ps_min] {
            e.f64(v);
        }
        e.bool(self.warning);
        e.bool(self.detected);
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let v: Vec<f64> = (0..8).map(|_| d.f64()).collect::<Result<_>>()?;
        Ok(Self {
            spec: (v[0], v[1], v[2]),
            p: Mean { n: v[3], mean: v[4] },
            p_min: v[5],
            s_min: v[6],
            ps_min: v[7],
            warning: d.bool()?,
            detected: d.bool()?,
        })
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PhMode {
    Up,
    Down,
    Both,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageHinkleySpec {
    #[serde(default = "d_min_inst")]
    pub min_instances: u32,
    #[serde(default = "d_ph_delta")]
    pub delta: f64,
    #[serde(default = "d_threshold")]
    pub threshold: f64,
    #[serde(default = "d_alpha")]
    pub alpha: f64,
    #[serde(default = "d_mode")]
    pub mode: PhMode,
}
fn d_min_inst() -> u32 {
    30
}
fn d_ph_delta() -> f64 {
    0.005
}
fn d_threshold() -> f64 {
    50.0
}
fn d_alpha() -> f64 {
    1.0 - 0.0001
}
fn d_mode() -> PhMode {
    PhMode::Both
}

#[derive(Clone, Debug)]
pub struct PageHinkley {
    s: PageHinkleySpec,
    mean: Mean,
    sum_inc: f64,
    sum_dec: f64,
    min_inc: f64,
    max_dec: f64,
    pub detected: bool,
}

impl PageHinkley {
    pub fn new(s: &PageHinkleySpec) -> Result<Self> {
        if !(s.threshold.is_finite() && s.threshold > 0.0) {
            return Err(Error::invalid_arg("threshold", "must be a finite number > 0"));
        }
        if !(s.alpha > 0.0 && s.alpha <= 1.0) {
            return Err(Error::invalid_arg("alpha", "must be in (0, 1]"));
        }
        if !s.delta.is_finite() {
            return Err(Error::invalid_arg("delta", "must be finite"));
        }
        Ok(Self { s: s.clone(), mean: Mean::default(), sum_inc: 0.0, sum_dec: 0.0, min_inc: f64::INFINITY, max_dec: -1.0, detected: false })
    }
    pub fn update(&mut self, x: f64) -> bool {
        if self.detected {
            *self = Self::new(&self.s.clone()).expect("validated");
        }
        self.mean.update(x, 1.0);
        let dev = x - self.mean.mean;
        self.sum_inc = self.s.alpha * self.sum_inc + dev - self.s.delta;
        self.sum_dec = self.s.alpha * self.sum_dec + dev + self.s.delta;
        if self.sum_inc < self.min_inc {
            self.min_inc = self.sum_inc;
        }
        if self.sum_dec > self.max_dec {
            self.max_dec = self.sum_dec;
        }
        if self.mean.n >= self.s.min_instances as f64 {
            let inc = self.sum_inc - self.min_inc;
            let dec = self.max_dec - self.sum_dec;
            self.detected = match self.s.mode {
                PhMode::Up => inc > self.s.threshold,
                PhMode::Down => dec > self.s.threshold,
                PhMode::Both => inc > self.s.threshold || dec > self.s.threshold,
            };
        }
        self.detected
    }
    pub fn save(&self, e: &mut Enc) {
        for v in [
            self.s.delta,
            self.s.threshold,
            self.s.alpha,
            self.mean.n,
            self.mean.mean,
            self.sum_inc,
            self.sum_dec,
            self.min_inc,
            self.max_dec,
        ] {
            e.f64(v);
        }
        e.u32(self.s.min_instances);
        e.u8(self.s.mode as u8);
        e.bool(self.detected);
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let v: Vec<f64> = (0..9).map(|_| d.f64()).collect::<Result<_>>()?;
        let min_instances = d.u32()?;
        let mode = match d.u8()? {
            0 => PhMode::Up,
            1 => PhMode::Down,
            _ => PhMode::Both,
        };
        Ok(Self {
            s: PageHinkleySpec { delta: v[0], threshold: v[1], alpha: v[2], min_instances, mode },
            mean: Mean { n: v[3], mean: v[4] },
            sum_inc: v[5],
            sum_dec: v[6],
            min_inc: v[7],
            max_dec: v[8],
            detected: d.bool()?,
        })
    }
}

/// One of the detectors, built from `{"type": "adwin" | "ddm" | "page-hinkley", ...}`.
#[derive(Clone, Debug)]
pub enum Detector {
    Adwin(Adwin),
    Ddm(Ddm),
    PageHinkley(PageHinkley),
}

impl Detector {
    pub fn from_json(kind: &str, params: &str) -> Result<Self> {
        let bad = |e: serde_json::Error| Error::invalid_arg("options", e.to_string());
        Ok(match kind {
            "adwin" => Detector::Adwin(Adwin::new(&serde_json::from_str(params).map_err(bad)?)?),
            "ddm" => Detector::Ddm(Ddm::new(&serde_json::from_str(params).map_err(bad)?)?),
            "page-hinkley" => Detector::PageHinkley(PageHinkley::new(&serde_json::from_str(params).map_err(bad)?)?),
            other => return Err(Error::invalid_arg("kind", format!("unknown detector {other:?} (expected adwin, ddm or page-hinkley)"))),
        })
    }
    pub fn update(&mut self, x: f64) -> Result<bool> {
        if !x.is_finite() {
            return Err(Error::invalid_arg("x", "must be a finite number"));
        }
        Ok(match self {
            Detector::Adwin(d) => d.update(x),
            Detector::Ddm(d) => {
                if x != 0.0 && x != 1.0 {
                    return Err(Error::invalid_arg("x", "DDM monitors a 0/1 error stream"));
                }
                d.update(x)
            }
            Detector::PageHinkley(d) => d.update(x),
        })
    }
    /// Feeds all values (validated first) and returns the indices where drift was flagged.
    pub fn update_many(&mut self, xs: &[f64]) -> Result<Vec<u32>> {
        for (i, &x) in xs.iter().enumerate() {
            if !x.is_finite() || (matches!(self, Detector::Ddm(_)) && x != 0.0 && x != 1.0) {
                return Err(Error::invalid_arg(
                    &format!("values[{i}]"),
                    if x.is_finite() { "DDM monitors a 0/1 error stream" } else { "must be a finite number" },
                ));
            }
        }
        let mut out = Vec::new();
        for (i, &x) in xs.iter().enumerate() {
            if self.update(x)? {
                out.push(i as u32);
            }
        }
        Ok(out)
    }
    pub fn warning(&self) -> bool {
        matches!(self, Detector::Ddm(d) if d.warning)
    }
    pub fn drift(&self) -> bool {
        match self {
            Detector::Adwin(d) => d.detected,
            Detector::Ddm(d) => d.detected,
            Detector::PageHinkley(d) => d.detected,
        }
    }
    pub fn state(&self) -> serde_json::Value {
        match self {
            Detector::Adwin(d) => {
                serde_json::json!({ "type": "adwin", "width": d.width, "estimation": d.estimation(), "detections": d.n_detections })
            }
            Detector::Ddm(d) => {
                serde_json::json!({ "type": "ddm", "n": d.p.n, "errorRate": d.p.mean, "warning": d.warning })
            }
            Detector::PageHinkley(d) => {
                serde_json::json!({ "type": "page-hinkley", "n": d.mean.n, "mean": d.mean.mean })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Rng;

    #[test]
    fn adwin_flags_a_mean_shift_soon_after_it_happens() {
        let mut d = Detector::from_json("adwin", "{}").unwrap();
        let mut rng = Rng::new(3);
        let xs: Vec<f64> = (0..3000).map(|i| if i < 1500 { rng.normal() * 0.1 } else { 1.0 + rng.normal() * 0.1 }).collect();
        let hits = d.update_many(&xs).unwrap();
        assert!(!hits.is_empty());
        assert!(hits[0] >= 1500 && hits[0] < 1600, "{hits:?}");
        assert!(hits.iter().all(|&h| h >= 1500));
    }

    #[test]
    fn ddm_and_page_hinkley_detect_rises() {
        let mut rng = Rng::new(5);
        let errs: Vec<f64> = (0..4000).map(|i| if rng.f64() < if i < 2000 { 0.1 } else { 0.5 } { 1.0 } else { 0.0 }).collect();
        let mut ddm = Detector::from_json("ddm", "{}").unwrap();
        let h = ddm.update_many(&errs).unwrap();
        assert!(h.iter().any(|&i| (2000..2300).contains(&i)), "{h:?}");
        let mut ph = Detector::from_json("page-hinkley", "{}").unwrap();
        let xs: Vec<f64> = (0..2000).map(|i| if i < 1000 { 0.0 } else { 5.0 } + 0.3 * rng.normal()).collect();
        let h = ph.update_many(&xs).unwrap();
        assert!(h.first().is_some_and(|&i| (1000..1100).contains(&i)), "{h:?}");
        assert!(ddm.update(0.5).is_err());
        assert!(Detector::from_json("cusum", "{}").is_err());
        assert!(Detector::from_json("adwin", r#"{"delta": 2}"#).is_err());
    }
}
