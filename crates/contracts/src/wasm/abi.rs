//! The memory layout shared by the compiled module and its input encoder (the "ABI").
//! Everything is little-endian; every block starts 8-aligned; a pointer is a u32 address in
//! the module's linear memory (0 is never a valid block).
//!
//! - string: `[len u32][utf-8 bytes]`
//! - uid (entity reference): `[key ptr u32][cache u32]`; key = `Type::"id"` (the `Uid`
//!   display form); cache is 0 (unresolved), 1 (not in the store) or the store record.
//! - value cell (16 bytes): `[tag u32][pad u32][payload u64]`; tags: 0 bool (0/1), 1 long
//!   (i64), 2 string (ptr), 3 entity (uid ptr), 4 set (ptr), 5 record (ptr), 6 ip (ptr).
//! - set: `[count u32][pad u32][count cells]` (no duplicates needed: set operations do not care)
//! - record: `[count u32][pad u32][count × (key ptr u32, pad u32, cell)]`, keys sorted bytewise
//! - ip: `[width u32 (32|128)][prefix u32][addr hi u64][addr lo u64]` (IPv4 in lo)
//! - like pattern: `[count u32][count u32 elements: a byte, or 0xFFFF_FFFF for `*`]`
//! - store blob: header `[table ptr u32][pad u32]`; table `[count u32][pad u32][record ptr u32…]`;
//!   store record `[key ptr u32][attrs record ptr u32][ancestors ptr u32]`; ancestors
//!   `[count u32][pad u32][key ptr u32…]` (the transitive closure, computed here once).
//! - request blob: `[count u32][pad u32][request ptr u32…]`; request
//!   `[principal uid][action uid][resource uid][context record]` (four u32 pointers).

use crate::ast::{PatElem, Uid};
use crate::value::{Entities, IpNet, Request, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

pub const TAG_BOOL: u32 = 0;
pub const TAG_LONG: u32 = 1;
pub const TAG_STR: u32 = 2;
pub const TAG_ENTITY: u32 = 3;
pub const TAG_SET: u32 = 4;
pub const TAG_RECORD: u32 = 5;
pub const TAG_IP: u32 = 6;
pub const WILDCARD: u32 = u32::MAX;

/// A block of memory laid out for an address `base`: the module's constants (its data
/// segment) or an input blob written at the address `alloc` returned.
pub struct Blob {
    pub buf: Vec<u8>,
    base: u32,
    strs: HashMap<String, u32>,
    uids: HashMap<String, u32>,
}

impl Blob {
    pub fn new(base: u32) -> Blob {
        Blob { buf: Vec::new(), base, strs: HashMap::new(), uids: HashMap::new() }
    }
    fn align(&mut self) {
        while !self.buf.len().is_multiple_of(8) {
            self.buf.push(0);
        }
    }
    /// The address just past the blob (8-aligned).
    pub fn end(&self) -> u32 {
        (self.base + self.buf.len() as u32 + 7) & !7
    }
    /// Reserves `n` zero bytes at an aligned address.
    pub fn reserve(&mut self, n: usize) -> u32 {
        self.align();
        let at = self.base + self.buf.len() as u32;
        self.buf.resize(self.buf.len() + n, 0);
        at
    }
    pub fn put_u32(&mut self, at: u32, v: u32) {
        let o = (at - self.base) as usize;
        self.buf[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, at: u32, v: u64) {
        let o = (at - self.base) as usize;
        self.buf[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) -> u32 {
        if let Some(p) = self.strs.get(s) {
            return *p;
        }
        let at = self.reserve(4 + s.len());
        self.put_u32(at, s.len() as u32);
        let o = (at - self.base) as usize + 4;
        self.buf[o..o + s.len()].copy_from_slice(s.as_bytes());
        self.strs.insert(s.to_string(), at);
        at
    }
    pub fn uid(&mut self, u: &Uid) -> u32 {
        let key = u.to_string();
        if let Some(p) = self.uids.get(&key) {
            return *p;
        }
        let k = self.str(&key);
        let at = self.reserve(8);
        self.put_u32(at, k);
        self.uids.insert(key, at);
        at
    }
    pub fn ip(&mut self, ip: &IpNet) -> u32 {
        let (width, bits) = match ip.addr {
            IpAddr::V4(a) => (32u32, u32::from(a) as u128),
            IpAddr::V6(a) => (128u32, u128::from(a)),
        };
        let at = self.reserve(24);
        self.put_u32(at, width);
        self.put_u32(at + 4, ip.prefix as u32);
        self.put_u64(at + 8, (bits >> 64) as u64);
        self.put_u64(at + 16, bits as u64);
        at
    }
    pub fn pattern(&mut self, pat: &[PatElem]) -> u32 {
        let mut elems = Vec::new();
        for e in pat {
            match e {
                PatElem::Wildcard => elems.push(WILDCARD),
                PatElem::Char(c) => {
                    let mut b = [0u8; 4];
                    elems.extend(c.encode_utf8(&mut b).bytes().map(u32::from));
                }
            }
        }
        let at = self.reserve(4 + 4 * elems.len());
        self.put_u32(at, elems.len() as u32);
        for (i, e) in elems.iter().enumerate() {
            self.put_u32(at + 4 + 4 * i as u32, *e);
        }
        at
    }
    fn cells(&mut self, at: u32, cells: &[(u32, u64)]) {
        for (i, (t, p)) in cells.iter().enumerate() {
            self.put_u32(at + 16 * i as u32, *t);
            self.put_u64(at + 16 * i as u32 + 8, *p);
        }
    }
    pub fn set(&mut self, cells: &[(u32, u64)]) -> u32 {
        let at = self.reserve(8 + 16 * cells.len());
        self.put_u32(at, cells.len() as u32);
        self.cells(at + 8, cells);
        at
    }
    pub fn record(&mut self, m: &BTreeMap<String, Value>) -> u32 {
        let entries: Vec<(u32, (u32, u64))> = m.iter().map(|(k, v)| (self.str(k), self.value(v))).collect();
        let at = self.reserve(8 + 24 * entries.len());
        self.put_u32(at, entries.len() as u32);
        for (i, (k, cell)) in entries.iter().enumerate() {
            let e = at + 8 + 24 * i as u32;
            self.put_u32(e, *k);
            self.cells(e + 8, &[*cell]);
        }
        at
    }
    /// Writes a value's children and returns its cell (tag, payload).
    pub fn value(&mut self, v: &Value) -> (u32, u64) {
        match v {
            Value::Bool(b) => (TAG_BOOL, *b as u64),
            Value::Long(n) => (TAG_LONG, *n as u64),
            Value::Str(s) => (TAG_STR, self.str(s) as u64),
            Value::Entity(u) => (TAG_ENTITY, self.uid(u) as u64),
            Value::Set(items) => {
                let cells: Vec<(u32, u64)> = items.iter().map(|x| self.value(x)).collect();
                (TAG_SET, self.set(&cells) as u64)
            }
            Value::Record(m) => (TAG_RECORD, self.record(m) as u64),
            Value::Ip(ip) => (TAG_IP, self.ip(ip) as u64),
        }
    }
}

/// Encodes an entity store for `load(base)`.
pub fn encode_store(store: &Entities, base: u32) -> Vec<u8> {
    let mut b = Blob::new(base);
    let header = b.reserve(8);
    // A stable order keeps the encoding deterministic.
    let mut uids: Vec<&Uid> = store.map.keys().collect();
    uids.sort();
    let mut records = Vec::with_capacity(uids.len());
    for u in uids {
        let d = &store.map[u];
        let key = b.str(&u.to_string());
        let attrs = b.record(&d.attrs);
        let mut anc: Vec<String> = d.ancestors.iter().map(|a| a.to_string()).collect();
        anc.sort();
        let keys: Vec<u32> = anc.iter().map(|a| b.str(a)).collect();
        let list = b.reserve(8 + 4 * keys.len());
        b.put_u32(list, keys.len() as u32);
        for (i, k) in keys.iter().enumerate() {
            b.put_u32(list + 8 + 4 * i as u32, *k);
        }
        let rec = b.reserve(12);
        b.put_u32(rec, key);
        b.put_u32(rec + 4, attrs);
        b.put_u32(rec + 8, list);
        records.push(rec);
    }
    let table = b.reserve(8 + 4 * records.len());
    b.put_u32(table, records.len() as u32);
    for (i, r) in records.iter().enumerate() {
        b.put_u32(table + 8 + 4 * i as u32, *r);
    }
    b.put_u32(header, table);
    b.buf
}

/// Encodes requests for `authorize(ptr)`: `[count][pad][ptr…]`; entry `i` is at `base + 8 + 4i`.
pub fn encode_requests(reqs: &[Request], base: u32) -> Vec<u8> {
    let mut b = Blob::new(base);
    let table = b.reserve(8 + 4 * reqs.len());
    b.put_u32(table, reqs.len() as u32);
    for (i, r) in reqs.iter().enumerate() {
        let (p, a, res) = (b.uid(&r.principal), b.uid(&r.action), b.uid(&r.resource));
        let c = b.record(&r.context);
        let at = b.reserve(16);
        for (k, v) in [p, a, res, c].into_iter().enumerate() {
            b.put_u32(at + 4 * k as u32, v);
        }
        b.put_u32(table + 8 + 4 * i as u32, at);
    }
    b.buf
}
