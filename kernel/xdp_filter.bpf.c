// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * omnitide XDP filter: one program per interface, every feature driven by maps.
 * Verdict order: blocklist (exact hash, then LPM) -> per-source rate limit ->
 * probabilistic drop -> pass. Non-IP frames (ARP, ...) and truncated frames pass.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "omnitide_maps.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_EXACT_MAX);
	__type(key, __u32);
	__type(value, __u8);
} omni_blk4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_EXACT_MAX);
	__type(key, __u8[16]);
	__type(value, __u8);
} omni_blk6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_LPM_MAX);
	__type(key, struct omni_lpm_v4);
	__type(value, __u8);
} omni_blk4_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_LPM_MAX);
	__type(key, struct omni_lpm_v6);
	__type(value, __u8);
} omni_blk6_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_RULES_MAX);
	__type(key, struct omni_lpm_v4);
	__type(value, struct omni_rate_rule);
} omni_rate4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_RULES_MAX);
	__type(key, struct omni_lpm_v6);
	__type(value, struct omni_rate_rule);
} omni_rate6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, OMNI_SOURCES_MAX);
	__type(key, struct omni_src_key);
	__type(value, struct omni_bucket);
} omni_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_RULES_MAX);
	__type(key, struct omni_lpm_v4);
	__type(value, struct omni_drop_rule);
} omni_drop4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, OMNI_RULES_MAX);
	__type(key, struct omni_lpm_v6);
	__type(value, struct omni_drop_rule);
} omni_drop6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct omni_config);
} omni_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OMNI_REASON_MAX);
	__type(key, __u32);
	__type(value, struct omni_counter);
} omni_stats SEC(".maps");

static __always_inline int verdict(__u32 reason, __u64 bytes)
{
	struct omni_counter *c = bpf_map_lookup_elem(&omni_stats, &reason);
	if (c) {
		c->packets += 1;
		c->bytes += bytes;
	}
	return reason == OMNI_PASSED ? XDP_PASS : XDP_DROP;
}

#define NSEC 1000000000ULL

/* Returns 1 when the packet exceeds the source's bucket. */
static __always_inline int rate_exceeded(struct omni_rate_rule *rule, struct omni_src_key *src)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 full = rule->burst * NSEC;
	struct omni_bucket *b = bpf_map_lookup_elem(&omni_buckets, src);
	if (!b) {
		struct omni_bucket fresh = { .tokens = full - NSEC, .last_ns = now };
		bpf_map_update_elem(&omni_buckets, src, &fresh, BPF_ANY);
		return 0; /* burst >= 1 is enforced by the loader */
	}
	__u64 elapsed = now > b->last_ns ? now - b->last_ns : 0;
	__u64 tokens = b->tokens;
	if (elapsed >= 4 * NSEC)
		tokens = full;
	else
		tokens += elapsed * rule->pps; /* pps <= 1e9: no overflow */
	if (tokens > full)
		tokens = full;
	b->last_ns = now;
	if (tokens < NSEC) {
		b->tokens = tokens;
		return 1;
	}
	b->tokens = tokens - NSEC;
	return 0;
}

static __always_inline int random_drop(struct omni_drop_rule *rule)
{
	__u32 t = rule ? rule->threshold : 0;
	__u32 key = 0;
	struct omni_config *cfg = bpf_map_lookup_elem(&omni_config, &key);
	if (cfg && cfg->drop_all_threshold > t)
		t = cfg->drop_all_threshold;
	if (t == 0)
		return 0;
	if (t == 0xffffffff)
		return 1;
	return bpf_get_prandom_u32() < t;
}

SEC("xdp")
int omni_xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return verdict(OMNI_PASSED, bytes);

	__u16 proto = eth->h_proto;
	void *l3 = eth + 1;

	/* one 802.1Q / 802.1ad tag */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct { __be16 tci; __be16 proto; } *vlan = l3;
		if ((void *)(vlan + 1) > data_end)
			return verdict(OMNI_PASSED, bytes);
		proto = vlan->proto;
		l3 = vlan + 1;
	}

	struct omni_src_key src = {};
	struct omni_rate_rule *rate = 0;
	struct omni_drop_rule *drop = 0;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end)
			return verdict(OMNI_PASSED, bytes);
		__u32 saddr = ip->saddr;
		if (bpf_map_lookup_elem(&omni_blk4, &saddr))
			return verdict(OMNI_BLOCKED, bytes);
		struct omni_lpm_v4 k4 = { .prefixlen = 32 };
		__builtin_memcpy(k4.addr, &saddr, 4);
		if (bpf_map_lookup_elem(&omni_blk4_lpm, &k4))
			return verdict(OMNI_BLOCKED, bytes);
		rate = bpf_map_lookup_elem(&omni_rate4, &k4);
		drop = bpf_map_lookup_elem(&omni_drop4, &k4);
		src.family = 4;
		__builtin_memcpy(src.addr, &saddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end)
			return verdict(OMNI_PASSED, bytes);
		__u8 saddr[16];
		__builtin_memcpy(saddr, &ip6->saddr, 16);
		if (bpf_map_lookup_elem(&omni_blk6, saddr))
			return verdict(OMNI_BLOCKED, bytes);
		struct omni_lpm_v6 k6 = { .prefixlen = 128 };
		__builtin_memcpy(k6.addr, saddr, 16);
		if (bpf_map_lookup_elem(&omni_blk6_lpm, &k6))
			return verdict(OMNI_BLOCKED, bytes);
		rate = bpf_map_lookup_elem(&omni_rate6, &k6);
		drop = bpf_map_lookup_elem(&omni_drop6, &k6);
		src.family = 6;
		__builtin_memcpy(src.addr, saddr, 16);
	} else {
		return verdict(OMNI_PASSED, bytes);
	}

	if (rate && rate_exceeded(rate, &src))
		return verdict(OMNI_RATE_LIMITED, bytes);
	if (random_drop(drop))
		return verdict(OMNI_RANDOM_DROP, bytes);
	return verdict(OMNI_PASSED, bytes);
}
