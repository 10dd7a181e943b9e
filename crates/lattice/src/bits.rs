//! Fixed-width bit sets over `u64` words: the representation of extents,
//! intents, context rows and columns. Hand-written (instead of `fixedbitset`)
//! because mining needs in-place AND-into, subset-below-bit and prefix
//! equality tests without allocation; those are the inner loops of FCbO.

use std::hash::{Hash, Hasher};

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Bits {
    words: Vec<u64>,
}

impl Hash for Bits {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.words.hash(state)
    }
}

impl std::fmt::Debug for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ones()).finish()
    }
}

#[inline]
pub fn words_for(bits: usize) -> usize {
    bits.div_ceil(64)
}

impl Bits {
    #[inline]
    pub fn empty(bits: usize) -> Self {
        Bits { words: vec![0; words_for(bits)] }
    }
    #[inline]
    pub fn full(bits: usize) -> Self {
        let mut b = Self::empty(bits);
        for i in 0..bits / 64 {
            b.words[i] = u64::MAX;
        }
        if !bits.is_multiple_of(64) {
            b.words[bits / 64] = (1u64 << (bits % 64)) - 1;
        }
        b
    }
    pub fn from_indices(bits: usize, idx: impl IntoIterator<Item = usize>) -> Self {
        let mut b = Self::empty(bits);
        for i in idx {
            b.insert(i);
        }
        b
    }
    #[inline]
    pub fn words(&self) -> &[u64] {
        &self.words
    }
    #[inline]
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        (self.words[i >> 6] >> (i & 63)) & 1 == 1
    }
    #[inline]
    pub fn insert(&mut self, i: usize) {
        self.words[i >> 6] |= 1 << (i & 63);
    }
    #[inline]
    pub fn remove(&mut self, i: usize) {
        self.words[i >> 6] &= !(1 << (i & 63));
    }
    #[inline]
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }
    #[inline]
    pub fn and_with(&mut self, o: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&o.words) {
            *a &= b;
        }
    }
    #[inline]
    pub fn or_with(&mut self, o: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&o.words) {
            *a |= b;
        }
    }
    pub fn and(&self, o: &Bits) -> Bits {
        let mut r = self.clone();
        r.and_with(o);
        r
    }
    pub fn or(&self, o: &Bits) -> Bits {
        let mut r = self.clone();
        r.or_with(o);
        r
    }
    /// `self \ o`.
    pub fn minus(&self, o: &Bits) -> Bits {
        Bits { words: self.words.iter().zip(&o.words).map(|(a, b)| a & !b).collect() }
    }
    /// Equality word by word (inlined; `==` on the sets goes through `memcmp`).
    #[inline]
    pub fn same_as(&self, o: &Bits) -> bool {
        self.words.len() == o.words.len() && self.words.iter().zip(&o.words).all(|(a, b)| a == b)
    }
    /// Writes `a & b` into `self` (no allocation).
    #[inline]
    pub fn set_and(&mut self, a: &Bits, b: &Bits) {
        for ((d, x), y) in self.words.iter_mut().zip(&a.words).zip(&b.words) {
            *d = x & y;
        }
    }
    #[inline]
    pub fn is_subset(&self, o: &Bits) -> bool {
        self.words.iter().zip(&o.words).all(|(a, b)| a & !b == 0)
    }
    #[inline]
    pub fn intersects(&self, o: &Bits) -> bool {
        self.words.iter().zip(&o.words).any(|(a, b)| a & b != 0)
    }
    #[inline]
    pub fn and_count(&self, o: &Bits) -> usize {
        self.words.iter().zip(&o.words).map(|(a, b)| (a & b).count_ones() as usize).sum()
    }
    #[inline]
    pub fn or_count(&self, o: &Bits) -> usize {
        self.words.iter().zip(&o.words).map(|(a, b)| (a | b).count_ones() as usize).sum()
    }
    /// Do `self` and `o` agree on all bits below `j`?
    #[inline]
    pub fn eq_below(&self, o: &Bits, j: usize) -> bool {
        let w = j >> 6;
        // Word by word: a slice `!=` calls `memcmp`, costly for the one or two words of an intent.
        if self.words[..w].iter().zip(&o.words[..w]).any(|(a, b)| a != b) {
            return false;
        }
        let r = j & 63;
        r == 0 || ((self.words[w] ^ o.words[w]) & ((1u64 << r) - 1)) == 0
    }
    /// Is `self ∩ [0, j)` a subset of `o`?
    #[inline]
    pub fn subset_below(&self, o: &Bits, j: usize) -> bool {
        let w = j >> 6;
        if self.words[..w].iter().zip(&o.words[..w]).any(|(a, b)| a & !b != 0) {
            return false;
        }
        let r = j & 63;
        r == 0 || (self.words[w] & !o.words[w] & ((1u64 << r) - 1)) == 0
    }
    #[inline]
    pub fn ones(&self) -> Ones<'_> {
        Ones { words: &self.words, w: 0, cur: self.words.first().copied().unwrap_or(0) }
    }
    pub fn to_vec(&self) -> Vec<u32> {
        self.ones().map(|i| i as u32).collect()
    }
    /// Becomes `a & b` (`a` given as words of `b`'s width), reusing this set's buffer.
    #[inline]
    pub fn assign_and(&mut self, a: &[u64], b: &Bits) {
        self.words.clear();
        self.words.extend(a.iter().zip(&b.words).map(|(x, y)| x & y));
    }
    /// Becomes a copy of `o`, reusing this set's buffer.
    #[inline]
    pub fn copy_from(&mut self, o: &Bits) {
        self.words.clear();
        self.words.extend_from_slice(&o.words);
    }
    /// Grows the width to `bits` (new bits are clear).
    pub fn grow(&mut self, bits: usize) {
        let w = words_for(bits);
        if w > self.words.len() {
            self.words.resize(w, 0);
        }
    }
    /// Deletes bit `i` and shifts every higher bit down by one (index removal).
    pub fn delete_shift(&mut self, i: usize, bits: usize) {
        let w = i >> 6;
        let r = i & 63;
        let low = if r == 0 { 0 } else { self.words[w] & ((1u64 << r) - 1) };
        let high = if r == 63 { 0 } else { (self.words[w] >> (r + 1)) << r };
        self.words[w] = low | high;
        for k in w + 1..self.words.len() {
            let carry = self.words[k] & 1;
            self.words[k - 1] |= carry << 63;
            self.words[k] >>= 1;
        }
        self.words.truncate(words_for(bits.saturating_sub(1)));
    }
}

pub struct Ones<'a> {
    words: &'a [u64],
    w: usize,
    cur: u64,
}

impl Iterator for Ones<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.cur != 0 {
                let t = self.cur.trailing_zeros() as usize;
                self.cur &= self.cur - 1;
                return Some(self.w * 64 + t);
            }
            self.w += 1;
            if self.w >= self.words.len() {
                return None;
            }
            self.cur = self.words[self.w];
        }
    }
}

/// Packs sets as indices back to back with end offsets (the batch shape that
/// crosses N-API as two typed arrays).
pub fn pack<'a>(sets: impl IntoIterator<Item = &'a Bits>) -> (Vec<u32>, Vec<u32>) {
    let mut data = Vec::new();
    let mut ends = Vec::new();
    for s in sets {
        data.extend(s.ones().map(|i| i as u32));
        ends.push(data.len() as u32);
    }
    (data, ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_tests_and_shift() {
        let a = Bits::from_indices(130, [1, 64, 70, 129]);
        let b = Bits::from_indices(130, [1, 64, 71]);
        assert!(a.eq_below(&b, 70));
        assert!(!a.eq_below(&b, 71));
        assert!(a.subset_below(&b, 70));
        assert!(!a.subset_below(&b, 71));
        let mut c = a.clone();
        c.delete_shift(64, 130);
        assert_eq!(c.to_vec(), vec![1, 69, 128]);
        assert_eq!(Bits::full(65).count(), 65);
        assert_eq!(a.ones().collect::<Vec<_>>(), vec![1, 64, 70, 129]);
    }
}
