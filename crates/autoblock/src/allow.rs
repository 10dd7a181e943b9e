//! Allowlists: addresses, prefixes and user names that are never blocked.
//! Lookups are O(number of distinct prefix lengths): exact addresses in a hash
//! set, prefixes in one hash set per prefix length.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use omnitide_common::{Error, Result};

#[derive(Debug, Default, Clone)]
pub struct Allowlist {
    nets: HashSet<IpNet>,
    lens_v4: BTreeSet<u8>,
    lens_v6: BTreeSet<u8>,
    users: HashSet<String>,
}

/// A scope value as it is written in decisions: `1.2.3.4`, `10.0.0.0/8`, `user:bob`.
pub fn parse_net(arg: &str, s: &str) -> Result<IpNet> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    let n: IpNet = s.parse().map_err(|_| Error::invalid_arg(arg, format!("'{s}' is not an IP address or CIDR prefix")))?;
    Ok(n.trunc())
}

impl Allowlist {
    pub fn new(entries: &[String]) -> Result<Self> {
        let mut a = Allowlist::default();
        for (i, e) in entries.iter().enumerate() {
            a.add(&format!("allowlist[{i}]"), e)?;
        }
        Ok(a)
    }

    pub fn add(&mut self, arg: &str, e: &str) -> Result<()> {
        if let Some(u) = e.strip_prefix("user:") {
            if u.is_empty() {
                return Err(Error::invalid_arg(arg, "empty user name"));
            }
            self.users.insert(u.to_string());
            return Ok(());
        }
        let n = parse_net(arg, e)?;
        match n {
            IpNet::V4(_) => self.lens_v4.insert(n.prefix_len()),
            IpNet::V6(_) => self.lens_v6.insert(n.prefix_len()),
        };
        self.nets.insert(n);
        Ok(())
    }

    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let lens = if ip.is_ipv4() { &self.lens_v4 } else { &self.lens_v6 };
        lens.iter().any(|&l| IpNet::new(ip, l).map(|n| self.nets.contains(&n.trunc())).unwrap_or(false))
    }

    /// Does the allowlist cover (any part of) the scope value `v`?
    pub fn covers(&self, v: &str) -> bool {
        if let Some(u) = v.strip_prefix("user:") {
            return self.users.contains(u);
        }
        if let Ok(ip) = v.parse::<IpAddr>() {
            return self.contains_ip(ip);
        }
        if let Ok(n) = v.parse::<IpNet>() {
            // a range that contains an allowlisted address/prefix, or lies inside one
            return self.contains_ip(n.network()) || self.nets.iter().any(|a| n.contains(a));
        }
        false
    }

    pub fn contains_user(&self, u: &str) -> bool {
        self.users.contains(u)
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.users.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_prefixes_users() {
        let a = Allowlist::new(&["10.0.0.0/8".into(), "192.0.2.7".into(), "2001:db8::/32".into(), "user:ops".into()]).unwrap();
        assert!(a.covers("10.1.2.3") && a.covers("192.0.2.7") && !a.covers("192.0.2.8"));
        assert!(a.covers("::ffff:10.0.0.1") && a.covers("2001:db8::1") && !a.covers("2001:db9::1"));
        assert!(a.covers("user:ops") && !a.covers("user:root"));
        assert!(a.covers("192.0.2.0/24") && a.covers("10.2.0.0/16") && !a.covers("198.51.100.0/24"));
        assert!(Allowlist::new(&["10.0.0.300".into()]).unwrap_err().message.contains("allowlist[0]"));
    }
}
