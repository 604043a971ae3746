//! IP addresses and CIDR blocks (IPv4 and IPv6) as the profile writes them.

use std::net::IpAddr;

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// Why a text is not a CIDR block as NetworkPolicy `ipBlock` takes one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{0}` has no prefix length (write e.g. `{0}/32`)")]
    NoPrefix(String),
    #[error("`{0}` is not an IPv4 or IPv6 address")]
    Address(String),
    #[error("prefix length `{0}` is not a number")]
    PrefixNumber(String),
    #[error("prefix length {prefix} exceeds {max}")]
    PrefixTooLong { prefix: u8, max: u8 },
    #[error("`{text}` has host bits set; the block starts at {}/{}", .network.addr, .network.prefix)]
    HostBits { text: String, network: Cidr },
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, CidrError> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| CidrError::NoPrefix(s.to_owned()))?;
        let addr: IpAddr = a.parse().map_err(|_| CidrError::Address(a.to_owned()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = p
            .parse()
            .map_err(|_| CidrError::PrefixNumber(p.to_owned()))?;
        if prefix > max {
            return Err(CidrError::PrefixTooLong { prefix, max });
        }
        let c = Cidr { addr, prefix };
        if c.network() != addr {
            return Err(CidrError::HostBits {
                text: s.to_owned(),
                network: Cidr {
                    addr: c.network(),
                    prefix,
                },
            });
        }
        Ok(c)
    }

    fn bits(addr: IpAddr) -> u128 {
        match addr {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        }
    }

    fn width(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    fn mask(&self) -> u128 {
        let w = u32::from(self.width());
        let host = w - u32::from(self.prefix);
        let all = if w == 128 {
            u128::MAX
        } else {
            (1u128 << w) - 1
        };
        if host >= 128 {
            0
        } else {
            all & !((1u128 << host) - 1)
        }
    }

    pub fn network(&self) -> IpAddr {
        let n = Self::bits(self.addr) & self.mask();
        match self.addr {
            IpAddr::V4(_) => IpAddr::V4((n as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(n.into()),
        }
    }

    /// Whether `other` lies inside this block (same family, longer or equal prefix).
    pub fn contains(&self, other: &Cidr) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && other.prefix >= self.prefix
            && Self::bits(other.addr) & self.mask() == Self::bits(self.addr) & self.mask()
    }
}

#[cfg(test)]
mod tests {
    use super::{Cidr, CidrError};

    #[test]
    fn parses_and_contains() {
        let a = Cidr::parse("10.20.0.0/16").unwrap();
        assert!(a.contains(&Cidr::parse("10.20.5.0/24").unwrap()));
        assert!(!a.contains(&Cidr::parse("10.21.0.0/24").unwrap()));
        assert_eq!(
            Cidr::parse("10.0.0.0/33"),
            Err(CidrError::PrefixTooLong {
                prefix: 33,
                max: 32
            })
        );
        assert_eq!(
            Cidr::parse("10.0.0.1/8").unwrap_err().to_string(),
            "`10.0.0.1/8` has host bits set; the block starts at 10.0.0.0/8"
        );
        assert_eq!(
            Cidr::parse("10.0.0.0").unwrap_err().to_string(),
            "`10.0.0.0` has no prefix length (write e.g. `10.0.0.0/32`)"
        );
        assert!(Cidr::parse("fd00::/8").is_ok());
        assert!(Cidr::parse("0.0.0.0/0").is_ok());
        assert!(Cidr::parse("10.0.0.0").is_err());
    }
}
