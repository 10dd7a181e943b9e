//! The XDP filter: one program per interface, all features driven by maps.

use crate::net::Cidr;
use crate::{aya_err, bpffs, errno_error, pins, sys};
use aya::maps::{Map, MapData};
use aya::programs::Xdp;
use aya::Ebpf;
use omnitide_common::{code, Error, Result};
use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

static XDP_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../kernel/build/xdp_filter.bpf.o"));
const PROG: &str = "omni_xdp_filter";

use crate::maps::XDP_MAPS as MAPS;

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Native,
    Generic,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "auto" => Ok(Mode::Auto),
            "native" => Ok(Mode::Native),
            "generic" => Ok(Mode::Generic),
            _ => Err(Error::invalid_arg("mode", format!("must be 'auto', 'native' or 'generic', got {s:?}"))),
        }
    }
}

/// Per-reason counters summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpStats {
    pub passed: Counter,
    pub blocked: Counter,
    pub rate_limited: Counter,
    pub random_drop: Counter,
}

impl XdpStats {
    pub fn total_bytes(&self) -> u64 {
        self.passed.bytes + self.blocked.bytes + self.rate_limited.bytes + self.random_drop.bytes
    }
    pub fn dropped(&self) -> u64 {
        self.blocked.packets + self.rate_limited.packets + self.random_drop.packets
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateRule {
    pub cidr: String,
    pub pps: u64,
    pub burst: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DropRule {
    /// None = every packet.
    pub cidr: Option<String>,
    pub probability: f64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedFilter {
    /// The interface name when the filter was attached.
    pub iface: String,
    pub ifindex: u32,
    /// Inode of the network namespace the filter belongs to (always the caller's).
    pub netns: u64,
    /// The pinned link.
    pub path: String,
    pub mode: String,
    /// false once the interface is gone (the pin then holds only the maps).
    pub attached: bool,
}

pub struct XdpFilter {
    iface: Option<String>,
    ifindex: u32,
    mode: Option<&'static str>,
    pin_dir: Option<PathBuf>,
    maps: HashMap<&'static str, MapData>,
    /// bpf_link fd; closing it detaches unless the link is pinned.
    link: Option<OwnedFd>,
    prog_fd: Option<OwnedFd>,
    ebpf: Option<Ebpf>,
    closed: bool,
}

fn map_data(m: Map) -> Result<MapData> {
    match m {
        Map::HashMap(d) | Map::LpmTrie(d) | Map::LruHashMap(d) | Map::PerCpuArray(d) | Map::Array(d) => Ok(d),
        _ => Err(Error::internal("unexpected map type in xdp_filter.bpf.o")),
    }
}

pub fn ifindex(iface: &str) -> Result<u32> {
    if iface.is_empty() || iface.len() >= 16 || iface.contains('/') || iface.contains('\0') {
        return Err(Error::invalid_arg("iface", format!("{iface:?} is not a valid interface name (1..15 bytes, no '/')")));
    }
    let c = CString::new(iface).unwrap();
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(Error::new(code::NOT_FOUND, format!("iface: no network interface named {iface:?}")));
    }
    Ok(idx)
}

fn load_object() -> Result<(Ebpf, HashMap<&'static str, MapData>)> {
    let mut ebpf = Ebpf::load(XDP_OBJ).map_err(|e| aya_err("loading xdp_filter.bpf.o", e))?;
    let prog: &mut Xdp = ebpf
        .program_mut(PROG)
        .ok_or_else(|| Error::internal("program omni_xdp_filter missing"))?
        .try_into()
        .map_err(|e| aya_err("xdp program", e))?;
    prog.load().map_err(|e| aya_err("verifying omni_xdp_filter", e))?;
    let mut maps = HashMap::new();
    for (name, _, _) in MAPS {
        let m = ebpf.take_map(name).ok_or_else(|| Error::internal(format!("map {name} missing")))?;
        maps.insert(*name, map_data(m)?);
    }
    Ok((ebpf, maps))
}

pub fn pin_root() -> PathBuf {
    PathBuf::from(bpffs::BPFFS).join("omnitide")
}

impl XdpFilter {
    /// Loads and verifies the program and its maps without attaching it
    /// (for BPF_PROG_TEST_RUN and benchmarks).
    pub fn load_unattached() -> Result<XdpFilter> {
        let (ebpf, maps) = load_object()?;
        Ok(XdpFilter {
            iface: None,
            ifindex: 0,
            mode: None,
            pin_dir: None,
            maps,
            link: None,
            prog_fd: None,
            ebpf: Some(ebpf),
            closed: false,
        })
    }

    /// Attaches a fresh filter to `iface` (of the caller's network namespace)
    /// through a bpf_link; with `pin`, pins it under
    /// `/sys/fs/bpf/omnitide/net<netns>/<ifindex>-<iface>/`.
    pub fn attach(iface: &str, mode: Mode, pin: bool) -> Result<XdpFilter> {
        let idx = ifindex(iface)?;
        let netns = pins::netns_inode()?;
        let root = pin_root();
        if let Some(old) = pins::entries(&root, netns)?.into_iter().find(|e| e.ifindex == idx) {
            let live = pins::link_file(&old.dir).and_then(|(l, _)| pins::link_ifindex(&l)).is_some_and(|i| i == idx);
            if live {
                return Err(Error::new(
                    code::BUSY,
                    format!(
                        "iface: {iface} already has a pinned omnitide filter at {}; use xdp.open({iface:?}) or detach it",
                        old.dir.display()
                    ),
                ));
            }
            // the pin of a filter whose interface went away (ifindex reused): stale
            std::fs::remove_dir_all(&old.dir).map_err(|e| errno_error(&format!("removing stale pin {}", old.dir.display()), &e))?;
        }
        let pin_dir = pins::filter_dir(&root, netns, idx, iface);
        if pin {
            bpffs::check_pins_persist()?;
            bpffs::ensure_mounted()?;
        }
        let (ebpf, maps) = load_object()?;
        let prog_fd = ebpf.program(PROG).unwrap().fd().map_err(|e| aya_err("program fd", e))?.as_fd();
        let tries: &[(u32, &'static str)] = match mode {
            Mode::Native => &[(sys::XDP_FLAGS_DRV_MODE, "native")],
            Mode::Generic => &[(sys::XDP_FLAGS_SKB_MODE, "generic")],
            Mode::Auto => &[(sys::XDP_FLAGS_DRV_MODE, "native"), (sys::XDP_FLAGS_SKB_MODE, "generic")],
        };
        let mut last_err = None;
        let mut attached = None;
        for (flags, name) in tries {
            match sys::xdp_link_create(prog_fd, idx, *flags) {
                Ok(fd) => {
                    attached = Some((fd, *name));
                    break;
                }
                Err(e) => {
                    if e.raw_os_error() == Some(libc::EBUSY) || e.raw_os_error() == Some(libc::EEXIST) {
                        return Err(Error::new(code::BUSY, format!("iface: {iface} already has an XDP program attached ({e})")));
                    }
                    last_err = Some(e)
                }
            }
        }
        let (link_fd, mode_name) = match attached {
            Some(a) => a,
            None => {
                let e = last_err.unwrap();
                if mode == Mode::Native && matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP) | Some(libc::EINVAL)) {
                    return Err(Error::new(
                        code::UNSUPPORTED,
                        format!("mode: the driver of {iface} has no native XDP support; use mode 'generic' or 'auto' ({e})"),
                    ));
                }
                return Err(errno_error(&format!("attaching XDP to {iface}"), &e));
            }
        };
        let mut f = XdpFilter {
            iface: Some(iface.to_string()),
            ifindex: idx,
            mode: Some(mode_name),
            pin_dir: None,
            maps,
            link: Some(link_fd),
            prog_fd: None,
            ebpf: Some(ebpf),
            closed: false,
        };
        if pin {
            if let Err(e) = f.pin_all(&pin_dir) {
                // the link fd closes with `f` (detaching); the pins must go too
                return Err(match std::fs::remove_dir_all(&pin_dir) {
                    Ok(()) => e,
                    Err(r) => Error::new(
                        e.code,
                        format!("{}; removing the partial pins at {} also failed ({r}): remove them by hand", e.message, pin_dir.display()),
                    ),
                });
            }
        }
        Ok(f)
    }

    fn pin_all(&mut self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), &e))?;
        for (name, data) in &self.maps {
            data.pin(dir.join(name)).map_err(|e| aya_err(&format!("pinning map {name}"), e))?;
        }
        let link = self.link.as_ref().ok_or_else(|| Error::internal("no link to pin"))?;
        let path = dir.join(format!("link_{}", self.mode.unwrap_or("auto")));
        sys::obj_pin(link.as_fd(), &path).map_err(|e| errno_error("pinning XDP link", &e))?;
        self.pin_dir = Some(dir.to_path_buf());
        Ok(())
    }

    /// Reopens a filter pinned by `attach(..., pin = true)` (possibly by another
    /// process) on `iface` of the caller's network namespace. A filter pinned
    /// for a same-named interface of another namespace is never found.
    pub fn open(iface: &str) -> Result<XdpFilter> {
        let idx = ifindex(iface).map_err(|e| {
            if e.code == code::NOT_FOUND {
                Error::new(
                    code::NOT_FOUND,
                    format!("iface: no pinned omnitide filter for {iface:?}: no such interface in this network namespace"),
                )
            } else {
                e
            }
        })?;
        let netns = pins::netns_inode()?;
        let found = list()?.into_iter().find(|p| p.ifindex == idx);
        let Some(found) = found else {
            return Err(Error::new(
                code::NOT_FOUND,
                format!(
                    "iface: no pinned omnitide filter for {iface:?} in this network namespace (under {})",
                    pins::netns_dir(&pin_root(), netns).display()
                ),
            ));
        };
        let dir =
            Path::new(&found.path).parent().map(Path::to_path_buf).ok_or_else(|| Error::internal("pinned link without a directory"))?;
        let mut maps = HashMap::new();
        for (name, _, _) in MAPS {
            let d = MapData::from_pin(dir.join(name)).map_err(|e| aya_err(&format!("opening pinned map {name}"), e))?;
            maps.insert(*name, d);
        }
        let link = sys::obj_get(Path::new(&found.path)).map_err(|e| errno_error("opening pinned XDP link", &e))?;
        let prog_fd = sys::link_info(link.as_fd()).ok().and_then(|(pid, _, _)| sys::prog_fd_by_id(pid).ok());
        let mode: &'static str = if found.mode == "native" {
            "native"
        } else if found.mode == "generic" {
            "generic"
        } else {
            "auto"
        };
        Ok(XdpFilter {
            iface: Some(iface.to_string()),
            ifindex: idx,
            mode: Some(mode),
            pin_dir: Some(dir),
            maps,
            link: Some(link),
            prog_fd,
            ebpf: None,
            closed: false,
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::new(code::CLOSED, "filter: this XDP filter handle was detached; attach or open a new one"));
        }
        Ok(())
    }

    fn fd(&self, name: &str) -> BorrowedFd<'_> {
        self.maps[name].fd().as_fd()
    }

    /// (name, key size, value size) of every map as the kernel created it.
    pub fn map_layouts(&self) -> Result<Vec<(String, u32, u32)>> {
        let mut out = Vec::new();
        for (name, d) in &self.maps {
            let i = d.info().map_err(|e| aya_err("map info", e))?;
            out.push((name.to_string(), i.key_size(), i.value_size()));
        }
        Ok(out)
    }

    pub fn iface(&self) -> Option<&str> {
        self.iface.as_deref()
    }
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
    pub fn mode(&self) -> Option<&'static str> {
        self.mode
    }
    pub fn pinned(&self) -> bool {
        self.pin_dir.is_some()
    }
    pub fn pin_path(&self) -> Option<String> {
        self.pin_dir.as_ref().map(|p| p.display().to_string())
    }

    fn parse_all(arg: &str, cidrs: &[String]) -> Result<Vec<Cidr>> {
        cidrs.iter().enumerate().map(|(i, s)| Cidr::parse(&format!("{arg}[{i}]"), s)).collect()
    }

    /// Blocks every CIDR (validated all first). /32 and /128 go to the exact hash,
    /// prefixes to the LPM tries. One batch syscall per map per 65,536 entries.
    /// Returns how many entries were written.
    pub fn block(&self, cidrs: &[String]) -> Result<usize> {
        self.check_open()?;
        let parsed = Self::parse_all("cidrs", cidrs)?;
        self.block_parsed(&parsed)
    }

    /// Blocks packed IPv4 /32 addresses (4 bytes each, network order): the fast bulk path.
    pub fn block_ipv4_packed(&self, addrs: &[u8]) -> Result<usize> {
        self.check_open()?;
        if !addrs.len().is_multiple_of(4) {
            return Err(Error::invalid_arg("addrs", format!("packed IPv4 buffer length must be a multiple of 4, got {}", addrs.len())));
        }
        let values = vec![1u8; addrs.len() / 4];
        let (n, r) = sys::update_batch(self.fd("omni_blk4"), addrs, &values, 4, 1);
        if let Err(e) = r {
            return Err(self.roll_back(&[("omni_blk4", &addrs[..n * 4], 4)], map_write_err("omni_blk4", &e)));
        }
        Ok(n)
    }

    fn block_parsed(&self, parsed: &[Cidr]) -> Result<usize> {
        let (mut e4, mut e6, mut l4, mut l6) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for c in parsed {
            match c {
                Cidr::V4 { addr, prefix: 32 } => e4.extend_from_slice(addr),
                Cidr::V6 { addr, prefix: 128 } => e6.extend_from_slice(addr),
                Cidr::V4 { .. } => l4.extend_from_slice(&c.lpm_key()),
                Cidr::V6 { .. } => l6.extend_from_slice(&c.lpm_key()),
            }
        }
        let plan: [(&str, &Vec<u8>, usize); 4] =
            [("omni_blk4", &e4, 4), ("omni_blk6", &e6, 16), ("omni_blk4_lpm", &l4, 8), ("omni_blk6_lpm", &l6, 20)];
        let mut applied: Vec<(&str, &[u8], usize)> = Vec::new();
        let mut total = 0;
        for (name, keys, ks) in plan {
            if keys.is_empty() {
                continue;
            }
            let values = vec![1u8; keys.len() / ks];
            let (n, r) = sys::update_batch(self.fd(name), keys, &values, ks, 1);
            if let Err(e) = r {
                // undo this call's writes so nothing is half-applied
                applied.push((name, &keys[..n * ks], ks));
                return Err(self.roll_back(&applied, map_write_err(name, &e)));
            }
            applied.push((name, keys, ks));
            total += n;
        }
        Ok(total)
    }

    /// Deletes the keys a failed call wrote. A rollback that fails itself is
    /// reported together with the original error, never dropped: the caller
    /// must learn that part of the call stayed applied.
    fn roll_back(&self, written: &[(&str, &[u8], usize)], cause: Error) -> Error {
        let failed: Vec<String> = written
            .iter()
            .filter_map(|(name, keys, ks)| sys::delete_batch_present(self.fd(name), keys, *ks).err().map(|e| format!("{name}: {e}")))
            .collect();
        if failed.is_empty() {
            return Error::new(cause.code, format!("{}; nothing from this call was kept", cause.message));
        }
        Error::new(
            cause.code,
            format!(
                "{}; undoing this call's writes also failed ({}), so part of it stayed applied: check with listBlocked()",
                cause.message,
                failed.join(", ")
            ),
        )
    }

    /// Removes CIDRs (exact form as blocked). Returns how many were present.
    pub fn unblock(&self, cidrs: &[String]) -> Result<usize> {
        self.check_open()?;
        let parsed = Self::parse_all("cidrs", cidrs)?;
        let mut removed = 0;
        for c in parsed {
            let r = match c {
                Cidr::V4 { addr, prefix: 32 } => sys::delete(self.fd("omni_blk4"), &addr),
                Cidr::V6 { addr, prefix: 128 } => sys::delete(self.fd("omni_blk6"), &addr),
                Cidr::V4 { .. } => sys::delete(self.fd("omni_blk4_lpm"), &c.lpm_key()),
                Cidr::V6 { .. } => sys::delete(self.fd("omni_blk6_lpm"), &c.lpm_key()),
            };
            if r.map_err(|e| Error::io("unblock", &e))? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub fn list_blocked(&self) -> Result<Vec<String>> {
        self.check_open()?;
        let mut out = Vec::new();
        for k in sys::keys(self.fd("omni_blk4"), 4).map_err(|e| Error::io("listing omni_blk4", &e))? {
            out.push(Cidr::V4 { addr: k[..4].try_into().unwrap(), prefix: 32 }.to_string());
        }
        for k in sys::keys(self.fd("omni_blk6"), 16).map_err(|e| Error::io("listing omni_blk6", &e))? {
            out.push(Cidr::V6 { addr: k[..16].try_into().unwrap(), prefix: 128 }.to_string());
        }
        for (name, ks) in [("omni_blk4_lpm", 8), ("omni_blk6_lpm", 20)] {
            for k in sys::keys(self.fd(name), ks).map_err(|e| Error::io(format!("listing {name}"), &e))? {
                out.push(Cidr::from_lpm_key(&k).to_string());
            }
        }
        Ok(out)
    }

    /// Per-source token bucket for sources in `cidr`: `pps` packets/s, bucket depth `burst`.
    pub fn set_rate_limit(&self, cidr: &str, pps: u64, burst: u64) -> Result<()> {
        self.check_open()?;
        let c = Cidr::parse("cidr", cidr)?;
        if pps == 0 || pps > 1_000_000_000 {
            return Err(Error::invalid_arg("pps", format!("must be 1..=1000000000, got {pps}")));
        }
        if burst == 0 || burst > 1_000_000_000 {
            return Err(Error::invalid_arg("burst", format!("must be 1..=1000000000, got {burst}")));
        }
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&pps.to_ne_bytes());
        v.extend_from_slice(&burst.to_ne_bytes());
        let name = if matches!(c, Cidr::V4 { .. }) { "omni_rate4" } else { "omni_rate6" };
        sys::update(self.fd(name), &c.lpm_key(), &v, sys::BPF_ANY).map_err(|e| map_write_err(name, &e))
    }

    pub fn clear_rate_limit(&self, cidr: &str) -> Result<bool> {
        self.check_open()?;
        let c = Cidr::parse("cidr", cidr)?;
        let name = if matches!(c, Cidr::V4 { .. }) { "omni_rate4" } else { "omni_rate6" };
        sys::delete(self.fd(name), &c.lpm_key()).map_err(|e| Error::io("clearing rate limit", &e))
    }

    pub fn rate_limits(&self) -> Result<Vec<RateRule>> {
        self.check_open()?;
        let mut out = Vec::new();
        for (name, ks) in [("omni_rate4", 8), ("omni_rate6", 20)] {
            for k in sys::keys(self.fd(name), ks).map_err(|e| Error::io("listing rate limits", &e))? {
                let mut v = [0u8; 16];
                if sys::lookup(self.fd(name), &k, &mut v).map_err(|e| Error::io("reading rate limit", &e))? {
                    out.push(RateRule {
                        cidr: Cidr::from_lpm_key(&k).to_string(),
                        pps: u64::from_ne_bytes(v[..8].try_into().unwrap()),
                        burst: u64::from_ne_bytes(v[8..].try_into().unwrap()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Probabilistic drop of `probability` (0..=1) for sources in `cidr`, or for
    /// every packet when `cidr` is None. Probability 0 removes the rule.
    pub fn set_drop(&self, cidr: Option<&str>, probability: f64) -> Result<()> {
        self.check_open()?;
        let w = DropWrite::parse("", cidr, probability)?;
        self.write_drop(&w, w.threshold)
    }

    /// Many drop rules in one call, all-or-nothing: every entry is validated
    /// first (a bad one is refused with its index, `rules[i].…`, before anything
    /// is written); the previous value of every slot is read, then the new ones
    /// are written with one BPF_MAP_UPDATE_BATCH per map (single updates where
    /// the kernel has no batch op) and the removals (probability 0) deleted.
    /// If a write fails, every slot of the call gets its previous value back.
    /// A later entry for the same CIDR wins, as in a loop of set_drop.
    /// Returns how many entries were given.
    pub fn set_drop_many(&self, rules: &[(Option<String>, f64)]) -> Result<usize> {
        self.check_open()?;
        let parsed: Vec<DropWrite> = rules
            .iter()
            .enumerate()
            .map(|(i, (c, p))| DropWrite::parse(&format!("rules[{i}]."), c.as_deref(), *p))
            .collect::<Result<_>>()?;
        // last entry per slot wins
        let mut last: HashMap<(&'static str, Vec<u8>), usize> = HashMap::new();
        for (i, w) in parsed.iter().enumerate() {
            last.insert((w.map, w.key.clone()), i);
        }
        let mut idx: Vec<usize> = last.into_values().collect();
        idx.sort_unstable();
        let writes: Vec<&DropWrite> = idx.iter().map(|&i| &parsed[i]).collect();
        let mut previous = Vec::with_capacity(writes.len());
        for w in &writes {
            previous.push(self.read_drop(w)?);
        }
        let restore = |cause: Error| self.restore_drops(&writes, &previous, cause);
        for map in ["omni_config", "omni_drop4", "omni_drop6"] {
            let (mut keys, mut values) = (Vec::new(), Vec::new());
            for w in writes.iter().filter(|w| w.map == map && (map == "omni_config" || w.threshold != 0)) {
                keys.extend_from_slice(&w.key);
                let mut v = [0u8; 8];
                v[..4].copy_from_slice(&w.threshold.to_ne_bytes());
                values.extend_from_slice(&v);
            }
            if let Some(first) = writes.iter().find(|w| w.map == map) {
                if !keys.is_empty() {
                    if let (_, Err(e)) = sys::update_batch(self.fd(map), &keys, &values, first.key.len(), 8) {
                        return Err(restore(map_write_err(map, &e)));
                    }
                }
            }
            // removals of slots that hold a rule (absent ones need nothing)
            let gone: Vec<u8> = writes
                .iter()
                .zip(&previous)
                .filter(|(w, old)| w.map == map && map != "omni_config" && w.threshold == 0 && **old != 0)
                .flat_map(|(w, _)| w.key.iter().copied())
                .collect();
            if let Some(first) = writes.iter().find(|w| w.map == map) {
                if let Err(e) = sys::delete_batch_present(self.fd(map), &gone, first.key.len()) {
                    return Err(restore(Error::io("clearing drop rules", &e)));
                }
            }
        }
        Ok(rules.len())
    }

    /// The current threshold of a drop rule's slot (0 when absent).
    fn read_drop(&self, w: &DropWrite) -> Result<u32> {
        let mut v = [0u8; 8];
        let found = sys::lookup(self.fd(w.map), &w.key, &mut v).map_err(|e| Error::io("reading drop rule", &e))?;
        Ok(if found { u32::from_ne_bytes(v[..4].try_into().unwrap()) } else { 0 })
    }

    fn write_drop(&self, w: &DropWrite, threshold: u32) -> Result<()> {
        if w.map != "omni_config" && threshold == 0 {
            sys::delete(self.fd(w.map), &w.key).map_err(|e| Error::io("clearing drop rule", &e))?;
            return Ok(());
        }
        let mut v = [0u8; 8];
        v[..4].copy_from_slice(&threshold.to_ne_bytes());
        sys::update(self.fd(w.map), &w.key, &v, sys::BPF_ANY).map_err(|e| map_write_err(w.map, &e))
    }

    /// Puts back the previous values of the entries a failed batch wrote, newest
    /// first; a restore that fails is reported with the cause, never dropped.
    fn restore_drops(&self, written: &[&DropWrite], previous: &[u32], cause: Error) -> Error {
        let failed: Vec<String> =
            written.iter().zip(previous).rev().filter_map(|(w, old)| self.write_drop(w, *old).err().map(|e| e.message)).collect();
        if failed.is_empty() {
            return Error::new(cause.code, format!("{}; nothing from this call was kept", cause.message));
        }
        Error::new(
            cause.code,
            format!(
                "{}; restoring this call's earlier rules also failed ({}), so part of it stayed applied: check with dropRules()",
                cause.message,
                failed.join(", ")
            ),
        )
    }

    pub fn drop_rules(&self) -> Result<Vec<DropRule>> {
        self.check_open()?;
        let mut out = Vec::new();
        let mut v = [0u8; 8];
        if sys::lookup(self.fd("omni_config"), &0u32.to_ne_bytes(), &mut v).map_err(|e| Error::io("reading config", &e))? {
            let t = u32::from_ne_bytes(v[..4].try_into().unwrap());
            if t != 0 {
                out.push(DropRule { cidr: None, probability: t as f64 / u32::MAX as f64 });
            }
        }
        for (name, ks) in [("omni_drop4", 8), ("omni_drop6", 20)] {
            for k in sys::keys(self.fd(name), ks).map_err(|e| Error::io("listing drop rules", &e))? {
                if sys::lookup(self.fd(name), &k, &mut v).map_err(|e| Error::io("reading drop rule", &e))? {
                    let t = u32::from_ne_bytes(v[..4].try_into().unwrap());
                    out.push(DropRule { cidr: Some(Cidr::from_lpm_key(&k).to_string()), probability: t as f64 / u32::MAX as f64 });
                }
            }
        }
        Ok(out)
    }

    /// Counters summed over all possible CPUs.
    pub fn stats(&self) -> Result<XdpStats> {
        self.check_open()?;
        let ncpu = sys::possible_cpus();
        let mut buf = vec![0u8; 16 * ncpu];
        let mut read = |reason: u32| -> Result<Counter> {
            buf.iter_mut().for_each(|b| *b = 0);
            sys::lookup(self.fd("omni_stats"), &reason.to_ne_bytes(), &mut buf).map_err(|e| Error::io("reading omni_stats", &e))?;
            let mut c = Counter::default();
            for cpu in 0..ncpu {
                let o = cpu * 16;
                c.packets += u64::from_ne_bytes(buf[o..o + 8].try_into().unwrap());
                c.bytes += u64::from_ne_bytes(buf[o + 8..o + 16].try_into().unwrap());
            }
            Ok(c)
        };
        Ok(XdpStats { passed: read(0)?, blocked: read(1)?, rate_limited: read(2)?, random_drop: read(3)? })
    }

    /// Zeroes every counter.
    pub fn reset_stats(&self) -> Result<()> {
        self.check_open()?;
        let zero = vec![0u8; 16 * sys::possible_cpus()];
        for r in 0u32..4 {
            sys::update(self.fd("omni_stats"), &r.to_ne_bytes(), &zero, sys::BPF_ANY).map_err(|e| map_write_err("omni_stats", &e))?;
        }
        Ok(())
    }

    /// Runs the program on `frame` through BPF_PROG_TEST_RUN; returns (XDP action, avg ns per run).
    pub fn test_run(&self, frame: &[u8], repeat: u32) -> Result<(u32, u32)> {
        self.check_open()?;
        if frame.is_empty() || frame.len() > 65535 {
            return Err(Error::invalid_arg("frame", format!("length must be 1..=65535 bytes, got {}", frame.len())));
        }
        let fd: BorrowedFd<'_> = if let Some(e) = &self.ebpf {
            e.program(PROG).unwrap().fd().map_err(|e| aya_err("program fd", e))?.as_fd()
        } else if let Some(fd) = &self.prog_fd {
            fd.as_fd()
        } else {
            return Err(Error::new(code::UNSUPPORTED, "filter: program of this pinned filter could not be reopened for test runs"));
        };
        let r = sys::prog_test_run(fd, frame, repeat.max(1)).map_err(|e| Error::io("BPF_PROG_TEST_RUN", &e))?;
        Ok((r.retval, r.duration_ns))
    }

    /// Detaches the program, unpins everything and frees the maps. Detaching
    /// an already detached or closed handle does nothing (like `close`).
    pub fn detach(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if let Some(link) = self.link.take() {
            // a pinned link persists while any fd or pin exists: detach explicitly
            sys::link_detach(link.as_fd()).map_err(|e| errno_error("detaching XDP link", &e))?;
        }
        if let Some(dir) = self.pin_dir.take() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(format!("removing {}", dir.display()), &e))?;
            // the namespace's directory goes with its last filter
            if let Some(ns_dir) = dir.parent() {
                match std::fs::remove_dir(ns_dir) {
                    Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::ENOENT)) => {
                        return Err(Error::io(format!("removing {}", ns_dir.display()), &e));
                    }
                    _ => {}
                }
            }
        }
        self.maps.clear();
        self.ebpf = None;
        self.prog_fd = None;
        Ok(())
    }

    /// Releases this handle but leaves a pinned filter in place.
    pub fn close(&mut self) {
        self.closed = true;
        self.link = None;
        self.maps.clear();
        self.ebpf = None;
        self.prog_fd = None;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

/// One validated drop rule: the map it lives in, its key, and its threshold
/// (probability scaled to u32; 0 removes a CIDR rule).
struct DropWrite {
    map: &'static str,
    key: Vec<u8>,
    threshold: u32,
}

impl DropWrite {
    /// `arg` prefixes the argument names in errors (`rules[3].` for a batch).
    fn parse(arg: &str, cidr: Option<&str>, probability: f64) -> Result<DropWrite> {
        if !(0.0..=1.0).contains(&probability) || probability.is_nan() {
            return Err(Error::invalid_arg(&format!("{arg}probability"), format!("must be within 0..=1, got {probability}")));
        }
        let threshold = (probability * u32::MAX as f64).round() as u32;
        Ok(match cidr {
            None => DropWrite { map: "omni_config", key: 0u32.to_ne_bytes().to_vec(), threshold },
            Some(s) => {
                let c = Cidr::parse(&format!("{arg}cidr"), s)?;
                let map = if matches!(c, Cidr::V4 { .. }) { "omni_drop4" } else { "omni_drop6" };
                DropWrite { map, key: c.lpm_key(), threshold }
            }
        })
    }
}

fn map_write_err(name: &str, e: &std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::E2BIG) | Some(libc::ENOSPC) | Some(libc::ENOMEM) => {
            Error::limit("cidrs", format!("map {name} is full or out of memory ({e})"))
        }
        _ => errno_error(&format!("writing map {name}"), e),
    }
}

/// Filters pinned under /sys/fs/bpf/omnitide/ for the caller's network namespace.
pub fn list() -> Result<Vec<PinnedFilter>> {
    let netns = pins::netns_inode()?;
    let mut out = Vec::new();
    for e in pins::entries(&pin_root(), netns)? {
        let Some((link, mode)) = pins::link_file(&e.dir) else {
            continue;
        };
        out.push(PinnedFilter {
            attached: pins::link_ifindex(&link).is_some_and(|i| i == e.ifindex),
            iface: e.iface,
            ifindex: e.ifindex,
            netns,
            path: link.display().to_string(),
            mode,
        });
    }
    out.sort_by(|a, b| a.iface.cmp(&b.iface));
    Ok(out)
}
