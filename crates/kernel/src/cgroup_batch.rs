//! Freezing and thawing many cgroups in one call: every path is validated
//! first, then cgroup.freeze is written for all (a failed write restores the
//! ones already changed), then one poll() loop over the cgroup.events
//! descriptors waits for every `frozen` state together, instead of one wait
//! (and one async native call) per cgroup.
//!
//! What the write itself guarantees (kernel/cgroup/freezer.c, cgroup_freeze_task):
//! when it returns, every task of the subtree has JOBCTL_TRAP_FREEZE and
//! TIF_SIGPENDING set and was woken or kicked (an IPI if it runs on another
//! CPU), so it traps in the freezer on its next return to user mode and runs
//! no further user instructions. `frozen 1` in cgroup.events only confirms
//! that every task has parked there, which needs each one to get a CPU first;
//! a task busy inside a long non-interruptible syscall finishes that syscall
//! before it parks.

use crate::cgroup::{normalize, parse_kv, root};
use omnitide_common::{code, Error, Result};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Descriptors polled at once: stays well under a default RLIMIT_NOFILE of
/// 1024. The writes are all done before the wait starts, so waiting window by
/// window costs about the slowest cgroup, not the sum.
const WINDOW: usize = 256;

/// Validates `paths` (each relative to the cgroup2 root; errors name
/// `paths[i]`), returning their directories. Refuses duplicates, so a rollback
/// can never restore one cgroup twice.
pub fn resolve(paths: &[String]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        return Err(Error::invalid_arg("paths", "must name at least one cgroup"));
    }
    // syntax and duplicates first (needs no cgroupfs), then existence
    let mut rels: Vec<PathBuf> = Vec::with_capacity(paths.len());
    let mut seen = std::collections::HashSet::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let arg = format!("paths[{i}]");
        let rel = normalize(p).map_err(|e| Error::new(e.code, format!("{arg}: {}", e.message)))?;
        if !seen.insert(rel.clone()) {
            return Err(Error::invalid_arg(&arg, format!("{p:?} is given twice")));
        }
        rels.push(rel);
    }
    let root = root()?;
    let dirs: Vec<PathBuf> = rels.iter().map(|r| root.join(r)).collect();
    for (i, dir) in dirs.iter().enumerate() {
        if !dir.join("cgroup.freeze").exists() {
            return Err(Error::new(
                code::NOT_FOUND,
                format!("paths[{i}]: no cgroup {:?} at {} (nothing was changed)", paths[i], dir.display()),
            ));
        }
    }
    Ok(dirs)
}

/// Sets cgroup.freeze of every path to `frozen`; with `wait`, then waits until
/// every cgroup.events says so. All-or-nothing up to the writes: a bad path
/// changes nothing, a failed write restores the cgroups already written. A
/// wait that runs out leaves the request in place (like `Cgroup::freeze`).
pub fn set_frozen_many(paths: &[String], frozen: bool, wait: Option<Duration>) -> Result<()> {
    set_frozen_many_with(paths, frozen, wait, |_| {})
}

/// `set_frozen_many` with a hook run before each write (tests use it to
/// remove a cgroup between validation and its write, a real failure).
pub(crate) fn set_frozen_many_with(
    paths: &[String],
    frozen: bool,
    wait: Option<Duration>,
    mut before_write: impl FnMut(usize),
) -> Result<()> {
    let dirs = resolve(paths)?;
    let want = if frozen { "1" } else { "0" };
    // (index, old value) of every cgroup this call changed
    let mut changed: Vec<(usize, String)> = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let file = d.join("cgroup.freeze");
        let old = std::fs::read_to_string(&file).map(|s| s.trim().to_string());
        before_write(i);
        let res = match &old {
            Ok(o) if o == want => Ok(()),
            Ok(_) => std::fs::write(&file, want),
            Err(e) => Err(std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))),
        };
        if let Err(e) = res {
            let undo_failed: Vec<String> = changed
                .iter()
                .rev()
                .filter_map(|(j, o)| std::fs::write(dirs[*j].join("cgroup.freeze"), o).err().map(|u| format!("paths[{j}]: {u}")))
                .collect();
            let cause = crate::errno_error(&format!("paths[{i}]: writing {want:?} to {}", file.display()), &e);
            return Err(if undo_failed.is_empty() {
                Error::new(
                    cause.code,
                    format!("{}; the {} cgroups already changed were restored, nothing was changed", cause.message, changed.len()),
                )
            } else {
                Error::new(
                    cause.code,
                    format!("{}; restoring the cgroups already changed failed ({})", cause.message, undo_failed.join("; ")),
                )
            });
        }
        if let Ok(o) = old {
            if o != want {
                changed.push((i, o));
            }
        }
    }
    match wait {
        Some(timeout) => wait_all(paths, &dirs, if frozen { 1 } else { 0 }, timeout),
        None => Ok(()),
    }
}

/// Waits until every cgroup.events has `frozen want`, one poll() over a window
/// of descriptors at a time, re-reading the files on a short slice because the
/// kernel may defer the notification (see cgroup_events).
fn wait_all(paths: &[String], dirs: &[PathBuf], want: u64, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut idx: Vec<usize> = (0..dirs.len()).collect();
    while !idx.is_empty() {
        let take = idx.len().min(WINDOW);
        let window: Vec<usize> = idx.drain(..take).collect();
        let mut files = Vec::with_capacity(window.len());
        for &i in &window {
            let p = dirs[i].join("cgroup.events");
            files.push((i, std::fs::File::open(&p).map_err(|e| crate::errno_error(&format!("paths[{i}]: opening {}", p.display()), &e))?));
        }
        let mut buf = [0u8; 512];
        loop {
            let mut pending = Vec::with_capacity(files.len());
            for (i, f) in files.drain(..) {
                if !reached(&f, &dirs[i], i, want, &mut buf)? {
                    pending.push((i, f));
                }
            }
            files = pending;
            if files.is_empty() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                let mut left: Vec<usize> = files.iter().map(|(i, _)| *i).collect();
                left.extend(idx.iter().copied());
                let names: Vec<String> = left.iter().take(5).map(|i| format!("paths[{i}] {:?}", paths[*i])).collect();
                return Err(Error::new(
                    code::IO,
                    format!(
                        "cgroup: {} of {} cgroups did not reach frozen {want} within {} ms ({}{}); the request stays written",
                        left.len(),
                        dirs.len(),
                        timeout.as_millis(),
                        names.join(", "),
                        if left.len() > 5 { ", ..." } else { "" }
                    ),
                ));
            }
            let fds: Vec<i32> = files.iter().map(|(_, f)| f.as_raw_fd()).collect();
            crate::cgroup_events::poll_pri(&fds, crate::cgroup_events::slice(now - start, deadline - now));
        }
    }
    Ok(())
}

fn reached(f: &std::fs::File, dir: &Path, i: usize, want: u64, buf: &mut [u8]) -> Result<bool> {
    let n = f.read_at(buf, 0).map_err(|e| crate::errno_error(&format!("paths[{i}]: reading {}/cgroup.events", dir.display()), &e))?;
    Ok(parse_kv(&String::from_utf8_lossy(&buf[..n])).get("frozen").copied() == Some(want))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions
        unsafe { libc::geteuid() == 0 }
    }

    /// Test-owned cgroups under a unique parent; Drop thaws and removes them.
    struct Owned(String);
    impl Drop for Owned {
        fn drop(&mut self) {
            if let Ok(mut cg) = crate::Cgroup::open(&self.0) {
                let _ = cg.remove(true, Duration::from_secs(5));
            }
        }
    }

    fn freeze_value(rel: &str) -> String {
        std::fs::read_to_string(root().unwrap().join(rel).join("cgroup.freeze")).unwrap().trim().to_string()
    }

    #[test]
    fn refuses_bad_paths_by_index() {
        let e = resolve(&[]).unwrap_err();
        assert_eq!(e.code, code::INVALID_ARGUMENT);
        let e = set_frozen_many(&["ok".into(), "a/../b".into()], true, None).unwrap_err();
        assert!(e.message.contains("paths[1]"), "{}", e.message);
    }

    #[test]
    #[ignore = "needs root (writes cgroup.freeze): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
    fn batch_freeze_thaw_and_rollback_on_a_failed_write() {
        assert!(is_root(), "run the ignored tests as root");
        let base = format!("omnitide-test-batch-{}", std::process::id());
        let _owned = Owned(base.clone());
        let paths: Vec<String> = (0..5).map(|i| format!("{base}/g{i}")).collect();
        for p in &paths {
            crate::Cgroup::create(p).unwrap();
        }
        // one bad path refuses the whole batch, naming its index: nothing changed
        let mut bad = paths.clone();
        bad.push(format!("{base}/missing"));
        let e = set_frozen_many(&bad, true, Some(Duration::from_secs(5))).unwrap_err();
        assert_eq!(e.code, code::NOT_FOUND);
        assert!(e.message.contains("paths[5]"), "{}", e.message);
        assert!(paths.iter().all(|p| freeze_value(p) == "0"));
        let e = set_frozen_many(&[paths[0].clone(), paths[0].clone()], true, None).unwrap_err();
        assert!(e.message.contains("paths[1]"), "{}", e.message);

        set_frozen_many(&paths, true, Some(Duration::from_secs(10))).unwrap();
        assert!(paths.iter().all(|p| crate::Cgroup::open(p).unwrap().is_frozen().unwrap()));
        set_frozen_many(&paths, false, Some(Duration::from_secs(10))).unwrap();
        assert!(paths.iter().all(|p| !crate::Cgroup::open(p).unwrap().is_frozen().unwrap()));

        // g1 is frozen already: a rollback must leave it frozen. g3 is removed
        // after validation, so its write really fails; g0 and g2 were changed
        // by this call and must be thawed again, g4 never touched.
        set_frozen_many(&[paths[1].clone()], true, None).unwrap();
        let r = root().unwrap();
        let e = set_frozen_many_with(&paths, true, None, |i| {
            if i == 3 {
                std::fs::remove_dir(r.join(&paths[3])).unwrap();
            }
        })
        .unwrap_err();
        assert!(e.message.contains("paths[3]") && e.message.contains("restored"), "{}", e.message);
        assert_eq!(freeze_value(&paths[0]), "0");
        assert_eq!(freeze_value(&paths[1]), "1");
        assert_eq!(freeze_value(&paths[2]), "0");
        assert_eq!(freeze_value(&paths[4]), "0");
    }

    #[test]
    #[ignore = "needs root (writes cgroup.freeze): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
    fn waits_for_busy_processes_to_park_across_windows() {
        assert!(is_root(), "run the ignored tests as root");
        let base = format!("omnitide-test-batchw-{}", std::process::id());
        let _owned = Owned(base.clone());
        // more cgroups than one poll window, two of them with a process in them
        let paths: Vec<String> = (0..WINDOW + 10).map(|i| format!("{base}/g{i}")).collect();
        for p in &paths {
            crate::Cgroup::create(p).unwrap();
        }
        let mut kids = Vec::new();
        for p in [&paths[0], &paths[WINDOW + 5]] {
            let procs = root().unwrap().join(p).join("cgroup.procs");
            let c = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("echo $$ > {}; while :; do :; done", procs.display()))
                .spawn()
                .unwrap();
            let cg = crate::Cgroup::open(p).unwrap();
            for _ in 0..400 {
                if cg.processes().unwrap().contains(&c.id()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            kids.push(c);
        }
        let res = set_frozen_many(&paths, true, Some(Duration::from_secs(20)));
        let frozen: Vec<bool> =
            [&paths[0], &paths[WINDOW + 5]].iter().map(|p| crate::Cgroup::open(p).unwrap().is_frozen().unwrap()).collect();
        let thawed = set_frozen_many(&paths, false, Some(Duration::from_secs(20)));
        for mut c in kids {
            let _ = c.kill();
            let _ = c.wait();
        }
        res.unwrap();
        thawed.unwrap();
        assert_eq!(frozen, vec![true, true]);
    }
}
