//! fail2ban's multi-line failure merging by connection ID (`<F-MLFID>`), as
//! `Filter._mergeFailure` in fail2ban 1.0's `server/filter.py` does it: the
//! groups of every matched line with the same `mlfid` are merged into one
//! cached entry, so a line without a host (sshd's "Disconnecting: Too many
//! authentication failures") is a failure of the host seen earlier on the same
//! connection, a `<F-NOFAIL>` line is remembered until a real failure comes,
//! `<F-MLFGAINED>` (a successful login) clears the pending failures and
//! `<F-MLFFORGET>` (disconnect) drops the entry. Attempts with more than one
//! user name on a connection are failures even when marked `<F-NOFAIL>`.
//!
//! The cache is fail2ban's `Utils.Cache(maxCount=100, maxTime=5*60)`:
//! insertion-ordered, evicting the oldest entry when full, entries expiring
//! after five minutes of wall-clock time (fail2ban uses `time.time()`, not the
//! log's time, so a replay of an old file behaves like `fail2ban-regex`).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A fail2ban group dict: names with values (`None`: the group did not take part).
pub type Groups = Vec<(Name, Option<String>)>;

/// A group name: fail2ban's own names are static, others owned.
pub type Name = std::borrow::Cow<'static, str>;

/// The names fail2ban's tags produce (`filter::resolve_tags`) and this module sets.
const KNOWN: [&str; 14] =
    ["mlfid", "user", "ip4", "ip6", "dns", "cidr", "fid", "fport", "nofail", "mlfforget", "mlfgained", "mlfpending", "content", "alt_user"];

/// `k` as a [`Name`], without an allocation for the usual names (a line's
/// groups are built for every failregex match, and the names were most of
/// the allocations per matched line).
pub fn name(k: &str) -> Name {
    match KNOWN.iter().find(|n| **n == k) {
        Some(n) => Name::Borrowed(n),
        None => Name::Owned(k.to_string()),
    }
}

pub fn get<'g>(g: &'g Groups, k: &str) -> Option<&'g str> {
    g.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.as_deref())
}

/// Python truthiness of `fail.get(k)`: present and non-empty.
pub fn truthy(g: &Groups, k: &str) -> bool {
    get(g, k).is_some_and(|v| !v.is_empty())
}

pub fn set(g: &mut Groups, k: &str, v: Option<String>) {
    match g.iter_mut().find(|(n, _)| n == k) {
        Some(slot) => slot.1 = v,
        None => g.push((name(k), v)),
    }
}

/// A Python dict update by one regex group: a group that did not take part
/// overwrites an earlier value with None, and is not added otherwise (an
/// absent name and a None value read the same everywhere: [`get`],
/// [`truthy`], the merge, the failure's fields), which spares the names and
/// values of the many groups a match leaves out.
pub fn update(g: &mut Groups, k: &str, v: Option<&str>) {
    update_named(g, k, || name(k), v)
}

/// [`update`] with the [`Name`] made only when it is added (callers that
/// hold their names ready pass a clone).
pub fn update_named(g: &mut Groups, k: &str, make: impl FnOnce() -> Name, v: Option<&str>) {
    match (g.iter_mut().find(|(n, _)| n == k), v) {
        (Some(slot), v) => slot.1 = v.map(str::to_string),
        (None, Some(v)) => g.push((make(), Some(v.to_string()))),
        (None, None) => {}
    }
}

/// `fail.pop(k, None)`, truthy.
pub fn pop_truthy(g: &mut Groups, k: &str) -> bool {
    match g.iter().position(|(n, _)| n == k) {
        Some(i) => g.remove(i).1.is_some_and(|v| !v.is_empty()),
        None => false,
    }
}

#[derive(Debug, Clone)]
struct Entry {
    groups: Groups,
    users: Option<BTreeSet<String>>,
    seq: u64,
    expires: Instant,
}

const MAX_COUNT: usize = 100;
const MAX_TIME: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Default)]
pub struct MlfCache {
    entries: HashMap<String, Entry>,
    /// insertion order (key, seq); stale pairs are skipped
    order: VecDeque<(String, u64)>,
    seq: u64,
}

/// What a merged line amounts to.
pub struct Merged {
    pub groups: Groups,
    /// the entry is still cached (a later pending mark must reach it)
    pub cached: bool,
}

impl MlfCache {
    fn live(&mut self, k: &str, now: Instant) -> bool {
        match self.entries.get(k) {
            Some(e) if e.expires > now => true,
            Some(_) => {
                self.entries.remove(k);
                false
            }
            None => false,
        }
    }

    fn insert(&mut self, k: &str, groups: Groups, users: Option<BTreeSet<String>>, now: Instant) {
        if self.entries.len() >= MAX_COUNT {
            // Utils.Cache.set: pop from the front until a live entry was popped
            while let Some((key, seq)) = self.order.pop_front() {
                let Some(e) = self.entries.get(&key).filter(|e| e.seq == seq) else { continue };
                let live = e.expires > now;
                self.entries.remove(&key);
                if live && self.entries.len() < MAX_COUNT {
                    break;
                }
            }
        }
        self.seq += 1;
        self.order.push_back((k.to_string(), self.seq));
        self.entries.insert(k.to_string(), Entry { groups, users, seq: self.seq, expires: now + MAX_TIME });
        if self.order.len() > 4 * MAX_COUNT {
            let entries = &self.entries;
            self.order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    /// `Filter._mergeFailure`: `fail` is the line's groups (prefregex's
    /// overlaid by the failregex's). Returns the merged groups.
    pub fn merge(&mut self, mlfid: &str, mut fail: Groups) -> Merged {
        let now = Instant::now();
        let mut fl = 0u8;
        if truthy(&fail, "mlfgained") {
            fl |= 8 | 1;
            if !truthy(&fail, "nofail") {
                let g = get(&fail, "mlfgained").map(str::to_string);
                set(&mut fail, "nofail", g);
            }
        } else if truthy(&fail, "nofail") {
            fl |= 1;
        }
        if pop_truthy(&mut fail, "mlfforget") {
            fl |= 2;
        }
        let user = get(&fail, "user").filter(|u| !u.is_empty()).map(str::to_string);
        let users_len;
        let mut merged;
        let cached;
        if self.live(mlfid, now) {
            let e = self.entries.get_mut(mlfid).expect("live entry");
            if let Some(u) = user {
                e.users.get_or_insert_with(BTreeSet::new).insert(u);
            }
            users_len = e.users.as_ref().map_or(0, BTreeSet::len);
            if pop_truthy(&mut e.groups, "nofail") {
                fl |= 4;
            }
            if pop_truthy(&mut e.groups, "mlfgained") {
                fl |= 4;
            }
            if fl & 8 != 0 {
                pop_truthy(&mut e.groups, "mlfpending");
            }
            for (k, v) in fail {
                if v.is_some() {
                    set(&mut e.groups, &k, v);
                }
            }
            if fl & 2 != 0 {
                merged = self.entries.remove(mlfid).map(|e| e.groups).unwrap_or_default();
                cached = false;
            } else {
                merged = e.groups.clone();
                cached = true;
            }
        } else if fl & 2 == 0 {
            users_len = usize::from(user.is_some());
            let users = user.map(|u| BTreeSet::from([u]));
            // None values are not kept: a later update skips them and they are falsy
            let stored: Groups = fail.iter().filter(|(_, v)| v.is_some()).cloned().collect();
            self.insert(mlfid, stored, users, now);
            merged = fail;
            cached = true;
        } else {
            users_len = usize::from(user.is_some());
            merged = fail;
            cached = false;
        }
        // `fail.pop('mlfpending')` acts on the cached dict itself (the merged
        // groups are that dict); pending failures or several users mean the
        // state is not "no failure" any more
        let pending = pop_truthy(&mut merged, "mlfpending");
        let reset = pending || users_len > 1;
        if cached {
            if let Some(e) = self.entries.get_mut(mlfid) {
                pop_truthy(&mut e.groups, "mlfpending");
                if reset {
                    pop_truthy(&mut e.groups, "nofail");
                    pop_truthy(&mut e.groups, "mlfgained");
                }
            }
        }
        if reset {
            pop_truthy(&mut merged, "nofail");
            pop_truthy(&mut merged, "mlfgained");
        }
        Merged { groups: merged, cached }
    }

    /// `fail['mlfpending'] = 1` on the cached entry (a match without a host).
    pub fn mark_pending(&mut self, mlfid: &str) {
        if let Some(e) = self.entries.get_mut(mlfid) {
            set(&mut e.groups, "mlfpending", Some("1".into()));
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
