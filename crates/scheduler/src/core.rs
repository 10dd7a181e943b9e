//! The shared scheduling core: queues, stealing, parking, in-flight tracking,
//! completion queue and stats.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use omnitide_common::{code, Error, Result};

use crate::wire::{self, TaskHeader, COMPLETION_HEADER, TASK_HEADER};

/// Three priority levels: `priority > 0` is high, `0` normal, `< 0` low.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High = 0,
    Normal = 1,
    Low = 2,
}

impl Priority {
    pub fn from_i32(p: i32) -> Self {
        match p {
            p if p > 0 => Priority::High,
            0 => Priority::Normal,
            _ => Priority::Low,
        }
    }
}

/// A queued task: its header and a slice of the (shared) submission batch.
#[derive(Clone)]
pub struct TaskRec {
    pub header: TaskHeader,
    batch: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl std::fmt::Debug for TaskRec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRec").field("header", &self.header).field("len", &self.range.len()).finish()
    }
}

impl TaskRec {
    pub fn new(header: TaskHeader, payload: Vec<u8>) -> Self {
        let len = payload.len();
        Self { header: TaskHeader { len: len as u32, ..header }, batch: Arc::new(payload), range: 0..len }
    }
    pub fn id(&self) -> u64 {
        self.header.id
    }
    pub fn payload(&self) -> &[u8] {
        &self.batch[self.range.clone()]
    }
}

struct Slot {
    local: Mutex<Worker<TaskRec>>,
    stealer: Stealer<TaskRec>,
    inflight: Mutex<HashMap<u64, TaskRec>>,
    executed: AtomicU64,
    stolen: AtomicU64,
    busy_ns: AtomicU64,
    batches: AtomicU64,
    replaced: AtomicU64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotStats {
    pub executed: u64,
    pub stolen: u64,
    /// Tasks sitting in this slot's local deque (stealable by others).
    pub queued: u64,
    /// Tasks taken by this slot's worker and not completed yet.
    pub inflight: u64,
    pub busy_ns: u64,
    /// Number of `take` calls that returned tasks (batches).
    pub batches: u64,
    /// Times the worker of this slot was lost and replaced.
    pub replaced: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tasks queued anywhere (injectors + local deques), not yet taken.
    pub queued: u64,
    /// Tasks waiting in the shared injectors (per priority high, normal, low).
    pub injected: [u64; 3],
    pub slots: Vec<SlotStats>,
}

struct Done {
    buf: Vec<u8>,
    notified: bool,
}

pub struct Core {
    pub id: u32,
    threads: usize,
    injectors: [Injector<TaskRec>; 3],
    slots: Vec<Slot>,
    /// Tasks pushed into a queue and not yet popped (incremented before the push).
    queued: AtomicI64,
    sleepers: Mutex<usize>,
    wake: Condvar,
    closed: AtomicBool,
    cancelled: Mutex<HashSet<u64>>,
    n_cancelled: AtomicUsize,
    done: Mutex<Done>,
    pool: OnceLock<rayon::ThreadPool>,
    /// Subtask id -> (slot whose worker spawned it, spawning task id); its result goes back there.
    children: Mutex<HashMap<u64, (usize, u64)>>,
    n_children: AtomicUsize,
    next_child: AtomicU64,
    /// Per slot: completion records of subtasks spawned by that slot's worker.
    child_done: Vec<Mutex<Vec<u8>>>,
}

/// Subtask ids start here, far above the ids the main thread hands out.
pub const CHILD_ID_BASE: u64 = 1 << 52;
/// Completion status written natively when the worker running a subtask died.
pub const STATUS_WORKER_LOST: u8 = 5;

/// What [`Core::lose_worker`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lost {
    /// Taken-but-unstarted tasks put back at the front of the queues.
    pub requeued: Vec<u64>,
    /// The main-thread task that died with the worker (the culprit, or the
    /// task that was waiting on the culprit subtask on that worker).
    pub failed: Option<u64>,
}

/// What `cancel` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Still queued: it will be skipped (never run).
    Queued,
    /// Taken by the worker of this slot (running or about to run).
    Running(usize),
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").field("id", &self.id).field("threads", &self.threads).finish()
    }
}

impl Core {
    pub fn new(id: u32, threads: usize) -> Self {
        let slots = (0..threads)
            .map(|_| {
                let w = Worker::new_lifo();
                Slot {
                    stealer: w.stealer(),
                    local: Mutex::new(w),
                    inflight: Mutex::new(HashMap::new()),
                    executed: AtomicU64::new(0),
                    stolen: AtomicU64::new(0),
                    busy_ns: AtomicU64::new(0),
                    batches: AtomicU64::new(0),
                    replaced: AtomicU64::new(0),
                }
            })
            .collect();
        Self {
            id,
            threads,
            injectors: [Injector::new(), Injector::new(), Injector::new()],
            slots,
            queued: AtomicI64::new(0),
            sleepers: Mutex::new(0),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
            cancelled: Mutex::new(HashSet::new()),
            n_cancelled: AtomicUsize::new(0),
            done: Mutex::new(Done { buf: Vec::new(), notified: false }),
            pool: OnceLock::new(),
            children: Mutex::new(HashMap::new()),
            n_children: AtomicUsize::new(0),
            next_child: AtomicU64::new(CHILD_ID_BASE),
            child_done: (0..threads).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::new(code::CLOSED, format!("scheduler {}: closed", self.id)));
        }
        Ok(())
    }

    fn slot(&self, slot: usize) -> Result<&Slot> {
        self.slots.get(slot).ok_or_else(|| Error::invalid_arg("slot", format!("must be < {}, got {slot}", self.threads)))
    }

    /// Rayon pool for native kernels, sized like the worker pool.
    pub fn kernel_pool(&self) -> &rayon::ThreadPool {
        self.pool.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .thread_name(|i| format!("omnitide-kernel-{i}"))
                .build()
                .expect("rayon pool")
        })
    }

    fn wake_up(&self, n: usize) {
        let s = self.sleepers.lock().unwrap();
        if *s == 0 {
            return;
        }
        if n >= *s {
            self.wake.notify_all();
        } else {
            for _ in 0..n {
                self.wake.notify_one();
            }
        }
    }

    /// Queues a packed batch of tasks (see [`wire`]) in the shared injectors.
    pub fn submit(&self, batch: Vec<u8>) -> Result<usize> {
        self.check_open()?;
        let parsed = wire::parse_tasks("tasks", &batch)?;
        let n = parsed.len();
        let batch = Arc::new(batch);
        self.queued.fetch_add(n as i64, Ordering::AcqRel);
        for (h, range) in parsed {
            let p = Priority::from_i32(h.priority) as usize;
            self.injectors[p].push(TaskRec { header: h, batch: batch.clone(), range });
        }
        self.wake_up(n);
        Ok(n)
    }

    /// Queues one task record, into `slot`'s local deque when given (a task
    /// spawned by a running task), else into the injector of its priority.
    pub fn push(&self, rec: TaskRec, slot: Option<usize>) -> Result<()> {
        self.check_open()?;
        self.queued.fetch_add(1, Ordering::AcqRel);
        match slot {
            Some(s) => self.slot(s)?.local.lock().unwrap().push(rec),
            None => self.injectors[Priority::from_i32(rec.header.priority) as usize].push(rec),
        }
        self.wake_up(1);
        Ok(())
    }

    /// A running task on `slot`'s worker spawns a subtask: it gets a fresh id,
    /// goes onto `slot`'s own deque (LIFO for the owner, stealable by the
    /// others), and its completion is routed back to `slot` (see
    /// [`Core::child_results`]) instead of the main thread. Returns the id.
    pub fn spawn(&self, slot: usize, parent: u64, name: u32, flags: u32, payload: Vec<u8>) -> Result<u64> {
        self.slot(slot)?;
        let id = self.next_child.fetch_add(1, Ordering::Relaxed);
        {
            let mut c = self.children.lock().unwrap();
            c.insert(id, (slot, parent));
            self.n_children.store(c.len(), Ordering::Release);
        }
        let h = TaskHeader { id, len: 0, name, priority: 0, flags };
        if let Err(e) = self.push(TaskRec::new(h, payload), Some(slot)) {
            self.forget_child(id);
            return Err(e);
        }
        Ok(id)
    }

    fn forget_child(&self, id: u64) -> Option<usize> {
        if self.n_children.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut c = self.children.lock().unwrap();
        let r = c.remove(&id);
        self.n_children.store(c.len(), Ordering::Release);
        r.map(|(slot, _)| slot)
    }

    /// Completion records of subtasks spawned by `slot`'s worker, taken.
    pub fn child_results(&self, slot: usize) -> Result<Vec<u8>> {
        self.slot(slot)?;
        Ok(std::mem::take(&mut *self.child_done[slot].lock().unwrap()))
    }

    fn has_child_results(&self, slot: usize) -> bool {
        self.child_done.get(slot).is_some_and(|b| !b.lock().unwrap().is_empty())
    }

    fn is_cancelled(&self, id: u64) -> bool {
        if self.n_cancelled.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut c = self.cancelled.lock().unwrap();
        if c.remove(&id) {
            self.n_cancelled.store(c.len(), Ordering::Release);
            true
        } else {
            false
        }
    }

    fn find_one(&self, me: usize, local: &Worker<TaskRec>) -> Option<TaskRec> {
        loop {
            let mut retry = false;
            match self.injectors[0].steal() {
                Steal::Success(t) => return Some(t),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            if let Some(t) = local.pop() {
                return Some(t);
            }
            for inj in &self.injectors[1..] {
                match inj.steal_batch_and_pop(local) {
                    Steal::Success(t) => return Some(t),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            let n = self.slots.len();
            for k in 1..n {
                let victim = &self.slots[(me + k) % n];
                let before = local.len();
                match victim.stealer.steal_batch_and_pop(local) {
                    Steal::Success(t) => {
                        let moved = local.len().saturating_sub(before) as u64;
                        self.slots[me].stolen.fetch_add(1 + moved, Ordering::Relaxed);
                        return Some(t);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
            std::hint::spin_loop();
        }
    }

    /// Pops up to `max` runnable tasks for `slot` without blocking. The batch is
    /// capped so that queued work stays spread over the workers.
    pub fn grab(&self, slot: usize, max: usize) -> Result<Vec<TaskRec>> {
        let me = self.slot(slot)?;
        let q = self.queued.load(Ordering::Acquire).max(0) as usize;
        let want = max.max(1).min((q / self.threads).max(1));
        let mut out = Vec::with_capacity(want.min(1024));
        {
            let local = me.local.lock().unwrap();
            while out.len() < want {
                match self.find_one(slot, &local) {
                    Some(t) => {
                        self.queued.fetch_sub(1, Ordering::AcqRel);
                        if !self.is_cancelled(t.id()) {
                            out.push(t);
                        }
                    }
                    None => break,
                }
            }
        }
        if !out.is_empty() {
            let mut inf = me.inflight.lock().unwrap();
            for t in &out {
                inf.insert(t.id(), t.clone());
            }
            me.batches.fetch_add(1, Ordering::Relaxed);
        }
        Ok(out)
    }

    /// Blocks until tasks are available for `slot` (returning up to `max` of
    /// them), `park` elapses (`Ok(empty)`), or the scheduler closes (`Err(CLOSED)`).
    pub fn take(&self, slot: usize, max: usize, park: Duration) -> Result<Vec<TaskRec>> {
        let deadline = Instant::now() + park;
        loop {
            self.check_open()?;
            let got = self.grab(slot, max)?;
            if !got.is_empty() {
                return Ok(got);
            }
            if self.has_child_results(slot) {
                return Ok(Vec::new());
            }
            let mut s = self.sleepers.lock().unwrap();
            if self.has_child_results(slot) {
                return Ok(Vec::new());
            }
            if self.queued.load(Ordering::Acquire) > 0 {
                drop(s);
                std::thread::yield_now();
                continue;
            }
            if self.is_closed() {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            *s += 1;
            let (mut s, _) = self.wake.wait_timeout(s, deadline - now).unwrap();
            *s -= 1;
        }
    }

    /// `take` returning the packed wire format.
    pub fn take_packed(&self, slot: usize, max: usize, park: Duration) -> Result<Vec<u8>> {
        let tasks = self.take(slot, max, park)?;
        let total: usize = tasks.iter().map(|t| TASK_HEADER + t.range.len()).sum();
        let mut out = Vec::with_capacity(total);
        for t in &tasks {
            t.header.write(&mut out);
            out.extend_from_slice(t.payload());
        }
        Ok(out)
    }

    /// Records a packed completion batch from `slot`'s worker. Returns `true`
    /// when the main thread must be woken (first batch since its last drain).
    pub fn complete(&self, slot: usize, batch: &[u8], busy_ns: u64) -> Result<bool> {
        let me = self.slot(slot)?;
        let ids = wire::completion_ids("completions", batch)?;
        {
            let mut inf = me.inflight.lock().unwrap();
            for id in &ids {
                inf.remove(id);
            }
        }
        if self.n_cancelled.load(Ordering::Acquire) > 0 {
            let mut c = self.cancelled.lock().unwrap();
            for id in &ids {
                c.remove(id);
            }
            self.n_cancelled.store(c.len(), Ordering::Release);
        }
        me.executed.fetch_add(ids.len() as u64, Ordering::Relaxed);
        me.busy_ns.fetch_add(busy_ns, Ordering::Relaxed);
        let batch = if self.n_children.load(Ordering::Acquire) > 0 {
            // Route subtask results to the slot that spawned them.
            let mut main = Vec::with_capacity(batch.len());
            let mut routed = false;
            let mut o = 0;
            for id in &ids {
                let end = o + COMPLETION_HEADER + u32::from_le_bytes(batch[o + 8..o + 12].try_into().unwrap()) as usize;
                match self.forget_child(*id) {
                    Some(parent) => {
                        self.child_done[parent].lock().unwrap().extend_from_slice(&batch[o..end]);
                        routed = true;
                    }
                    None => main.extend_from_slice(&batch[o..end]),
                }
                o = end;
            }
            if routed {
                let _s = self.sleepers.lock().unwrap();
                self.wake.notify_all();
            }
            std::borrow::Cow::Owned(main)
        } else {
            std::borrow::Cow::Borrowed(batch)
        };
        if batch.is_empty() {
            return Ok(false);
        }
        let mut d = self.done.lock().unwrap();
        d.buf.extend_from_slice(&batch);
        Ok(!std::mem::replace(&mut d.notified, true))
    }

    /// Gives taken-but-unstarted tasks back: they move from `slot`'s in-flight
    /// table to its local deque, where idle workers can steal them. Ids not in
    /// flight are ignored. Returns how many were released.
    pub fn release(&self, slot: usize, ids: &[u64]) -> Result<usize> {
        let me = self.slot(slot)?;
        let recs: Vec<TaskRec> = {
            let mut inf = me.inflight.lock().unwrap();
            ids.iter().filter_map(|id| inf.remove(id)).collect()
        };
        let n = recs.len();
        if n == 0 {
            return Ok(0);
        }
        self.queued.fetch_add(n as i64, Ordering::AcqRel);
        {
            let local = me.local.lock().unwrap();
            // pushed in reverse so the owner pops them in their original order
            for r in recs.into_iter().rev() {
                local.push(r);
            }
        }
        self.wake_up(n);
        Ok(n)
    }

    /// Workers currently parked waiting for tasks.
    pub fn idle_workers(&self) -> usize {
        *self.sleepers.lock().unwrap()
    }

    /// Takes every completion recorded so far (main thread).
    pub fn drain(&self) -> Vec<u8> {
        let mut d = self.done.lock().unwrap();
        d.notified = false;
        std::mem::take(&mut d.buf)
    }

    /// Cancels a task by id: queued tasks are skipped natively; for a taken
    /// task the slot is returned so the caller can signal that worker.
    pub fn cancel(&self, id: u64) -> CancelOutcome {
        let mut c = self.cancelled.lock().unwrap();
        for (i, s) in self.slots.iter().enumerate() {
            if s.inflight.lock().unwrap().contains_key(&id) {
                return CancelOutcome::Running(i);
            }
        }
        c.insert(id);
        self.n_cancelled.store(c.len(), Ordering::Release);
        drop(c);
        // A queued subtask is skipped silently: its spawner settles it itself.
        self.forget_child(id);
        CancelOutcome::Queued
    }

    /// Ids taken by `slot`'s worker and not completed.
    /// Drops every queued task: none of them will ever run (the task module
    /// failed to load, so no worker will take them). Returns how many were
    /// dropped, so that `stats().queued` says what is really waiting.
    pub fn discard_queued(&self) -> usize {
        let mut n = 0;
        for (i, slot) in self.slots.iter().enumerate() {
            let local = slot.local.lock().unwrap();
            while self.find_one(i, &local).is_some() {
                self.queued.fetch_sub(1, Ordering::AcqRel);
                n += 1;
            }
        }
        n
    }

    pub fn inflight(&self, slot: usize) -> Result<Vec<u64>> {
        let mut v: Vec<u64> = self.slot(slot)?.inflight.lock().unwrap().keys().copied().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// The worker of `slot` died. Every task it had taken except `culprit` (the
    /// one it was running, which the caller fails) goes back to the front of the
    /// queues; the slot's local deque is kept for its replacement. Returns the
    /// requeued ids. See [`Core::lose_worker`] for subtask chains.
    pub fn worker_lost(&self, slot: usize, culprit: Option<u64>) -> Result<Vec<u64>> {
        Ok(self.lose_worker(slot, culprit)?.requeued)
    }

    /// [`Core::worker_lost`], aware of subtasks: when `culprit` is a subtask
    /// executed while its spawning task waited on the same worker, the
    /// spawner (and its own spawners on that worker) died with it and are
    /// not requeued. The top of that chain fails: towards its spawner's
    /// worker if it is a subtask (status [`STATUS_WORKER_LOST`]), else it is
    /// returned as `failed` for the main thread to fail.
    pub fn lose_worker(&self, slot: usize, culprit: Option<u64>) -> Result<Lost> {
        let me = self.slot(slot)?;
        me.replaced.fetch_add(1, Ordering::Relaxed);
        let taken: HashMap<u64, TaskRec> = me.inflight.lock().unwrap().drain().collect();
        // Subtask results waiting for the dead worker are dropped (their spawners died with it).
        self.child_done[slot].lock().unwrap().clear();
        let mut dead: Vec<u64> = Vec::new();
        let mut failed = None;
        if let Some(mut c) = culprit {
            dead.push(c);
            loop {
                let entry = self.children.lock().unwrap().get(&c).copied();
                match entry {
                    Some((ps, pid)) if ps == slot && taken.contains_key(&pid) => {
                        self.forget_child(c);
                        dead.push(pid);
                        c = pid;
                    }
                    Some((ps, _)) => {
                        self.forget_child(c);
                        wire::write_completion(&mut self.child_done[ps].lock().unwrap(), c, STATUS_WORKER_LOST, &[]);
                        let _s = self.sleepers.lock().unwrap();
                        self.wake.notify_all();
                        break;
                    }
                    None => {
                        failed = Some(c);
                        break;
                    }
                }
            }
        }
        let mut requeue: Vec<TaskRec> = taken.into_values().filter(|t| !dead.contains(&t.id())).collect();
        requeue.sort_by_key(|t| t.id());
        let mut ids = Vec::new();
        if self.is_closed() {
            return Ok(Lost { requeued: requeue.iter().map(|t| t.id()).collect(), failed });
        }
        self.queued.fetch_add(requeue.len() as i64, Ordering::AcqRel);
        for t in requeue {
            ids.push(t.id());
            self.injectors[Priority::High as usize].push(t);
        }
        self.wake_up(ids.len());
        Ok(Lost { requeued: ids, failed })
    }

    pub fn stats(&self) -> Stats {
        Stats {
            queued: self.queued.load(Ordering::Acquire).max(0) as u64,
            injected: [self.injectors[0].len() as u64, self.injectors[1].len() as u64, self.injectors[2].len() as u64],
            slots: self
                .slots
                .iter()
                .map(|s| SlotStats {
                    executed: s.executed.load(Ordering::Relaxed),
                    stolen: s.stolen.load(Ordering::Relaxed),
                    queued: s.stealer.len() as u64,
                    inflight: s.inflight.lock().unwrap().len() as u64,
                    busy_ns: s.busy_ns.load(Ordering::Relaxed),
                    batches: s.batches.load(Ordering::Relaxed),
                    replaced: s.replaced.load(Ordering::Relaxed),
                })
                .collect(),
        }
    }

    /// Closes: parked and future `take`s fail with `ERR_OMNI_CLOSED`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _s = self.sleepers.lock().unwrap();
        self.wake.notify_all();
    }
}
