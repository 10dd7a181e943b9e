/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Map key/value layouts shared by the omnitide eBPF programs and mirrored in
 * Rust (crates/kernel/src/maps.rs). Every struct is padded explicitly so the
 * layout is identical in C and #[repr(C)] Rust. Change both sides together.
 */
#ifndef OMNITIDE_MAPS_H
#define OMNITIDE_MAPS_H

#include <linux/types.h>

/* ---- XDP filter ---------------------------------------------------------- */

/* Capacity of the exact-match (/32, /128) block hashes and the LPM tries. */
#define OMNI_EXACT_MAX   2000000
#define OMNI_LPM_MAX     262144
#define OMNI_RULES_MAX   65536
#define OMNI_SOURCES_MAX 262144

/* Index into the per-CPU `omni_stats` array: one counter pair per verdict. */
enum omni_reason {
	OMNI_PASSED = 0,
	OMNI_BLOCKED = 1,
	OMNI_RATE_LIMITED = 2,
	OMNI_RANDOM_DROP = 3,
	OMNI_REASON_MAX = 4,
};

struct omni_counter {
	__u64 packets;
	__u64 bytes;
};

/* LPM trie keys: prefixlen first, address bytes in network order. */
struct omni_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct omni_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Rate-limit rule attached to a CIDR: each matching source gets its own bucket. */
struct omni_rate_rule {
	__u64 pps;   /* tokens per second, 1 token = 1 packet */
	__u64 burst; /* bucket depth in packets */
};

/* Per-source bucket state (LRU). Tokens are scaled by 1e9 (token-nanoseconds). */
struct omni_src_key {
	__u32 family; /* 4 or 6 */
	__u8 addr[16];
};

struct omni_bucket {
	__u64 tokens;
	__u64 last_ns;
};

/* Probabilistic drop: probability scaled to 0..=0xffffffff (u32 max = always). */
struct omni_drop_rule {
	__u32 threshold;
	__u32 _pad;
};

/* Global configuration (array index 0). */
struct omni_config {
	__u32 drop_all_threshold; /* probabilistic drop for every packet, 0 = off */
	__u32 flags;
};

/* ---- cgroup policy ------------------------------------------------------- */

enum omni_cg_dir {
	OMNI_CG_INGRESS = 0,
	OMNI_CG_EGRESS = 1,
	OMNI_CG_CONNECT = 2,
	OMNI_CG_DIR_MAX = 3,
};

struct omni_cg_counter {
	__u64 packets;
	__u64 bytes;
	__u64 denied_packets;
	__u64 denied_bytes;
};

/* cgroup policy switches (array index 0). */
struct omni_cg_config {
	__u32 count_ingress;
	__u32 count_egress;
	__u32 allow_v4_enabled; /* connect4: only allow destinations in cg_allow_v4 */
	__u32 allow_v6_enabled;
};

#endif
