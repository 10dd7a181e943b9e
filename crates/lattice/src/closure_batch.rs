//! Batched closure queries straight from packed index sets: no `Bits` per
//! query and no per-set answer allocation. A batch crosses N-API as one
//! `data` + `ends` pair and comes back either as closure bit words (a fixed
//! stride per set) or packed indices, so the cost per query is the closure
//! itself (B' as an AND of columns, then B'' column-wise) and not the
//! conversion around it.

use omnitide_common::{Error, Result};
use rayon::prelude::*;

use crate::bits::{words_for, Bits};
use crate::context::Context;

/// Queries per parallel chunk: large enough that rayon's split cost vanishes,
/// small enough that two cores share a 200k batch evenly.
const CHUNK: usize = 2048;

/// Below this many queries the batch runs on the calling thread (waking the
/// pool costs more than the work).
const SEQUENTIAL_BELOW: usize = 4096;

/// Per-thread scratch: B' and the indices of its non-zero words.
struct Scratch {
    e: Bits,
    nz: Vec<usize>,
    out: Vec<u64>,
}

impl Context {
    /// Checks a packed batch: `ends` non-decreasing and within `data`, every
    /// index below the attribute (or object) count. The error names the set.
    pub fn check_packed(&self, arg: &str, data: &[u32], ends: &[u32], attributes: bool) -> Result<()> {
        let (limit, what) = if attributes { (self.n_attributes(), "attribute") } else { (self.n_objects(), "object") };
        let mut start = 0usize;
        for (i, &e) in ends.iter().enumerate() {
            let e = e as usize;
            if e < start || e > data.len() {
                return Err(Error::invalid_arg(arg, format!("ends[{i}] = {e} is out of order or past the data ({} indices)", data.len())));
            }
            start = e;
        }
        // One flat scan; the set is looked up only for an error.
        if let Some(at) = data[..start].iter().position(|&k| k as usize >= limit) {
            let i = ends.partition_point(|&e| e as usize <= at);
            return Err(Error::invalid_arg(
                &format!("{arg}[{i}]"),
                format!("unknown {what} index {} (there are {limit} {what}s)", data[at]),
            ));
        }
        Ok(())
    }

    /// B'' of the attribute indices `idx` (checked) written into `out`
    /// (`words_for(m)` words). Same method as `close_intent_with`.
    fn close_indices_into(&self, idx: &[u32], s: &mut Scratch, top_intent: &Bits) {
        let Scratch { e, nz, out } = s;
        let Some((&first, rest)) = idx.split_first() else {
            out.copy_from_slice(top_intent.words());
            return;
        };
        e.copy_from(self.col(first as usize));
        for &m in rest {
            e.and_with(self.col(m as usize));
        }
        let count = e.count();
        if count <= 32 {
            // Few objects: AND their rows (an empty B' closes to every attribute).
            out.fill(u64::MAX);
            let m = self.n_attributes();
            if !m.is_multiple_of(64) {
                out[m / 64] = (1 << (m % 64)) - 1;
            }
            for g in e.ones() {
                for (o, r) in out.iter_mut().zip(self.row(g).words()) {
                    *o &= r;
                }
            }
            return;
        }
        nz.clear();
        for (k, &w) in e.words().iter().enumerate() {
            if w != 0 {
                nz.push(k);
            }
        }
        out.fill(0);
        for &m in idx {
            out[m as usize >> 6] |= 1 << (m & 63);
        }
        let ew = e.words();
        for k in 0..self.n_attributes() {
            if out[k >> 6] >> (k & 63) & 1 == 0 {
                let cw = self.col(k).words();
                if nz.iter().all(|&w| ew[w] & !cw[w] == 0) {
                    out[k >> 6] |= 1 << (k & 63);
                }
            }
        }
    }

    fn scratch(&self) -> Scratch {
        Scratch { e: Bits::empty(self.n_objects()), nz: Vec::new(), out: vec![0; words_for(self.n_attributes())] }
    }

    /// Closures of a checked packed batch as 32-bit words, `stride` =
    /// ceil(m / 32) words per set (bit j of set i: word `i*stride + j/32`, bit `j%32`).
    fn closure_words_checked(&self, data: &[u32], ends: &[u32]) -> Vec<u32> {
        let stride = self.n_attributes().div_ceil(32);
        let mut words = vec![0u32; stride * ends.len()];
        if stride == 0 {
            return words;
        }
        let top_intent = self.intent_of(&Bits::full(self.n_objects()));
        let run = |first_set: usize, chunk: &mut [u32], s: &mut Scratch| {
            for (k, dst) in chunk.chunks_mut(stride).enumerate() {
                let i = first_set + k;
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                self.close_indices_into(&data[start..ends[i] as usize], s, &top_intent);
                for (j, d) in dst.iter_mut().enumerate() {
                    let w = s.out[j >> 1];
                    *d = if j & 1 == 0 { w as u32 } else { (w >> 32) as u32 };
                }
            }
        };
        if ends.len() < SEQUENTIAL_BELOW {
            run(0, &mut words, &mut self.scratch());
        } else {
            words.par_chunks_mut(stride * CHUNK).enumerate().for_each_init(|| self.scratch(), |s, (c, chunk)| run(c * CHUNK, chunk, s));
        }
        words
    }

    /// Closures of packed attribute sets as bit words (see `closure_words_checked`).
    pub fn closure_words_many(&self, arg: &str, data: &[u32], ends: &[u32]) -> Result<Vec<u32>> {
        self.check_packed(arg, data, ends, true)?;
        Ok(self.closure_words_checked(data, ends))
    }

    /// Closures of packed attribute sets, packed the same way (`data`, `ends`).
    pub fn closure_packed_many(&self, arg: &str, data: &[u32], ends: &[u32]) -> Result<(Vec<u32>, Vec<u32>)> {
        self.check_packed(arg, data, ends, true)?;
        let stride = self.n_attributes().div_ceil(32);
        if stride == 0 {
            return Ok((Vec::new(), vec![0; ends.len()]));
        }
        let words = self.closure_words_checked(data, ends);
        let mut out_ends = Vec::with_capacity(ends.len());
        let mut at = 0u32;
        for set in words.chunks(stride) {
            at += set.iter().map(|w| w.count_ones()).sum::<u32>();
            out_ends.push(at);
        }
        let mut out = vec![0u32; at as usize];
        // Cut the answer into one slice per chunk of sets and fill them in parallel.
        let mut pieces = Vec::with_capacity(ends.len().div_ceil(CHUNK));
        let mut rest = out.as_mut_slice();
        let mut prev = 0usize;
        for c in 0..ends.len().div_ceil(CHUNK) {
            let end = out_ends[((c + 1) * CHUNK).min(ends.len()) - 1] as usize;
            let (piece, tail) = rest.split_at_mut(end - prev);
            pieces.push((c, piece));
            rest = tail;
            prev = end;
        }
        let fill = |(c, piece): (usize, &mut [u32])| {
            let mut at = 0;
            for set in words[c * CHUNK * stride..].chunks(stride).take(CHUNK.min(ends.len() - c * CHUNK)) {
                for (j, &w) in set.iter().enumerate() {
                    let mut w = w;
                    while w != 0 {
                        piece[at] = (j * 32) as u32 + w.trailing_zeros();
                        at += 1;
                        w &= w - 1;
                    }
                }
            }
        };
        if ends.len() < SEQUENTIAL_BELOW {
            pieces.into_iter().for_each(fill);
        } else {
            pieces.into_par_iter().for_each(fill);
        }
        Ok((out, out_ends))
    }
}
