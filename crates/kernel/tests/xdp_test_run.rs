//! The XDP program on crafted frames through BPF_PROG_TEST_RUN (real kernel, no mocks).

mod common;
use common::*;
use omnitide_common::code;
use omnitide_kernel::xdp::{XdpFilter, XDP_DROP, XDP_PASS};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn ipv4_exact_and_prefix_blocks() {
    let f = XdpFilter::load_unattached().unwrap();
    let pkt = ipv4_udp([10, 1, 2, 3], [10, 0, 0, 1], 32);
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_PASS);
    assert_eq!(f.block(&s(&["10.1.2.3"])).unwrap(), 1);
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_DROP);
    assert_eq!(f.test_run(&ipv4_udp([10, 1, 2, 4], [10, 0, 0, 1], 32), 1).unwrap().0, XDP_PASS);
    f.block(&s(&["10.1.2.0/24"])).unwrap();
    assert_eq!(f.test_run(&ipv4_udp([10, 1, 2, 4], [10, 0, 0, 1], 32), 1).unwrap().0, XDP_DROP);
    assert_eq!(f.test_run(&ipv4_udp([10, 1, 3, 4], [10, 0, 0, 1], 32), 1).unwrap().0, XDP_PASS);
    let mut listed = f.list_blocked().unwrap();
    listed.sort();
    assert_eq!(listed, s(&["10.1.2.0/24", "10.1.2.3/32"]));
    assert_eq!(f.unblock(&s(&["10.1.2.0/24", "10.1.2.3", "9.9.9.9"])).unwrap(), 2);
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_PASS);
    let st = f.stats().unwrap();
    assert_eq!(st.blocked.packets, 2);
    assert_eq!(st.passed.packets, 4);
    assert_eq!(st.blocked.bytes, 2 * pkt.len() as u64);
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn ipv6_exact_and_prefix_blocks() {
    let f = XdpFilter::load_unattached().unwrap();
    let a = v6("2001:db8::1");
    let pkt = ipv6_udp(a, v6("2001:db8::ff"), 16);
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_PASS);
    f.block(&s(&["2001:db8::1"])).unwrap();
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_DROP);
    f.block(&s(&["fd00:1::/32"])).unwrap();
    assert_eq!(f.test_run(&ipv6_udp(v6("fd00:1::77"), a, 16), 1).unwrap().0, XDP_DROP);
    assert_eq!(f.test_run(&ipv6_udp(v6("fd00:2::77"), a, 16), 1).unwrap().0, XDP_PASS);
    let st = f.stats().unwrap();
    assert_eq!((st.blocked.packets, st.passed.packets), (2, 2));
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn arp_and_truncated_frames_pass() {
    let f = XdpFilter::load_unattached().unwrap();
    f.block(&s(&["0.0.0.0/0", "::/0"])).unwrap();
    // ARP is not IP: passes even with everything blocked
    assert_eq!(f.test_run(&arp(), 1).unwrap().0, XDP_PASS);
    // truncated: Ethernet header only claiming IPv4 / IPv6, and a half IPv4 header
    assert_eq!(f.test_run(&eth(0x0800), 1).unwrap().0, XDP_PASS);
    assert_eq!(f.test_run(&eth(0x86dd), 1).unwrap().0, XDP_PASS);
    let full = ipv4_udp([1, 2, 3, 4], [5, 6, 7, 8], 0);
    assert_eq!(f.test_run(&full[..14 + 10], 1).unwrap().0, XDP_PASS);
    let full6 = ipv6_udp(v6("::1"), v6("::2"), 0);
    assert_eq!(f.test_run(&full6[..14 + 39], 1).unwrap().0, XDP_PASS);
    // but a complete frame is dropped by the /0 prefixes
    assert_eq!(f.test_run(&full, 1).unwrap().0, XDP_DROP);
    assert_eq!(f.test_run(&full6, 1).unwrap().0, XDP_DROP);
    // VLAN-tagged IPv4 is parsed too
    let mut tagged = eth(0x8100);
    tagged.extend_from_slice(&[0, 5, 0x08, 0x00]);
    tagged.extend_from_slice(&full[14..]);
    assert_eq!(f.test_run(&tagged, 1).unwrap().0, XDP_DROP);
    let st = f.stats().unwrap();
    assert_eq!(st.passed.packets, 5);
    assert_eq!(st.blocked.packets, 3);
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn per_source_rate_limit() {
    let f = XdpFilter::load_unattached().unwrap();
    // 1 packet/s with a burst of 5: in one test run burst, 5 pass then drops
    f.set_rate_limit("192.0.2.0/24", 1, 5).unwrap();
    let a = ipv4_udp([192, 0, 2, 10], [10, 0, 0, 1], 8);
    let b = ipv4_udp([192, 0, 2, 11], [10, 0, 0, 1], 8);
    let verdicts: Vec<u32> = (0..8).map(|_| f.test_run(&a, 1).unwrap().0).collect();
    assert_eq!(&verdicts[..5], &[XDP_PASS; 5]);
    assert_eq!(&verdicts[5..], &[XDP_DROP; 3]);
    // another source has its own bucket
    assert_eq!(f.test_run(&b, 1).unwrap().0, XDP_PASS);
    // sources outside the rule are not limited
    for _ in 0..10 {
        assert_eq!(f.test_run(&ipv4_udp([198, 51, 100, 1], [10, 0, 0, 1], 8), 1).unwrap().0, XDP_PASS);
    }
    let st = f.stats().unwrap();
    assert_eq!(st.rate_limited.packets, 3);
    assert_eq!(f.rate_limits().unwrap()[0].cidr, "192.0.2.0/24");
    assert!(f.clear_rate_limit("192.0.2.0/24").unwrap());
    assert_eq!(f.test_run(&a, 1).unwrap().0, XDP_PASS);
    // bad input
    assert_eq!(f.set_rate_limit("192.0.2.0/24", 0, 5).unwrap_err().code, code::INVALID_ARGUMENT);
    assert!(f.set_rate_limit("192.0.2.0/24", 5, 0).unwrap_err().message.starts_with("burst:"));
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn probabilistic_drop() {
    let f = XdpFilter::load_unattached().unwrap();
    let pkt = ipv4_udp([203, 0, 113, 5], [10, 0, 0, 1], 8);
    f.set_drop(Some("203.0.113.0/24"), 1.0).unwrap();
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_DROP);
    f.set_drop(Some("203.0.113.0/24"), 0.5).unwrap();
    let mut dropped = 0;
    for _ in 0..400 {
        if f.test_run(&pkt, 1).unwrap().0 == XDP_DROP {
            dropped += 1;
        }
    }
    // binomial(400, 0.5): 6 sigma = 60
    assert!((140..=260).contains(&dropped), "dropped {dropped} of 400 at p=0.5");
    f.set_drop(Some("203.0.113.0/24"), 0.0).unwrap();
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_PASS);
    // global drop applies to IPv6 too
    f.set_drop(None, 1.0).unwrap();
    assert_eq!(f.test_run(&ipv6_udp(v6("2001:db8::5"), v6("::1"), 8), 1).unwrap().0, XDP_DROP);
    assert_eq!(f.drop_rules().unwrap().len(), 1);
    f.set_drop(None, 0.0).unwrap();
    assert_eq!(f.test_run(&pkt, 1).unwrap().0, XDP_PASS);
    assert_eq!(f.stats().unwrap().random_drop.packets, 1 + dropped + 1);
    assert!(f.set_drop(None, 1.5).unwrap_err().message.starts_with("probability:"));
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn drop_rules_in_one_batch_all_or_nothing() {
    let f = XdpFilter::load_unattached().unwrap();
    let p = |s: &str| Some(s.to_string());
    f.set_drop(Some("198.51.100.0/24"), 0.25).unwrap();
    let rules = vec![(p("203.0.113.0/24"), 1.0), (p("2001:db8::/32"), 1.0), (p("198.51.100.0/24"), 0.0)];
    assert_eq!(f.set_drop_many(&rules).unwrap(), 3);
    assert_eq!(f.test_run(&ipv4_udp([203, 0, 113, 5], [10, 0, 0, 1], 8), 1).unwrap().0, XDP_DROP);
    assert_eq!(f.test_run(&ipv6_udp(v6("2001:db8::5"), v6("::1"), 8), 1).unwrap().0, XDP_DROP);
    // probability 0 in a batch removes the rule, as set_drop does
    let mut cidrs: Vec<String> = f.drop_rules().unwrap().into_iter().filter_map(|r| r.cidr).collect();
    cidrs.sort();
    assert_eq!(cidrs, vec!["2001:db8::/32".to_string(), "203.0.113.0/24".to_string()]);
    // a bad entry anywhere refuses the whole batch, naming its index; nothing changes
    let before = f.drop_rules().unwrap();
    let e = f.set_drop_many(&[(p("192.0.2.0/24"), 0.5), (p("10.0.0.0/99"), 0.5)]).unwrap_err();
    assert_eq!(e.code, code::INVALID_ARGUMENT);
    assert!(e.message.starts_with("rules[1].cidr:"), "{}", e.message);
    let e = f.set_drop_many(&[(p("192.0.2.0/24"), 0.5), (None, 1.5)]).unwrap_err();
    assert!(e.message.starts_with("rules[1].probability:"), "{}", e.message);
    assert_eq!(f.drop_rules().unwrap().len(), before.len());
    assert_eq!(f.test_run(&ipv4_udp([192, 0, 2, 9], [10, 0, 0, 1], 8), 1).unwrap().0, XDP_PASS);
    // clearing them in one batch
    let clear: Vec<(Option<String>, f64)> = rules.iter().map(|(c, _)| (c.clone(), 0.0)).collect();
    assert_eq!(f.set_drop_many(&clear).unwrap(), 3);
    assert!(f.drop_rules().unwrap().is_empty());
    assert_eq!(f.set_drop_many(&[]).unwrap(), 0);
    // a later entry for the same CIDR wins, as in a loop of set_drop
    f.set_drop_many(&[(p("203.0.113.0/24"), 1.0), (p("203.0.113.0/24"), 0.0)]).unwrap();
    assert!(f.drop_rules().unwrap().is_empty());
    f.set_drop_many(&[(p("203.0.113.0/24"), 0.0), (p("203.0.113.0/24"), 1.0)]).unwrap();
    assert_eq!(f.drop_rules().unwrap().len(), 1);
    f.set_drop(Some("203.0.113.0/24"), 0.0).unwrap();
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn drop_rule_batch_that_overflows_the_map_is_rolled_back() {
    let f = XdpFilter::load_unattached().unwrap();
    f.set_drop(Some("198.51.100.0/24"), 0.25).unwrap();
    // the IPv4 drop map holds 65,536 rules: one exists, so the 65,536th new one fails in the kernel
    let mut rules = vec![(Some("198.51.100.0/24".to_string()), 1.0)];
    rules.extend((0..65_536u32).map(|i| (Some(format!("11.{}.{}.{}/32", i >> 16, (i >> 8) & 255, i & 255)), 1.0)));
    let e = f.set_drop_many(&rules).unwrap_err();
    assert!(e.message.contains("nothing from this call was kept"), "{}", e.message);
    let left = f.drop_rules().unwrap();
    assert_eq!(left.len(), 1, "the earlier writes of the failed batch were undone");
    assert_eq!(left[0].cidr.as_deref(), Some("198.51.100.0/24"));
    assert!((left[0].probability - 0.25).abs() < 1e-6, "the changed rule got its old probability back");
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn malformed_cidrs_change_nothing() {
    let f = XdpFilter::load_unattached().unwrap();
    let e = f.block(&s(&["10.0.0.1", "10.0.0.0/8", "10.0.0.300"])).unwrap_err();
    assert_eq!(e.code, code::INVALID_ARGUMENT);
    assert!(e.message.starts_with("cidrs[2]: malformed CIDR"), "{}", e.message);
    assert!(f.list_blocked().unwrap().is_empty());
    let e = f.block(&s(&["10.0.0.1/8"])).unwrap_err();
    assert!(e.message.contains("host bits"), "{}", e.message);
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn million_exact_blocks_in_one_call() {
    let f = XdpFilter::load_unattached().unwrap();
    let mut packed = Vec::with_capacity(4_000_000);
    for i in 0u32..1_000_000 {
        packed.extend_from_slice(&(0x0b00_0000u32 + i).to_be_bytes());
    }
    let t = std::time::Instant::now();
    assert_eq!(f.block_ipv4_packed(&packed).unwrap(), 1_000_000);
    eprintln!("1,000,000 /32 blocks loaded in {:?}", t.elapsed());
    let hit = ipv4_udp([11, 0x0f, 0x42, 0x3f], [10, 0, 0, 1], 8); // 11.15.66.63 = 0x0b0f423f < 0x0b0f4240
    assert_eq!(f.test_run(&hit, 1).unwrap().0, XDP_DROP);
    let miss = ipv4_udp([11, 0x0f, 0x42, 0x40], [10, 0, 0, 1], 8);
    assert_eq!(f.test_run(&miss, 1).unwrap().0, XDP_PASS);
    let (_, ns_drop) = f.test_run(&hit, 100_000).unwrap();
    let (_, ns_pass) = f.test_run(&miss, 100_000).unwrap();
    eprintln!("per packet with 1M blocklist: drop {ns_drop} ns, pass {ns_pass} ns");
}
