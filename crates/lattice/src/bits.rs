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

/// A borrowed bit set: the words of a `Bits`, or one stride of the lattice's flat extent and
/// intent arenas (so a concept's sets are read in place, without a `Bits` of their own).
/// Unsized like `str`, so `&Bits` coerces to `&BitSlice` and every read-only operation is
/// written once, here.
#[repr(transparent)]
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BitSlice([u64]);

impl std::fmt::Debug for BitSlice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ones()).finish()
    }
}

impl std::ops::Deref for Bits {
    type Target = BitSlice;
    #[inline]
    fn deref(&self) -> &BitSlice {
        BitSlice::new(&self.words)
    }
}

impl AsRef<BitSlice> for Bits {
    fn as_ref(&self) -> &BitSlice {
        self
    }
}

impl AsRef<BitSlice> for BitSlice {
    fn as_ref(&self) -> &BitSlice {
        self
    }
}

impl PartialEq<BitSlice> for Bits {
    #[inline]
    fn eq(&self, o: &BitSlice) -> bool {
        self.same_as(o)
    }
}

impl PartialEq<Bits> for BitSlice {
    #[inline]
    fn eq(&self, o: &Bits) -> bool {
        self.same_as(o)
    }
}

impl BitSlice {
    /// Views `words` as a bit set.
    #[inline]
    pub fn new(words: &[u64]) -> &BitSlice {
        // SAFETY: `BitSlice` is a `repr(transparent)` wrapper of `[u64]`, so the two
        // references have the same layout and metadata (the length).
        unsafe { &*(words as *const [u64] as *const BitSlice) }
    }
    #[inline]
    pub fn words(&self) -> &[u64] {
        &self.0
    }
    /// An owned copy.
    #[inline]
    pub fn to_bits(&self) -> Bits {
        Bits { words: self.0.to_vec() }
    }
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        (self.0[i >> 6] >> (i & 63)) & 1 == 1
    }
    #[inline]
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
    pub fn and(&self, o: &BitSlice) -> Bits {
        let mut r = self.to_bits();
        r.and_with(o);
        r
    }
    pub fn or(&self, o: &BitSlice) -> Bits {
        let mut r = self.to_bits();
        r.or_with(o);
        r
    }
    /// `self \ o`.
    pub fn minus(&self, o: &BitSlice) -> Bits {
        Bits { words: self.0.iter().zip(&o.0).map(|(a, b)| a & !b).collect() }
    }
    /// Equality word by word (inlined; `==` on the sets goes through `memcmp`).
    #[inline]
    pub fn same_as(&self, o: &BitSlice) -> bool {
        self.0.len() == o.0.len() && self.0.iter().zip(&o.0).all(|(a, b)| a == b)
    }
    #[inline]
    pub fn is_subset(&self, o: &BitSlice) -> bool {
        self.0.iter().zip(&o.0).all(|(a, b)| a & !b == 0)
    }
    #[inline]
    pub fn intersects(&self, o: &BitSlice) -> bool {
        self.0.iter().zip(&o.0).any(|(a, b)| a & b != 0)
    }
    #[inline]
    pub fn and_count(&self, o: &BitSlice) -> usize {
        self.0.iter().zip(&o.0).map(|(a, b)| (a & b).count_ones() as usize).sum()
    }
    #[inline]
    pub fn or_count(&self, o: &BitSlice) -> usize {
        self.0.iter().zip(&o.0).map(|(a, b)| (a | b).count_ones() as usize).sum()
    }
    /// Do `self` and `o` agree on all bits below `j`?
    #[inline]
    pub fn eq_below(&self, o: &BitSlice, j: usize) -> bool {
        let w = j >> 6;
        // Word by word: a slice `!=` calls `memcmp`, costly for the one or two words of an intent.
        if self.0[..w].iter().zip(&o.0[..w]).any(|(a, b)| a != b) {
            return false;
        }
        let r = j & 63;
        r == 0 || ((self.0[w] ^ o.0[w]) & ((1u64 << r) - 1)) == 0
    }
    /// Is `self ∩ [0, j)` a subset of `o`?
    #[inline]
    pub fn subset_below(&self, o: &BitSlice, j: usize) -> bool {
        let w = j >> 6;
        if self.0[..w].iter().zip(&o.0[..w]).any(|(a, b)| a & !b != 0) {
            return false;
        }
        let r = j & 63;
        r == 0 || (self.0[w] & !o.0[w] & ((1u64 << r) - 1)) == 0
    }
    #[inline]
    pub fn ones(&self) -> Ones<'_> {
        Ones { words: &self.0, w: 0, cur: self.0.first().copied().unwrap_or(0) }
    }
    pub fn to_vec(&self) -> Vec<u32> {
        self.ones().map(|i| i as u32).collect()
    }
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
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
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
    pub fn and_with(&mut self, o: &BitSlice) {
        for (a, b) in self.words.iter_mut().zip(&o.0) {
            *a &= b;
        }
    }
    #[inline]
    pub fn or_with(&mut self, o: &BitSlice) {
        for (a, b) in self.words.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    /// Writes `a & b` into `self` (no allocation).
    #[inline]
    pub fn set_and(&mut self, a: &BitSlice, b: &BitSlice) {
        for ((d, x), y) in self.words.iter_mut().zip(&a.0).zip(&b.0) {
            *d = x & y;
        }
    }
    /// Becomes `a & b` (`a` given as words of `b`'s width), reusing this set's buffer.
    #[inline]
    pub fn assign_and(&mut self, a: &[u64], b: &BitSlice) {
        self.words.clear();
        self.words.extend(a.iter().zip(&b.0).map(|(x, y)| x & y));
    }
    /// Becomes a copy of `o`, reusing this set's buffer.
    #[inline]
    pub fn copy_from(&mut self, o: &BitSlice) {
        self.words.clear();
        self.words.extend_from_slice(&o.0);
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
        delete_shift_words(&mut self.words, i);
        self.words.truncate(words_for(bits.saturating_sub(1)));
    }
}

/// Deletes bit `i` of the set held in `words` and shifts every higher bit down by one; the
/// width stays (the top bit becomes clear).
pub(crate) fn delete_shift_words(words: &mut [u64], i: usize) {
    let w = i >> 6;
    let r = i & 63;
    let low = if r == 0 { 0 } else { words[w] & ((1u64 << r) - 1) };
    let high = if r == 63 { 0 } else { (words[w] >> (r + 1)) << r };
    words[w] = low | high;
    for k in w + 1..words.len() {
        let carry = words[k] & 1;
        words[k - 1] |= carry << 63;
        words[k] >>= 1;
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
pub fn pack(sets: impl IntoIterator<Item = impl AsRef<BitSlice>>) -> (Vec<u32>, Vec<u32>) {
    let mut data = Vec::new();
    let mut ends = Vec::new();
    for s in sets {
        data.extend(s.as_ref().ones().map(|i| i as u32));
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
