//! Bounded byte channels shared by all threads of the process (message passing
//! between running tasks, with backpressure).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use omnitide_common::{code, Error, Result};

struct State {
    q: VecDeque<Vec<u8>>,
    closed: bool,
}

pub struct Channel {
    pub id: u32,
    pub capacity: usize,
    st: Mutex<State>,
    not_empty: Condvar,
    not_full: Condvar,
}

fn registry() -> &'static Mutex<HashMap<u32, Arc<Channel>>> {
    static R: OnceLock<Mutex<HashMap<u32, Arc<Channel>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}
static NEXT: AtomicU32 = AtomicU32::new(1);

/// Creates a channel holding at most `capacity` messages.
pub fn create(capacity: usize) -> Result<Arc<Channel>> {
    if capacity == 0 {
        return Err(Error::invalid_arg("capacity", "must be at least 1"));
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let c = Arc::new(Channel {
        id,
        capacity,
        st: Mutex::new(State { q: VecDeque::new(), closed: false }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    registry().lock().unwrap().insert(id, c.clone());
    Ok(c)
}

pub fn get(id: u32) -> Result<Arc<Channel>> {
    registry()
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .ok_or_else(|| Error::new(code::CLOSED, format!("channel {id}: not found (closed and drained)")))
}

fn closed_err(id: u32) -> Error {
    Error::new(code::CLOSED, format!("channel {id}: closed"))
}

impl Channel {
    /// Sends, waiting up to `timeout` while the channel is full. `Ok(false)` on timeout.
    pub fn send(&self, msg: Vec<u8>, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut st = self.st.lock().unwrap();
        loop {
            if st.closed {
                return Err(closed_err(self.id));
            }
            if st.q.len() < self.capacity {
                st.q.push_back(msg);
                self.not_empty.notify_one();
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            st = self.not_full.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    /// Receives, waiting up to `timeout`. `Ok(None)` on timeout; `Err(CLOSED)`
    /// once the channel is closed and empty.
    pub fn recv(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        let mut st = self.st.lock().unwrap();
        loop {
            if let Some(m) = st.q.pop_front() {
                self.not_full.notify_one();
                return Ok(Some(m));
            }
            if st.closed {
                drop(st);
                registry().lock().unwrap().remove(&self.id);
                return Err(closed_err(self.id));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            st = self.not_empty.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    pub fn len(&self) -> usize {
        self.st.lock().unwrap().q.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes: senders fail, receivers drain what is left and then fail.
    pub fn close(&self) {
        let mut st = self.st.lock().unwrap();
        st.closed = true;
        self.not_empty.notify_all();
        self.not_full.notify_all();
        if st.q.is_empty() {
            drop(st);
            registry().lock().unwrap().remove(&self.id);
        }
    }
}
