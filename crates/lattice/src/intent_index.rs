//! The intent → concept id index. Hand-written instead of a `HashMap<Bits, u32>` because
//! AddIntent probes it thousands of times per added object (most intersections it meets
//! already exist): a std map keeps each key behind its own heap pointer, so a probe costs
//! a miss on the bucket, one on the key's words and a `memcmp` call. Here the slot holds
//! the id and the intent's words inline (open addressing, linear probing), so a probe is
//! usually one cache line. Concepts are only ever added one by one or the whole index is
//! rebuilt (removals renumber every id anyway), so no deletion/tombstones are needed.

use crate::bits::BitSlice;
#[cfg(test)]
use crate::bits::Bits;

const EMPTY: u64 = u64::MAX;

#[derive(Clone, Debug)]
pub(crate) struct IntentIndex {
    /// Words per intent.
    width: usize,
    /// `slots` records of `1 + width` words: the id (`EMPTY` when free), then the intent.
    table: Vec<u64>,
    mask: usize,
    len: usize,
}

/// Word-by-word equality, inlined (a slice `==` calls `memcmp`, costly for two or three words).
#[inline]
fn same(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

fn hash(words: &[u64]) -> u64 {
    // FxHash-style mixing, finished with a multiply so the high bits (the ones used) depend on every word.
    let mut h = words.len() as u64;
    for &w in words {
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    (h ^ (h >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl IntentIndex {
    /// An index of `intents` (concept id = position), all `width` words wide.
    pub(crate) fn build<'a>(width: usize, intents: impl ExactSizeIterator<Item = &'a BitSlice>) -> Self {
        let mut ix = Self::with_capacity(width, intents.len());
        for (i, b) in intents.enumerate() {
            ix.insert(b, i as u32);
        }
        ix
    }

    fn with_capacity(width: usize, n: usize) -> Self {
        // Load factor at most 1/2: short probe runs matter more than the memory (a few words per concept).
        let slots = (2 * n.max(8)).next_power_of_two();
        IntentIndex { width, table: vec![EMPTY; slots * (1 + width)], mask: slots - 1, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot_of(&self, words: &[u64]) -> usize {
        (hash(words) >> 32) as usize & self.mask
    }

    /// The id of the concept whose intent is `key`.
    pub(crate) fn get(&self, key: &BitSlice) -> Option<u32> {
        let k = key.words();
        if k.len() != self.width {
            return None;
        }
        let rec = 1 + self.width;
        let mut s = self.slot_of(k);
        loop {
            let r = &self.table[s * rec..(s + 1) * rec];
            if r[0] == EMPTY {
                return None;
            }
            if same(&r[1..], k) {
                return Some(r[0] as u32);
            }
            s = (s + 1) & self.mask;
        }
    }

    /// Starts loading the slot where a lookup of `key` begins (a hint to overlap cache misses).
    #[inline]
    pub(crate) fn prefetch(&self, key: &BitSlice) {
        let k = key.words();
        if k.len() == self.width {
            crate::incremental::prefetch(self.table.as_ptr().wrapping_add(self.slot_of(k) * (1 + self.width)));
        }
    }

    pub(crate) fn contains(&self, key: &BitSlice) -> bool {
        self.get(key).is_some()
    }

    /// Maps `key` to `id` (replacing an existing mapping of `key`).
    pub(crate) fn insert(&mut self, key: &BitSlice, id: u32) {
        let k = key.words();
        assert_eq!(k.len(), self.width, "intent width {} in an index of width {}", k.len(), self.width);
        if 2 * (self.len + 1) > self.mask + 1 {
            self.grow();
        }
        let rec = 1 + self.width;
        let mut s = self.slot_of(k);
        loop {
            let r = &mut self.table[s * rec..(s + 1) * rec];
            if r[0] == EMPTY {
                r[0] = id as u64;
                r[1..].copy_from_slice(k);
                self.len += 1;
                return;
            }
            if same(&r[1..], k) {
                r[0] = id as u64;
                return;
            }
            s = (s + 1) & self.mask;
        }
    }

    /// Removes `key` (backward-shift deletion: the entries after it in its probe run move up,
    /// so lookups need no tombstones). Used to undo an add stopped by the concept limit.
    pub(crate) fn remove(&mut self, key: &BitSlice) -> bool {
        let k = key.words();
        if k.len() != self.width {
            return false;
        }
        let rec = 1 + self.width;
        let mut hole = self.slot_of(k);
        loop {
            let r = &self.table[hole * rec..(hole + 1) * rec];
            if r[0] == EMPTY {
                return false;
            }
            if same(&r[1..], k) {
                break;
            }
            hole = (hole + 1) & self.mask;
        }
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask;
            if self.table[j * rec] == EMPTY {
                break;
            }
            // The entry at `j` may fill the hole unless its home slot lies cyclically in (hole, j].
            let home = self.slot_of(&self.table[j * rec + 1..(j + 1) * rec]);
            let stays = if hole < j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.table.copy_within(j * rec..(j + 1) * rec, hole * rec);
                hole = j;
            }
        }
        self.table[hole * rec] = EMPTY;
        self.len -= 1;
        true
    }

    fn grow(&mut self) {
        let rec = 1 + self.width;
        let old = std::mem::take(&mut self.table);
        let slots = 2 * (self.mask + 1);
        self.table = vec![EMPTY; slots * rec];
        self.mask = slots - 1;
        for r in old.chunks_exact(rec) {
            if r[0] != EMPTY {
                let mut s = self.slot_of(&r[1..]);
                while self.table[s * rec] != EMPTY {
                    s = (s + 1) & self.mask;
                }
                self.table[s * rec..(s + 1) * rec].copy_from_slice(r);
            }
        }
    }

    /// Every (intent words, id) pair, in slot order (the tests compare indexes with it).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&[u64], u32)> {
        self.table.chunks_exact(1 + self.width).filter(|r| r[0] != EMPTY).map(|r| (&r[1..], r[0] as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_finds_and_grows() {
        let sets: Vec<Bits> = (0..1000usize).map(|i| Bits::from_indices(130, [i % 130, (i * 7) % 130, i / 13])).collect();
        let mut ix = IntentIndex::build(3, std::iter::empty());
        let mut expect = std::collections::HashMap::new();
        for (i, s) in sets.iter().enumerate() {
            ix.insert(s, i as u32);
            expect.insert(s.clone(), i as u32);
        }
        assert_eq!(ix.len(), expect.len());
        for (s, &id) in &expect {
            assert_eq!(ix.get(s), Some(id));
        }
        assert_eq!(ix.get(&Bits::from_indices(130, [129, 128, 127, 1])), None);
        assert_eq!(ix.get(&Bits::empty(64)), None, "a key of another width is absent");
        // Removing every other key leaves exactly the others findable.
        for (i, s) in sets.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
            assert_eq!(ix.remove(s), expect.remove(s).is_some(), "key {i}");
        }
        assert!(!ix.remove(&sets[0]), "a removed key is gone");
        assert_eq!(ix.len(), expect.len());
        for (s, &id) in &expect {
            assert_eq!(ix.get(s), Some(id));
        }
        for s in sets.iter().step_by(2) {
            assert_eq!(ix.get(s), None);
        }
        let zero = IntentIndex::build(0, [Bits::empty(0)].iter().map(|b| &**b));
        assert_eq!(zero.get(&Bits::empty(0)), Some(0));
        assert_eq!(zero.entries().count(), 1);
    }
}
