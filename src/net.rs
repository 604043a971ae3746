//! IP addresses and CIDR blocks (IPv4 and IPv6) as the profile writes them.

use std::net::IpAddr;

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` has no prefix length (write e.g. `{s}/32`)"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{a}` is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = p
            .parse()
            .map_err(|_| format!("prefix length `{p}` is not a number"))?;
        if prefix > max {
            return Err(format!("prefix length {prefix} exceeds {max}"));
        }
        let c = Cidr { addr, prefix };
        if c.network() != addr {
            return Err(format!(
                "`{s}` has host bits set; the block starts at {}/{prefix}",
                c.network()
            ));
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
    use super::Cidr;

    #[test]
    fn parses_and_contains() {
        let a = Cidr::parse("10.20.0.0/16").unwrap();
        assert!(a.contains(&Cidr::parse("10.20.5.0/24").unwrap()));
        assert!(!a.contains(&Cidr::parse("10.21.0.0/24").unwrap()));
        assert!(
            Cidr::parse("10.0.0.0/33")
                .unwrap_err()
                .contains("exceeds 32")
        );
        assert!(Cidr::parse("10.0.0.1/8").unwrap_err().contains("host bits"));
        assert!(Cidr::parse("fd00::/8").is_ok());
        assert!(Cidr::parse("0.0.0.0/0").is_ok());
        assert!(Cidr::parse("10.0.0.0").is_err());
    }
}
