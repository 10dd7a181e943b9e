//! CIDR parsing and the key encodings of omnitide_maps.h.

use omnitide_common::{Error, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cidr {
    V4 { addr: [u8; 4], prefix: u8 },
    V6 { addr: [u8; 16], prefix: u8 },
}

impl Cidr {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, `x::y`, `x::y/n`. Host bits must be zero
    /// (like `ip route`), so `10.0.0.1/8` is rejected instead of silently widened.
    pub fn parse(arg: &str, s: &str) -> Result<Cidr> {
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => {
                let p: u8 =
                    p.parse().map_err(|_| Error::invalid_arg(arg, format!("malformed CIDR {s:?}: prefix length {p:?} is not a number")))?;
                (ip, Some(p))
            }
            None => (s, None),
        };
        let ip: IpAddr =
            ip.parse().map_err(|_| Error::invalid_arg(arg, format!("malformed CIDR {s:?}: {ip:?} is not an IPv4 or IPv6 address")))?;
        match ip {
            IpAddr::V4(v4) => {
                let prefix = prefix.unwrap_or(32);
                if prefix > 32 {
                    return Err(Error::invalid_arg(arg, format!("malformed CIDR {s:?}: IPv4 prefix length must be 0..=32, got {prefix}")));
                }
                let bits = u32::from(v4);
                let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
                if bits & !mask != 0 {
                    return Err(Error::invalid_arg(
                        arg,
                        format!("malformed CIDR {s:?}: host bits set (did you mean {}/{prefix}?)", Ipv4Addr::from(bits & mask)),
                    ));
                }
                Ok(Cidr::V4 { addr: v4.octets(), prefix })
            }
            IpAddr::V6(v6) => {
                let prefix = prefix.unwrap_or(128);
                if prefix > 128 {
                    return Err(Error::invalid_arg(arg, format!("malformed CIDR {s:?}: IPv6 prefix length must be 0..=128, got {prefix}")));
                }
                let bits = u128::from(v6);
                let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
                if bits & !mask != 0 {
                    return Err(Error::invalid_arg(
                        arg,
                        format!("malformed CIDR {s:?}: host bits set (did you mean {}/{prefix}?)", Ipv6Addr::from(bits & mask)),
                    ));
                }
                Ok(Cidr::V6 { addr: v6.octets(), prefix })
            }
        }
    }

    pub fn is_host(&self) -> bool {
        matches!(self, Cidr::V4 { prefix: 32, .. } | Cidr::V6 { prefix: 128, .. })
    }

    /// struct omni_lpm_v4 / omni_lpm_v6 bytes.
    pub fn lpm_key(&self) -> Vec<u8> {
        match self {
            Cidr::V4 { addr, prefix } => lpm_key(*prefix, addr),
            Cidr::V6 { addr, prefix } => lpm_key(*prefix, addr),
        }
    }

    pub fn from_lpm_key(key: &[u8]) -> Cidr {
        let prefix = u32::from_ne_bytes(key[0..4].try_into().unwrap()) as u8;
        if key.len() == 8 {
            Cidr::V4 { addr: key[4..8].try_into().unwrap(), prefix }
        } else {
            Cidr::V6 { addr: key[4..20].try_into().unwrap(), prefix }
        }
    }
}

pub fn lpm_key(prefix: u8, addr: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + addr.len());
    k.extend_from_slice(&(prefix as u32).to_ne_bytes());
    k.extend_from_slice(addr);
    k
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cidr::V4 { addr, prefix } => write!(f, "{}/{prefix}", Ipv4Addr::from(*addr)),
            Cidr::V6 { addr, prefix } => write!(f, "{}/{prefix}", Ipv6Addr::from(*addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Cidr::parse("c", "10.0.0.1").unwrap(), Cidr::V4 { addr: [10, 0, 0, 1], prefix: 32 });
        assert_eq!(Cidr::parse("c", "10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(Cidr::parse("c", "2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
        assert!(Cidr::parse("c", "2001:db8::1").unwrap().is_host());
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "300.1.1.1", "abc", "::/129", "10.0.0.0/x", ""] {
            let e = Cidr::parse("cidrs[0]", bad).unwrap_err();
            assert_eq!(e.code, omnitide_common::code::INVALID_ARGUMENT, "{bad}");
            assert!(e.message.starts_with("cidrs[0]: malformed CIDR"), "{}", e.message);
        }
    }

    #[test]
    fn lpm_key_roundtrip() {
        for s in ["192.168.0.0/16", "fd00::/8", "1.2.3.4/32"] {
            let c = Cidr::parse("c", s).unwrap();
            assert_eq!(Cidr::from_lpm_key(&c.lpm_key()), c);
        }
    }
}
