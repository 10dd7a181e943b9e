// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * omnitide cgroup policy: cgroup_skb ingress/egress accounting and CIDR deny,
 * cgroup/connect4 + connect6 port deny and destination allow-lists.
 * One object is loaded per cgroup, so every map is per cgroup.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "omnitide_maps.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define LPM_MAP(name, keyt)                              \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);     \
		__uint(map_flags, BPF_F_NO_PREALLOC);    \
		__uint(max_entries, 65536);              \
		__type(key, keyt);                       \
		__type(value, __u8);                     \
	} name SEC(".maps")

LPM_MAP(cg_in_deny4, struct omni_lpm_v4);
LPM_MAP(cg_in_deny6, struct omni_lpm_v6);
LPM_MAP(cg_out_deny4, struct omni_lpm_v4);
LPM_MAP(cg_out_deny6, struct omni_lpm_v6);
LPM_MAP(cg_allow4, struct omni_lpm_v4);
LPM_MAP(cg_allow6, struct omni_lpm_v6);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16); /* host order port */
	__type(value, __u8);
} cg_deny_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct omni_cg_config);
} cg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OMNI_CG_DIR_MAX);
	__type(key, __u32);
	__type(value, struct omni_cg_counter);
} cg_stats SEC(".maps");

static __always_inline void count(__u32 dir, __u64 bytes, int denied)
{
	struct omni_cg_counter *c = bpf_map_lookup_elem(&cg_stats, &dir);
	if (!c)
		return;
	if (denied) {
		c->denied_packets += 1;
		c->denied_bytes += bytes;
	} else {
		c->packets += 1;
		c->bytes += bytes;
	}
}

/* Returns 1 (allow) or 0 (drop); `remote_is_dst` selects which address to match. */
static __always_inline int skb_policy(struct __sk_buff *skb, __u32 dir, void *deny4, void *deny6)
{
	__u64 len = skb->len;
	int denied = 0;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) == 0) {
			struct omni_lpm_v4 k = { .prefixlen = 32 };
			__u32 a = dir == OMNI_CG_EGRESS ? ip.daddr : ip.saddr;
			__builtin_memcpy(k.addr, &a, 4);
			denied = bpf_map_lookup_elem(deny4, &k) != 0;
		}
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) == 0) {
			struct omni_lpm_v6 k = { .prefixlen = 128 };
			if (dir == OMNI_CG_EGRESS)
				__builtin_memcpy(k.addr, &ip6.daddr, 16);
			else
				__builtin_memcpy(k.addr, &ip6.saddr, 16);
			denied = bpf_map_lookup_elem(deny6, &k) != 0;
		}
	}
	count(dir, len, denied);
	return denied ? 0 : 1;
}

SEC("cgroup_skb/ingress")
int omni_cg_ingress(struct __sk_buff *skb)
{
	return skb_policy(skb, OMNI_CG_INGRESS, &cg_in_deny4, &cg_in_deny6);
}

SEC("cgroup_skb/egress")
int omni_cg_egress(struct __sk_buff *skb)
{
	return skb_policy(skb, OMNI_CG_EGRESS, &cg_out_deny4, &cg_out_deny6);
}

static __always_inline int port_denied(__u32 user_port)
{
	__u16 port = bpf_ntohs((__u16)user_port);
	return bpf_map_lookup_elem(&cg_deny_ports, &port) != 0;
}

SEC("cgroup/connect4")
int omni_cg_connect4(struct bpf_sock_addr *ctx)
{
	__u32 key = 0;
	struct omni_cg_config *cfg = bpf_map_lookup_elem(&cg_config, &key);
	int deny = port_denied(ctx->user_port);
	if (!deny && cfg && cfg->allow_v4_enabled) {
		struct omni_lpm_v4 k = { .prefixlen = 32 };
		__u32 a = ctx->user_ip4;
		__builtin_memcpy(k.addr, &a, 4);
		deny = bpf_map_lookup_elem(&cg_allow4, &k) == 0;
	}
	count(OMNI_CG_CONNECT, 0, deny);
	return deny ? 0 : 1;
}

SEC("cgroup/connect6")
int omni_cg_connect6(struct bpf_sock_addr *ctx)
{
	__u32 key = 0;
	struct omni_cg_config *cfg = bpf_map_lookup_elem(&cg_config, &key);
	int deny = port_denied(ctx->user_port);
	if (!deny && cfg && cfg->allow_v6_enabled) {
		struct omni_lpm_v6 k = { .prefixlen = 128 };
		__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
		__builtin_memcpy(&k.addr[0], &a0, 4);
		__builtin_memcpy(&k.addr[4], &a1, 4);
		__builtin_memcpy(&k.addr[8], &a2, 4);
		__builtin_memcpy(&k.addr[12], &a3, 4);
		deny = bpf_map_lookup_elem(&cg_allow6, &k) == 0;
	}
	count(OMNI_CG_CONNECT, 0, deny);
	return deny ? 0 : 1;
}
