//! A function under construction: locals are declared as the code asks for them, and the
//! control depth is tracked so an error can branch straight out of the policy's outer block.

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, MemArgTarget, ValType};

pub struct FnB {
    params: u32,
    locals: Vec<ValType>,
    code: Vec<I<'static>>,
    /// Control constructs open inside the function's outermost block.
    pub depth: u32,
}

/// A memory access at `offset` (alignment hint 0: blocks are 8-aligned, fields may not be).
pub fn m(offset: u64) -> MemArg {
    MemArg { offset, align: 0, target: MemArgTarget::Memory(0), ordering: None }
}

impl FnB {
    pub fn new(params: u32) -> FnB {
        FnB { params, locals: Vec::new(), code: Vec::new(), depth: 0 }
    }
    pub fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.params + self.locals.len() as u32 - 1
    }
    pub fn i(&mut self, x: I<'static>) -> &mut Self {
        self.code.push(x);
        self
    }
    pub fn all(&mut self, xs: impl IntoIterator<Item = I<'static>>) -> &mut Self {
        self.code.extend(xs);
        self
    }
    pub fn open_if(&mut self) {
        self.depth += 1;
        self.code.push(I::If(BlockType::Empty));
    }
    pub fn els(&mut self) {
        self.code.push(I::Else);
    }
    pub fn close(&mut self) {
        self.depth -= 1;
        self.code.push(I::End);
    }
    /// `if (top of stack) { return k }`
    pub fn return_if(&mut self, k: i32) {
        self.all([I::If(BlockType::Empty), I::I32Const(k), I::Return, I::End]);
    }
    /// `for i in 0..count { body }` with `i` and `count` i32 locals; `body` may `br 1` to break.
    pub fn for_each(&mut self, i: u32, count: u32, body: impl FnOnce(&mut FnB)) {
        self.all([I::I32Const(0), I::LocalSet(i)]);
        self.all([I::Block(BlockType::Empty), I::Loop(BlockType::Empty)]);
        self.depth += 2;
        self.all([I::LocalGet(i), I::LocalGet(count), I::I32GeU, I::BrIf(1)]);
        body(self);
        self.all([I::LocalGet(i), I::I32Const(1), I::I32Add, I::LocalSet(i), I::Br(0), I::End, I::End]);
        self.depth -= 2;
    }
    pub fn finish(self) -> Function {
        let mut f = Function::new_with_locals_types(self.locals);
        for x in &self.code {
            f.instruction(x);
        }
        f.instruction(&I::End);
        f
    }
}
