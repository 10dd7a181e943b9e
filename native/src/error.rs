//! Error mapping between the crates and JavaScript.
//!
//! A crate error becomes a JS `Error` whose message is `[CODE] message`; the
//! TypeScript layer turns that into an `OmniError` with `code` and `message`
//! split again. A panic never unwinds into N-API: [`guard`] catches it and
//! reports `ERR_OMNI_INTERNAL`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use omnitide_common::{code, Error};

pub fn to_napi(e: Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("[{}] {}", e.code, e.message))
}

/// Runs `f`, mapping its error and any panic to a JS-facing error.
pub fn guard<T>(f: impl FnOnce() -> omnitide_common::Result<T>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_napi),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(to_napi(Error::new(code::INTERNAL, format!("native panic: {what}"))))
        }
    }
}

/// `guard` for infallible bodies.
pub fn guard_ok<T>(f: impl FnOnce() -> T) -> napi::Result<T> {
    guard(|| Ok(f()))
}

/// A number from JS that must be a non-negative integer fitting `usize`.
pub fn length_arg(arg: &str, v: Option<u32>, default: usize) -> omnitide_common::Result<usize> {
    Ok(v.map(|v| v as usize).unwrap_or(default))
        .and_then(|l| if l == 0 { Err(Error::invalid_arg(arg, "must be at least 1")) } else { Ok(l) })
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
