//! The adaptive Hoeffding tree: a Hoeffding tree whose 0/1 error is watched by ADWIN. When ADWIN
//! flags a rise, a background tree starts learning the new concept; after `switch_grace` samples
//! it replaces the main tree if it made fewer mistakes over the same samples, otherwise it is
//! dropped after three times that. This is River's `HoeffdingAdaptiveTreeClassifier` idea applied
//! at the root rather than at every branch (simpler, and one ADWIN instead of one per node); its
//! accuracy is not compared with River's.

use crate::classes::{argmax, Proba};
use crate::codec::{Dec, Enc};
use crate::drift::{Adwin, AdwinSpec};
use crate::tree::{HoeffdingTree, TreeSpec};
use omnitide_common::Result;

#[derive(Clone, Debug)]
struct Background {
    tree: HoeffdingTree,
    seen: f64,
    main_errors: f64,
    alt_errors: f64,
}

#[derive(Clone, Debug)]
pub struct AdaptiveTree {
    spec: TreeSpec,
    n_features: usize,
    main: HoeffdingTree,
    alt: Option<Background>,
    monitor: Adwin,
    pub swaps: u64,
    pub drifts: u64,
}

fn adwin(delta: f64) -> Result<Adwin> {
    Adwin::new(&AdwinSpec { delta, clock: 32, min_window_length: 5, grace_period: 10 })
}

impl AdaptiveTree {
    pub fn new(spec: TreeSpec, n_features: usize) -> Result<Self> {
        let main = HoeffdingTree::new(spec.clone(), n_features)?;
        let monitor = adwin(spec.drift_delta)?;
        Ok(Self { spec, n_features, main, alt: None, monitor, swaps: 0, drifts: 0 })
    }

    pub fn learn(&mut self, x: &[f64], y: f64) {
        let main_wrong = (argmax(&self.main.proba(x)) != y) as u8 as f64;
        if self.monitor.update(main_wrong) {
            self.drifts += 1;
            if self.alt.is_none() {
                let tree = HoeffdingTree::new(self.spec.clone(), self.n_features).expect("spec validated at construction");
                self.alt = Some(Background { tree, seen: 0.0, main_errors: 0.0, alt_errors: 0.0 });
            }
        }
        if let Some(b) = self.alt.as_mut() {
            b.alt_errors += (argmax(&b.tree.proba(x)) != y) as u8 as f64;
            b.main_errors += main_wrong;
            b.seen += 1.0;
            b.tree.learn(x, y, 1.0);
            if b.seen >= self.spec.switch_grace && b.alt_errors < b.main_errors {
                let b = self.alt.take().unwrap();
                self.main = b.tree;
                self.monitor = adwin(self.spec.drift_delta).expect("validated");
                self.swaps += 1;
                return;
            }
            if b.seen >= 3.0 * self.spec.switch_grace {
                self.alt = None;
            }
        }
        self.main.learn(x, y, 1.0);
    }

    pub fn proba(&self, x: &[f64]) -> Proba {
        self.main.proba(x)
    }
    pub fn n_features(&self) -> usize {
        if self.alt.as_ref().is_some_and(|b| b.tree.n_features() != self.n_features) || self.main.n_features() != self.n_features {
            usize::MAX
        } else {
            self.n_features
        }
    }
    pub fn classes(&self) -> Vec<f64> {
        self.main.classes()
    }
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({ "tree": self.main.summary(), "drifts": self.drifts, "swaps": self.swaps, "background": self.alt.is_some() })
    }
    pub fn save(&self, e: &mut Enc) {
        e.usize(self.n_features);
        self.main.save(e);
        self.monitor.save(e);
        e.u64(self.swaps);
        e.u64(self.drifts);
        e.bool(self.alt.is_some());
        if let Some(b) = &self.alt {
            b.tree.save(e);
            e.f64(b.seen);
            e.f64(b.main_errors);
            e.f64(b.alt_errors);
        }
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let n_features = d.usize()?;
        let main = HoeffdingTree::load(d)?;
        let monitor = Adwin::load(d)?;
        let (swaps, drifts) = (d.u64()?, d.u64()?);
        let alt = if d.bool()? {
            Some(Background { tree: HoeffdingTree::load(d)?, seen: d.f64()?, main_errors: d.f64()?, alt_errors: d.f64()? })
        } else {
            None
        };
        let spec = main.spec().clone();
        Ok(Self { spec, n_features, main, alt, monitor, swaps, drifts })
    }
}
