//! The open keyed windows of a `WindowedAggregator` (tumbling, sliding, and
//! global windows of large keys), found by (key, start).
//!
//! Windows live in slots that are freed when a window is dropped and reused by
//! the next new window, with its accumulator vector reset in place: a tumbling
//! window stream creates and drops about one window per key per window size,
//! and the allocation, hash-map rebuild and vector compaction per drop were a
//! large part of the per-window cost.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::WinState;
use crate::agg::{Acc, AggSpec};

/// Start bits of an empty `recent` entry: a NaN, never a window start.
const NO_START: u64 = u64::MAX;
/// Keys below this get a `recent` entry (12 bytes each, grown to the largest key seen).
const RECENT_KEYS: usize = 1 << 20;
/// Accumulator vectors kept for reuse at most (a burst of windows does not pin its memory).
const SPARE_ACCS: usize = 1 << 16;

/// Slots of window states, an Fx hash index by (key, start bits) (keys are
/// dictionary ids and window starts, not attacker-chosen strings, and SipHash
/// was the largest cost per record), and a per-key "last window used" entry in
/// front of the index: consecutive records of a key nearly always land in the
/// same tumbling window, and that check is a fraction of a hash probe.
#[derive(Debug, Default, Clone)]
pub(super) struct KeyedWindows {
    slots: Vec<Option<WinState>>,
    /// Free slots, reused before the vector grows.
    free: Vec<u32>,
    /// Accumulators of dropped windows, reset and reused by new ones.
    spare: Vec<Vec<Acc>>,
    index: HashMap<(u32, u64), u32, FxBuildHasher>,
    /// By key: (start bits, slot) of the window that key used last; always a live window.
    recent: Vec<(u64, u32)>,
}

impl KeyedWindows {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &WinState> {
        self.slots.iter().flatten()
    }

    /// The window (key, start); a new one (ending at `end`, fresh accumulators) when absent.
    pub(super) fn get_or_insert(&mut self, key: u32, start: f64, end: f64, aggregates: &[AggSpec]) -> &mut WinState {
        let slot = self.slot_of(key, start, end, aggregates);
        self.at(slot)
    }

    /// The live window in `slot` (from `slot_of`, before any `visit_retain`).
    pub(super) fn at(&mut self, slot: u32) -> &mut WinState {
        self.slots[slot as usize].as_mut().expect("indexed and recent slots hold live windows")
    }

    /// The slot of window (key, start), created as `get_or_insert` does when absent.
    pub(super) fn slot_of(&mut self, key: u32, start: f64, end: f64, aggregates: &[AggSpec]) -> u32 {
        let (bits, k) = (start.to_bits(), key as usize);
        if let Some(&(b, i)) = self.recent.get(k) {
            if b == bits {
                return i;
            }
        }
        let i = match self.index.get(&(key, bits)) {
            Some(&i) => i,
            None => {
                let accs = match self.spare.pop() {
                    Some(mut accs) => {
                        accs.clear();
                        accs.extend(aggregates.iter().map(Acc::new));
                        accs
                    }
                    None => aggregates.iter().map(Acc::new).collect(),
                };
                self.insert(WinState { key, start, end, accs, fired: false, dirty: false, panes: 0 })
            }
        };
        self.remember(k, bits, i);
        i
    }

    /// Adds a window (restore); the caller makes sure (key, start) is not present.
    pub(super) fn insert(&mut self, w: WinState) -> u32 {
        let id = (w.key, w.start.to_bits());
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(w);
                i
            }
            None => {
                self.slots.push(Some(w));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(id, i);
        i
    }

    fn remember(&mut self, k: usize, bits: u64, slot: u32) {
        if k >= RECENT_KEYS {
            return;
        }
        if k >= self.recent.len() {
            let want = (k + 1).max(self.recent.len() * 2).min(RECENT_KEYS);
            self.recent.resize(want, (NO_START, 0));
        }
        self.recent[k] = (bits, slot);
    }

    /// Visits every live window; those `visit` answers false for are dropped
    /// (slot freed, accumulators kept for reuse, index and recent entry removed).
    pub(super) fn visit_retain(&mut self, mut visit: impl FnMut(&mut WinState) -> bool) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(w) = slot else { continue };
            if visit(w) {
                continue;
            }
            let (k, bits) = (w.key as usize, w.start.to_bits());
            self.index.remove(&(w.key, bits));
            if self.recent.get(k) == Some(&(bits, i as u32)) {
                self.recent[k] = (NO_START, 0);
            }
            if let Some(w) = slot.take() {
                if self.spare.len() < SPARE_ACCS {
                    self.spare.push(w.accs);
                }
            }
            self.free.push(i as u32);
        }
    }
}
