//! WebAssembly target: a policy set compiles (with `wasm-encoder`) to a self-contained core
//! wasm module that decides requests on its own, under Node's `WebAssembly` or any other
//! runtime. The ABI (see `abi.rs` for the memory layout):
//!
//! - exports `memory`, the global `heap` (next free address), `alloc(n) -> ptr` (0: out of
//!   memory), `free(ptr)` (heap back to `ptr`), `load(store) -> 0|1`, `authorize(req) -> 0|1`
//!   (1 = allow; forbid overrides permit, default deny, erroring policies skipped) and
//!   `policy(i, req) -> 0|1|2` (policy `i` does not apply / applies / errors: explanations);
//! - the custom section `omnitide.policies` holds `[{"id", "effect"}]` in evaluation order;
//! - a host encodes the entity store once (`abi::encode_store` at `heap`, `alloc`, copy,
//!   `load`) and requests (`abi::encode_requests`), then calls `authorize` per request.
//!
//! Constructs the target cannot compile are a positioned diagnostic, never a wrong decision.

pub mod abi;
mod func;
mod policy;
mod runtime;

use crate::ast::{Effect, Policy};
use crate::diag::Diag;
use abi::Blob;
use func::{m, FnB};
use runtime::*;
use std::borrow::Cow;
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, ExportKind, ExportSection, FunctionSection, GlobalSection, GlobalType,
    Instruction as I, MemorySection, MemoryType, Module, TypeSection, ValType,
};

/// Data starts here: address 0 stays null and the first words read as an empty table.
const DATA_BASE: u32 = 16;

fn types() -> TypeSection {
    use ValType::{I32, I64};
    let mut t = TypeSection::new();
    t.ty().function([I32], [I32]); // TY_I_I
    t.ty().function([I32], []); // TY_I_V
    t.ty().function([I32, I32], [I32]); // TY_II_I
    t.ty().function([I32, I64, I32, I64], [I32]); // TY_EQ
    t.ty().function([I32, I32, I64], [I32]); // TY_SETHAS
    t.ty().function([], [I32]); // TY_V_I
    t
}

/// Sets the request globals from the request block `req` (param 0).
fn enter(f: &mut FnB, req: u32) {
    for (k, g) in [G_P, G_A, G_R, G_C].into_iter().enumerate() {
        f.all([I::LocalGet(req), I::I32Load(m(4 * k as u64)), I::GlobalSet(g)]);
    }
}

/// authorize(req): forbid overrides permit; permits after the first are not evaluated.
fn authorize(policies: &[Policy]) -> wasm_encoder::Function {
    let mut f = FnB::new(1);
    let (heap, permit) = (f.local(ValType::I32), f.local(ValType::I32));
    // No store loaded: trap rather than decide against an empty store by accident.
    f.all([I::GlobalGet(G_STORE), I::I32Eqz, I::If(wasm_encoder::BlockType::Empty), I::Unreachable, I::End]);
    f.all([I::GlobalGet(G_HEAP), I::LocalSet(heap)]);
    enter(&mut f, 0);
    for (k, p) in policies.iter().enumerate() {
        let call = I::Call(F_FIRST_POLICY + k as u32);
        if p.effect == Effect::Forbid {
            f.all([call, I::I32Const(1), I::I32Eq, I::If(wasm_encoder::BlockType::Empty)]);
            f.all([I::LocalGet(heap), I::GlobalSet(G_HEAP), I::I32Const(0), I::Return, I::End]);
        } else {
            f.all([I::LocalGet(permit), I::I32Eqz, I::If(wasm_encoder::BlockType::Empty), call, I::I32Const(1), I::I32Eq]);
            f.all([I::LocalSet(permit), I::End]);
        }
    }
    f.all([I::LocalGet(heap), I::GlobalSet(G_HEAP), I::LocalGet(permit)]);
    f.finish()
}

/// policy(i, req) -> 0|1|2, or 3 for an index out of range.
fn policy_dispatch(n: usize) -> wasm_encoder::Function {
    let mut f = FnB::new(2);
    let (heap, r) = (f.local(ValType::I32), f.local(ValType::I32));
    f.all([I::GlobalGet(G_STORE), I::I32Eqz, I::If(wasm_encoder::BlockType::Empty), I::Unreachable, I::End]);
    f.all([I::GlobalGet(G_HEAP), I::LocalSet(heap)]);
    enter(&mut f, 1);
    f.all([I::I32Const(3), I::LocalSet(r)]);
    for k in 0..n {
        f.all([I::LocalGet(0), I::I32Const(k as i32), I::I32Eq, I::If(wasm_encoder::BlockType::Empty)]);
        f.all([I::Call(F_FIRST_POLICY + k as u32), I::LocalSet(r), I::End]);
    }
    f.all([I::LocalGet(heap), I::GlobalSet(G_HEAP), I::LocalGet(r)]);
    f.finish()
}

/// Compiles the access policies into module bytes, or the first construct it cannot compile.
pub fn compile(policies: &[Policy]) -> Result<Vec<u8>, Diag> {
    let mut blob = Blob::new(DATA_BASE);
    let mut bodies = Vec::with_capacity(policies.len());
    for p in policies {
        bodies.push(policy::PGen::policy(&mut blob, p)?);
    }
    let heap = blob.end();
    let pages = (heap as u64).div_ceil(65536) + 1;

    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    for (ty, body) in helpers() {
        funcs.function(ty);
        code.function(&body);
    }
    funcs.function(TY_I_I);
    code.function(&authorize(policies));
    funcs.function(TY_II_I);
    code.function(&policy_dispatch(policies.len()));
    for b in &bodies {
        funcs.function(TY_V_I);
        code.function(b);
    }

    let mut mems = MemorySection::new();
    mems.memory(MemoryType { minimum: pages, maximum: None, memory64: false, shared: false, page_size_log2: None });
    let mut globals = GlobalSection::new();
    let g = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
    globals.global(g, &ConstExpr::i32_const(heap as i32));
    for _ in [G_P, G_A, G_R, G_C, G_STORE] {
        globals.global(g, &ConstExpr::i32_const(0));
    }
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("heap", ExportKind::Global, G_HEAP);
    for (name, idx) in [("alloc", F_ALLOC), ("free", F_FREE), ("load", F_LOAD), ("authorize", F_AUTHORIZE), ("policy", F_POLICY)] {
        exports.export(name, ExportKind::Func, idx);
    }
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(DATA_BASE as i32), blob.buf.iter().copied());
    let ids = serde_json::to_vec(
        &policies
            .iter()
            .map(|p| serde_json::json!({"id": p.id, "effect": if p.effect == Effect::Permit { "permit" } else { "forbid" }}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();

    let mut module = Module::new();
    module
        .section(&types())
        .section(&funcs)
        .section(&mems)
        .section(&globals)
        .section(&exports)
        .section(&code)
        .section(&data)
        .section(&CustomSection { name: Cow::Borrowed("omnitide.policies"), data: Cow::Owned(ids) });
    Ok(module.finish())
}
