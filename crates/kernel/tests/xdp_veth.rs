//! End to end: a network namespace + veth pair, UDP sent from inside the
//! namespace, the filter attached to the host end in native and generic mode.

mod common;
use common::*;
use omnitide_common::code;
use omnitide_kernel::xdp::{self, Mode, XdpFilter};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static N: AtomicU32 = AtomicU32::new(0);

/// Owns a namespace and a veth pair; removes both (and any pin dir) on drop, even on panic.
struct Veth {
    ns: String,
    host: String,
    host_ip: String,
    peer_ip: String,
}

impl Veth {
    fn new() -> Veth {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let ns = format!("omni-test-{pid}-{n}");
        let host = format!("ot{}h{n}", pid % 100000);
        let peer = format!("ot{}p{n}", pid % 100000);
        let subnet = 100 + (pid % 100) as u8 + n as u8;
        let v = Veth { ns: ns.clone(), host: host.clone(), host_ip: format!("10.213.{subnet}.1"), peer_ip: format!("10.213.{subnet}.2") };
        let script = format!(
            "set -e; ip netns add {ns}; ip link add {host} type veth peer name {peer}; ip link set {peer} netns {ns};\
             ip addr add {hip}/24 dev {host}; ip link set {host} up;\
             ip -n {ns} addr add {pip}/24 dev {peer}; ip -n {ns} link set {peer} up; ip -n {ns} link set lo up",
            hip = v.host_ip,
            pip = v.peer_ip
        );
        let o = sh(&script);
        assert!(o.status.success(), "netns setup failed: {}", String::from_utf8_lossy(&o.stderr));
        v
    }

    /// Sends `n` UDP datagrams from inside the namespace to host_ip:port.
    fn send_udp(&self, n: u32, port: u16) {
        let o = sh(&format!(
            "ip netns exec {} bash -c 'for i in $(seq 1 {n}); do echo omnitide > /dev/udp/{}/{port}; done'",
            self.ns, self.host_ip
        ));
        assert!(o.status.success(), "send failed: {}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = sh(&format!("ip link del {} 2>/dev/null; ip netns del {} 2>/dev/null", self.host, self.ns));
        remove_pins_named(&self.host);
    }
}

fn receive(sock: &UdpSocket) -> u32 {
    let mut got = 0;
    let mut buf = [0u8; 64];
    while sock.recv(&mut buf).is_ok() {
        got += 1;
    }
    got
}

fn e2e(mode: Mode, expect_mode: &str) {
    let v = Veth::new();
    let mut f = XdpFilter::attach(&v.host, mode, false).unwrap();
    assert_eq!(f.mode(), Some(expect_mode));
    let sock = UdpSocket::bind(format!("{}:0", v.host_ip)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let port = sock.local_addr().unwrap().port();

    v.send_udp(10, port);
    assert_eq!(receive(&sock), 10);
    let st = f.stats().unwrap();
    assert!(st.passed.packets >= 10, "{st:?}");
    assert_eq!(st.blocked.packets, 0);

    f.block(std::slice::from_ref(&v.peer_ip)).unwrap();
    v.send_udp(10, port);
    assert_eq!(receive(&sock), 0, "blocked source still delivered");
    let st = f.stats().unwrap();
    assert!(st.blocked.packets >= 10, "{st:?}");

    f.unblock(std::slice::from_ref(&v.peer_ip)).unwrap();
    f.set_drop(None, 1.0).unwrap();
    v.send_udp(5, port);
    assert_eq!(receive(&sock), 0);
    assert!(f.stats().unwrap().random_drop.packets >= 5);
    f.set_drop(None, 0.0).unwrap();
    v.send_udp(3, port);
    assert_eq!(receive(&sock), 3);

    f.detach().unwrap();
    assert_eq!(f.stats().unwrap_err().code, code::CLOSED);
    // a second detach is a no-op, like close()
    f.detach().unwrap();
    // a detached filter no longer drops
    v.send_udp(2, port);
    assert_eq!(receive(&sock), 2);
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn veth_native_mode() {
    e2e(Mode::Native, "native");
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn veth_generic_mode() {
    e2e(Mode::Generic, "generic");
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn pinned_filter_survives_handle_and_reopens() {
    let v = Veth::new();
    let sock = UdpSocket::bind(format!("{}:0", v.host_ip)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let port = sock.local_addr().unwrap().port();
    {
        let mut f = XdpFilter::attach(&v.host, Mode::Auto, true).unwrap();
        assert!(f.pinned());
        let netns = omnitide_kernel::pins::netns_inode().unwrap();
        let want = xdp::pin_root().join(format!("net{netns}")).join(format!("{}-{}", f.ifindex(), v.host));
        assert_eq!(f.pin_path().unwrap(), want.display().to_string());
        f.block(&[format!("{}/32", v.peer_ip)]).unwrap();
        f.close(); // the handle goes away, the pinned filter stays
    }
    let listed = xdp::list().unwrap();
    let mine = listed.iter().find(|p| p.iface == v.host).expect("pinned filter listed");
    assert_eq!(mine.mode, "native");
    v.send_udp(4, port);
    assert_eq!(receive(&sock), 0, "pinned filter must keep dropping without its handle");
    let mut g = XdpFilter::open(&v.host).unwrap();
    assert_eq!(g.list_blocked().unwrap(), vec![format!("{}/32", v.peer_ip)]);
    assert!(g.stats().unwrap().blocked.packets >= 4);
    // reopened handles can still test-run the attached program
    let frame = ipv4_udp(v.peer_ip.parse::<std::net::Ipv4Addr>().unwrap().octets(), [1, 1, 1, 1], 8);
    assert_eq!(g.test_run(&frame, 1).unwrap().0, xdp::XDP_DROP);
    // a second attach on the same interface is refused
    assert_eq!(XdpFilter::attach(&v.host, Mode::Auto, false).err().unwrap().code, code::BUSY);
    assert_eq!(XdpFilter::attach(&v.host, Mode::Auto, true).err().unwrap().code, code::BUSY);
    g.detach().unwrap();
    assert!(xdp::list().unwrap().iter().all(|p| p.iface != v.host));
    assert!(!pin_dirs_named(&v.host).iter().any(|d| d.exists()));
    v.send_udp(2, port);
    assert_eq!(receive(&sock), 2);
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn second_unpinned_attach_and_bad_input() {
    let v = Veth::new();
    let _f = XdpFilter::attach(&v.host, Mode::Generic, false).unwrap();
    let e = XdpFilter::attach(&v.host, Mode::Generic, false).err().unwrap();
    assert_eq!(e.code, code::BUSY, "{}", e.message);
    let e = XdpFilter::attach("omni-nope0", Mode::Auto, false).err().unwrap();
    assert_eq!(e.code, code::NOT_FOUND);
    assert!(e.message.starts_with("iface:"));
    assert_eq!(XdpFilter::attach("a/b", Mode::Auto, false).err().unwrap().code, code::INVALID_ARGUMENT);
    assert_eq!(XdpFilter::open("omni-nope0").err().unwrap().code, code::NOT_FOUND);
    assert_eq!(Mode::parse("fast").unwrap_err().code, code::INVALID_ARGUMENT);
}
