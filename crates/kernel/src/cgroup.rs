//! cgroup v2 control through cgroupfs. The hierarchy is found in
//! /proc/self/mountinfo; paths are relative to it and may not escape it.

use crate::bpffs::mounts_of;
use omnitide_common::{code, Error, Result};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The cgroup2 mount point. Prefers /sys/fs/cgroup, then the first cgroup2 mount.
/// `OMNITIDE_CGROUP2_ROOT` overrides (must itself be a cgroup2 mount).
pub fn root() -> Result<PathBuf> {
    let mounts = mounts_of("cgroup2");
    if let Ok(r) = std::env::var("OMNITIDE_CGROUP2_ROOT") {
        if mounts.contains(&r) {
            return Ok(PathBuf::from(r));
        }
        return Err(Error::invalid_arg("OMNITIDE_CGROUP2_ROOT", format!("{r:?} is not a cgroup2 mount point (mounts: {mounts:?})")));
    }
    if let Some(m) = mounts.iter().find(|m| *m == "/sys/fs/cgroup") {
        return Ok(PathBuf::from(m));
    }
    mounts
        .first()
        .map(PathBuf::from)
        .ok_or_else(|| Error::new(code::UNSUPPORTED, "cgroup2: no cgroup2 filesystem is mounted (see /proc/self/mountinfo)"))
}

/// Validates a cgroup path relative to the hierarchy root: no `..`, `.`, empty or
/// control-character components. A leading `/` means "from the root".
pub fn normalize(path: &str) -> Result<PathBuf> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        return Err(Error::invalid_arg("path", "must name a cgroup below the root, got the root itself"));
    }
    let mut out = PathBuf::new();
    for comp in trimmed.trim_end_matches('/').split('/') {
        if comp == ".." {
            return Err(Error::invalid_arg("path", format!("{path:?} escapes the cgroup hierarchy ('..' is not allowed)")));
        }
        if comp.is_empty() || comp == "." {
            return Err(Error::invalid_arg("path", format!("{path:?} has an empty or '.' component")));
        }
        if comp.len() > 255 || comp.chars().any(|c| c.is_control()) {
            return Err(Error::invalid_arg("path", format!("{path:?} has an invalid component {comp:?}")));
        }
        if comp.starts_with("cgroup.") || comp.contains('.') && is_interface_file(comp) {
            return Err(Error::invalid_arg("path", format!("{path:?}: {comp:?} is an interface file name, not a cgroup")));
        }
        out.push(comp);
    }
    Ok(out)
}

fn is_interface_file(c: &str) -> bool {
    ["cpu.", "memory.", "io.", "pids.", "cpuset.", "hugetlb.", "rdma.", "misc."].iter().any(|p| c.starts_with(p))
}

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| crate::errno_error(&format!("reading {}", p.display()), &e))
}

fn write(p: &Path, v: &str) -> Result<()> {
    std::fs::write(p, v).map_err(|e| crate::errno_error(&format!("writing {v:?} to {}", p.display()), &e))
}

#[derive(Clone, Debug, PartialEq)]
pub enum CpuLimit {
    Max { quota_us: Option<u64>, period_us: u64 },
    Weight(u64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct IoLimit {
    /// "MAJ:MIN" or a block device path such as /dev/vda.
    pub device: String,
    pub rbps: Option<u64>,
    pub wbps: Option<u64>,
    pub riops: Option<u64>,
    pub wiops: Option<u64>,
}

/// `None` fields are left unchanged; `Some(None)` memory/pids values mean "max".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgroupLimits {
    pub cpu: Option<CpuLimit>,
    pub memory_max: Option<Option<u64>>,
    pub memory_high: Option<Option<u64>>,
    pub pids_max: Option<Option<u64>>,
    pub io: Vec<IoLimit>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pressure {
    pub some_avg10: f64,
    pub some_avg60: f64,
    pub some_avg300: f64,
    pub some_total_us: u64,
    pub full_avg10: f64,
    pub full_avg60: f64,
    pub full_avg300: f64,
    pub full_total_us: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgroupStats {
    /// cpu.stat key/values (usage_usec, user_usec, system_usec, nr_throttled, ...)
    pub cpu: BTreeMap<String, u64>,
    pub memory_current: Option<u64>,
    pub pids_current: Option<u64>,
    /// keyed by resource: "cpu", "memory", "io", "irq"
    pub pressure: BTreeMap<String, Pressure>,
    pub populated: bool,
    pub frozen: bool,
}

pub struct Cgroup {
    root: PathBuf,
    rel: PathBuf,
    dir: PathBuf,
    removed: bool,
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

impl Cgroup {
    /// Creates the cgroup (and missing parents). Fails with ERR_OMNI_BUSY if it exists.
    pub fn create(path: &str) -> Result<Cgroup> {
        let rel = normalize(path)?;
        let root = root()?;
        let dir = root.join(&rel);
        if dir.exists() {
            return Err(Error::new(code::BUSY, format!("path: cgroup {path:?} already exists at {}; use cgroup.open", dir.display())));
        }
        std::fs::create_dir_all(&dir).map_err(|e| crate::errno_error(&format!("creating cgroup {}", dir.display()), &e))?;
        Ok(Cgroup { root, rel, dir, removed: false })
    }

    pub fn open(path: &str) -> Result<Cgroup> {
        let rel = normalize(path)?;
        let root = root()?;
        let dir = root.join(&rel);
        if !dir.join("cgroup.procs").exists() {
            return Err(Error::new(code::NOT_FOUND, format!("path: no cgroup {path:?} at {}", dir.display())));
        }
        Ok(Cgroup { root, rel, dir, removed: false })
    }

    fn check(&self) -> Result<()> {
        if self.removed {
            return Err(Error::new(code::CLOSED, format!("cgroup: {} was removed; create or open it again", self.rel.display())));
        }
        Ok(())
    }

    pub fn path(&self) -> String {
        format!("/{}", self.rel.display())
    }
    pub fn fs_path(&self) -> &Path {
        &self.dir
    }
    pub fn root_path(&self) -> &Path {
        &self.root
    }

    /// Controllers available to this cgroup (its cgroup.controllers).
    pub fn controllers(&self) -> Result<Vec<String>> {
        self.check()?;
        Ok(read(&self.dir.join("cgroup.controllers"))?.split_whitespace().map(String::from).collect())
    }

    fn needed(limits: &CgroupLimits) -> Vec<&'static str> {
        let mut n = Vec::new();
        if limits.cpu.is_some() {
            n.push("cpu");
        }
        if limits.memory_max.is_some() || limits.memory_high.is_some() {
            n.push("memory");
        }
        if limits.pids_max.is_some() {
            n.push("pids");
        }
        if !limits.io.is_empty() {
            n.push("io");
        }
        n
    }

    /// Validates every value, checks every controller, then writes the files. If a
    /// write fails the earlier ones are restored, so nothing is half-applied.
    /// Controllers offered by the root but not enabled on the way down are enabled
    /// in the ancestors' cgroup.subtree_control (as systemd does).
    pub fn set_limits(&self, limits: &CgroupLimits) -> Result<()> {
        self.check()?;
        let mut writes: Vec<(&'static str, String)> = Vec::new();
        match &limits.cpu {
            Some(CpuLimit::Max { quota_us, period_us }) => {
                if !(1000..=1_000_000).contains(period_us) {
                    return Err(Error::invalid_arg("cpu.periodUs", format!("must be 1000..=1000000, got {period_us}")));
                }
                let q = match quota_us {
                    None => "max".to_string(),
                    Some(q) if *q >= 1000 && *q <= (u64::MAX >> 20) => q.to_string(),
                    Some(q) => return Err(Error::invalid_arg("cpu.quotaUs", format!("must be >= 1000, got {q}"))),
                };
                writes.push(("cpu.max", format!("{q} {period_us}")));
            }
            Some(CpuLimit::Weight(w)) => {
                if !(1..=10000).contains(w) {
                    return Err(Error::invalid_arg("cpu.weight", format!("must be 1..=10000, got {w}")));
                }
                writes.push(("cpu.weight", w.to_string()));
            }
            None => {}
        }
        let fmt_max = |v: &Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "max".into());
        if let Some(m) = &limits.memory_max {
            if let Some(x) = m {
                if *x < 4096 {
                    return Err(Error::invalid_arg("memory.max", format!("must be >= 4096 bytes, got {x}")));
                }
            }
            writes.push(("memory.max", fmt_max(m)));
        }
        if let Some(m) = &limits.memory_high {
            if let Some(x) = m {
                if *x < 4096 {
                    return Err(Error::invalid_arg("memory.high", format!("must be >= 4096 bytes, got {x}")));
                }
            }
            writes.push(("memory.high", fmt_max(m)));
        }
        if let (Some(Some(hi)), Some(Some(mx))) = (&limits.memory_high, &limits.memory_max) {
            if hi > mx {
                return Err(Error::invalid_arg("memory.high", format!("must be <= memory.max ({mx}), got {hi}")));
            }
        }
        if let Some(p) = &limits.pids_max {
            if let Some(x) = p {
                if *x < 1 || *x > i32::MAX as u64 {
                    return Err(Error::invalid_arg("pids.max", format!("must be 1..=2147483647, got {x}")));
                }
            }
            writes.push(("pids.max", fmt_max(p)));
        }
        for (i, io) in limits.io.iter().enumerate() {
            let dev = resolve_device(&format!("io[{i}].device"), &io.device)?;
            let mut line = dev;
            for (k, v) in [("rbps", io.rbps), ("wbps", io.wbps), ("riops", io.riops), ("wiops", io.wiops)] {
                match v {
                    Some(0) => return Err(Error::invalid_arg(&format!("io[{i}].{k}"), "must be > 0 (omit it for no limit)")),
                    Some(x) => line.push_str(&format!(" {k}={x}")),
                    None => line.push_str(&format!(" {k}=max")),
                }
            }
            writes.push(("io.max", line));
        }
        // controllers
        let needed = Self::needed(limits);
        let enabled = self.ensure_controllers(&needed)?;
        // apply with rollback: earlier files get their old values back and the
        // controllers this call enabled are disabled again
        let mut done: Vec<(&'static str, String)> = Vec::new();
        for (file, val) in &writes {
            let p = self.dir.join(file);
            let old = std::fs::read_to_string(&p).unwrap_or_default();
            if let Err(e) = write(&p, val) {
                let mut undo_failed = Vec::new();
                for (f, o) in done.iter().rev() {
                    if let Err(u) = restore(&self.dir.join(f), f, o) {
                        undo_failed.push(u.message);
                    }
                }
                for (sc, ctrl) in enabled.iter().rev() {
                    if let Err(u) = write(sc, &format!("-{ctrl}")) {
                        undo_failed.push(u.message);
                    }
                }
                return Err(with_undo_failures(e, undo_failed));
            }
            done.push((file, old));
        }
        Ok(())
    }

    /// Returns the (subtree_control file, controller) pairs it enabled.
    fn ensure_controllers(&self, needed: &[&'static str]) -> Result<Vec<(PathBuf, &'static str)>> {
        let mut enabled_now = Vec::new();
        if needed.is_empty() {
            return Ok(enabled_now);
        }
        let have = self.controllers()?;
        let missing: Vec<&'static str> = needed.iter().copied().filter(|c| !have.iter().any(|h| h == c)).collect();
        if missing.is_empty() {
            return Ok(enabled_now);
        }
        let root_ctrls: Vec<String> = read(&self.root.join("cgroup.controllers"))?.split_whitespace().map(String::from).collect();
        for m in &missing {
            if !root_ctrls.iter().any(|h| h == m) {
                return Err(Error::new(
                    code::CONTROLLER_UNAVAILABLE,
                    format!(
                        "limits: the {m} controller is not available in the cgroup2 hierarchy at {} (cgroup.controllers offers: [{}]); on a hybrid host it is bound to cgroup v1. Nothing was changed",
                        self.root.display(),
                        root_ctrls.join(" ")
                    ),
                ));
            }
        }
        // enable from the root down to our parent, one controller at a time so a
        // failure can be undone exactly
        let mut cur = self.root.clone();
        for comp in self.rel.iter() {
            let sc = cur.join("cgroup.subtree_control");
            let enabled = read(&sc)?;
            for m in &missing {
                if enabled.split_whitespace().any(|e| e == *m) {
                    continue;
                }
                if let Err(e) = write(&sc, &format!("+{m}")) {
                    let undo_failed: Vec<String> =
                        enabled_now.iter().rev().filter_map(|(f, c)| write(f, &format!("-{c}")).err().map(|u| u.message)).collect();
                    let cause = Error::new(
                        code::CONTROLLER_UNAVAILABLE,
                        format!("limits: could not enable the {m} controller in {}: {}", sc.display(), e.message),
                    );
                    return Err(with_undo_failures(cause, undo_failed));
                }
                enabled_now.push((sc.clone(), *m));
            }
            cur = cur.join(comp);
        }
        Ok(enabled_now)
    }

    pub fn add_process(&self, pid: u32) -> Result<()> {
        self.check()?;
        if pid == 0 {
            return Err(Error::invalid_arg("pid", "must be a process id > 0"));
        }
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return Err(Error::new(code::NOT_FOUND, format!("pid: no process {pid}")));
        }
        write(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    pub fn processes(&self) -> Result<Vec<u32>> {
        self.check()?;
        Ok(read(&self.dir.join("cgroup.procs"))?.lines().filter_map(|l| l.trim().parse().ok()).collect())
    }

    pub fn children(&self) -> Result<Vec<String>> {
        self.check()?;
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(|e| crate::errno_error("listing cgroup", &e))?.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// cgroup.events as key/value.
    pub fn events(&self) -> Result<BTreeMap<String, u64>> {
        self.check()?;
        Ok(parse_kv(&read(&self.dir.join("cgroup.events"))?))
    }

    /// Waits until cgroup.events has `key want`. One descriptor is kept open:
    /// reading it re-arms the kernel's change notification, so a change that
    /// lands between the read and poll() still wakes poll (POLLPRI) at once.
    /// (Reading through one fd and polling a freshly opened second one missed
    /// such changes and slept the whole poll slice: that was most of the freeze
    /// latency.) The kernel may still defer the notification by 10-20 ms, so
    /// the file is re-read on a short slice as well (see cgroup_events).
    fn wait_event(&self, key: &str, want: u64, timeout: Duration) -> Result<()> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::FileExt;
        let start = Instant::now();
        let p = self.dir.join("cgroup.events");
        let f = std::fs::File::open(&p).map_err(|e| crate::errno_error(&format!("opening {}", p.display()), &e))?;
        let mut buf = [0u8; 512];
        loop {
            let n = f.read_at(&mut buf, 0).map_err(|e| crate::errno_error(&format!("reading {}", p.display()), &e))?;
            if parse_kv(&String::from_utf8_lossy(&buf[..n])).get(key).copied() == Some(want) {
                return Ok(());
            }
            let elapsed = start.elapsed();
            if elapsed > timeout {
                return Err(Error::new(code::IO, format!("cgroup: {} did not reach {key} {want} within {} ms", self.path(), ms(timeout))));
            }
            crate::cgroup_events::poll_pri(&[f.as_raw_fd()], crate::cgroup_events::slice(elapsed, timeout - elapsed));
        }
    }

    /// Freezes every process of the group and waits until cgroup.events says `frozen 1`.
    pub fn freeze(&self, timeout: Duration) -> Result<()> {
        self.check()?;
        write(&self.dir.join("cgroup.freeze"), "1")?;
        self.wait_event("frozen", 1, timeout)
    }

    pub fn thaw(&self, timeout: Duration) -> Result<()> {
        self.check()?;
        write(&self.dir.join("cgroup.freeze"), "0")?;
        self.wait_event("frozen", 0, timeout)
    }

    pub fn is_frozen(&self) -> Result<bool> {
        Ok(self.events()?.get("frozen").copied() == Some(1))
    }

    /// SIGKILLs every process in the subtree (cgroup.kill) and waits until it is empty.
    pub fn kill(&self, timeout: Duration) -> Result<()> {
        self.check()?;
        let p = self.dir.join("cgroup.kill");
        if !p.exists() {
            return Err(Error::new(code::UNSUPPORTED, "cgroup: cgroup.kill needs Linux >= 5.14"));
        }
        write(&p, "1")?;
        self.wait_event("populated", 0, timeout)
    }

    pub fn stats(&self) -> Result<CgroupStats> {
        self.check()?;
        let mut s = CgroupStats::default();
        if let Ok(t) = std::fs::read_to_string(self.dir.join("cpu.stat")) {
            s.cpu = parse_kv(&t);
        }
        s.memory_current = std::fs::read_to_string(self.dir.join("memory.current")).ok().and_then(|t| t.trim().parse().ok());
        s.pids_current = std::fs::read_to_string(self.dir.join("pids.current")).ok().and_then(|t| t.trim().parse().ok());
        for res in ["cpu", "memory", "io", "irq"] {
            if let Ok(t) = std::fs::read_to_string(self.dir.join(format!("{res}.pressure"))) {
                s.pressure.insert(res.to_string(), parse_pressure(&t));
            }
        }
        let ev = self.events()?;
        s.populated = ev.get("populated").copied() == Some(1);
        s.frozen = ev.get("frozen").copied() == Some(1);
        Ok(s)
    }

    /// Removes the group. A group with processes or child groups is refused unless
    /// `force`, which kills everything in the subtree first and removes children.
    pub fn remove(&mut self, force: bool, timeout: Duration) -> Result<()> {
        self.check()?;
        let procs = self.processes()?;
        let kids = self.children()?;
        let populated = self.events()?.get("populated").copied() == Some(1);
        if !force && (!procs.is_empty() || !kids.is_empty() || populated) {
            return Err(Error::new(
                code::BUSY,
                format!(
                    "cgroup: {} is not empty ({} processes, {} child groups); pass {{ force: true }} to kill and remove",
                    self.path(),
                    procs.len(),
                    kids.len()
                ),
            ));
        }
        if populated {
            // thaw first: a frozen group cannot die
            write(&self.dir.join("cgroup.freeze"), "0")?;
            self.kill(timeout)?;
        }
        remove_tree(&self.dir)?;
        self.removed = true;
        Ok(())
    }

    pub fn is_removed(&self) -> bool {
        self.removed
    }
}

fn remove_tree(dir: &Path) -> Result<()> {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&e.path())?;
            }
        }
    }
    std::fs::remove_dir(dir).map_err(|e| crate::errno_error(&format!("removing cgroup {}", dir.display()), &e))
}

fn restore(p: &Path, file: &str, old: &str) -> Result<()> {
    let old = old.trim();
    if file == "io.max" {
        // io.max lists every device; the file write takes one line at a time
        return Ok(());
    }
    write(p, old)
}

fn resolve_device(arg: &str, dev: &str) -> Result<String> {
    if let Some((a, b)) = dev.split_once(':') {
        if a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok() {
            return Ok(dev.to_string());
        }
        return Err(Error::invalid_arg(arg, format!("{dev:?} is not MAJ:MIN or a device path")));
    }
    let md = std::fs::metadata(dev).map_err(|e| Error::invalid_arg(arg, format!("{dev:?}: {e}")))?;
    use std::os::unix::fs::FileTypeExt;
    if !md.file_type().is_block_device() {
        return Err(Error::invalid_arg(arg, format!("{dev:?} is not a block device")));
    }
    let rdev = md.rdev();
    Ok(format!("{}:{}", libc::major(rdev), libc::minor(rdev)))
}

pub fn parse_kv(t: &str) -> BTreeMap<String, u64> {
    t.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

pub fn parse_pressure(t: &str) -> Pressure {
    let mut p = Pressure::default();
    for line in t.lines() {
        let mut it = line.split_whitespace();
        let kind = it.next().unwrap_or("");
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            match (kind, k) {
                ("some", "avg10") => p.some_avg10 = v.parse().unwrap_or(0.0),
                ("some", "avg60") => p.some_avg60 = v.parse().unwrap_or(0.0),
                ("some", "avg300") => p.some_avg300 = v.parse().unwrap_or(0.0),
                ("some", "total") => p.some_total_us = v.parse().unwrap_or(0),
                ("full", "avg10") => p.full_avg10 = v.parse().unwrap_or(0.0),
                ("full", "avg60") => p.full_avg60 = v.parse().unwrap_or(0.0),
                ("full", "avg300") => p.full_avg300 = v.parse().unwrap_or(0.0),
                ("full", "total") => p.full_total_us = v.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    p
}

/// The error of a failed multi-step change after its undo ran: says "nothing
/// was changed" only when every undo step worked, and otherwise names the
/// steps that failed (never drops them).
fn with_undo_failures(cause: Error, undo_failed: Vec<String>) -> Error {
    if undo_failed.is_empty() {
        Error::new(cause.code, format!("{}; nothing was changed", cause.message))
    } else {
        Error::new(
            cause.code,
            format!(
                "{}; undoing the earlier steps also failed ({}), so part of the change stayed applied",
                cause.message,
                undo_failed.join("; ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_rejects_escapes() {
        assert_eq!(normalize("/omnitide/a").unwrap(), PathBuf::from("omnitide/a"));
        assert_eq!(normalize("omnitide/a/").unwrap(), PathBuf::from("omnitide/a"));
        for bad in ["..", "a/../b", "/", "", "a//b", "./a", "a/cgroup.procs", "a/memory.max"] {
            let e = normalize(bad).unwrap_err();
            assert_eq!(e.code, code::INVALID_ARGUMENT, "{bad}");
            assert!(e.message.starts_with("path:"), "{}", e.message);
        }
    }

    #[test]
    fn parses_pressure() {
        let p = parse_pressure("some avg10=1.50 avg60=0.00 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.25 avg300=0.00 total=7\n");
        assert_eq!(p.some_avg10, 1.5);
        assert_eq!(p.some_total_us, 123);
        assert_eq!(p.full_avg60, 0.25);
        assert_eq!(p.full_total_us, 7);
    }
}
