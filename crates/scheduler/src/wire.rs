//! Packed batch formats shared with the TypeScript side (all little endian).
//!
//! Task record (submit input and `take` output): a 24-byte header
//! `id: f64 | len: u32 | name: u32 | priority: i32 | flags: u32` followed by
//! `len` payload bytes.
//!
//! Completion record (worker `complete` input and main-thread `drain` output):
//! a 16-byte header `id: f64 | len: u32 | status: u8 | pad[3]` followed by `len` bytes.

use omnitide_common::{Error, Result};

pub const TASK_HEADER: usize = 24;
pub const COMPLETION_HEADER: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskHeader {
    pub id: u64,
    pub len: u32,
    pub name: u32,
    pub priority: i32,
    pub flags: u32,
}

fn f64_at(b: &[u8], o: usize) -> f64 {
    f64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

pub fn id_from_f64(arg: &str, v: f64) -> Result<u64> {
    if !((0.0..=9007199254740991.0).contains(&v) && v.fract() == 0.0) {
        return Err(Error::invalid_arg(arg, format!("task id must be a safe non-negative integer, got {v}")));
    }
    Ok(v as u64)
}

impl TaskHeader {
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.id as f64).to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.name.to_le_bytes());
        out.extend_from_slice(&self.priority.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
    }
}

/// Splits a packed task batch into `(header, payload range)` entries.
pub fn parse_tasks(arg: &str, b: &[u8]) -> Result<Vec<(TaskHeader, std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    let mut o = 0;
    while o < b.len() {
        if b.len() - o < TASK_HEADER {
            return Err(Error::invalid_arg(arg, format!("truncated task header at byte {o}")));
        }
        let h = TaskHeader {
            id: id_from_f64(arg, f64_at(b, o))?,
            len: u32_at(b, o + 8),
            name: u32_at(b, o + 12),
            priority: u32_at(b, o + 16) as i32,
            flags: u32_at(b, o + 20),
        };
        let start = o + TASK_HEADER;
        let end = start + h.len as usize;
        if end > b.len() {
            return Err(Error::invalid_arg(arg, format!("task {} payload of {} bytes overruns the batch", h.id, h.len)));
        }
        out.push((h, start..end));
        o = end;
    }
    Ok(out)
}

/// Returns the ids of a packed completion batch (validating its framing).
pub fn completion_ids(arg: &str, b: &[u8]) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    let mut o = 0;
    while o < b.len() {
        if b.len() - o < COMPLETION_HEADER {
            return Err(Error::invalid_arg(arg, format!("truncated completion header at byte {o}")));
        }
        ids.push(id_from_f64(arg, f64_at(b, o))?);
        let end = o + COMPLETION_HEADER + u32_at(b, o + 8) as usize;
        if end > b.len() {
            return Err(Error::invalid_arg(arg, format!("completion payload overruns the batch at byte {o}")));
        }
        o = end;
    }
    Ok(ids)
}

/// Appends one completion record.
pub fn write_completion(out: &mut Vec<u8>, id: u64, status: u8, data: &[u8]) {
    out.extend_from_slice(&(id as f64).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&[status, 0, 0, 0]);
    out.extend_from_slice(data);
}
