//! Waiting for a state change in `cgroup.events` files.
//!
//! Reading a `cgroup.events` descriptor re-arms its change notification, and
//! poll(POLLPRI) wakes when the kernel raises it. But the kernel rate-limits
//! these notifications (`cgroup_file_notify()`: at most one per
//! `DIV_ROUND_UP(HZ, 100)` jiffies per file, a later one deferred to a timer),
//! so a freeze within ~10 ms of the previous thaw's notification wakes poll()
//! only when that timer fires, 10-20 ms later, although the file already says
//! `frozen 1`. The file's content is always current; only the wake-up is late.
//! So the wait re-reads the files on a short slice (50 µs, doubling to 1 ms)
//! during the first [`FAST_PHASE`] and relies on POLLPRI with a longer slice
//! after that, when a late notification no longer matters.

use std::time::Duration;

/// How long the waits re-read on a slice of at most 1 ms.
pub const FAST_PHASE: Duration = Duration::from_millis(200);

/// The poll slice after waiting `waited` with `left` remaining: 50 µs doubling
/// to 1 ms inside the fast phase, 20 ms after it; never beyond the deadline.
pub fn slice(waited: Duration, left: Duration) -> Duration {
    let s = if waited < FAST_PHASE {
        let step = Duration::from_micros(50);
        // 50, 100, 200, 400, 800 µs then 1 ms: a freeze usually completes in
        // tens of µs, so the first re-reads come quickly
        let doublings = (waited.as_micros() / 50).min(1 << 10) as u32;
        step.saturating_mul(doublings.max(1).next_power_of_two()).min(Duration::from_millis(1))
    } else {
        Duration::from_millis(20)
    };
    s.min(left)
}

/// One ppoll(POLLPRI) over `fds` for at most `timeout`; the result is only a
/// hint (the callers re-read the files), so errors such as EINTR are ignored.
pub fn poll_pri(fds: &[i32], timeout: Duration) {
    let mut pfds: Vec<libc::pollfd> = fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLPRI, revents: 0 }).collect();
    let ts = libc::timespec { tv_sec: timeout.as_secs() as libc::time_t, tv_nsec: timeout.subsec_nanos() as libc::c_long };
    // SAFETY: pfds is a valid array of pfds.len() pollfds and ts a valid timespec for the
    // duration of the call; a null sigmask keeps the thread's signal mask
    unsafe { libc::ppoll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, &ts, std::ptr::null()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_start_short_grow_to_one_ms_then_rely_on_the_notification() {
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        let long = Duration::from_secs(10);
        assert_eq!(slice(Duration::ZERO, long), us(50));
        assert_eq!(slice(us(60), long), us(50));
        assert_eq!(slice(us(120), long), us(100));
        assert_eq!(slice(us(400), long), us(400));
        assert_eq!(slice(ms(5), long), ms(1));
        assert_eq!(slice(ms(199), long), ms(1));
        assert_eq!(slice(FAST_PHASE, long), ms(20));
        // never past the deadline
        assert_eq!(slice(ms(5), us(300)), us(300));
        assert_eq!(slice(ms(500), ms(3)), ms(3));
    }
}
