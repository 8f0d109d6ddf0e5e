//! CIDR blocks that refuse host bits, and the set arithmetic meshspec needs.
//!
//! [`Cidr`] wraps [`ipnet::IpNet`] but, unlike `ipnet`, refuses a block written with host bits
//! set (`10.1.1.1/24`): such a value is almost always a typo for an address or for the network
//! `10.1.1.0/24`, and the error suggests the truncated form.
//!
//! This module does not know about clusters or nodes; it is plain address math.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The IP family of an address or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    #[must_use]
    pub fn of(addr: IpAddr) -> Self {
        if addr.is_ipv4() { Self::Ipv4 } else { Self::Ipv6 }
    }

    /// The number of bits in an address of this family (32 or 128).
    #[must_use]
    pub fn bits(self) -> u8 {
        match self {
            Self::Ipv4 => 32,
            Self::Ipv6 => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ipv4 => "IPv4",
            Self::Ipv6 => "IPv6",
        })
    }
}

/// Why a text is not a valid [`Cidr`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The text is not `address/prefix` at all.
    #[error("`{0}` is not a CIDR block (expected `address/prefix`, e.g. `10.42.0.0/16`)")]
    Syntax(String),
    /// The address has bits set below the prefix.
    #[error("`{given}` has host bits set; the network is `{network}`")]
    HostBits {
        /// What was written.
        given: String,
        /// The block with host bits cleared.
        network: Cidr,
    },
}

/// A network block with no host bits set, IPv4 or IPv6.
///
/// ```
/// use meshspec::cidr::Cidr;
/// let pods: Cidr = "10.42.0.0/16".parse().unwrap();
/// assert!(pods.contains_addr("10.42.7.1".parse().unwrap()));
/// assert_eq!(pods.to_string(), "10.42.0.0/16");
/// // host bits are refused, with the network suggested
/// let err = "10.1.1.1/24".parse::<Cidr>().unwrap_err();
/// assert!(err.to_string().contains("10.1.1.0/24"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr(IpNet);

impl Cidr {
    /// Builds a block from an address and a prefix length, refusing host bits.
    ///
    /// # Errors
    /// [`CidrError::Syntax`] when the prefix is too long for the family,
    /// [`CidrError::HostBits`] when `addr` has bits set below the prefix.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let net =
            IpNet::new(addr, prefix).map_err(|_| CidrError::Syntax(format!("{addr}/{prefix}")))?;
        Self::from_ipnet(net)
    }

    /// Builds a block from an address and prefix, clearing any host bits.
    ///
    /// Returns `None` when the prefix is longer than the family allows.
    #[must_use]
    pub fn truncated(addr: IpAddr, prefix: u8) -> Option<Self> {
        IpNet::new(addr, prefix).ok().map(|n| Self(n.trunc()))
    }

    /// Wraps an [`IpNet`], refusing host bits.
    ///
    /// # Errors
    /// [`CidrError::HostBits`] when the network has host bits set.
    pub fn from_ipnet(net: IpNet) -> Result<Self, CidrError> {
        if net.trunc() == net {
            Ok(Self(net))
        } else {
            Err(CidrError::HostBits { given: net.to_string(), network: Self(net.trunc()) })
        }
    }

    /// The block that holds exactly one address (`/32` or `/128`).
    #[must_use]
    pub fn host(addr: IpAddr) -> Self {
        Self(IpNet::from(addr))
    }

    /// The underlying [`IpNet`].
    #[must_use]
    pub fn ipnet(&self) -> IpNet {
        self.0
    }

    /// The network (first) address.
    #[must_use]
    pub fn network(&self) -> IpAddr {
        self.0.network()
    }

    /// The last address in the block.
    #[must_use]
    pub fn last(&self) -> IpAddr {
        self.0.broadcast()
    }

    /// The prefix length.
    #[must_use]
    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// The address family.
    #[must_use]
    pub fn family(&self) -> Family {
        Family::of(self.network())
    }

    /// Whether `addr` lies inside the block.
    #[must_use]
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        self.0.contains(&addr)
    }

    /// Whether `other` lies entirely inside this block.
    #[must_use]
    pub fn contains(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0)
    }

    /// Whether the two blocks share at least one address.
    ///
    /// ```
    /// use meshspec::cidr::Cidr;
    /// let a: Cidr = "10.0.0.0/8".parse().unwrap();
    /// let b: Cidr = "10.43.0.0/16".parse().unwrap();
    /// assert!(a.overlaps(&b) && b.overlaps(&a));
    /// ```
    #[must_use]
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The `n`-th address of the block (0 is the network address), if it exists.
    ///
    /// ```
    /// use meshspec::cidr::Cidr;
    /// let svc: Cidr = "10.43.0.0/16".parse().unwrap();
    /// assert_eq!(svc.nth(10).unwrap().to_string(), "10.43.0.10");
    /// ```
    #[must_use]
    pub fn nth(&self, n: u128) -> Option<IpAddr> {
        let size = self.size();
        if n >= size {
            return None;
        }
        Some(match self.network() {
            IpAddr::V4(a) => {
                let v = u32::from(a).checked_add(u32::try_from(n).ok()?)?;
                IpAddr::V4(v.into())
            }
            IpAddr::V6(a) => IpAddr::V6(u128::from(a).checked_add(n)?.into()),
        })
    }

    /// How many addresses the block holds (saturating at `u128::MAX` for `::/0`).
    #[must_use]
    pub fn size(&self) -> u128 {
        let host_bits = u32::from(self.family().bits() - self.prefix());
        1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if !t.contains('/') {
            return Err(CidrError::Syntax(s.to_owned()));
        }
        let net: IpNet = t.parse().map_err(|_| CidrError::Syntax(s.to_owned()))?;
        Self::from_ipnet(net).map_err(|e| match e {
            CidrError::HostBits { network, .. } => {
                CidrError::HostBits { given: s.to_owned(), network }
            }
            other => other,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_both_families() {
        for s in ["10.42.0.0/16", "100.64.0.0/10", "fd7a:115c:a1e0::/48", "0.0.0.0/0", "::/0"] {
            let c: Cidr = s.parse().unwrap();
            assert_eq!(c.to_string(), s);
        }
    }

    #[test]
    fn refuses_host_bits_with_the_network() {
        let e = "10.1.1.1/24".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e,
            CidrError::HostBits {
                given: "10.1.1.1/24".into(),
                network: "10.1.1.0/24".parse().unwrap()
            }
        );
    }

    #[test]
    fn refuses_garbage() {
        for s in ["", "10.0.0.0", "10.0.0.0/33", "abc/8", "10.0.0.0/-1", "/8"] {
            assert!(matches!(s.parse::<Cidr>(), Err(CidrError::Syntax(_))), "{s}");
        }
    }

    #[test]
    fn overlap_and_nth() {
        let a: Cidr = "10.42.0.0/16".parse().unwrap();
        let b: Cidr = "10.43.0.0/16".parse().unwrap();
        assert!(!a.overlaps(&b));
        assert_eq!(b.nth(10).unwrap().to_string(), "10.43.0.10");
        assert_eq!("10.0.0.0/30".parse::<Cidr>().unwrap().nth(4), None);
        assert_eq!("::/0".parse::<Cidr>().unwrap().size(), u128::MAX);
    }
}
