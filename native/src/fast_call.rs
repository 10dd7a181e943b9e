//! Raw N-API entry points for calls so short that napi-rs's per-call glue
//! outweighs the work.
//!
//! Why not `#[napi]` here: a `#[napi]` function with arguments opens a
//! native-borrow scope per call (a heap allocation, a mutex and several
//! thread-local updates, released again on return). For the 60 ns BLAKE3 of a
//! 64-byte input that glue plus the argument conversions cost about three times
//! the hash (measured with `perf` on `blake3.hash(64 bytes)`), so the one-call
//! hot path is written against N-API directly: `napi_get_cb_info`, one
//! `napi_get_typedarray_info` per argument, no allocation.
//!
//! The functions are built by a `#[napi]` factory, so the generated loader and
//! `index.d.ts` still describe them. The TypeScript layer validates the
//! arguments before calling; the checks here only keep bad input from being
//! undefined behaviour, and a panic is caught (none crosses into JS).

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use omnitide_common::{code, Error};
use omnitide_crypto::blake3 as b3;

use crate::error::js_error;

/// Raw N-API entry points for the hottest one-call paths (native/src/fast_call.rs:
/// napi-rs glue costs more than the work there), as properties of one object.
/// Called once per JS thread by `ts/crypto`, which keeps the functions.
#[napi(ts_return_type = "{ blake3HashInto(data: Uint8Array, out: Uint8Array): void }")]
pub fn crypto_fast_calls(env: &Env) -> Result<Object<'_>> {
    let raw = env.raw();
    let mut obj = ptr::null_mut();
    // SAFETY: plain N-API calls on the calling JS thread's env, results checked.
    unsafe {
        check(sys::napi_create_object(raw, &mut obj))?;
        let mut f = ptr::null_mut();
        let name = c"blake3HashInto";
        check(sys::napi_create_function(raw, name.as_ptr(), name.count_bytes() as isize, Some(blake3_hash_into), ptr::null_mut(), &mut f))?;
        check(sys::napi_set_named_property(raw, obj, name.as_ptr(), f))?;
    }
    Ok(Object::from_raw(raw, obj))
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(Status::GenericFailure, format!("N-API call failed with status {status}")))
    }
}

/// `blake3HashInto(data, out)`: the default 32-byte BLAKE3 of `data` written into `out`.
unsafe extern "C" fn blake3_hash_into(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut argv = [ptr::null_mut(); 2];
    let mut argc = argv.len();
    // SAFETY: `argv` holds `argc` slots; the env and info come from N-API for this call.
    if unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) } != sys::Status::napi_ok {
        return throw(env, Error::internal("blake3HashInto: cannot read the arguments"));
    }
    // SAFETY: the views belong to JS values alive for this synchronous call.
    let Some((data, data_len)) = (unsafe { bytes_of(env, argv[0]) }) else {
        return throw(env, Error::invalid_arg("data", "expected a Uint8Array"));
    };
    // SAFETY: as above.
    let Some((out, out_len)) = (unsafe { bytes_of(env, argv[1]) }) else {
        return throw(env, Error::invalid_arg("out", "expected a Uint8Array"));
    };
    if out_len != b3::OUT_LEN {
        return throw(env, Error::invalid_arg("out", format!("expected {} bytes, got {out_len}", b3::OUT_LEN)));
    }
    let hashed = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `data` points at `data_len` readable bytes (dangling only when empty).
        let input = if data_len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(data, data_len) } };
        let mut digest = [0u8; b3::OUT_LEN];
        b3::hash_into(input, None, &mut digest).map(|()| digest)
    }));
    match hashed {
        Ok(Ok(digest)) => {
            // SAFETY: `out` holds OUT_LEN writable bytes; the input slice is no longer
            // borrowed, so an `out` that overlaps `data` is still well defined.
            unsafe { ptr::copy(digest.as_ptr(), out, b3::OUT_LEN) };
            ptr::null_mut() // undefined
        }
        Ok(Err(e)) => throw(env, e),
        Err(_) => throw(env, Error::new(code::INTERNAL, "native panic in blake3HashInto")),
    }
}

/// The data pointer and byte length of a `Uint8Array` (or `Buffer`); `None` for anything else.
///
/// # Safety
/// `value` must be a live value of `env`, on its JS thread.
unsafe fn bytes_of(env: sys::napi_env, value: sys::napi_value) -> Option<(*mut u8, usize)> {
    let mut kind = -1;
    let mut len = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: per the caller; N-API rejects a non-typed-array with a status.
    let status = unsafe { sys::napi_get_typedarray_info(env, value, &mut kind, &mut len, &mut data, ptr::null_mut(), ptr::null_mut()) };
    (status == sys::Status::napi_ok && kind == sys::TypedarrayType::uint8_array).then_some((data.cast(), len))
}

/// Throws the structured error of `e` (as the `#[napi]` glue would) and returns `undefined`.
fn throw(env: sys::napi_env, e: Error) -> sys::napi_value {
    let err = js_error(&Env::from_raw(env), &e).unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, e.message.clone()));
    // SAFETY: on the JS thread of `env`, inside a callback.
    unsafe { JsError::from(err).throw_into(env) };
    ptr::null_mut()
}
