//! Rust mirror of kernel/omnitide_maps.h. The layouts are #[repr(C)] with the
//! same explicit padding; `layout_matches_loaded_objects` (tests/maps_layout.rs)
//! checks every size against the maps the kernel created from the .o files.

use std::mem::size_of;

pub const OMNI_PASSED: u32 = 0;
pub const OMNI_BLOCKED: u32 = 1;
pub const OMNI_RATE_LIMITED: u32 = 2;
pub const OMNI_RANDOM_DROP: u32 = 3;
pub const OMNI_REASON_MAX: u32 = 4;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniCounter {
    pub packets: u64,
    pub bytes: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniLpmV4 {
    pub prefixlen: u32,
    pub addr: [u8; 4],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniLpmV6 {
    pub prefixlen: u32,
    pub addr: [u8; 16],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniRateRule {
    pub pps: u64,
    pub burst: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniSrcKey {
    pub family: u32,
    pub addr: [u8; 16],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniBucket {
    pub tokens: u64,
    pub last_ns: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniDropRule {
    pub threshold: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniConfig {
    pub drop_all_threshold: u32,
    pub flags: u32,
}

pub const OMNI_CG_INGRESS: u32 = 0;
pub const OMNI_CG_EGRESS: u32 = 1;
pub const OMNI_CG_CONNECT: u32 = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniCgCounter {
    pub packets: u64,
    pub bytes: u64,
    pub denied_packets: u64,
    pub denied_bytes: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct OmniCgConfig {
    pub count_ingress: u32,
    pub count_egress: u32,
    pub allow_v4_enabled: u32,
    pub allow_v6_enabled: u32,
}

/// (map name, key size, value size) of xdp_filter.bpf.o, from the mirrored layouts.
pub const XDP_MAPS: &[(&str, usize, usize)] = &[
    ("omni_blk4", 4, 1),
    ("omni_blk6", 16, 1),
    ("omni_blk4_lpm", size_of::<OmniLpmV4>(), 1),
    ("omni_blk6_lpm", size_of::<OmniLpmV6>(), 1),
    ("omni_rate4", size_of::<OmniLpmV4>(), size_of::<OmniRateRule>()),
    ("omni_rate6", size_of::<OmniLpmV6>(), size_of::<OmniRateRule>()),
    ("omni_buckets", size_of::<OmniSrcKey>(), size_of::<OmniBucket>()),
    ("omni_drop4", size_of::<OmniLpmV4>(), size_of::<OmniDropRule>()),
    ("omni_drop6", size_of::<OmniLpmV6>(), size_of::<OmniDropRule>()),
    ("omni_config", 4, size_of::<OmniConfig>()),
    ("omni_stats", 4, size_of::<OmniCounter>()),
];

/// (map name, key size, value size) of cgroup_policy.bpf.o.
pub const CG_MAPS: &[(&str, usize, usize)] = &[
    ("cg_in_deny4", size_of::<OmniLpmV4>(), 1),
    ("cg_in_deny6", size_of::<OmniLpmV6>(), 1),
    ("cg_out_deny4", size_of::<OmniLpmV4>(), 1),
    ("cg_out_deny6", size_of::<OmniLpmV6>(), 1),
    ("cg_allow4", size_of::<OmniLpmV4>(), 1),
    ("cg_allow6", size_of::<OmniLpmV6>(), 1),
    ("cg_deny_ports", 2, 1),
    ("cg_config", 4, size_of::<OmniCgConfig>()),
    ("cg_stats", 4, size_of::<OmniCgCounter>()),
];

const _: () = {
    assert!(size_of::<OmniLpmV4>() == 8);
    assert!(size_of::<OmniLpmV6>() == 20);
    assert!(size_of::<OmniRateRule>() == 16);
    assert!(size_of::<OmniSrcKey>() == 20);
    assert!(size_of::<OmniBucket>() == 16);
    assert!(size_of::<OmniDropRule>() == 8);
    assert!(size_of::<OmniCounter>() == 16);
    assert!(size_of::<OmniCgCounter>() == 32);
    assert!(size_of::<OmniCgConfig>() == 16);
};
