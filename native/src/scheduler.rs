//! Bindings for `omnitide-scheduler`: the shared work-stealing core (called
//! from the main thread and from every worker thread of the process), byte
//! channels and native kernels. Conversion only.

use std::path::PathBuf;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::Error;
use omnitide_crypto::ed25519 as ed;
use omnitide_scheduler::{self as sched, channel, core::CancelOutcome, kernels, wire};

use crate::error::guard;
use crate::task;

fn ms(arg: &str, v: f64) -> omnitide_common::Result<Duration> {
    if !(v >= 0.0 && v.is_finite()) {
        return Err(Error::invalid_arg(arg, format!("must be a finite number >= 0, got {v}")));
    }
    Ok(Duration::from_secs_f64(v / 1000.0))
}

#[napi]
pub fn sched_create(threads: u32) -> Result<u32> {
    guard(|| Ok(sched::create(threads as usize)?.id))
}

#[napi]
pub fn sched_destroy(id: u32) -> Result<()> {
    guard(|| {
        sched::destroy(id);
        Ok(())
    })
}

/// Queues a packed task batch (24-byte headers + payloads).
#[napi]
pub fn sched_submit(id: u32, batch: &[u8]) -> Result<u32> {
    guard(|| Ok(sched::get(id)?.submit(batch.to_vec())? as u32))
}

/// Worker side: blocks up to `parkMs` for up to `max` tasks; `null` on timeout,
/// throws `ERR_OMNI_CLOSED` once the scheduler is closed.
// Declared as Uint8Array (a Buffer is one) so the declarations need no @types/node.
#[napi(ts_return_type = "Uint8Array | null")]
pub fn sched_take(id: u32, slot: u32, max: u32, park_ms: f64) -> Result<Option<Buffer>> {
    let out = guard(|| {
        let core = sched::get(id)?;
        core.take_packed(slot as usize, max as usize, ms("parkMs", park_ms)?)
    })?;
    Ok(if out.is_empty() { None } else { Some(Buffer::from(out)) })
}

/// Worker side: posts a packed completion batch; `true` when the main thread
/// needs a wake-up message.
#[napi]
pub fn sched_complete(id: u32, slot: u32, batch: &[u8], busy_ns: f64) -> Result<bool> {
    guard(|| sched::get(id)?.complete(slot as usize, batch, busy_ns.max(0.0) as u64))
}

/// Main side: every completion recorded since the last drain (or null).
// Declared as Uint8Array (a Buffer is one) so the declarations need no @types/node.
#[napi(ts_return_type = "Uint8Array | null")]
pub fn sched_drain(id: u32) -> Result<Option<Buffer>> {
    let out = guard(|| Ok(sched::get(id)?.drain()))?;
    Ok(if out.is_empty() { None } else { Some(Buffer::from(out)) })
}

/// Worker side: hands taken-but-unstarted tasks back to the slot's local
/// deque so idle workers can steal them.
#[napi]
pub fn sched_release(id: u32, slot: u32, task_ids: Vec<f64>) -> Result<u32> {
    guard(|| {
        let ids = task_ids.iter().map(|v| wire::id_from_f64("taskIds", *v)).collect::<omnitide_common::Result<Vec<u64>>>()?;
        Ok(sched::get(id)?.release(slot as usize, &ids)? as u32)
    })
}

/// Worker side: a running task spawns a subtask onto this slot's own deque
/// (stealable by the other workers); returns its id. Its completion comes back
/// through `schedChildResults`, not the main thread.
#[napi]
pub fn sched_spawn(id: u32, slot: u32, parent: f64, name: u32, flags: u32, payload: &[u8]) -> Result<f64> {
    guard(|| {
        let parent = wire::id_from_f64("parent", parent)?;
        Ok(sched::get(id)?.spawn(slot as usize, parent, name, flags, payload.to_vec())? as f64)
    })
}

/// Worker side: completion records of the subtasks this slot spawned (or null).
// Declared as Uint8Array (a Buffer is one) so the declarations need no @types/node.
#[napi(ts_return_type = "Uint8Array | null")]
pub fn sched_child_results(id: u32, slot: u32) -> Result<Option<Buffer>> {
    let out = guard(|| sched::get(id)?.child_results(slot as usize))?;
    Ok(if out.is_empty() { None } else { Some(Buffer::from(out)) })
}

/// Number of workers parked waiting for tasks.
#[napi]
pub fn sched_idle_workers(id: u32) -> Result<u32> {
    guard(|| Ok(sched::get(id)?.idle_workers() as u32))
}

/// -1: the task was still queued and will be skipped; otherwise the slot
/// whose worker has taken it.
#[napi]
pub fn sched_cancel(id: u32, task_id: f64) -> Result<i32> {
    guard(|| {
        let t = wire::id_from_f64("taskId", task_id)?;
        Ok(match sched::get(id)?.cancel(t) {
            CancelOutcome::Queued => -1,
            CancelOutcome::Running(s) => s as i32,
        })
    })
}

/// Main side: drops every queued task (the task module failed to load, so no
/// worker will ever take them); returns how many.
#[napi]
pub fn sched_discard_queued(id: u32) -> Result<u32> {
    guard(|| Ok(sched::get(id)?.discard_queued() as u32))
}

#[napi(object)]
pub struct SchedLost {
    /// Taken-but-unstarted tasks requeued.
    pub requeued: Vec<f64>,
    /// The main-thread task to fail: the culprit, or the task that was
    /// waiting on the culprit subtask on the same worker.
    pub failed: Option<f64>,
}

/// The worker of `slot` died: requeues what it had taken except what died with it.
#[napi]
pub fn sched_worker_lost(id: u32, slot: u32, culprit: Option<f64>) -> Result<SchedLost> {
    guard(|| {
        let culprit = culprit.map(|c| wire::id_from_f64("culprit", c)).transpose()?;
        let l = sched::get(id)?.lose_worker(slot as usize, culprit)?;
        Ok(SchedLost { requeued: l.requeued.into_iter().map(|v| v as f64).collect(), failed: l.failed.map(|v| v as f64) })
    })
}

#[napi(object)]
pub struct SchedSlotStats {
    pub executed: f64,
    pub stolen: f64,
    pub queued: f64,
    pub inflight: f64,
    pub busy_ns: f64,
    pub batches: f64,
    pub replaced: f64,
}

#[napi(object)]
pub struct SchedStats {
    pub queued: f64,
    pub injected: Vec<f64>,
    pub slots: Vec<SchedSlotStats>,
}

#[napi]
pub fn sched_stats(id: u32) -> Result<SchedStats> {
    let s = guard(|| Ok(sched::get(id)?.stats()))?;
    Ok(SchedStats {
        queued: s.queued as f64,
        injected: s.injected.iter().map(|v| *v as f64).collect(),
        slots: s
            .slots
            .iter()
            .map(|s| SchedSlotStats {
                executed: s.executed as f64,
                stolen: s.stolen as f64,
                queued: s.queued as f64,
                inflight: s.inflight as f64,
                busy_ns: s.busy_ns as f64,
                batches: s.batches as f64,
                replaced: s.replaced as f64,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- channels

#[napi]
pub fn chan_create(capacity: u32) -> Result<u32> {
    guard(|| Ok(channel::create(capacity as usize)?.id))
}

/// Blocks up to `timeoutMs` while full; `false` on timeout.
#[napi]
pub fn chan_send(id: u32, msg: &[u8], timeout_ms: f64) -> Result<bool> {
    guard(|| channel::get(id)?.send(msg.to_vec(), ms("timeoutMs", timeout_ms)?))
}

/// Blocks up to `timeoutMs`; `null` on timeout, throws `ERR_OMNI_CLOSED` when closed and drained.
// Declared as Uint8Array (a Buffer is one) so the declarations need no @types/node.
#[napi(ts_return_type = "Uint8Array | null")]
pub fn chan_recv(id: u32, timeout_ms: f64) -> Result<Option<Buffer>> {
    let m = guard(|| channel::get(id)?.recv(ms("timeoutMs", timeout_ms)?))?;
    Ok(m.map(Buffer::from))
}

#[napi]
pub fn chan_close(id: u32) -> Result<()> {
    guard(|| {
        if let Ok(c) = channel::get(id) {
            c.close();
        }
        Ok(())
    })
}

#[napi]
pub fn chan_len(id: u32) -> Result<u32> {
    guard(|| Ok(channel::get(id)?.len() as u32))
}

// ---------------------------------------------------------------- native kernels

/// Why one path of a `schedHashFiles` call has no hash.
#[napi(object)]
pub struct HashFileFailure {
    /// Index into the `paths` argument.
    pub index: u32,
    /// `ERR_OMNI_*`
    pub code: String,
    pub message: String,
}

#[napi(object)]
pub struct HashFilesResult {
    /// 32 bytes per path (zeros where the path failed).
    #[napi(ts_type = "Uint8Array")]
    pub hashes: Buffer,
    /// The paths that failed, in index order.
    pub failures: Vec<HashFileFailure>,
}

#[napi]
pub fn sched_hash_files<'e>(env: &'e Env, id: u32, paths: Vec<String>) -> Result<PromiseRaw<'e, HashFilesResult>> {
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    task::spawn(
        env,
        move || {
            let core = sched::get(id)?;
            let res = kernels::hash_files(&core, &paths);
            let mut hashes = vec![0u8; 32 * res.len()];
            let mut failures = Vec::new();
            for (i, r) in res.into_iter().enumerate() {
                match r {
                    Ok(h) => hashes[i * 32..i * 32 + 32].copy_from_slice(&h),
                    Err(e) => failures.push(HashFileFailure { index: i as u32, code: e.code.to_string(), message: e.message }),
                }
            }
            Ok((hashes, failures))
        },
        |(hashes, failures)| HashFilesResult { hashes: hashes.into(), failures },
    )
}

#[napi]
pub fn sched_verify_batch<'e>(
    env: &'e Env,
    id: u32,
    signatures: &[u8],
    messages: &[u8],
    ends: &[u32],
    public_keys: &[u8],
    mode: Option<String>,
) -> Result<PromiseRaw<'e, Vec<bool>>> {
    let mode = guard(|| mode.map(|m| ed::Mode::parse("opts.mode", &m)).transpose().map(|m| m.unwrap_or_default()))?;
    let (signatures, messages, ends, public_keys) = (signatures.to_vec(), messages.to_vec(), ends.to_vec(), public_keys.to_vec());
    task::spawn(
        env,
        move || {
            let packed = ed::Packed { signatures: &signatures, public_keys: &public_keys, messages: &messages, message_ends: &ends };
            kernels::verify_batch(&*sched::get(id)?, &packed.items()?, mode)
        },
        std::convert::identity,
    )
}

/// Runs `n` empty native tasks on the scheduler's native pool (overhead probe).
#[napi]
pub fn sched_noop<'e>(env: &'e Env, id: u32, n: u32) -> Result<PromiseRaw<'e, u32>> {
    task::spawn(env, move || Ok(kernels::noop(&*sched::get(id)?, n as usize) as u32), std::convert::identity)
}
