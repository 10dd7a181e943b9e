//! Bounded LRU caches used by verification.
//!
//! [`SigCache`] remembers Ed25519 (strict) signature checks of delegation
//! statements that SUCCEEDED. Its key is a BLAKE3 hash, under a domain
//! separator, of the BLAKE3 of the exact signed bytes (the DSSE PAE), the
//! signer's 32-byte public key and the exact signature bytes. A hit therefore
//! means the very same (message, key, signature) triple verified before, which
//! is what a fresh check would answer again (strict verification is
//! deterministic). Failures are never cached. Only the signature check is
//! cached: scope, expiry and revocation are evaluated on every verification.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Least-recently-used map from 32-byte keys to values with a fixed capacity.
pub struct Lru<V> {
    cap: usize,
    tick: u64,
    map: HashMap<[u8; 32], (u64, V)>,
    order: BTreeMap<u64, [u8; 32]>,
}

impl<V: Clone> Lru<V> {
    pub fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), tick: 0, map: HashMap::new(), order: BTreeMap::new() }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Returns the value and marks it most recently used.
    pub fn get(&mut self, k: &[u8; 32]) -> Option<V> {
        self.tick += 1;
        let t = self.tick;
        let (stamp, v) = self.map.get_mut(k)?;
        self.order.remove(stamp);
        *stamp = t;
        self.order.insert(t, *k);
        Some(v.clone())
    }

    /// Inserts (or refreshes) `k`, evicting the least recently used entry when full.
    pub fn insert(&mut self, k: [u8; 32], v: V) {
        self.tick += 1;
        let t = self.tick;
        if let Some((stamp, old)) = self.map.get_mut(&k) {
            self.order.remove(stamp);
            *stamp = t;
            *old = v;
            self.order.insert(t, k);
            return;
        }
        while self.map.len() >= self.cap {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            self.map.remove(&victim);
        }
        self.map.insert(k, (t, v));
        self.order.insert(t, k);
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

/// Default capacity of the process-wide signature cache.
pub const SIG_CACHE_CAPACITY: usize = 4096;

const SIG_DOMAIN: &[u8] = b"omnitide-attest/v1 verified ed25519-strict signature over a DSSE PAE\0";

/// Cache key of one strict Ed25519 check: `pae_hash` is the BLAKE3 of the exact signed bytes.
pub fn sig_key(pae_hash: &[u8; 32], public_key: &[u8; 32], sig: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(SIG_DOMAIN);
    h.update(pae_hash);
    h.update(public_key);
    h.update(&(sig.len() as u64).to_le_bytes());
    h.update(sig);
    *h.finalize().as_bytes()
}

/// A set of signature checks known to have succeeded (LRU-bounded), with hit/miss counters.
pub struct SigCache {
    inner: Mutex<SigInner>,
}

struct SigInner {
    lru: Lru<()>,
    hits: u64,
    misses: u64,
}

impl SigCache {
    pub fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(SigInner { lru: Lru::new(capacity), hits: 0, misses: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SigInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// For each key, whether a check with exactly these inputs succeeded before (one lock).
    pub fn lookup(&self, keys: &[[u8; 32]]) -> Vec<bool> {
        let mut g = self.lock();
        keys.iter()
            .map(|k| {
                let hit = g.lru.get(k).is_some();
                if hit {
                    g.hits += 1;
                } else {
                    g.misses += 1;
                }
                hit
            })
            .collect()
    }

    /// Records checks that succeeded. Call only with keys of checks that returned true.
    pub fn record(&self, keys: impl IntoIterator<Item = [u8; 32]>) {
        let mut g = self.lock();
        for k in keys {
            g.lru.insert(k, ());
        }
    }

    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since creation.
    pub fn stats(&self) -> (u64, u64) {
        let g = self.lock();
        (g.hits, g.misses)
    }

    pub fn clear(&self) {
        self.lock().lru.clear();
    }
}

/// The process-wide cache used by [`crate::verify::verify`] / [`crate::verify::verify_many`].
pub fn sig_cache() -> &'static SigCache {
    static C: std::sync::OnceLock<SigCache> = std::sync::OnceLock::new();
    C.get_or_init(|| SigCache::new(SIG_CACHE_CAPACITY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u8) -> [u8; 32] {
        [i; 32]
    }

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut l = Lru::new(3);
        l.insert(k(1), 1);
        l.insert(k(2), 2);
        l.insert(k(3), 3);
        assert_eq!(l.get(&k(1)), Some(1)); // 1 is now most recent; 2 is the oldest
        l.insert(k(4), 4);
        assert_eq!(l.len(), 3);
        assert_eq!(l.get(&k(2)), None);
        assert_eq!(l.get(&k(1)), Some(1));
        assert_eq!(l.get(&k(3)), Some(3));
        assert_eq!(l.get(&k(4)), Some(4));
        l.insert(k(3), 33); // refresh, no eviction
        assert_eq!(l.len(), 3);
        l.insert(k(5), 5); // evicts 1 (least recent after the gets above)
        assert_eq!(l.get(&k(1)), None);
        assert_eq!(l.get(&k(3)), Some(33));
        for i in 10..200 {
            l.insert(k(i), i as i32);
            assert!(l.len() <= 3);
        }
        assert_eq!(l.order.len(), l.map.len());
    }

    #[test]
    fn sig_cache_is_bounded_and_counts() {
        let c = SigCache::new(2);
        c.record([k(1), k(2)]);
        assert_eq!(c.lookup(&[k(1), k(9)]), vec![true, false]);
        c.record([k(3)]); // evicts 2 (1 was used more recently)
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(&[k(2), k(1), k(3)]), vec![false, true, true]);
        assert_eq!(c.stats(), (3, 2));
    }

    #[test]
    fn sig_key_binds_message_key_and_signature() {
        let base = sig_key(&k(1), &k(2), &[3; 64]);
        assert_eq!(base, sig_key(&k(1), &k(2), &[3; 64]));
        assert_ne!(base, sig_key(&k(9), &k(2), &[3; 64]));
        assert_ne!(base, sig_key(&k(1), &k(9), &[3; 64]));
        let mut s = [3u8; 64];
        s[63] ^= 1;
        assert_ne!(base, sig_key(&k(1), &k(2), &s));
    }
}
