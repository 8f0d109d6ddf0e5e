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
        if addr.is_ipv4() {
            Self::Ipv4
        } else {
            Self::Ipv6
        }
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
            Err(CidrError::HostBits {
                given: net.to_string(),
                network: Self(net.trunc()),
            })
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
            CidrError::HostBits { network, .. } => CidrError::HostBits {
                given: s.to_owned(),
                network,
            },
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

// ---------------------------------------------------------------------------------------------
// Set arithmetic over blocks.
//
// Every function below works on inclusive integer intervals `[start, end]` of one family (IPv4
// addresses widened to `u128`), then turns intervals back into the fewest aligned blocks.
// ---------------------------------------------------------------------------------------------

/// Why [`allocate`] cannot hand out the blocks asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// The mask is shorter than the cluster prefix or longer than the family allows.
    #[error(
        "node mask `/{mask}` does not fit cluster CIDR `{cluster}`: it must lie between `/{}` and `/{}`",
        .cluster.prefix(),
        .cluster.family().bits()
    )]
    InvalidMask {
        /// The block being split.
        cluster: Cidr,
        /// The requested block size.
        mask: u8,
    },
    /// Fewer free blocks than requested.
    #[error(
        "cluster CIDR `{cluster}` has {available} free `/{mask}` blocks but {wanted} are needed"
    )]
    Exhausted {
        /// The block being split.
        cluster: Cidr,
        /// The requested block size.
        mask: u8,
        /// How many blocks were requested.
        wanted: usize,
        /// How many blocks do not overlap a pinned block (saturating at `u128::MAX`).
        available: u128,
    },
}

/// An inclusive interval of addresses of one family.
type Span = (u128, u128);

/// The address as an integer (IPv4 widened).
fn addr_value(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// `2^host_bits - 1`, i.e. the offset of a block's last address from its first.
fn host_mask(host_bits: u32) -> u128 {
    if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    }
}

/// The number of host bits of a `/prefix` block of `family`.
fn host_bits(family: Family, prefix: u8) -> u32 {
    u32::from(family.bits().saturating_sub(prefix))
}

/// The first and last address of a block as integers.
fn span(c: &Cidr) -> Span {
    let start = addr_value(c.network());
    (start, start | host_mask(host_bits(c.family(), c.prefix())))
}

/// The block of `family` starting at `start` with `prefix` bits (host bits cleared).
fn make(family: Family, start: u128, prefix: u8) -> Option<Cidr> {
    let addr = match family {
        Family::Ipv4 => IpAddr::V4(u32::try_from(start).ok()?.into()),
        Family::Ipv6 => IpAddr::V6(start.into()),
    };
    Cidr::truncated(addr, prefix)
}

/// The blocks of `family` in `blocks` as sorted, merged intervals (adjacent ones joined).
fn merged(blocks: &[Cidr], family: Family) -> Vec<Span> {
    let mut spans: Vec<Span> = blocks
        .iter()
        .filter(|b| b.family() == family)
        .map(span)
        .collect();
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Appends the fewest aligned blocks covering exactly `[start, end]` to `out`, in order.
fn push_range(family: Family, (start, end): Span, out: &mut Vec<Cidr>) {
    let bits = u32::from(family.bits());
    let mut s = start;
    while s <= end {
        let align = if s == 0 {
            bits
        } else {
            s.trailing_zeros().min(bits)
        };
        let count_minus_one = end - s;
        // floor(log2(count)), where count = end - s + 1 may be 2^128
        let fit = match count_minus_one.checked_add(1) {
            Some(n) => n.ilog2(),
            None => 128,
        };
        let h = align.min(fit);
        let prefix = u8::try_from(bits - h).unwrap_or(0);
        if let Some(block) = make(family, s, prefix) {
            out.push(block);
        }
        let last = s | host_mask(h);
        match last.checked_add(1) {
            Some(next) if last < end => s = next,
            _ => break,
        }
    }
}

/// The minimal sorted list of blocks covering exactly the union of `blocks`.
///
/// Blocks inside others are dropped and adjacent siblings merged; IPv4 blocks come before IPv6,
/// then blocks are in address order.
///
/// ```
/// use meshspec::cidr::{collapse, Cidr};
/// let c = |s: &str| s.parse::<Cidr>().unwrap();
/// let out = collapse(&[c("10.0.0.128/25"), c("10.0.0.0/25"), c("10.0.0.7/32"), c("fd00::/8")]);
/// assert_eq!(out, [c("10.0.0.0/24"), c("fd00::/8")]);
/// ```
#[must_use]
pub fn collapse(blocks: &[Cidr]) -> Vec<Cidr> {
    let mut out = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        for s in merged(blocks, family) {
            push_range(family, s, &mut out);
        }
    }
    out
}

/// The minimal sorted list of blocks covering `from` minus every address of `remove`.
///
/// Blocks of the other family in `remove` are ignored.
///
/// ```
/// use meshspec::cidr::{subtract, Cidr};
/// let c = |s: &str| s.parse::<Cidr>().unwrap();
/// let left = subtract(&c("10.0.0.0/24"), &[c("10.0.0.0/26")]);
/// assert_eq!(left, [c("10.0.0.64/26"), c("10.0.0.128/25")]);
/// assert!(subtract(&c("10.0.0.0/24"), &[c("10.0.0.0/8")]).is_empty());
/// ```
#[must_use]
pub fn subtract(from: &Cidr, remove: &[Cidr]) -> Vec<Cidr> {
    let family = from.family();
    let (fs, fe) = span(from);
    let mut out = Vec::new();
    let mut cursor = Some(fs);
    for (s, e) in merged(remove, family) {
        let Some(cur) = cursor else { break };
        if e < cur || s > fe {
            continue;
        }
        if s > cur {
            push_range(family, (cur, s - 1), &mut out);
        }
        cursor = if e >= fe { None } else { e.checked_add(1) };
    }
    if let Some(cur) = cursor {
        push_range(family, (cur, fe), &mut out);
    }
    out
}

/// Whether the union of `set` holds every address of `target`.
///
/// ```
/// use meshspec::cidr::{covers, Cidr};
/// let c = |s: &str| s.parse::<Cidr>().unwrap();
/// let set = [c("10.0.0.0/25"), c("10.0.0.128/25")];
/// assert!(covers(&set, &c("10.0.0.0/24")));
/// assert!(!covers(&set, &c("10.0.0.0/23")));
/// ```
#[must_use]
pub fn covers(set: &[Cidr], target: &Cidr) -> bool {
    let (ts, te) = span(target);
    merged(set, target.family())
        .iter()
        .any(|&(s, e)| s <= ts && te <= e)
}

/// Whether `mask` can split `cluster`: not shorter than its prefix, not longer than the family.
fn valid_mask(cluster: &Cidr, mask: u8) -> bool {
    mask >= cluster.prefix() && mask <= cluster.family().bits()
}

/// How many `/mask` blocks fit in `cluster`, or `None` when `mask` is shorter than the
/// cluster prefix or longer than the family allows. Saturates at `u128::MAX`.
///
/// ```
/// use meshspec::cidr::{block_count, Cidr};
/// let pods: Cidr = "10.42.0.0/16".parse().unwrap();
/// assert_eq!(block_count(&pods, 24), Some(256));
/// assert_eq!(block_count(&pods, 8), None);
/// assert_eq!(block_count(&"fd00:42::/56".parse().unwrap(), 64), Some(256));
/// ```
#[must_use]
pub fn block_count(cluster: &Cidr, mask: u8) -> Option<u128> {
    if !valid_mask(cluster, mask) {
        return None;
    }
    Some(
        1u128
            .checked_shl(u32::from(mask - cluster.prefix()))
            .unwrap_or(u128::MAX),
    )
}

/// Lazy iterator over aligned blocks; see [`blocks`].
struct Blocks {
    family: Family,
    prefix: u8,
    host_bits: u32,
    next: Option<u128>,
    end: u128,
}

impl Iterator for Blocks {
    type Item = Cidr;

    fn next(&mut self) -> Option<Cidr> {
        let start = self.next?;
        let last = start | host_mask(self.host_bits);
        self.next = if last >= self.end {
            None
        } else {
            last.checked_add(1)
        };
        make(self.family, start, self.prefix)
    }
}

/// The `/mask` blocks of `cluster` in address order; empty when `mask` is invalid.
///
/// The iterator is lazy, so splitting a large IPv6 block costs nothing until iterated.
///
/// ```
/// use meshspec::cidr::{blocks, Cidr};
/// let pods: Cidr = "fd00:42::/56".parse().unwrap();
/// let first: Vec<String> = blocks(&pods, 64).take(2).map(|b| b.to_string()).collect();
/// assert_eq!(first, ["fd00:42::/64", "fd00:42:0:1::/64"]);
/// ```
pub fn blocks(cluster: &Cidr, mask: u8) -> impl Iterator<Item = Cidr> + use<> {
    let (start, end) = span(cluster);
    let family = cluster.family();
    Blocks {
        family,
        prefix: mask,
        host_bits: host_bits(family, mask),
        next: valid_mask(cluster, mask).then_some(start),
        end,
    }
}

/// The first `count` `/mask` blocks of `within`, skipping blocks that overlap `avoid`.
///
/// Jumps over avoided ranges instead of walking them, so the cost is `O(count + avoid)`.
fn first_free(within: &Cidr, mask: u8, count: usize, avoid: &[Cidr]) -> Vec<Cidr> {
    let family = within.family();
    let (start, end) = span(within);
    let h = host_bits(family, mask);
    let size_mask = host_mask(h);
    let pins = merged(avoid, family);
    let mut out = Vec::new();
    let mut pin = pins.iter().peekable();
    let mut cursor = Some(start);
    while out.len() < count {
        let Some(cur) = cursor else { break };
        if cur > end {
            break;
        }
        let last = cur | size_mask;
        while pin.next_if(|&&(_, pe)| pe < cur).is_some() {}
        match pin.peek() {
            Some(&&(ps, pe)) if ps <= last => {
                // skip to the first block after the one holding the pin's last address
                cursor = (pe | size_mask).checked_add(1);
            }
            _ => {
                if let Some(b) = make(family, cur, mask) {
                    out.push(b);
                }
                cursor = last.checked_add(1);
            }
        }
    }
    out
}

/// How many `/mask` blocks of `within` overlap none of `avoid` (saturating).
fn free_count(within: &Cidr, mask: u8, avoid: &[Cidr]) -> u128 {
    let total = block_count(within, mask).unwrap_or(0);
    let family = within.family();
    let (start, end) = span(within);
    let h = host_bits(family, mask);
    let index = |a: u128| if h >= 128 { 0 } else { (a - start) >> h };
    let mut taken: u128 = 0;
    let mut last_index: Option<u128> = None;
    for (s, e) in merged(avoid, family) {
        if e < start || s > end {
            continue;
        }
        let first = index(s.max(start));
        let last = index(e.min(end));
        let first = match last_index {
            Some(li) if li >= first => li + 1,
            _ => first,
        };
        if first <= last {
            taken = taken.saturating_add(last - first).saturating_add(1);
        }
        last_index = Some(last);
    }
    total.saturating_sub(taken)
}

/// The first `count` `/mask` blocks of `cluster` in address order, skipping any block that
/// overlaps a pinned block.
///
/// This predicts the pod CIDR each node gets from k3s's controller manager when nodes join in
/// order and some nodes' subnets are pinned. It does not check the controller manager's limit
/// of 16 bits between the cluster prefix and the mask (rule MS105 does).
///
/// # Errors
/// [`AllocError::InvalidMask`] when `mask` is shorter than the cluster prefix or longer than
/// the family; [`AllocError::Exhausted`] when fewer than `count` blocks are free.
///
/// ```
/// use meshspec::cidr::{allocate, Cidr};
/// let c = |s: &str| s.parse::<Cidr>().unwrap();
/// let got = allocate(&c("10.42.0.0/16"), 24, 3, &[c("10.42.1.0/24")]).unwrap();
/// assert_eq!(got, [c("10.42.0.0/24"), c("10.42.2.0/24"), c("10.42.3.0/24")]);
/// let err = allocate(&c("10.42.0.0/23"), 24, 3, &[]).unwrap_err();
/// assert_eq!(err.to_string(), "cluster CIDR `10.42.0.0/23` has 2 free `/24` blocks but 3 are needed");
/// ```
pub fn allocate(
    cluster: &Cidr,
    mask: u8,
    count: usize,
    pinned: &[Cidr],
) -> Result<Vec<Cidr>, AllocError> {
    if !valid_mask(cluster, mask) {
        return Err(AllocError::InvalidMask {
            cluster: *cluster,
            mask,
        });
    }
    // counted first (cheap), so a huge `count` fails fast instead of walking the blocks
    let available = free_count(cluster, mask, pinned);
    if available < count as u128 {
        return Err(AllocError::Exhausted {
            cluster: *cluster,
            mask,
            wanted: count,
            available,
        });
    }
    Ok(first_free(cluster, mask, count, pinned))
}

/// The first aligned `/prefix` block inside `within` that overlaps none of `avoid`.
///
/// Returns `None` when `prefix` is shorter than `within`'s, longer than the family, or every
/// block is taken.
///
/// ```
/// use meshspec::cidr::{free_block, Cidr};
/// let c = |s: &str| s.parse::<Cidr>().unwrap();
/// let used = [c("10.42.0.0/16"), c("10.43.0.0/16")];
/// assert_eq!(free_block(&c("10.42.0.0/15"), 16, &used), None);
/// assert_eq!(free_block(&c("10.0.0.0/8"), 16, &used), Some(c("10.0.0.0/16")));
/// ```
#[must_use]
pub fn free_block(within: &Cidr, prefix: u8, avoid: &[Cidr]) -> Option<Cidr> {
    if !valid_mask(within, prefix) {
        return None;
    }
    first_free(within, prefix, 1, avoid).into_iter().next()
}

/// The private ranges [`suggest_free`] searches, in order.
fn private_ranges(family: Family) -> Vec<Cidr> {
    let raw: &[(IpAddr, u8)] = match family {
        Family::Ipv4 => &[
            (IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 0)), 8),
            (IpAddr::V4(std::net::Ipv4Addr::new(172, 16, 0, 0)), 12),
            (IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 0, 0)), 16),
        ],
        Family::Ipv6 => &[(
            IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0)),
            8,
        )],
    };
    raw.iter()
        .filter_map(|&(a, p)| Cidr::truncated(a, p))
        .collect()
}

/// A free `/prefix` block in the private address space of `family`, avoiding `avoid`.
///
/// Searches `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` for IPv4 and `fd00::/8` for IPv6,
/// in that order, and returns the first block that overlaps nothing in `avoid`. Used for help
/// texts such as "try `10.44.0.0/16`".
///
/// ```
/// use meshspec::cidr::{suggest_free, Cidr, Family};
/// let c = |s: &str| s.parse::<Cidr>().unwrap();
/// let used = [c("10.0.0.0/9"), c("10.128.0.0/9")];
/// assert_eq!(suggest_free(16, Family::Ipv4, &used), Some(c("172.16.0.0/16")));
/// assert_eq!(suggest_free(48, Family::Ipv6, &[]), Some(c("fd00::/48")));
/// ```
#[must_use]
pub fn suggest_free(prefix: u8, family: Family, avoid: &[Cidr]) -> Option<Cidr> {
    private_ranges(family)
        .iter()
        .find_map(|r| free_block(r, prefix, avoid))
}

/// Blocks added one at a time, each with a tag, that answers which earlier block overlaps a new
/// one: the first added, as a scan of the blocks in the order they were added finds it.
///
/// A scan is linear in the blocks, so checking every node's block against the ones before it
/// was quadratic in nodes. Here a query looks up the block's supernets (one lookup per prefix
/// length) and the blocks that start inside it: `O(prefix · log n)` plus the blocks it holds.
pub(crate) struct OverlapIndex<T> {
    /// (family, first address, prefix) -> (the order it was added in, its tag), the first
    /// added where the same block repeats.
    blocks: std::collections::BTreeMap<(Family, u128, u8), (usize, T)>,
    /// How many blocks were added.
    added: usize,
}

impl<T: Copy> OverlapIndex<T> {
    /// An empty index.
    pub(crate) fn new() -> Self {
        Self {
            blocks: std::collections::BTreeMap::new(),
            added: 0,
        }
    }

    /// The tag of the first added block that overlaps `c`, if any.
    pub(crate) fn first_overlapping(&self, c: &Cidr) -> Option<T> {
        let family = c.family();
        let (start, end) = span(c);
        let mut first: Option<(usize, T)> = None;
        let mut consider = |v: &(usize, T)| {
            if first.is_none_or(|f| v.0 < f.0) {
                first = Some(*v);
            }
        };
        // the blocks that hold `c` (itself included): its supernet at each prefix length
        for len in 0..=c.prefix() {
            let net = start & !host_mask(host_bits(family, len));
            if let Some(v) = self.blocks.get(&(family, net, len)) {
                consider(v);
            }
        }
        // the blocks inside `c`: those that start in it with a longer prefix (an aligned block
        // that starts inside `c` after its first address is always smaller than `c`)
        let inside = (family, start, c.prefix().saturating_add(1))..=(family, end, u8::MAX);
        for v in self.blocks.range(inside).map(|(_, v)| v) {
            consider(v);
        }
        first.map(|(_, tag)| tag)
    }

    /// Adds a block with its tag.
    pub(crate) fn insert(&mut self, c: &Cidr, tag: T) {
        let (start, _) = span(c);
        self.blocks
            .entry((c.family(), start, c.prefix()))
            .or_insert((self.added, tag));
        self.added += 1;
    }
}

#[cfg(test)]
mod tests;
