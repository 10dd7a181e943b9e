//! Error mapping between the crates and JavaScript.
//!
//! A crate error becomes a JS `Error` whose `message` is the crate's message,
//! whose `code` is the stable `ERR_OMNI_*` code, and which carries every
//! attached field (e.g. `index` of `ERR_OMNI_LEDGER_CORRUPT`) as a property of
//! its own, as lightningcss attaches `loc`. The TypeScript layer
//! (`fromNative`) reads properties; nobody parses message text.
//!
//! A panic never unwinds into N-API: [`guard`] (sync calls) and the task
//! helper in `task.rs` (async calls) catch it and report `ERR_OMNI_INTERNAL`.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::*;
use omnitide_common::{code, Error, Field};

thread_local! {
    /// The N-API environment of this JS thread (main thread or a worker's).
    /// Node runs one environment per thread and registers the addon on that
    /// thread before any call, so a synchronous call on this thread belongs to
    /// it. Only the error path reads it: building the error object needs an
    /// `Env`, and threading one through every synchronous binding would make
    /// each signature say so for the rare failure.
    static JS_ENV: Cell<napi::sys::napi_env> = const { Cell::new(ptr::null_mut()) };
}

/// Records the environment of the thread that loads the addon (see [`JS_ENV`]).
#[napi_derive::napi(module_exports)]
pub fn remember_js_env(_exports: Object, env: Env) -> napi::Result<()> {
    JS_ENV.with(|e| e.set(env.raw()));
    Ok(())
}

/// The JS error object for a crate error: `message`, `code` and one property per field.
pub fn js_error(env: &Env, e: &Error) -> napi::Result<napi::Error> {
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, &e.message))?;
    obj.set_named_property("code", e.code)?;
    for (name, value) in &e.fields {
        match value {
            // Indices and counts: exact as a JS number below 2^53, which the
            // crates' sizes never reach.
            Field::Uint(n) => obj.set_named_property(name, *n as f64)?,
            Field::Text(s) => obj.set_named_property(name, s.as_str())?,
        }
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// A crate error as a `napi::Error` that the generated glue throws as the
/// structured JS error built by [`js_error`]. Only valid on a JS thread.
pub fn to_napi(e: Error) -> napi::Error {
    let env = JS_ENV.with(Cell::get);
    if !env.is_null() {
        if let Ok(err) = js_error(&Env::from_raw(env), &e) {
            return err;
        }
    }
    // Not reachable from a synchronous binding (the addon was registered on
    // this thread); keep the code visible rather than lose it.
    napi::Error::new(Status::GenericFailure, format!("{}: {}", e.code, e.message))
}

/// Runs `f`, turning a panic into an `ERR_OMNI_INTERNAL` error. Safe on any thread.
pub fn catch<T>(f: impl FnOnce() -> omnitide_common::Result<T>) -> omnitide_common::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::new(code::INTERNAL, format!("native panic: {what}")))
        }
    }
}

/// Runs the body of a synchronous binding, mapping its error and any panic
/// to a structured JS error.
pub fn guard<T>(f: impl FnOnce() -> omnitide_common::Result<T>) -> napi::Result<T> {
    catch(f).map_err(to_napi)
}

/// `guard` for infallible bodies.
pub fn guard_ok<T>(f: impl FnOnce() -> T) -> napi::Result<T> {
    guard(|| Ok(f()))
}

/// A number from JS that must be a non-negative integer fitting `usize`.
pub fn length_arg(arg: &str, v: Option<u32>, default: usize) -> omnitide_common::Result<usize> {
    match v.map(|v| v as usize).unwrap_or(default) {
        0 => Err(Error::invalid_arg(arg, "must be at least 1")),
        l => Ok(l),
    }
}

/// Panics are reported to JS as errors by [`guard`]; the default hook would
/// also print a backtrace on the host's stderr, which a library must not do.
#[napi_derive::module_init]
fn silence_panic_output() {
    std::panic::set_hook(Box::new(|_| {}));
}

#[napi_derive::napi]
/// Raises a Rust panic inside the binding; the test suite uses it to prove
/// panics surface as `ERR_OMNI_INTERNAL` errors instead of aborting Node.
pub fn debug_panic(message: String) -> napi::Result<()> {
    guard(|| -> omnitide_common::Result<()> { panic!("{message}") })
}
