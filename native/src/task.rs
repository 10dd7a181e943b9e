//! The one way a binding runs work off the event loop.
//!
//! [`spawn`] queues a closure on the libuv pool and returns the JS promise,
//! typed: `PromiseRaw<'e, J>` is generated as `Promise<J>` in
//! `bindings/index.d.ts`, so TypeScript needs no re-declaration or cast.
//! The work runs inside the panic guard; its crate error is turned into the
//! structured JS error (`code` + fields as properties) on the JS thread.
//!
//! Writing a new async function:
//!
//! ```ignore
//! use napi::bindgen_prelude::*;
//! use crate::error::guard;
//! use crate::task;
//!
//! /// Validate on the calling thread (cheap, throws synchronously), then move
//! /// owned inputs into the closure: it must be `Send + 'static`, so it never
//! /// borrows `&self` or argument slices (clone the `Arc`, copy the bytes).
//! #[napi]
//! pub fn thing_async<'e>(env: &'e Env, data: Uint8Array, n: Option<u32>) -> Result<PromiseRaw<'e, Uint8Array>> {
//!     let n = guard(|| length_arg("opts.n", n, 32))?;
//!     task::spawn(env, move || omnitide_thing::compute(&data, n), Uint8Array::new)
//! }
//! ```
//!
//! The second closure converts the crate's value into the JS-facing one on the
//! JS thread (`Uint8Array::new`, a `#[napi(object)]` constructor, or
//! `std::convert::identity` when the value already converts).

use std::marker::PhantomData;

use napi::bindgen_prelude::*;
use napi::Task;

use crate::error::{catch, js_error};

/// Queues `work` on the libuv pool; the promise resolves with `to_js(output)`
/// or rejects with the structured error of its `ERR_OMNI_*` failure.
pub fn spawn<'e, T, J, W, C>(env: &'e Env, work: W, to_js: C) -> Result<PromiseRaw<'e, J>>
where
    T: Send + 'static,
    J: ToNapiValue + TypeName,
    W: FnOnce() -> omnitide_common::Result<T> + Send + 'static,
    C: FnOnce(T) -> J + Send + 'static,
{
    let job = Job { work: Some(work), to_js: Some(to_js), _types: PhantomData };
    Ok(env.spawn(job)?.promise_object())
}

struct Job<T, J, W, C> {
    work: Option<W>,
    to_js: Option<C>,
    _types: PhantomData<fn() -> (T, J)>,
}

impl<T, J, W, C> Task for Job<T, J, W, C>
where
    T: Send + 'static,
    J: ToNapiValue + TypeName,
    W: FnOnce() -> omnitide_common::Result<T> + Send,
    C: FnOnce(T) -> J + Send,
{
    // The crate's result travels to the JS thread as is: only there can the
    // error become a JS object with its fields.
    type Output = omnitide_common::Result<T>;
    type JsValue = J;

    fn compute(&mut self) -> Result<Self::Output> {
        let work = self.work.take().expect("a task runs once");
        Ok(catch(work))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<J> {
        let to_js = self.to_js.take().expect("a task resolves once");
        match output.and_then(|v| catch(|| Ok(to_js(v)))) {
            Ok(v) => Ok(v),
            Err(e) => Err(js_error(&env, &e)?),
        }
    }
}
