//! The module's fixed helper functions (strings, uids, store lookups, value equality, sets,
//! `like`, IP ranges, the bump allocator and `load`), written once in wasm instructions.
//! Their semantics mirror `eval.rs`/`value.rs`; the differential tests hold them together.

use super::abi::*;
use super::func::{m, FnB};
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

pub const G_HEAP: u32 = 0;
pub const G_P: u32 = 1;
pub const G_A: u32 = 2;
pub const G_R: u32 = 3;
pub const G_C: u32 = 4;
pub const G_STORE: u32 = 5;

pub const TY_I_I: u32 = 0;
pub const TY_I_V: u32 = 1;
pub const TY_II_I: u32 = 2;
pub const TY_EQ: u32 = 3;
pub const TY_SETHAS: u32 = 4;
pub const TY_V_I: u32 = 5;

pub const F_ALLOC: u32 = 0;
pub const F_FREE: u32 = 1;
pub const F_STREQ: u32 = 2;
pub const F_UIDEQ: u32 = 3;
pub const F_FIND: u32 = 4;
pub const F_ISIN: u32 = 5;
pub const F_RECGET: u32 = 6;
pub const F_EQ: u32 = 7;
pub const F_SETHAS: u32 = 8;
pub const F_SETALL: u32 = 9;
pub const F_SETANY: u32 = 10;
pub const F_INSET: u32 = 11;
pub const F_LIKE: u32 = 12;
pub const F_IPIN: u32 = 13;
pub const F_PREFIX: u32 = 14;
pub const F_LOAD: u32 = 15;
pub const F_AUTHORIZE: u32 = 16;
pub const F_POLICY: u32 = 17;
pub const F_FIRST_POLICY: u32 = 18;

const E: BlockType = BlockType::Empty;

/// alloc(n) -> ptr: bump allocation, 8-aligned, growing memory; 0 when memory cannot grow.
fn alloc() -> Function {
    let mut f = FnB::new(1);
    let (p, need) = (f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::GlobalGet(G_HEAP), I::LocalSet(p)]);
    f.all([I::LocalGet(p), I::LocalGet(0), I::I32Add, I::I32Const(7), I::I32Add, I::I32Const(-8), I::I32And, I::LocalSet(need)]);
    // Wrapped past 4 GiB, or at the top page (where memory.size << 16 would wrap).
    f.all([I::LocalGet(need), I::LocalGet(p), I::I32LtU, I::LocalGet(need), I::I32Const(-65536), I::I32GeU, I::I32Or]);
    f.return_if(0);
    f.all([I::LocalGet(need), I::MemorySize(0), I::I32Const(16), I::I32Shl, I::I32GtU, I::If(E)]);
    f.all([I::LocalGet(need), I::I32Const(65535), I::I32Add, I::I32Const(16), I::I32ShrU, I::MemorySize(0), I::I32Sub]);
    f.all([I::MemoryGrow(0), I::I32Const(-1), I::I32Eq]);
    f.return_if(0);
    f.i(I::End);
    f.all([I::LocalGet(need), I::GlobalSet(G_HEAP), I::LocalGet(p)]);
    f.finish()
}

/// free(ptr): the heap top goes back to `ptr` (everything allocated after it is released).
fn free() -> Function {
    let mut f = FnB::new(1);
    f.all([I::LocalGet(0), I::GlobalSet(G_HEAP)]);
    f.finish()
}

/// str_eq(a, b): bytewise string equality.
fn str_eq() -> Function {
    let mut f = FnB::new(2);
    let (n, i) = (f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(0), I::LocalGet(1), I::I32Eq]);
    f.return_if(1);
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::LocalTee(n), I::LocalGet(1), I::I32Load(m(0)), I::I32Ne]);
    f.return_if(0);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(0), I::LocalGet(i), I::I32Add, I::I32Load8U(m(4))]);
        f.all([I::LocalGet(1), I::LocalGet(i), I::I32Add, I::I32Load8U(m(4)), I::I32Ne]);
        f.return_if(0);
    });
    f.i(I::I32Const(1));
    f.finish()
}

/// uid_eq(a, b): same entity (same key).
fn uid_eq() -> Function {
    let mut f = FnB::new(2);
    f.all([I::LocalGet(0), I::LocalGet(1), I::I32Eq]);
    f.return_if(1);
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::LocalGet(1), I::I32Load(m(0)), I::Call(F_STREQ)]);
    f.finish()
}

/// find(uid) -> store record or 0, cached in the uid's cache slot.
fn find() -> Function {
    let mut f = FnB::new(1);
    let (c, t, n, i, s) =
        (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(0), I::I32Load(m(4)), I::LocalTee(c), I::I32Const(1), I::I32Eq]);
    f.return_if(0);
    f.all([I::LocalGet(c), I::If(E), I::LocalGet(c), I::Return, I::End]);
    f.all([I::GlobalGet(G_STORE), I::LocalTee(t), I::I32Load(m(0)), I::LocalSet(n)]);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(t), I::LocalGet(i), I::I32Const(2), I::I32Shl, I::I32Add, I::I32Load(m(8)), I::LocalTee(s)]);
        f.all([I::I32Load(m(0)), I::LocalGet(0), I::I32Load(m(0)), I::Call(F_STREQ), I::If(E)]);
        f.all([I::LocalGet(0), I::LocalGet(s), I::I32Store(m(4)), I::LocalGet(s), I::Return, I::End]);
    });
    f.all([I::LocalGet(0), I::I32Const(1), I::I32Store(m(4)), I::I32Const(0)]);
    f.finish()
}

/// is_in(a, b): Cedar's `in` on two uids: equal, or b is an ancestor of a in the store.
fn is_in() -> Function {
    let mut f = FnB::new(2);
    let (l, n, i, k) = (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(0), I::LocalGet(1), I::Call(F_UIDEQ)]);
    f.return_if(1);
    f.all([I::LocalGet(0), I::Call(F_FIND), I::LocalTee(l), I::I32Eqz]);
    f.return_if(0);
    f.all([I::LocalGet(l), I::I32Load(m(8)), I::LocalTee(l), I::I32Load(m(0)), I::LocalSet(n)]);
    f.all([I::LocalGet(1), I::I32Load(m(0)), I::LocalSet(k)]);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(l), I::LocalGet(i), I::I32Const(2), I::I32Shl, I::I32Add, I::I32Load(m(8)), I::LocalGet(k), I::Call(F_STREQ)]);
        f.return_if(1);
    });
    f.i(I::I32Const(0));
    f.finish()
}

/// rec_get(record, key) -> cell ptr or 0.
fn rec_get() -> Function {
    let mut f = FnB::new(2);
    let (n, i, e) = (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::LocalSet(n)]);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(0), I::LocalGet(i), I::I32Const(24), I::I32Mul, I::I32Add, I::I32Const(8), I::I32Add, I::LocalTee(e)]);
        f.all([I::I32Load(m(0)), I::LocalGet(1), I::Call(F_STREQ), I::If(E), I::LocalGet(e), I::I32Const(8), I::I32Add, I::Return, I::End]);
    });
    f.i(I::I32Const(0));
    f.finish()
}

/// eq(ta, pa, tb, pb): Cedar's `==` (different types are unequal; sets compare as sets).
fn eq() -> Function {
    let mut f = FnB::new(4);
    let (i, n, x, y) = (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(0), I::LocalGet(2), I::I32Ne]);
    f.return_if(0);
    f.all([I::LocalGet(0), I::I32Const(TAG_STR as i32), I::I32LtU, I::If(E), I::LocalGet(1), I::LocalGet(3), I::I64Eq, I::Return, I::End]);
    f.all([I::LocalGet(1), I::I32WrapI64, I::LocalSet(x), I::LocalGet(3), I::I32WrapI64, I::LocalSet(y)]);
    let tag_is = |f: &mut FnB, t: u32| {
        f.all([I::LocalGet(0), I::I32Const(t as i32), I::I32Eq, I::If(E)]);
    };
    tag_is(&mut f, TAG_STR);
    f.all([I::LocalGet(x), I::LocalGet(y), I::Call(F_STREQ), I::Return, I::End]);
    tag_is(&mut f, TAG_ENTITY);
    f.all([I::LocalGet(x), I::LocalGet(y), I::Call(F_UIDEQ), I::Return, I::End]);
    tag_is(&mut f, TAG_IP);
    for o in [0u64, 8, 16] {
        f.all([I::LocalGet(x), I::I64Load(m(o)), I::LocalGet(y), I::I64Load(m(o)), I::I64Eq]);
    }
    f.all([I::I32And, I::I32And, I::Return, I::End]);
    tag_is(&mut f, TAG_SET);
    f.all([
        I::LocalGet(x),
        I::LocalGet(y),
        I::Call(F_SETALL),
        I::LocalGet(y),
        I::LocalGet(x),
        I::Call(F_SETALL),
        I::I32And,
        I::Return,
        I::End,
    ]);
    tag_is(&mut f, TAG_RECORD);
    f.all([I::LocalGet(x), I::I32Load(m(0)), I::LocalTee(n), I::LocalGet(y), I::I32Load(m(0)), I::I32Ne]);
    f.return_if(0);
    f.for_each(i, n, |f| {
        // x, y step through the entries (24 bytes each); keys are sorted on both sides.
        let step = |f: &mut FnB, p: u32| {
            f.all([I::LocalGet(p), I::LocalGet(i), I::I32Const(24), I::I32Mul, I::I32Add]);
        };
        step(f, x);
        f.i(I::I32Load(m(8)));
        step(f, y);
        f.all([I::I32Load(m(8)), I::Call(F_STREQ), I::I32Eqz]);
        f.return_if(0);
        step(f, x);
        f.i(I::I32Load(m(16)));
        step(f, x);
        f.i(I::I64Load(m(24)));
        step(f, y);
        f.i(I::I32Load(m(16)));
        step(f, y);
        f.all([I::I64Load(m(24)), I::Call(F_EQ), I::I32Eqz]);
        f.return_if(0);
    });
    f.all([I::I32Const(1), I::Return, I::End]);
    f.i(I::I32Const(0));
    f.finish()
}

/// set_has(set, t, p): some element equals (t, p).
fn set_has() -> Function {
    let mut f = FnB::new(3);
    let (n, i, c) = (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::LocalSet(n)]);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(0), I::LocalGet(i), I::I32Const(4), I::I32Shl, I::I32Add, I::LocalTee(c)]);
        f.all([I::I32Load(m(8)), I::LocalGet(c), I::I64Load(m(16)), I::LocalGet(1), I::LocalGet(2), I::Call(F_EQ)]);
        f.return_if(1);
    });
    f.i(I::I32Const(0));
    f.finish()
}

/// set_all(a, b): every element of b is in a (any = false) / some element is (any = true).
fn set_quant(any: bool) -> Function {
    let mut f = FnB::new(2);
    let (n, i, c) = (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(1), I::I32Load(m(0)), I::LocalSet(n)]);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(1), I::LocalGet(i), I::I32Const(4), I::I32Shl, I::I32Add, I::LocalSet(c)]);
        f.all([I::LocalGet(0), I::LocalGet(c), I::I32Load(m(8)), I::LocalGet(c), I::I64Load(m(16)), I::Call(F_SETHAS)]);
        if any {
            f.return_if(1);
        } else {
            f.i(I::I32Eqz);
            f.return_if(0);
        }
    });
    f.i(I::I32Const(if any { 0 } else { 1 }));
    f.finish()
}

/// in_set(uid, set) -> 0/1, or 2 when an element is not an entity (a type error).
fn in_set() -> Function {
    let mut f = FnB::new(2);
    let (n, i, c, found) = (f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(1), I::I32Load(m(0)), I::LocalSet(n)]);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(1), I::LocalGet(i), I::I32Const(4), I::I32Shl, I::I32Add, I::LocalTee(c)]);
        f.all([I::I32Load(m(8)), I::I32Const(TAG_ENTITY as i32), I::I32Ne]);
        f.return_if(2);
        f.all([
            I::LocalGet(0),
            I::LocalGet(c),
            I::I64Load(m(16)),
            I::I32WrapI64,
            I::Call(F_ISIN),
            I::LocalGet(found),
            I::I32Or,
            I::LocalSet(found),
        ]);
    });
    f.i(I::LocalGet(found));
    f.finish()
}

/// like(str, pattern): `eval::like` over UTF-8 bytes (equivalent: literal pattern bytes are
/// whole characters, and UTF-8 is self-synchronising, so `*` only ever spans whole characters).
fn like() -> Function {
    let mut f = FnB::new(2);
    let v = |f: &mut FnB| f.local(ValType::I32);
    let (i, p, star, mark, sl, pl, e) = (v(&mut f), v(&mut f), v(&mut f), v(&mut f), v(&mut f), v(&mut f), v(&mut f));
    f.all([I::I32Const(-1), I::LocalSet(star)]);
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::LocalSet(sl), I::LocalGet(1), I::I32Load(m(0)), I::LocalSet(pl)]);
    let pat_at = |f: &mut FnB| {
        f.all([I::LocalGet(1), I::LocalGet(p), I::I32Const(2), I::I32Shl, I::I32Add, I::I32Load(m(4))]);
    };
    f.all([I::Block(E), I::Loop(E)]);
    f.all([I::LocalGet(i), I::LocalGet(sl), I::I32GeU, I::BrIf(1)]);
    f.all([I::LocalGet(p), I::LocalGet(pl), I::I32LtU, I::If(E)]);
    pat_at(&mut f);
    f.all([I::LocalTee(e), I::I32Const(-1), I::I32Eq, I::If(E)]);
    f.all([
        I::LocalGet(p),
        I::LocalSet(star),
        I::LocalGet(i),
        I::LocalSet(mark),
        I::LocalGet(p),
        I::I32Const(1),
        I::I32Add,
        I::LocalSet(p),
        I::Br(2),
        I::End,
    ]);
    f.all([I::LocalGet(e), I::LocalGet(0), I::LocalGet(i), I::I32Add, I::I32Load8U(m(4)), I::I32Eq, I::If(E)]);
    f.all([
        I::LocalGet(i),
        I::I32Const(1),
        I::I32Add,
        I::LocalSet(i),
        I::LocalGet(p),
        I::I32Const(1),
        I::I32Add,
        I::LocalSet(p),
        I::Br(2),
        I::End,
    ]);
    f.i(I::End);
    f.all([I::LocalGet(star), I::I32Const(-1), I::I32Eq]);
    f.return_if(0);
    f.all([I::LocalGet(star), I::I32Const(1), I::I32Add, I::LocalSet(p)]);
    f.all([I::LocalGet(mark), I::I32Const(1), I::I32Add, I::LocalTee(mark), I::LocalSet(i), I::Br(0), I::End, I::End]);
    // The rest of the pattern must be wildcards.
    f.all([I::Block(E), I::Loop(E), I::LocalGet(p), I::LocalGet(pl), I::I32GeU, I::BrIf(1)]);
    pat_at(&mut f);
    f.all([I::I32Const(-1), I::I32Ne]);
    f.return_if(0);
    f.all([I::LocalGet(p), I::I32Const(1), I::I32Add, I::LocalSet(p), I::Br(0), I::End, I::End, I::I32Const(1)]);
    f.finish()
}

/// ip_in(a, b): `a.isInRange(b)`: same family, a's prefix at least b's, equal under b's mask.
fn ip_in() -> Function {
    let mut f = FnB::new(2);
    let (h, mhi, mlo) = (f.local(ValType::I64), f.local(ValType::I64), f.local(ValType::I64));
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::LocalGet(1), I::I32Load(m(0)), I::I32Ne]);
    f.return_if(0);
    f.all([I::LocalGet(0), I::I32Load(m(4)), I::LocalGet(1), I::I32Load(m(4)), I::I32LtU]);
    f.return_if(0);
    // h = host bits of b; masks keep the top (width - h) bits of the 128-bit value.
    f.all([I::LocalGet(1), I::I32Load(m(0)), I::LocalGet(1), I::I32Load(m(4)), I::I32Sub, I::I64ExtendI32U, I::LocalSet(h)]);
    // (`select` yields its first operand when the condition is non-zero.)
    // mlo = h >= 64 ? 0 : ~((1 << h) - 1)
    f.all([I::I64Const(0), I::I64Const(1), I::LocalGet(h), I::I64Shl, I::I64Const(1), I::I64Sub, I::I64Const(-1), I::I64Xor]);
    f.all([I::LocalGet(h), I::I64Const(64), I::I64GeU, I::Select, I::LocalSet(mlo)]);
    // mhi = h >= 128 ? 0 : h >= 64 ? ~((1 << (h - 64)) - 1) : -1
    f.all([
        I::I64Const(0),
        I::I64Const(1),
        I::LocalGet(h),
        I::I64Const(64),
        I::I64Sub,
        I::I64Shl,
        I::I64Const(1),
        I::I64Sub,
        I::I64Const(-1),
        I::I64Xor,
    ]);
    f.all([I::I64Const(-1), I::LocalGet(h), I::I64Const(64), I::I64GeU, I::Select]);
    f.all([I::LocalGet(h), I::I64Const(128), I::I64GeU, I::Select, I::LocalSet(mhi)]);
    for (o, mask) in [(8u64, mhi), (16u64, mlo)] {
        f.all([
            I::LocalGet(0),
            I::I64Load(m(o)),
            I::LocalGet(mask),
            I::I64And,
            I::LocalGet(1),
            I::I64Load(m(o)),
            I::LocalGet(mask),
            I::I64And,
            I::I64Eq,
        ]);
    }
    f.i(I::I32And);
    f.finish()
}

/// prefix(s, pre): s starts with pre (`is Type`: the key starts with `Type::"`).
fn prefix() -> Function {
    let mut f = FnB::new(2);
    let (n, i) = (f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::LocalGet(1), I::I32Load(m(0)), I::LocalTee(n), I::LocalGet(0), I::I32Load(m(0)), I::I32GtU]);
    f.return_if(0);
    f.for_each(i, n, |f| {
        f.all([I::LocalGet(0), I::LocalGet(i), I::I32Add, I::I32Load8U(m(4))]);
        f.all([I::LocalGet(1), I::LocalGet(i), I::I32Add, I::I32Load8U(m(4)), I::I32Ne]);
        f.return_if(0);
    });
    f.i(I::I32Const(1));
    f.finish()
}

/// load(store blob) -> 0, or 1 when a store is already loaded (one store per instance: the
/// uid caches of the constants refer to it).
fn load() -> Function {
    let mut f = FnB::new(1);
    f.i(I::GlobalGet(G_STORE));
    f.return_if(1);
    f.all([I::LocalGet(0), I::I32Load(m(0)), I::GlobalSet(G_STORE), I::I32Const(0)]);
    f.finish()
}

/// The helpers in function-index order with their type indices.
pub fn helpers() -> Vec<(u32, Function)> {
    vec![
        (TY_I_I, alloc()),
        (TY_I_V, free()),
        (TY_II_I, str_eq()),
        (TY_II_I, uid_eq()),
        (TY_I_I, find()),
        (TY_II_I, is_in()),
        (TY_II_I, rec_get()),
        (TY_EQ, eq()),
        (TY_SETHAS, set_has()),
        (TY_II_I, set_quant(false)),
        (TY_II_I, set_quant(true)),
        (TY_II_I, in_set()),
        (TY_II_I, like()),
        (TY_II_I, ip_in()),
        (TY_II_I, prefix()),
        (TY_I_I, load()),
    ]
}
