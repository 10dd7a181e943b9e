#![allow(dead_code)]
//! Frame builders and cleanup shared by the kernel tests. Every test that
//! needs root is `#[ignore]`d with the reason, so that without root it shows
//! as ignored (not as passed); `npm test` runs them with `--ignored` as root.

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

pub fn eth(proto: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    f.extend_from_slice(&proto.to_be_bytes());
    f
}

pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], payload: usize) -> Vec<u8> {
    let mut f = eth(0x0800);
    let total = 20 + 8 + payload;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&[0x30, 0x39, 0x1f, 0x90, 0, (8 + payload) as u8, 0, 0]);
    f.extend(std::iter::repeat_n(0xab, payload));
    f
}

pub fn ipv6_udp(src: [u8; 16], dst: [u8; 16], payload: usize) -> Vec<u8> {
    let mut f = eth(0x86dd);
    let plen = 8 + payload;
    f.extend_from_slice(&[0x60, 0, 0, 0, (plen >> 8) as u8, plen as u8, 17, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&[0x30, 0x39, 0x1f, 0x90, 0, plen as u8, 0, 0]);
    f.extend(std::iter::repeat_n(0xcd, payload));
    f
}

pub fn arp() -> Vec<u8> {
    let mut f = eth(0x0806);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
    f
}

pub fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

pub fn sh(cmd: &str) -> std::process::Output {
    std::process::Command::new("sh").arg("-c").arg(cmd).output().expect("sh")
}

/// Pin directories of filters on interfaces named `iface`, in any network namespace.
pub fn pin_dirs_named(iface: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(omnitide_kernel::xdp::pin_root()) else {
        return out;
    };
    for ns in rd.flatten() {
        let Ok(inner) = std::fs::read_dir(ns.path()) else {
            continue;
        };
        for d in inner.flatten() {
            if d.file_name().to_string_lossy().split_once('-').is_some_and(|(_, name)| name == iface) {
                out.push(d.path());
            }
        }
    }
    out
}

/// Cleanup for tests: removes every pin directory of `iface` (any namespace).
pub fn remove_pins_named(iface: &str) {
    for d in pin_dirs_named(iface) {
        let _ = std::fs::remove_dir_all(d);
    }
}
