//! cgroup BPF policy: cgroup_skb ingress/egress (accounting + CIDR deny) and
//! cgroup/connect4 + connect6 (port deny, destination allow-list). One object per
//! cgroup. cgroup bpf_links always coexist with other programs (the kernel wants
//! flags 0 for links, i.e. CgroupAttachMode::Single, which still means "multi" for links).
//! cgroup; links are bpf_links owned by the policy (dropping it detaches).

use crate::net::Cidr;
use crate::{aya_err, sys};
use aya::maps::{Map, MapData};
use aya::programs::cgroup_skb::CgroupSkbLink;
use aya::programs::cgroup_sock_addr::CgroupSockAddrLink;
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, CgroupSockAddr};
use aya::Ebpf;
use omnitide_common::{code, Error, Result};
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

static CG_OBJ: &[u8] = aya::include_bytes_aligned!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../kernel/build/cgroup_policy.bpf.o"));

use crate::maps::CG_MAPS;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SkbPolicy {
    pub deny_cidrs: Vec<String>,
    pub count: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectPolicy {
    pub deny_ports: Vec<u32>,
    /// When set, connect() is only allowed to these destinations (per family:
    /// an allow-list with only IPv4 entries leaves IPv6 unrestricted).
    pub allow_cidrs: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicySpec {
    pub ingress: Option<SkbPolicy>,
    pub egress: Option<SkbPolicy>,
    pub connect: Option<ConnectPolicy>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficCounter {
    pub packets: u64,
    pub bytes: u64,
    pub denied_packets: u64,
    pub denied_bytes: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficStats {
    pub ingress: TrafficCounter,
    pub egress: TrafficCounter,
    /// packets = allowed connect() calls, denied_packets = refused ones
    pub connect: TrafficCounter,
}

pub struct CgroupPolicy {
    maps: HashMap<&'static str, MapData>,
    skb_links: Vec<CgroupSkbLink>,
    sock_links: Vec<CgroupSockAddrLink>,
    _ebpf: Option<Ebpf>,
    closed: bool,
}

fn parse(arg: &str, v: &[String]) -> Result<Vec<Cidr>> {
    v.iter().enumerate().map(|(i, s)| Cidr::parse(&format!("{arg}[{i}]"), s)).collect()
}

impl CgroupPolicy {
    pub fn attach(cgroup_dir: &Path, spec: &PolicySpec) -> Result<CgroupPolicy> {
        // validate everything before touching the kernel
        let in_deny = parse("ingress.denyCidrs", spec.ingress.as_ref().map(|s| &s.deny_cidrs[..]).unwrap_or(&[]))?;
        let out_deny = parse("egress.denyCidrs", spec.egress.as_ref().map(|s| &s.deny_cidrs[..]).unwrap_or(&[]))?;
        let allow = match spec.connect.as_ref().and_then(|c| c.allow_cidrs.as_ref()) {
            Some(v) => Some(parse("connect.allowCidrs", v)?),
            None => None,
        };
        let ports = spec.connect.as_ref().map(|c| c.deny_ports.clone()).unwrap_or_default();
        for (i, p) in ports.iter().enumerate() {
            if *p == 0 || *p > 65535 {
                return Err(Error::invalid_arg(&format!("connect.denyPorts[{i}]"), format!("must be 1..=65535, got {p}")));
            }
        }
        if spec.ingress.is_none() && spec.egress.is_none() && spec.connect.is_none() {
            return Err(Error::invalid_arg("policy", "give at least one of ingress, egress, connect"));
        }
        let cg = std::fs::File::open(cgroup_dir).map_err(|e| crate::errno_error(&format!("opening {}", cgroup_dir.display()), &e))?;

        let mut ebpf = Ebpf::load(CG_OBJ).map_err(|e| aya_err("loading cgroup_policy.bpf.o", e))?;
        let mut maps = HashMap::new();
        for (name, _, _) in CG_MAPS {
            let m = ebpf.take_map(name).ok_or_else(|| Error::internal(format!("map {name} missing")))?;
            let d = match m {
                Map::HashMap(d) | Map::LpmTrie(d) | Map::PerCpuArray(d) | Map::Array(d) => d,
                _ => return Err(Error::internal("unexpected map type")),
            };
            maps.insert(*name, d);
        }
        let mut pol = CgroupPolicy { maps, skb_links: vec![], sock_links: vec![], _ebpf: None, closed: false };
        let put = |pol: &CgroupPolicy, name: &str, key: &[u8], val: &[u8]| -> Result<()> {
            sys::update(pol.fd(name), key, val, sys::BPF_ANY).map_err(|e| crate::errno_error(&format!("writing map {name}"), &e))
        };
        for (list, v4, v6) in [(&in_deny, "cg_in_deny4", "cg_in_deny6"), (&out_deny, "cg_out_deny4", "cg_out_deny6")] {
            for c in list {
                put(&pol, if matches!(c, Cidr::V4 { .. }) { v4 } else { v6 }, &c.lpm_key(), &[1])?;
            }
        }
        let (mut a4, mut a6) = (0u32, 0u32);
        if let Some(allow) = &allow {
            for c in allow {
                if matches!(c, Cidr::V4 { .. }) {
                    a4 = 1;
                    put(&pol, "cg_allow4", &c.lpm_key(), &[1])?;
                } else {
                    a6 = 1;
                    put(&pol, "cg_allow6", &c.lpm_key(), &[1])?;
                }
            }
        }
        for p in &ports {
            put(&pol, "cg_deny_ports", &(*p as u16).to_ne_bytes(), &[1])?;
        }
        let mut cfg = Vec::new();
        for v in
            [spec.ingress.as_ref().map(|s| s.count as u32).unwrap_or(0), spec.egress.as_ref().map(|s| s.count as u32).unwrap_or(0), a4, a6]
        {
            cfg.extend_from_slice(&v.to_ne_bytes());
        }
        put(&pol, "cg_config", &0u32.to_ne_bytes(), &cfg)?;

        for (want, prog, at) in [
            (spec.ingress.is_some(), "omni_cg_ingress", CgroupSkbAttachType::Ingress),
            (spec.egress.is_some(), "omni_cg_egress", CgroupSkbAttachType::Egress),
        ] {
            if !want {
                continue;
            }
            let p: &mut CgroupSkb = ebpf.program_mut(prog).unwrap().try_into().map_err(|e| aya_err(prog, e))?;
            p.load().map_err(|e| aya_err(&format!("verifying {prog}"), e))?;
            let id = p.attach(cg.as_fd(), at, CgroupAttachMode::Single).map_err(|e| aya_err(&format!("attaching {prog}"), e))?;
            pol.skb_links.push(p.take_link(id).map_err(|e| aya_err("take_link", e))?);
        }
        if spec.connect.is_some() {
            for prog in ["omni_cg_connect4", "omni_cg_connect6"] {
                let p: &mut CgroupSockAddr = ebpf.program_mut(prog).unwrap().try_into().map_err(|e| aya_err(prog, e))?;
                p.load().map_err(|e| aya_err(&format!("verifying {prog}"), e))?;
                let id = p.attach(cg.as_fd(), CgroupAttachMode::Single).map_err(|e| aya_err(&format!("attaching {prog}"), e))?;
                pol.sock_links.push(p.take_link(id).map_err(|e| aya_err("take_link", e))?);
            }
        }
        pol._ebpf = Some(ebpf);
        Ok(pol)
    }

    fn fd(&self, name: &str) -> BorrowedFd<'_> {
        self.maps[name].fd().as_fd()
    }

    pub fn stats(&self) -> Result<TrafficStats> {
        if self.closed {
            return Err(Error::new(code::CLOSED, "policy: this cgroup policy was detached"));
        }
        let ncpu = sys::possible_cpus();
        let mut buf = vec![0u8; 32 * ncpu];
        let mut read = |dir: u32| -> Result<TrafficCounter> {
            buf.iter_mut().for_each(|b| *b = 0);
            sys::lookup(self.fd("cg_stats"), &dir.to_ne_bytes(), &mut buf).map_err(|e| Error::io("reading cg_stats", &e))?;
            let mut c = TrafficCounter::default();
            let f = |o: usize| u64::from_ne_bytes(buf[o..o + 8].try_into().unwrap());
            for cpu in 0..ncpu {
                let o = cpu * 32;
                c.packets += f(o);
                c.bytes += f(o + 8);
                c.denied_packets += f(o + 16);
                c.denied_bytes += f(o + 24);
            }
            Ok(c)
        };
        Ok(TrafficStats { ingress: read(0)?, egress: read(1)?, connect: read(2)? })
    }

    /// Detaches every program (closing the bpf_links) and frees the maps.
    pub fn detach(&mut self) {
        self.closed = true;
        self.skb_links.clear();
        self.sock_links.clear();
        self._ebpf = None;
        self.maps.clear();
    }

    pub fn is_closed(&self) -> bool {
        self.closed
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
}
