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

/// A batch of at least this many sets per attribute first closes every single
/// attribute (see `Singles`): m closures, repaid many times over by the batch.
const SINGLES_FROM_SETS_PER_ATTRIBUTE: usize = 4;

/// The closure {m}'' of every single attribute m, `width` words each. B''
/// contains {m}'' for each of its members m (closure is monotone), so a batch
/// seeds each answer with the singles of its query and, whenever a test adds an
/// attribute m, adds all of {m}'' with it: attributes of B'' (45 of 119 on
/// average on the bench's Mushroom-shaped context) then largely arrive without
/// their own subset test over B', the test that costs most, since it passes
/// only after reading every non-zero word of B'.
struct Singles {
    width: usize,
    words: Vec<u64>,
}

impl Singles {
    #[inline]
    fn of(&self, m: usize) -> &[u64] {
        &self.words[m * self.width..(m + 1) * self.width]
    }
}

/// Per-thread scratch: B' and the indices of its non-zero words.
struct Scratch {
    e: Bits,
    nz: Vec<usize>,
    out: Vec<u64>,
    /// The candidates of B'': the attributes every witness object has.
    cand: Vec<u64>,
}

/// Objects of B' whose rows bound the candidates of a column-wise closure
/// (4, 8 and 16 measured on the bench's context: within a few per cent, 8 kept).
const WITNESSES: usize = 8;

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
    /// (`words_for(m)` words). Same method as `close_intent_with`, with the
    /// candidates bounded by witness objects and, given `singles`, seeded.
    fn close_indices_into(&self, idx: &[u32], s: &mut Scratch, top_intent: &Bits, singles: Option<&Singles>) {
        let Scratch { e, nz, out, .. } = s;
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
        let ew = e.words();
        // Candidates: the attributes of a few objects of B' spread over its words. Any object
        // of B' lacking m rules m out, so most attributes outside B'' go here, without a
        // subset test over B'.
        let cand = &mut s.cand;
        cand.clear();
        cand.extend_from_slice(self.row(nz[0] * 64 + ew[nz[0]].trailing_zeros() as usize).words());
        for j in 1..WITNESSES {
            let w = nz[j * nz.len() / WITNESSES];
            let g = w * 64 + 63 - ew[w].leading_zeros() as usize;
            for (c, r) in cand.iter_mut().zip(self.row(g).words()) {
                *c &= r;
            }
        }
        out.fill(0);
        for &m in idx {
            match singles {
                Some(singles) => out.iter_mut().zip(singles.of(m as usize)).for_each(|(o, w)| *o |= w),
                None => out[m as usize >> 6] |= 1 << (m & 63),
            }
        }
        // The candidates not yet in `out`, word by word; a word's remainder is re-read after
        // each gain, so attributes that a single brought in are not tested.
        for word in 0..out.len() {
            let mut todo = cand[word] & !out[word];
            while todo != 0 {
                let k = word * 64 + todo.trailing_zeros() as usize;
                todo &= todo - 1;
                let cw = self.col(k).words();
                if nz.iter().all(|&w| ew[w] & !cw[w] == 0) {
                    match singles {
                        Some(singles) => out.iter_mut().zip(singles.of(k)).for_each(|(o, w)| *o |= w),
                        None => out[word] |= 1 << (k & 63),
                    }
                    todo &= !out[word];
                }
            }
        }
    }

    /// The closure of every single attribute (`Singles`), by the unseeded method.
    fn singles(&self, top_intent: &Bits) -> Singles {
        let width = words_for(self.n_attributes());
        let mut s = self.scratch();
        let mut words = Vec::with_capacity(width * self.n_attributes());
        for m in 0..self.n_attributes() as u32 {
            self.close_indices_into(&[m], &mut s, top_intent, None);
            words.extend_from_slice(&s.out);
        }
        Singles { width, words }
    }

    fn scratch(&self) -> Scratch {
        Scratch { e: Bits::empty(self.n_objects()), nz: Vec::new(), out: vec![0; words_for(self.n_attributes())], cand: Vec::new() }
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
        let singles = (ends.len() >= SINGLES_FROM_SETS_PER_ATTRIBUTE * self.n_attributes()).then(|| self.singles(&top_intent));
        let run = |first_set: usize, chunk: &mut [u32], s: &mut Scratch| {
            for (k, dst) in chunk.chunks_mut(stride).enumerate() {
                let i = first_set + k;
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                self.close_indices_into(&data[start..ends[i] as usize], s, &top_intent, singles.as_ref());
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
