//! Block evaluation of a compiled [`Program`]. Each instruction is one loop
//! over a block of [`BLOCK`] rows with the operator monomorphised into it and
//! the operand kinds (column, register, literal) matched once per block, not
//! per row, so the loops are straight-line and the compiler vectorises them.

use omnitide_common::Error;

use super::{BinOp, Instr, Program, Src, UnOp, BLOCK};

/// The columns of one batch: `len` rows, f64 and u32 columns in the order the program was compiled for.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub len: usize,
    pub f64s: &'a [&'a [f64]],
    pub u32s: &'a [&'a [u32]],
}

/// A program's result over a batch: the selected rows (ascending) and the requested columns gathered through them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Selection {
    pub sel: Vec<u32>,
    /// One column per `emit` entry, `sel.len()` values each.
    pub columns: Vec<Vec<f64>>,
    /// Rows still selected after each filter stage, in stage order.
    pub kept: Vec<u64>,
}

/// `Math.min`: NaN if either is NaN; `-0` is below `0`.
#[inline(always)]
fn js_min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else if b < a {
        b
    } else if a == b {
        // Equal: the same bits, or +0 and -0, where OR keeps the sign bit (-0).
        f64::from_bits(a.to_bits() | b.to_bits())
    } else {
        f64::NAN
    }
}

/// `Math.max`: NaN if either is NaN; `0` is above `-0`.
#[inline(always)]
fn js_max(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else if b > a {
        b
    } else if a == b {
        f64::from_bits(a.to_bits() & b.to_bits())
    } else {
        f64::NAN
    }
}

#[inline(always)]
fn truth(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// An operand resolved for one block: a slice of the block's values or one value for all rows.
#[derive(Clone, Copy)]
enum V<'a> {
    S(&'a [f64]),
    K(f64),
}

#[inline(always)]
fn bin<F: Fn(f64, f64) -> f64>(dst: &mut [f64], a: V, b: V, f: F) {
    match (a, b) {
        (V::S(x), V::S(y)) => dst.iter_mut().zip(x).zip(y).for_each(|((d, x), y)| *d = f(*x, *y)),
        (V::S(x), V::K(y)) => dst.iter_mut().zip(x).for_each(|(d, x)| *d = f(*x, y)),
        (V::K(x), V::S(y)) => dst.iter_mut().zip(y).for_each(|(d, y)| *d = f(x, *y)),
        (V::K(x), V::K(y)) => dst.fill(f(x, y)),
    }
}

#[inline(always)]
fn un<F: Fn(f64) -> f64>(dst: &mut [f64], a: V, f: F) {
    match a {
        V::S(x) => dst.iter_mut().zip(x).for_each(|(d, x)| *d = f(*x)),
        V::K(x) => dst.fill(f(x)),
    }
}

fn exec_bin(op: BinOp, dst: &mut [f64], a: V, b: V) {
    match op {
        BinOp::Add => bin(dst, a, b, |x, y| x + y),
        BinOp::Sub => bin(dst, a, b, |x, y| x - y),
        BinOp::Mul => bin(dst, a, b, |x, y| x * y),
        BinOp::Div => bin(dst, a, b, |x, y| x / y),
        BinOp::Min => bin(dst, a, b, js_min),
        BinOp::Max => bin(dst, a, b, js_max),
        BinOp::Gt => bin(dst, a, b, |x, y| truth(x > y)),
        BinOp::Ge => bin(dst, a, b, |x, y| truth(x >= y)),
        BinOp::Lt => bin(dst, a, b, |x, y| truth(x < y)),
        BinOp::Le => bin(dst, a, b, |x, y| truth(x <= y)),
        BinOp::Eq => bin(dst, a, b, |x, y| truth(x == y)),
        BinOp::Ne => bin(dst, a, b, |x, y| truth(x != y)),
        BinOp::And => bin(dst, a, b, |x, y| truth((x != 0.0) & (y != 0.0))),
        BinOp::Or => bin(dst, a, b, |x, y| truth((x != 0.0) | (y != 0.0))),
    }
}

fn exec_un(op: UnOp, dst: &mut [f64], a: V) {
    match op {
        UnOp::Neg => un(dst, a, |x| -x),
        UnOp::Abs => un(dst, a, f64::abs),
        UnOp::Not => un(dst, a, |x| truth(x == 0.0)),
    }
}

/// The block's working memory: registers and two conversion buffers for Uint32 operands.
struct Block {
    regs: Vec<Vec<f64>>,
    conv: [Vec<f64>; 2],
}

impl Block {
    /// Operand `s` over rows `start .. start + m`; a Uint32 column is converted into `conv[slot]` first.
    fn resolve<'a>(regs: &'a [Vec<f64>], conv: &'a mut [f64], inputs: &Inputs<'a>, s: Src, start: usize, m: usize) -> V<'a> {
        match s {
            Src::F64(c) => V::S(&inputs.f64s[c][start..start + m]),
            Src::U32(c) => {
                conv.iter_mut().zip(&inputs.u32s[c][start..start + m]).for_each(|(d, x)| *d = f64::from(*x));
                V::S(&conv[..m])
            }
            Src::Reg(r) => V::S(&regs[r][..m]),
            Src::Lit(x) => V::K(x),
        }
    }

    fn exec(&mut self, ins: &Instr, inputs: &Inputs, start: usize, m: usize) {
        let dst_reg = match ins {
            Instr::Bin { dst, .. } | Instr::Un { dst, .. } => *dst,
        };
        // The destination is a fresh register, never an operand: take it out to borrow the others.
        let mut dst = std::mem::take(&mut self.regs[dst_reg]);
        let [c0, c1] = &mut self.conv;
        match *ins {
            Instr::Bin { op, a, b, .. } => {
                let a = Self::resolve(&self.regs, c0, inputs, a, start, m);
                let b = Self::resolve(&self.regs, c1, inputs, b, start, m);
                exec_bin(op, &mut dst[..m], a, b);
            }
            Instr::Un { op, a, .. } => {
                let a = Self::resolve(&self.regs, c0, inputs, a, start, m);
                exec_un(op, &mut dst[..m], a);
            }
        }
        self.regs[dst_reg] = dst;
    }

    /// Value of `s` at block row `i` (row `start + i` of the batch).
    #[inline(always)]
    fn value(&self, inputs: &Inputs, s: Src, start: usize, i: usize) -> f64 {
        match s {
            Src::F64(c) => inputs.f64s[c][start + i],
            Src::U32(c) => f64::from(inputs.u32s[c][start + i]),
            Src::Reg(r) => self.regs[r][i],
            Src::Lit(x) => x,
        }
    }
}

impl Program {
    /// Runs the program over a batch and gathers the columns `emit` names (from
    /// [`Program::output`]) for the selected rows.
    pub fn run(&self, inputs: &Inputs, emit: &[Src]) -> Result<Selection, Error> {
        let mut out = Selection::default();
        self.run_into(inputs, emit, &mut out)?;
        Ok(out)
    }

    /// As [`Program::run`], into `out`'s buffers (reused across batches: a fresh 100 KB+
    /// buffer per batch is a fresh mapping, and its page faults cost more than the loops).
    pub fn run_into(&self, inputs: &Inputs, emit: &[Src], out: &mut Selection) -> Result<(), Error> {
        self.check_inputs(inputs)?;
        let n = inputs.len;
        let mut blk = Block { regs: vec![vec![0.0; BLOCK]; self.registers], conv: [vec![0.0; BLOCK], vec![0.0; BLOCK]] };
        let mut mask = vec![0u8; BLOCK];
        // Written branch-free (every row stores, only selected ones advance), then truncated.
        let sel = &mut out.sel;
        sel.clear();
        sel.resize(n, 0);
        let mut selected = 0usize;
        let kept = &mut out.kept;
        kept.clear();
        kept.resize(self.filters, 0);
        let columns = &mut out.columns;
        columns.resize_with(emit.len(), Vec::new);
        columns.truncate(emit.len());
        for c in columns.iter_mut() {
            c.clear();
            c.reserve(n);
        }
        let mut start = 0;
        while start < n {
            let m = BLOCK.min(n - start);
            mask[..m].fill(1);
            let mut f = 0;
            for st in &self.stages {
                for ins in &st.code {
                    blk.exec(ins, inputs, start, m);
                }
                if let Some(p) = st.mask {
                    match p {
                        Src::Reg(r) => mask[..m].iter_mut().zip(&blk.regs[r][..m]).for_each(|(k, v)| *k &= u8::from(*v != 0.0)),
                        // A boolean literal (a constant predicate).
                        other => {
                            if blk.value(inputs, other, start, 0) == 0.0 {
                                mask[..m].fill(0);
                            }
                        }
                    }
                    kept[f] += mask[..m].iter().map(|&k| u64::from(k)).sum::<u64>();
                    f += 1;
                }
            }
            let from = selected;
            for (i, &k) in mask[..m].iter().enumerate() {
                sel[selected] = (start + i) as u32;
                selected += usize::from(k);
            }
            // One loop per source kind (the kind matched once per block, not per row).
            let rows = &sel[from..selected];
            for (col, &s) in columns.iter_mut().zip(emit) {
                match s {
                    Src::F64(c) => {
                        let src = inputs.f64s[c];
                        col.extend(rows.iter().map(|&r| src[r as usize]));
                    }
                    Src::U32(c) => {
                        let src = inputs.u32s[c];
                        col.extend(rows.iter().map(|&r| f64::from(src[r as usize])));
                    }
                    Src::Reg(g) => {
                        let reg = &blk.regs[g][..m];
                        col.extend(rows.iter().map(|&r| reg[r as usize - start]));
                    }
                    Src::Lit(x) => col.resize(col.len() + rows.len(), x),
                }
            }
            start += m;
        }
        sel.truncate(selected);
        Ok(())
    }
}
