//! omnitide's work-stealing scheduler core (no N-API).
//!
//! One [`Core`] per JS `Scheduler`. It lives in a process-wide registry keyed by
//! scheduler id, so every worker thread's instance of the addon (the shared
//! library is loaded once per process) sees the same queues:
//!
//! * three priority [`Injector`](crossbeam_deque::Injector)s fed by the main thread,
//! * one crossbeam [`Worker`](crossbeam_deque::Worker) deque + `Stealer` per worker slot,
//! * parking on a condvar with a bounded timeout, woken by submissions,
//! * an in-flight table per slot so a crashed worker loses no task,
//! * a completion queue drained by the main thread on a single wake-up,
//! * per-slot stats (executed, stolen, queued, busy time).
//!
//! Tasks and completions travel as packed byte batches (see [`wire`]) so that a
//! batch of N tasks costs one native call on each side.

pub mod channel;
pub mod core;
pub mod kernels;
pub mod wire;

pub use crate::core::{Core, Priority, SlotStats, Stats, TaskRec};
pub use omnitide_common::{Error, Result};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Process-wide registry of schedulers (visible from every worker thread).
fn registry() -> &'static Mutex<HashMap<u32, Arc<Core>>> {
    static R: OnceLock<Mutex<HashMap<u32, Arc<Core>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Creates a scheduler core with `threads` worker slots and registers it.
pub fn create(threads: usize) -> Result<Arc<Core>> {
    if threads == 0 || threads > 1024 {
        return Err(Error::invalid_arg("threads", format!("must be in 1..=1024, got {threads}")));
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let core = Arc::new(Core::new(id, threads));
    registry().lock().unwrap().insert(id, core.clone());
    Ok(core)
}

/// Looks a scheduler up by id (from any thread).
pub fn get(id: u32) -> Result<Arc<Core>> {
    registry()
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .ok_or_else(|| Error::new(omnitide_common::code::CLOSED, format!("scheduler {id}: not found (closed)")))
}

/// Closes and unregisters a scheduler; parked workers wake up and see it closed.
pub fn destroy(id: u32) {
    let core = registry().lock().unwrap().remove(&id);
    if let Some(c) = core {
        c.close();
    }
}
