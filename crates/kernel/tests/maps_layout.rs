//! The Rust mirror of kernel/omnitide_maps.h matches the maps the kernel created
//! from the compiled objects (sizes come from BTF/ELF via the loader).

use omnitide_kernel::cgroup::Cgroup;
use omnitide_kernel::cgroup_bpf::{CgroupPolicy, ConnectPolicy, PolicySpec};
use omnitide_kernel::maps::{CG_MAPS, XDP_MAPS};
use omnitide_kernel::xdp::XdpFilter;

fn check(expected: &[(&str, usize, usize)], got: Vec<(String, u32, u32)>) {
    assert_eq!(got.len(), expected.len());
    for (name, k, v) in expected {
        let (_, gk, gv) = got.iter().find(|(n, _, _)| n == name).unwrap_or_else(|| panic!("map {name} missing"));
        assert_eq!((*gk as usize, *gv as usize), (*k, *v), "layout of {name}");
    }
}

#[test]
#[ignore = "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as root with `cargo test -p omnitide-kernel -- --ignored` (npm test does)"]
fn layout_matches_loaded_objects() {
    let f = XdpFilter::load_unattached().unwrap();
    check(XDP_MAPS, f.map_layouts().unwrap());
    let path = format!("omnitide-test-{}-layout", std::process::id());
    let mut cg = Cgroup::create(&path).unwrap();
    let pol = CgroupPolicy::attach(cg.fs_path(), &PolicySpec { connect: Some(ConnectPolicy::default()), ..Default::default() });
    let r = match &pol {
        Ok(p) => Ok(p.map_layouts()),
        Err(e) => Err(e.clone()),
    };
    drop(pol);
    cg.remove(true, std::time::Duration::from_secs(5)).unwrap();
    check(CG_MAPS, r.unwrap().unwrap());
}
