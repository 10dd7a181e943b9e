//! Hoeffding tree classifier with River's semantics (`river.tree.HoeffdingTreeClassifier`):
//! Gaussian splitters on numeric features (`n_splits` candidate thresholds between the per-class
//! min and max), information gain or Gini, the Hoeffding bound with `delta` and the tie threshold
//! `tau`, `grace_period`, merit pre-pruning (the null split), `min_branch_fraction`,
//! `max_share_to_split`, and majority-class / naive Bayes / adaptive naive Bayes leaves.
//!
//! Like River before its first memory estimate (every 1e6 samples), every successful split
//! re-activates leaves that were deactivated; there is no memory cap (River's default is 100 MiB).
//! A NaN feature is missing: the splitters skip it, and at a branch on that feature the sample
//! follows the heavier child (River's `most_common_path`).
//! The adaptive variant is in `adaptive.rs`.

use crate::classes::{ClassDist, Proba};
use crate::codec::{Dec, Enc};
use crate::stats::Var;
use omnitide_common::{Error, Result};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    InfoGain,
    Gini,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LeafPrediction {
    Mc,
    Nb,
    Nba,
}

/// Hyper-parameters; the defaults are River's.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TreeSpec {
    #[serde(default = "d_grace")]
    pub grace_period: f64,
    pub max_depth: Option<u32>,
    #[serde(default = "d_criterion")]
    pub split_criterion: Criterion,
    #[serde(default = "d_delta")]
    pub delta: f64,
    #[serde(default = "d_tau")]
    pub tau: f64,
    #[serde(default = "d_leaf")]
    pub leaf_prediction: LeafPrediction,
    #[serde(default)]
    pub nb_threshold: f64,
    #[serde(default = "d_splits")]
    pub n_splits: u32,
    #[serde(default = "d_frac")]
    pub min_branch_fraction: f64,
    #[serde(default = "d_share")]
    pub max_share_to_split: f64,
    #[serde(default = "d_true")]
    pub merit_preprune: bool,
    /// Adaptive variant only: ADWIN delta of the error monitors.
    #[serde(default = "d_adwin")]
    pub drift_delta: f64,
    /// Adaptive variant only: samples an alternate tree learns before it is compared.
    #[serde(default = "d_switch")]
    pub switch_grace: f64,
}
fn d_grace() -> f64 {
    200.0
}
fn d_criterion() -> Criterion {
    Criterion::InfoGain
}
fn d_delta() -> f64 {
    1e-7
}
fn d_tau() -> f64 {
    0.05
}
fn d_leaf() -> LeafPrediction {
    LeafPrediction::Nba
}
fn d_splits() -> u32 {
    10
}
fn d_frac() -> f64 {
    0.01
}
fn d_share() -> f64 {
    0.99
}
fn d_true() -> bool {
    true
}
fn d_adwin() -> f64 {
    0.002
}
fn d_switch() -> f64 {
    300.0
}

impl TreeSpec {
    fn validate(&self) -> Result<()> {
        let pos = |arg: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid_arg(arg, "must be a finite number > 0"))
            }
        };
        pos("gracePeriod", self.grace_period)?;
        pos("switchGrace", self.switch_grace)?;
        for (a, v) in [("delta", self.delta), ("driftDelta", self.drift_delta)] {
            if !(v > 0.0 && v < 1.0) {
                return Err(Error::invalid_arg(a, "must be in (0, 1)"));
            }
        }
        for (a, v) in [("tau", self.tau), ("minBranchFraction", self.min_branch_fraction), ("maxShareToSplit", self.max_share_to_split)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid_arg(a, "must be in [0, 1]"));
            }
        }
        if !(self.nb_threshold.is_finite() && self.nb_threshold >= 0.0) {
            return Err(Error::invalid_arg("nbThreshold", "must be >= 0"));
        }
        if self.n_splits == 0 {
            return Err(Error::invalid_arg("nSplits", "must be >= 1"));
        }
        Ok(())
    }
}

/// Per-feature observer: per class (first-seen order) min, max and a Gaussian.
#[derive(Clone, Debug, Default)]
struct Splitter {
    per_class: Vec<(f64, f64, f64, Var)>,
}

impl Splitter {
    fn update(&mut self, v: f64, c: f64, w: f64) {
        match self.per_class.iter_mut().find(|e| e.0 == c) {
            Some(e) => {
                if v < e.1 {
                    e.1 = v;
                }
                if v > e.2 {
                    e.2 = v;
                }
                e.3.update(v, w);
            }
            None => {
                let mut g = Var::new(1.0);
                g.update(v, w);
                self.per_class.push((c, v, v, g));
            }
        }
    }
    fn cond_log_proba(&self, v: f64, c: f64) -> f64 {
        self.per_class.iter().find(|e| e.0 == c).map_or(f64::NEG_INFINITY, |e| e.3.log_pdf(v))
    }
    fn binary_split(&self, at: f64) -> [ClassDist; 2] {
        let (mut l, mut r) = (ClassDist::default(), ClassDist::default());
        for (c, mn, mx, g) in &self.per_class {
            if at < *mn {
                r.0.push((*c, g.n()));
            } else if at >= *mx {
                l.0.push((*c, g.n()));
            } else {
                let lw = g.cdf(at) * g.n();
                l.0.push((*c, lw));
                r.0.push((*c, g.n() - lw));
            }
        }
        [l, r]
    }
    /// Best (merit, threshold, children) over the candidate thresholds; merit -inf when none.
    fn best(&self, crit: Criterion, min_frac: f64, pre: &ClassDist, n_splits: u32) -> Option<(f64, f64, [ClassDist; 2])> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for e in &self.per_class {
            if e.1 < lo {
                lo = e.1;
            }
            if e.2 > hi {
                hi = e.2;
            }
        }
        if lo == f64::INFINITY {
            return None;
        }
        let bin = (hi - lo) / (n_splits as f64 + 1.0);
        let mut best: Option<(f64, f64, [ClassDist; 2])> = None;
        for i in 0..n_splits {
            let at = lo + bin * (i as f64 + 1.0);
            if !(lo < at && at < hi) {
                continue;
            }
            let post = self.binary_split(at);
            let merit = merit_of_split(crit, min_frac, pre, &post);
            if merit > best.as_ref().map_or(f64::NEG_INFINITY, |b| b.0) {
                best = Some((merit, at, post));
            }
        }
        best
    }
    fn save(&self, e: &mut Enc) {
        e.usize(self.per_class.len());
        for (c, mn, mx, g) in &self.per_class {
            e.f64(*c);
            e.f64(*mn);
            e.f64(*mx);
            g.save(e);
        }
    }
    fn load(d: &mut Dec) -> Result<Self> {
        let n = d.usize()?;
        let mut per_class = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            per_class.push((d.f64()?, d.f64()?, d.f64()?, Var::load(d)?));
        }
        Ok(Self { per_class })
    }
}

fn entropy(d: &ClassDist) -> f64 {
    let (mut h, mut s) = (0.0, 0.0);
    for &(_, w) in &d.0 {
        if w > 0.0 {
            h -= w * w.log2();
            s += w;
        }
    }
    if s > 0.0 {
        (h + s * s.log2()) / s
    } else {
        0.0
    }
}

fn gini(d: &ClassDist, total: f64) -> f64 {
    let mut g = 1.0;
    if total > 0.0 {
        for &(_, w) in &d.0 {
            let p = w / total;
            g -= p * p;
        }
    }
    g
}

fn merit_of_split(crit: Criterion, min_frac: f64, pre: &ClassDist, post: &[ClassDist; 2]) -> f64 {
    let sums = [post[0].total(), post[1].total()];
    let total = sums[0] + sums[1];
    let greater = if total > 0.0 { sums.iter().filter(|s| *s / total > min_frac).count() } else { 0 };
    if greater < 2 {
        return f64::NEG_INFINITY;
    }
    match crit {
        Criterion::InfoGain => entropy(pre) - (sums[0] * entropy(&post[0]) + sums[1] * entropy(&post[1])) / total,
        Criterion::Gini => 1.0 - (sums[0] / total * gini(&post[0], sums[0]) + sums[1] / total * gini(&post[1], sums[1])),
    }
}

fn range_of_merit(crit: Criterion, pre: &ClassDist) -> f64 {
    match crit {
        Criterion::InfoGain => (pre.len().max(2) as f64).log2(),
        Criterion::Gini => 1.0,
    }
}

#[derive(Clone, Debug)]
struct Leaf {
    stats: ClassDist,
    depth: u32,
    /// `None` when the leaf is inactive; feature index -> splitter, in first-seen order.
    splitters: Option<Vec<(usize, Splitter)>>,
    last_split_attempt_at: f64,
    mc_correct: f64,
    nb_correct: f64,
}

impl Leaf {
    fn new(stats: ClassDist, depth: u32) -> Self {
        let t = stats.total();
        Self { stats, depth, splitters: Some(Vec::new()), last_split_attempt_at: t, mc_correct: 0.0, nb_correct: 0.0 }
    }
    fn mc_proba(&self) -> Proba {
        let t = self.stats.total();
        if t == 0.0 {
            return self.stats.0.clone();
        }
        self.stats.0.iter().map(|&(c, w)| (c, w / t)).collect()
    }
    /// `river.tree.utils.do_naive_bayes_prediction`.
    fn nb_proba(&self, x: &[f64]) -> Proba {
        let total = self.stats.total();
        if self.stats.is_empty() || total == 0.0 {
            return Vec::new();
        }
        let empty = Vec::new();
        let splitters = self.splitters.as_ref().unwrap_or(&empty);
        let mut votes: Proba = Vec::with_capacity(self.stats.len());
        for &(c, w) in &self.stats.0 {
            if w > 0.0 {
                let mut v = (w / total).ln();
                for (f, s) in splitters {
                    let xv = x[*f];
                    if xv.is_nan() {
                        continue;
                    }
                    let lp = s.cond_log_proba(xv, c);
                    if lp > f64::NEG_INFINITY {
                        v += lp;
                    }
                }
                votes.push((c, v));
            } else {
                votes.push((c, 0.0));
            }
        }
        let max = votes.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
        let lse = max + votes.iter().map(|e| (e.1 - max).exp()).sum::<f64>().ln();
        for e in votes.iter_mut() {
            e.1 = (e.1 - lse).exp();
        }
        votes
    }
    fn prediction(&self, x: &[f64], p: &TreeSpec) -> Proba {
        let active = self.splitters.is_some();
        match p.leaf_prediction {
            LeafPrediction::Mc => self.mc_proba(),
            LeafPrediction::Nb if active && self.stats.total() >= p.nb_threshold => self.nb_proba(x),
            LeafPrediction::Nba if active && self.nb_correct >= self.mc_correct => self.nb_proba(x),
            _ => self.mc_proba(),
        }
    }
    fn learn(&mut self, x: &[f64], y: f64, w: f64, p: &TreeSpec) {
        if p.leaf_prediction == LeafPrediction::Nba && self.splitters.is_some() {
            let mc = self.mc_proba();
            if self.stats.is_empty() || crate::classes::argmax(&mc) == y {
                self.mc_correct += w;
            }
            let nb = self.nb_proba(x);
            if !nb.is_empty() && crate::classes::argmax(&nb) == y {
                self.nb_correct += w;
            }
        }
        self.stats.add(y, w);
        if let Some(sp) = self.splitters.as_mut() {
            for (f, &v) in x.iter().enumerate() {
                if v.is_nan() {
                    continue;
                }
                match sp.iter_mut().find(|e| e.0 == f) {
                    Some(e) => e.1.update(v, y, w),
                    None => {
                        let mut s = Splitter::default();
                        s.update(v, y, w);
                        sp.push((f, s));
                    }
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Node {
    Leaf(Leaf),
    Branch { feature: usize, threshold: f64, children: [usize; 2], depth: u32 },
}

/// One Hoeffding tree over an arena of nodes (index 0 is the root once it exists).
#[derive(Clone, Debug)]
pub struct HoeffdingTree {
    p: TreeSpec,
    max_depth: u32,
    nodes: Vec<Node>,
    root: Option<usize>,
    /// Sorted (River sorts the classes when it reports probabilities).
    classes: Vec<f64>,
    weight_seen: f64,
    n_features: usize,
}

impl HoeffdingTree {
    pub fn new(spec: TreeSpec, n_features: usize) -> Result<Self> {
        spec.validate()?;
        // River: sys.getrecursionlimit() - 20 when max_depth is None.
        let max_depth = spec.max_depth.unwrap_or(980);
        Ok(Self { p: spec, max_depth, nodes: Vec::new(), root: None, classes: Vec::new(), weight_seen: 0.0, n_features })
    }

    fn total_weight(&self, n: usize) -> f64 {
        match &self.nodes[n] {
            Node::Leaf(l) => l.stats.total(),
            Node::Branch { children, .. } => self.total_weight(children[0]) + self.total_weight(children[1]),
        }
    }

    fn next(&self, n: usize, x: &[f64]) -> Option<usize> {
        match &self.nodes[n] {
            Node::Leaf(_) => None,
            Node::Branch { feature, threshold, children, .. } => {
                let v = x[*feature];
                Some(if v.is_nan() {
                    if self.total_weight(children[0]) < self.total_weight(children[1]) {
                        children[1]
                    } else {
                        children[0]
                    }
                } else if v <= *threshold {
                    children[0]
                } else {
                    children[1]
                })
            }
        }
    }

    /// The leaf for `x` and its parent with the branch taken.
    fn find_leaf(&self, x: &[f64]) -> Option<(usize, Option<(usize, usize)>)> {
        let mut n = self.root?;
        let mut parent = None;
        while let Some(c) = self.next(n, x) {
            let Node::Branch { children, .. } = &self.nodes[n] else { unreachable!() };
            parent = Some((n, if children[0] == c { 0 } else { 1 }));
            n = c;
        }
        Some((n, parent))
    }

    pub fn learn(&mut self, x: &[f64], y: f64, w: f64) {
        if let Err(i) = self.classes.binary_search_by(|c| c.total_cmp(&y)) {
            self.classes.insert(i, y);
        }
        self.weight_seen += w;
        if self.root.is_none() {
            self.nodes.push(Node::Leaf(Leaf::new(ClassDist::default(), 0)));
            self.root = Some(self.nodes.len() - 1);
        }
        let (n, _) = self.find_leaf(x).expect("root exists");
        let Node::Leaf(leaf) = &mut self.nodes[n] else { unreachable!() };
        leaf.learn(x, y, w, &self.p);
        if leaf.splitters.is_some() {
            if leaf.depth >= self.max_depth {
                leaf.splitters = None;
            } else {
                let seen = leaf.stats.total();
                if seen - leaf.last_split_attempt_at >= self.p.grace_period {
                    self.attempt_split(n);
                    if let Node::Leaf(l) = &mut self.nodes[n] {
                        l.last_split_attempt_at = seen;
                    }
                }
            }
        }
    }

    fn attempt_split(&mut self, n: usize) {
        let Node::Leaf(leaf) = &self.nodes[n] else {
            return;
        };
        if leaf.stats.0.iter().filter(|e| e.1 != 0.0).count() < 2 {
            return;
        }
        // (merit, feature, threshold, children); feature None is the null split.
        type Suggestion = (f64, Option<usize>, f64, Option<[ClassDist; 2]>);
        let mut sugg: Vec<Suggestion> = Vec::new();
        let total = leaf.stats.total();
        let maj = leaf.stats.0.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
        if maj != 0.0 && maj / total > self.p.max_share_to_split {
            sugg.push((f64::NEG_INFINITY, None, 0.0, None));
        } else {
            if self.p.merit_preprune {
                sugg.push((f64::NEG_INFINITY, None, 0.0, None));
            }
            for (f, s) in leaf.splitters.iter().flatten() {
                match s.best(self.p.split_criterion, self.p.min_branch_fraction, &leaf.stats, self.p.n_splits) {
                    Some((m, at, post)) => sugg.push((m, Some(*f), at, Some(post))),
                    None => sugg.push((f64::NEG_INFINITY, None, 0.0, None)),
                }
            }
        }
        // Python's sort is stable and compares merits with `<`.
        sugg.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        let should = if sugg.len() < 2 {
            !sugg.is_empty()
        } else {
            let r = range_of_merit(self.p.split_criterion, &leaf.stats);
            let hb = (r * r * (1.0 / self.p.delta).ln() / (2.0 * total)).sqrt();
            let (best, second) = (sugg[sugg.len() - 1].0, sugg[sugg.len() - 2].0);
            best - second > hb || hb < self.p.tau
        };
        if !should {
            return;
        }
        let depth = leaf.depth;
        let (_, feature, threshold, post) = sugg.pop().unwrap();
        match (feature, post) {
            (Some(feature), Some([l, r])) => {
                self.nodes.push(Node::Leaf(Leaf::new(l, depth + 1)));
                self.nodes.push(Node::Leaf(Leaf::new(r, depth + 1)));
                let k = self.nodes.len();
                // The split node takes the leaf's slot so the parent's link stays valid.
                self.nodes[n] = Node::Branch { feature, threshold, children: [k - 2, k - 1], depth };
            }
            _ => {
                if let Node::Leaf(l) = &mut self.nodes[n] {
                    l.splitters = None;
                }
            }
        }
        // River's `_enforce_size_limit` before any size estimate: re-activate inactive leaves.
        let max_depth = self.max_depth;
        for node in self.nodes.iter_mut() {
            if let Node::Leaf(l) = node {
                if l.splitters.is_none() && l.depth < max_depth {
                    l.splitters = Some(Vec::new());
                }
            }
        }
    }

    /// Probabilities over all classes seen (sorted), as River's `predict_proba_one`.
    pub fn proba(&self, x: &[f64]) -> Proba {
        let mut out: Proba = self.classes.iter().map(|&c| (c, 0.0)).collect();
        if let Some((n, _)) = self.find_leaf(x) {
            if let Node::Leaf(l) = &self.nodes[n] {
                for (c, p) in l.prediction(x, &self.p) {
                    if let Some(e) = out.iter_mut().find(|e| e.0 == c) {
                        e.1 = p;
                    }
                }
            }
        }
        out
    }

    pub fn classes(&self) -> Vec<f64> {
        self.classes.clone()
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn spec(&self) -> &TreeSpec {
        &self.p
    }

    pub fn summary(&self) -> serde_json::Value {
        let (mut leaves, mut branches, mut active, mut height) = (0, 0, 0, 0u32);
        if let Some(r) = self.root {
            let mut stack = vec![(r, 1u32)];
            while let Some((n, d)) = stack.pop() {
                height = height.max(d);
                match &self.nodes[n] {
                    Node::Leaf(l) => {
                        leaves += 1;
                        if l.splitters.is_some() {
                            active += 1;
                        }
                    }
                    Node::Branch { children, .. } => {
                        branches += 1;
                        stack.push((children[0], d + 1));
                        stack.push((children[1], d + 1));
                    }
                }
            }
        }
        serde_json::json!({ "nodes": leaves + branches, "branches": branches, "leaves": leaves, "activeLeaves": active, "height": height, "weightSeen": self.weight_seen })
    }

    pub fn save(&self, e: &mut Enc) {
        save_spec(&self.p, e);
        e.u32(self.max_depth);
        e.usize(self.n_features);
        e.f64(self.weight_seen);
        e.f64s(&self.classes);
        e.bool(self.root.is_some());
        e.usize(self.root.unwrap_or(0));
        e.usize(self.nodes.len());
        for node in &self.nodes {
            match node {
                Node::Branch { feature, threshold, children, depth } => {
                    e.u8(0);
                    e.usize(*feature);
                    e.f64(*threshold);
                    e.usize(children[0]);
                    e.usize(children[1]);
                    e.u32(*depth);
                }
                Node::Leaf(l) => {
                    e.u8(1);
                    l.stats.save(e);
                    e.u32(l.depth);
                    e.f64(l.last_split_attempt_at);
                    e.f64(l.mc_correct);
                    e.f64(l.nb_correct);
                    e.bool(l.splitters.is_some());
                    if let Some(sp) = &l.splitters {
                        e.usize(sp.len());
                        for (f, s) in sp {
                            e.usize(*f);
                            s.save(e);
                        }
                    }
                }
            }
        }
    }

    pub fn load(d: &mut Dec) -> Result<Self> {
        let p = load_spec(d)?;
        let max_depth = d.u32()?;
        let n_features = d.usize()?;
        let weight_seen = d.f64()?;
        let classes = d.f64s()?;
        let has_root = d.bool()?;
        let root = d.usize()?;
        let count = d.usize()?;
        let bad = || Error::invalid_arg("bytes", "model file is malformed (tree links)");
        let mut nodes = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            nodes.push(match d.u8()? {
                0 => Node::Branch { feature: d.usize()?, threshold: d.f64()?, children: [d.usize()?, d.usize()?], depth: d.u32()? },
                1 => {
                    let stats = ClassDist::load(d)?;
                    let depth = d.u32()?;
                    let (last, mc, nb) = (d.f64()?, d.f64()?, d.f64()?);
                    let splitters = if d.bool()? {
                        let k = d.usize()?;
                        let mut v = Vec::with_capacity(k.min(1 << 16));
                        for _ in 0..k {
                            let f = d.usize()?;
                            if f >= n_features {
                                return Err(bad());
                            }
                            v.push((f, Splitter::load(d)?));
                        }
                        Some(v)
                    } else {
                        None
                    };
                    Node::Leaf(Leaf { stats, depth, splitters, last_split_attempt_at: last, mc_correct: mc, nb_correct: nb })
                }
                _ => return Err(bad()),
            });
        }
        // Links must point forward-only into the arena (no cycles) and features must exist.
        for (i, n) in nodes.iter().enumerate() {
            if let Node::Branch { feature, children, .. } = n {
                if *feature >= n_features || children.iter().any(|&c| c >= count || c == i) {
                    return Err(bad());
                }
            }
        }
        if has_root && root >= count {
            return Err(bad());
        }
        let t = Self { p, max_depth, nodes, root: if has_root { Some(root) } else { None }, classes, weight_seen, n_features };
        t.check_acyclic().ok_or_else(bad)?;
        Ok(t)
    }

    fn check_acyclic(&self) -> Option<()> {
        let Some(r) = self.root else { return Some(()) };
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![r];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n], true) {
                return None;
            }
            if let Node::Branch { children, .. } = &self.nodes[n] {
                stack.extend_from_slice(children);
            }
        }
        Some(())
    }
}

fn save_spec(p: &TreeSpec, e: &mut Enc) {
    for v in [p.grace_period, p.delta, p.tau, p.nb_threshold, p.min_branch_fraction, p.max_share_to_split, p.drift_delta, p.switch_grace] {
        e.f64(v);
    }
    e.bool(p.max_depth.is_some());
    e.u32(p.max_depth.unwrap_or(0));
    e.u8(match p.split_criterion {
        Criterion::InfoGain => 0,
        Criterion::Gini => 1,
    });
    e.u8(match p.leaf_prediction {
        LeafPrediction::Mc => 0,
        LeafPrediction::Nb => 1,
        LeafPrediction::Nba => 2,
    });
    e.u32(p.n_splits);
    e.bool(p.merit_preprune);
}

fn load_spec(d: &mut Dec) -> Result<TreeSpec> {
    let v: Vec<f64> = (0..8).map(|_| d.f64()).collect::<Result<_>>()?;
    let has_depth = d.bool()?;
    let depth = d.u32()?;
    let crit = if d.u8()? == 0 { Criterion::InfoGain } else { Criterion::Gini };
    let leaf = match d.u8()? {
        0 => LeafPrediction::Mc,
        1 => LeafPrediction::Nb,
        _ => LeafPrediction::Nba,
    };
    Ok(TreeSpec {
        grace_period: v[0],
        delta: v[1],
        tau: v[2],
        nb_threshold: v[3],
        min_branch_fraction: v[4],
        max_share_to_split: v[5],
        drift_delta: v[6],
        switch_grace: v[7],
        max_depth: if has_depth { Some(depth) } else { None },
        split_criterion: crit,
        leaf_prediction: leaf,
        n_splits: d.u32()?,
        merit_preprune: d.bool()?,
    })
}
