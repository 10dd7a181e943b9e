//! The versioned binary model format.
//!
//! A file is `MAGIC (8 bytes) | format version (u16 LE) | model kind (u8) | payload length (u64 LE)
//! | payload | BLAKE3 of everything before (32 bytes)`. The payload is written field by field in
//! little-endian by each model (no self-describing encoding: floats round-trip bit for bit, NaN
//! included, which JSON cannot promise). Reading checks, in this order, the magic, the version,
//! the length and the checksum, so a foreign, newer/older or damaged file fails with a message
//! that says which.

use omnitide_common::{Error, Result};

pub const MAGIC: &[u8; 8] = b"OMNILRN\0";
/// Bump on any change to a payload layout; older files are then rejected with a clear error.
pub const FORMAT_VERSION: u16 = 1;
const HEADER: usize = 8 + 2 + 1 + 8;
const TRAILER: usize = 32;

#[derive(Default)]
pub struct Enc {
    pub buf: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64s(&mut self, v: &[f64]) {
        self.usize(v.len());
        for x in v {
            self.f64(*x);
        }
    }
    pub fn str(&mut self, s: &str) {
        self.usize(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub fn opt_f64(&mut self, v: Option<f64>) {
        self.bool(v.is_some());
        if let Some(v) = v {
            self.f64(v);
        }
    }
}

pub struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
}

fn truncated() -> Error {
    Error::invalid_arg("bytes", "model file is truncated or its payload is malformed")
}

impl<'a> Dec<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self { b, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(truncated)?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(truncated()),
        }
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    /// A length or index; bounded by the bytes left so a damaged length cannot allocate wildly.
    pub fn usize(&mut self) -> Result<usize> {
        let v = self.u64()?;
        if v > self.b.len() as u64 * 8 + 1024 {
            return Err(truncated());
        }
        Ok(v as usize)
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn f64s(&mut self) -> Result<Vec<f64>> {
        let n = self.usize()?;
        if n.saturating_mul(8) > self.b.len() - self.pos {
            return Err(truncated());
        }
        (0..n).map(|_| self.f64()).collect()
    }
    pub fn str(&mut self) -> Result<String> {
        let n = self.usize()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| truncated())
    }
    pub fn opt_f64(&mut self) -> Result<Option<f64>> {
        Ok(if self.bool()? { Some(self.f64()?) } else { None })
    }
    pub fn done(&self) -> Result<()> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(truncated())
        }
    }
}

/// Wraps a payload in the envelope.
pub fn seal(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len() + TRAILER);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let h = blake3::hash(&out);
    out.extend_from_slice(h.as_bytes());
    out
}

/// Checks the envelope and returns `(kind, payload)`.
pub fn open(bytes: &[u8]) -> Result<(u8, &[u8])> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(Error::invalid_arg("bytes", "not an omnitide learn model file (bad magic)"));
    }
    if bytes.len() < HEADER + TRAILER {
        return Err(Error::invalid_arg("bytes", "model file is truncated"));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(Error::invalid_arg(
            "bytes",
            format!("model file has format version {version}; this build reads version {FORMAT_VERSION} only"),
        ));
    }
    let kind = bytes[10];
    let len = u64::from_le_bytes(bytes[11..19].try_into().unwrap());
    if len != (bytes.len() - HEADER - TRAILER) as u64 {
        return Err(Error::invalid_arg("bytes", "model file is truncated (length does not match its header)"));
    }
    let body_end = bytes.len() - TRAILER;
    if blake3::hash(&bytes[..body_end]).as_bytes() != &bytes[body_end..] {
        return Err(Error::invalid_arg("bytes", "model file is corrupt (checksum mismatch)"));
    }
    Ok((kind, &bytes[HEADER..body_end]))
}
