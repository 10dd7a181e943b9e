//! Bindings for `omnitide-kernel` (XDP filter, cgroup v2, cgroup BPF policy).
//! Conversion only: every decision lives in the crate.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::{code, Error as OErr, Result as OResult};
use omnitide_kernel::cgroup::{self, Cgroup, CgroupLimits, CpuLimit, IoLimit};
use omnitide_kernel::cgroup_batch;
use omnitide_kernel::cgroup_bpf::{self as cgb, CgroupPolicy};
use omnitide_kernel::xdp::{self, Mode, XdpFilter};

use crate::error::guard;
use crate::task;

fn lock<T>(m: &Mutex<T>) -> OResult<MutexGuard<'_, T>> {
    m.lock().map_err(|_| OErr::internal("kernel handle lock poisoned by an earlier panic"))
}

fn ms(v: Option<u32>) -> Duration {
    Duration::from_millis(v.unwrap_or(5000) as u64)
}

// ---------------------------------------------------------------- XDP

#[napi(object)]
pub struct XdpCounterJs {
    pub packets: f64,
    pub bytes: f64,
}

#[napi(object)]
pub struct XdpStatsJs {
    pub passed: XdpCounterJs,
    pub blocked: XdpCounterJs,
    pub rate_limited: XdpCounterJs,
    pub random_drop: XdpCounterJs,
}

#[napi(object)]
pub struct XdpInfoJs {
    pub iface: Option<String>,
    pub ifindex: u32,
    pub mode: Option<String>,
    pub pinned: bool,
    pub pin_path: Option<String>,
}

#[napi(object)]
pub struct XdpRateRuleJs {
    pub cidr: String,
    pub pps: f64,
    pub burst: f64,
}

#[napi(object)]
pub struct XdpDropRuleJs {
    pub cidr: Option<String>,
    pub probability: f64,
}

#[napi(object)]
pub struct XdpPinnedJs {
    pub iface: String,
    pub path: String,
    pub mode: String,
    pub iface_exists: bool,
    pub ifindex: u32,
    /// inode of the network namespace (always the caller's)
    pub netns: f64,
}

#[napi(object)]
pub struct XdpTestRunJs {
    /// XDP action: 0 aborted, 1 drop, 2 pass, 3 tx, 4 redirect
    pub action: u32,
    /// average nanoseconds per run, measured by the kernel
    pub duration_ns: u32,
}

fn c(x: xdp::Counter) -> XdpCounterJs {
    XdpCounterJs { packets: x.packets as f64, bytes: x.bytes as f64 }
}

#[napi]
pub struct XdpFilterHandle {
    inner: Arc<Mutex<XdpFilter>>,
}

fn wrap(f: XdpFilter) -> XdpFilterHandle {
    XdpFilterHandle { inner: Arc::new(Mutex::new(f)) }
}

fn whole(arg: &str, v: f64) -> OResult<u64> {
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9.007_199_254_740_991e15) {
        return Err(OErr::invalid_arg(arg, format!("must be a non-negative integer, got {v}")));
    }
    Ok(v as u64)
}

#[napi]
pub fn kernel_xdp_attach(iface: String, mode: Option<String>, pin: Option<bool>) -> Result<XdpFilterHandle> {
    guard(|| {
        let mode = Mode::parse(mode.as_deref().unwrap_or("auto"))?;
        Ok(wrap(XdpFilter::attach(&iface, mode, pin.unwrap_or(false))?))
    })
}

/// Loads the filter without attaching it (BPF_PROG_TEST_RUN, benchmarks).
#[napi]
pub fn kernel_xdp_load() -> Result<XdpFilterHandle> {
    guard(|| Ok(wrap(XdpFilter::load_unattached()?)))
}

#[napi]
pub fn kernel_xdp_open(iface: String) -> Result<XdpFilterHandle> {
    guard(|| Ok(wrap(XdpFilter::open(&iface)?)))
}

#[napi]
pub fn kernel_xdp_list() -> Result<Vec<XdpPinnedJs>> {
    guard(|| {
        Ok(xdp::list()?
            .into_iter()
            .map(|p| XdpPinnedJs {
                iface: p.iface,
                path: p.path,
                mode: p.mode,
                iface_exists: p.attached,
                ifindex: p.ifindex,
                netns: p.netns as f64,
            })
            .collect())
    })
}

#[napi]
impl XdpFilterHandle {
    #[napi]
    pub fn info(&self) -> Result<XdpInfoJs> {
        guard(|| {
            let f = lock(&self.inner)?;
            Ok(XdpInfoJs {
                iface: f.iface().map(String::from),
                ifindex: f.ifindex(),
                mode: f.mode().map(String::from),
                pinned: f.pinned(),
                pin_path: f.pin_path(),
            })
        })
    }

    #[napi]
    pub fn is_closed(&self) -> Result<bool> {
        guard(|| Ok(lock(&self.inner)?.is_closed()))
    }

    #[napi]
    pub fn block(&self, cidrs: Vec<String>) -> Result<u32> {
        guard(|| Ok(lock(&self.inner)?.block(&cidrs)? as u32))
    }

    #[napi]
    pub fn block_async<'e>(&self, env: &'e Env, cidrs: Vec<String>) -> Result<PromiseRaw<'e, u32>> {
        let inner = self.inner.clone();
        task::spawn(env, move || Ok(lock(&inner)?.block(&cidrs)? as u32), std::convert::identity)
    }

    /// Packed IPv4 /32s, 4 bytes each in network order: the bulk path.
    #[napi]
    pub fn block_ipv4_packed_async<'e>(&self, env: &'e Env, addrs: Uint8Array) -> Result<PromiseRaw<'e, u32>> {
        let inner = self.inner.clone();
        let addrs = addrs.to_vec();
        task::spawn(env, move || Ok(lock(&inner)?.block_ipv4_packed(&addrs)? as u32), std::convert::identity)
    }

    #[napi]
    pub fn unblock(&self, cidrs: Vec<String>) -> Result<u32> {
        guard(|| Ok(lock(&self.inner)?.unblock(&cidrs)? as u32))
    }

    #[napi]
    pub fn list_blocked(&self) -> Result<Vec<String>> {
        guard(|| lock(&self.inner)?.list_blocked())
    }

    #[napi]
    pub fn set_rate_limit(&self, cidr: String, pps: f64, burst: f64) -> Result<()> {
        guard(|| lock(&self.inner)?.set_rate_limit(&cidr, whole("pps", pps)?, whole("burst", burst)?))
    }

    #[napi]
    pub fn clear_rate_limit(&self, cidr: String) -> Result<bool> {
        guard(|| lock(&self.inner)?.clear_rate_limit(&cidr))
    }

    #[napi]
    pub fn rate_limits(&self) -> Result<Vec<XdpRateRuleJs>> {
        guard(|| {
            Ok(lock(&self.inner)?
                .rate_limits()?
                .into_iter()
                .map(|r| XdpRateRuleJs { cidr: r.cidr, pps: r.pps as f64, burst: r.burst as f64 })
                .collect())
        })
    }

    #[napi]
    pub fn set_drop(&self, cidr: Option<String>, probability: f64) -> Result<()> {
        guard(|| lock(&self.inner)?.set_drop(cidr.as_deref(), probability))
    }

    /// All-or-nothing batch of drop rules (a bad entry refuses the whole batch with its index).
    #[napi]
    pub fn set_drop_many(&self, rules: Vec<XdpDropRuleJs>) -> Result<u32> {
        let rules: Vec<(Option<String>, f64)> = rules.into_iter().map(|r| (r.cidr, r.probability)).collect();
        guard(|| Ok(lock(&self.inner)?.set_drop_many(&rules)? as u32))
    }

    #[napi]
    pub fn set_drop_many_async<'e>(&self, env: &'e Env, rules: Vec<XdpDropRuleJs>) -> Result<PromiseRaw<'e, u32>> {
        let inner = self.inner.clone();
        let rules: Vec<(Option<String>, f64)> = rules.into_iter().map(|r| (r.cidr, r.probability)).collect();
        task::spawn(env, move || Ok(lock(&inner)?.set_drop_many(&rules)? as u32), std::convert::identity)
    }

    #[napi]
    pub fn drop_rules(&self) -> Result<Vec<XdpDropRuleJs>> {
        guard(|| {
            Ok(lock(&self.inner)?.drop_rules()?.into_iter().map(|r| XdpDropRuleJs { cidr: r.cidr, probability: r.probability }).collect())
        })
    }

    #[napi]
    pub fn stats(&self) -> Result<XdpStatsJs> {
        guard(|| {
            let s = lock(&self.inner)?.stats()?;
            Ok(XdpStatsJs { passed: c(s.passed), blocked: c(s.blocked), rate_limited: c(s.rate_limited), random_drop: c(s.random_drop) })
        })
    }

    #[napi]
    pub fn reset_stats(&self) -> Result<()> {
        guard(|| lock(&self.inner)?.reset_stats())
    }

    #[napi]
    pub fn test_run(&self, frame: &[u8], repeat: Option<u32>) -> Result<XdpTestRunJs> {
        guard(|| {
            let (action, duration_ns) = lock(&self.inner)?.test_run(frame, repeat.unwrap_or(1))?;
            Ok(XdpTestRunJs { action, duration_ns })
        })
    }

    #[napi]
    pub fn detach(&self) -> Result<()> {
        guard(|| lock(&self.inner)?.detach())
    }

    /// Drops this handle's kernel references; a pinned filter stays attached.
    #[napi]
    pub fn close(&self) -> Result<()> {
        guard(|| {
            lock(&self.inner)?.close();
            Ok(())
        })
    }
}

// ---------------------------------------------------------------- cgroup v2

#[napi(object)]
pub struct CgroupCpuJs {
    pub quota_us: Option<f64>,
    pub period_us: Option<f64>,
    pub weight: Option<f64>,
}

#[napi(object)]
pub struct CgroupIoJs {
    pub device: String,
    pub rbps: Option<f64>,
    pub wbps: Option<f64>,
    pub riops: Option<f64>,
    pub wiops: Option<f64>,
}

/// Memory and pids values are decimal strings or "max".
#[napi(object)]
pub struct CgroupLimitsJs {
    pub cpu: Option<CgroupCpuJs>,
    pub memory_max: Option<String>,
    pub memory_high: Option<String>,
    pub pids_max: Option<String>,
    pub io: Option<Vec<CgroupIoJs>>,
}

#[napi(object)]
pub struct PressureJs {
    pub resource: String,
    pub some_avg10: f64,
    pub some_avg60: f64,
    pub some_avg300: f64,
    pub some_total_us: f64,
    pub full_avg10: f64,
    pub full_avg60: f64,
    pub full_avg300: f64,
    pub full_total_us: f64,
}

#[napi(object)]
pub struct KvJs {
    pub key: String,
    pub value: f64,
}

#[napi(object)]
pub struct CgroupStatsJs {
    pub cpu: Vec<KvJs>,
    pub memory_current: Option<f64>,
    pub pids_current: Option<f64>,
    pub pressure: Vec<PressureJs>,
    pub populated: bool,
    pub frozen: bool,
}

fn max_or(arg: &str, v: Option<String>) -> OResult<Option<Option<u64>>> {
    match v {
        None => Ok(None),
        Some(s) if s == "max" => Ok(Some(None)),
        Some(s) => s
            .parse::<u64>()
            .map(|x| Some(Some(x)))
            .map_err(|_| OErr::invalid_arg(arg, format!("must be a byte/count integer or 'max', got {s:?}"))),
    }
}

fn opt_whole(arg: &str, v: Option<f64>) -> OResult<Option<u64>> {
    v.map(|x| whole(arg, x)).transpose()
}

fn limits(l: CgroupLimitsJs) -> OResult<CgroupLimits> {
    let cpu = match l.cpu {
        None => None,
        Some(c) => match (c.weight, c.quota_us, c.period_us) {
            (Some(w), None, None) => Some(CpuLimit::Weight(whole("cpu.weight", w)?)),
            (None, q, p) => {
                Some(CpuLimit::Max { quota_us: opt_whole("cpu.quotaUs", q)?, period_us: opt_whole("cpu.periodUs", p)?.unwrap_or(100_000) })
            }
            _ => return Err(OErr::invalid_arg("cpu", "give either { weight } or { quotaUs, periodUs }, not both")),
        },
    };
    let mut io = Vec::new();
    for (i, d) in l.io.unwrap_or_default().into_iter().enumerate() {
        io.push(IoLimit {
            device: d.device,
            rbps: opt_whole(&format!("io[{i}].rbps"), d.rbps)?,
            wbps: opt_whole(&format!("io[{i}].wbps"), d.wbps)?,
            riops: opt_whole(&format!("io[{i}].riops"), d.riops)?,
            wiops: opt_whole(&format!("io[{i}].wiops"), d.wiops)?,
        });
    }
    Ok(CgroupLimits {
        cpu,
        memory_max: max_or("memory.max", l.memory_max)?,
        memory_high: max_or("memory.high", l.memory_high)?,
        pids_max: max_or("pids.max", l.pids_max)?,
        io,
    })
}

#[napi]
pub struct CgroupHandle {
    inner: Arc<Mutex<Cgroup>>,
}

#[napi]
pub fn kernel_cgroup_root() -> Result<String> {
    guard(|| Ok(cgroup::root()?.display().to_string()))
}

#[napi]
pub fn kernel_cgroup_create(path: String) -> Result<CgroupHandle> {
    guard(|| Ok(CgroupHandle { inner: Arc::new(Mutex::new(Cgroup::create(&path)?)) }))
}

#[napi]
pub fn kernel_cgroup_open(path: String) -> Result<CgroupHandle> {
    guard(|| Ok(CgroupHandle { inner: Arc::new(Mutex::new(Cgroup::open(&path)?)) }))
}

/// Freezes (`frozen`) or thaws every cgroup of `paths` in one call; waits for
/// cgroup.events when `wait` (up to `timeout_ms`, default 5000).
#[napi]
pub fn kernel_cgroup_set_frozen_many<'e>(
    env: &'e Env,
    paths: Vec<String>,
    frozen: bool,
    wait: bool,
    timeout_ms: Option<u32>,
) -> Result<PromiseRaw<'e, ()>> {
    let wait = wait.then(|| ms(timeout_ms));
    task::spawn(env, move || cgroup_batch::set_frozen_many(&paths, frozen, wait), std::convert::identity)
}

#[napi]
impl CgroupHandle {
    #[napi]
    pub fn path(&self) -> Result<String> {
        guard(|| Ok(lock(&self.inner)?.path()))
    }

    #[napi]
    pub fn fs_path(&self) -> Result<String> {
        guard(|| Ok(lock(&self.inner)?.fs_path().display().to_string()))
    }

    #[napi]
    pub fn controllers(&self) -> Result<Vec<String>> {
        guard(|| lock(&self.inner)?.controllers())
    }

    #[napi]
    pub fn set_limits(&self, l: CgroupLimitsJs) -> Result<()> {
        guard(|| lock(&self.inner)?.set_limits(&limits(l)?))
    }

    #[napi]
    pub fn add_process(&self, pid: u32) -> Result<()> {
        guard(|| lock(&self.inner)?.add_process(pid))
    }

    #[napi]
    pub fn processes(&self) -> Result<Vec<u32>> {
        guard(|| lock(&self.inner)?.processes())
    }

    #[napi]
    pub fn children(&self) -> Result<Vec<String>> {
        guard(|| lock(&self.inner)?.children())
    }

    #[napi]
    pub fn freeze<'e>(&self, env: &'e Env, timeout_ms: Option<u32>) -> Result<PromiseRaw<'e, ()>> {
        let inner = self.inner.clone();
        task::spawn(env, move || lock(&inner)?.freeze(ms(timeout_ms)), std::convert::identity)
    }

    #[napi]
    pub fn thaw<'e>(&self, env: &'e Env, timeout_ms: Option<u32>) -> Result<PromiseRaw<'e, ()>> {
        let inner = self.inner.clone();
        task::spawn(env, move || lock(&inner)?.thaw(ms(timeout_ms)), std::convert::identity)
    }

    #[napi]
    pub fn kill<'e>(&self, env: &'e Env, timeout_ms: Option<u32>) -> Result<PromiseRaw<'e, ()>> {
        let inner = self.inner.clone();
        task::spawn(env, move || lock(&inner)?.kill(ms(timeout_ms)), std::convert::identity)
    }

    #[napi]
    pub fn remove<'e>(&self, env: &'e Env, force: Option<bool>, timeout_ms: Option<u32>) -> Result<PromiseRaw<'e, ()>> {
        let inner = self.inner.clone();
        task::spawn(env, move || lock(&inner)?.remove(force.unwrap_or(false), ms(timeout_ms)), std::convert::identity)
    }

    #[napi]
    pub fn is_frozen(&self) -> Result<bool> {
        guard(|| lock(&self.inner)?.is_frozen())
    }

    #[napi]
    pub fn stats(&self) -> Result<CgroupStatsJs> {
        guard(|| {
            let s = lock(&self.inner)?.stats()?;
            Ok(CgroupStatsJs {
                cpu: s.cpu.into_iter().map(|(key, v)| KvJs { key, value: v as f64 }).collect(),
                memory_current: s.memory_current.map(|v| v as f64),
                pids_current: s.pids_current.map(|v| v as f64),
                pressure: s
                    .pressure
                    .into_iter()
                    .map(|(resource, p)| PressureJs {
                        resource,
                        some_avg10: p.some_avg10,
                        some_avg60: p.some_avg60,
                        some_avg300: p.some_avg300,
                        some_total_us: p.some_total_us as f64,
                        full_avg10: p.full_avg10,
                        full_avg60: p.full_avg60,
                        full_avg300: p.full_avg300,
                        full_total_us: p.full_total_us as f64,
                    })
                    .collect(),
                populated: s.populated,
                frozen: s.frozen,
            })
        })
    }

    #[napi]
    pub fn attach_policy(&self, spec: PolicySpecJs) -> Result<CgroupPolicyHandle> {
        guard(|| {
            let cg = lock(&self.inner)?;
            if cg.is_removed() {
                return Err(OErr::new(code::CLOSED, format!("cgroup: {} was removed", cg.path())));
            }
            let skb = |s: Option<SkbPolicyJs>| {
                s.map(|s| cgb::SkbPolicy { deny_cidrs: s.deny_cidrs.unwrap_or_default(), count: s.count.unwrap_or(true) })
            };
            let spec = cgb::PolicySpec {
                ingress: skb(spec.ingress),
                egress: skb(spec.egress),
                connect: spec
                    .connect
                    .map(|c| cgb::ConnectPolicy { deny_ports: c.deny_ports.unwrap_or_default(), allow_cidrs: c.allow_cidrs }),
            };
            Ok(CgroupPolicyHandle { inner: Mutex::new(CgroupPolicy::attach(cg.fs_path(), &spec)?) })
        })
    }
}

#[napi(object)]
pub struct SkbPolicyJs {
    pub deny_cidrs: Option<Vec<String>>,
    pub count: Option<bool>,
}

#[napi(object)]
pub struct ConnectPolicyJs {
    pub deny_ports: Option<Vec<u32>>,
    pub allow_cidrs: Option<Vec<String>>,
}

#[napi(object)]
pub struct PolicySpecJs {
    pub ingress: Option<SkbPolicyJs>,
    pub egress: Option<SkbPolicyJs>,
    pub connect: Option<ConnectPolicyJs>,
}

#[napi(object)]
pub struct TrafficCounterJs {
    pub packets: f64,
    pub bytes: f64,
    pub denied_packets: f64,
    pub denied_bytes: f64,
}

#[napi(object)]
pub struct TrafficStatsJs {
    pub ingress: TrafficCounterJs,
    pub egress: TrafficCounterJs,
    pub connect: TrafficCounterJs,
}

fn tc(c: cgb::TrafficCounter) -> TrafficCounterJs {
    TrafficCounterJs {
        packets: c.packets as f64,
        bytes: c.bytes as f64,
        denied_packets: c.denied_packets as f64,
        denied_bytes: c.denied_bytes as f64,
    }
}

#[napi]
pub struct CgroupPolicyHandle {
    inner: Mutex<CgroupPolicy>,
}

#[napi]
impl CgroupPolicyHandle {
    #[napi]
    pub fn stats(&self) -> Result<TrafficStatsJs> {
        guard(|| {
            let s = lock(&self.inner)?.stats()?;
            Ok(TrafficStatsJs { ingress: tc(s.ingress), egress: tc(s.egress), connect: tc(s.connect) })
        })
    }

    #[napi]
    pub fn detach(&self) -> Result<()> {
        guard(|| {
            let mut p = lock(&self.inner)?;
            if p.is_closed() {
                return Err(OErr::new(code::CLOSED, "policy: already detached"));
            }
            p.detach();
            Ok(())
        })
    }
}

// ---------------------------------------------------------------- doctor

#[napi(object)]
pub struct DoctorCheckJs {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    pub disables: String,
    /// false: a missing feature that only disables what `disables` names
    pub required: bool,
}

#[napi]
pub fn kernel_doctor() -> Result<Vec<DoctorCheckJs>> {
    guard(|| {
        Ok(omnitide_kernel::doctor::checks()
            .into_iter()
            .map(|c| DoctorCheckJs { name: c.name, ok: c.ok, detail: c.detail, disables: c.disables, required: c.required })
            .collect())
    })
}
