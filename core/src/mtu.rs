//! MTU arithmetic: an encapsulation stack computed layer by layer, and the overheads of the
//! tunnels, meshes and CNIs meshspec renders for.
//!
//! A [`Stack`] starts at a site's underlay and adds one [`Layer`] per encapsulation, ending at
//! the pod interface. Each layer knows the largest packet it carries and what it adds around
//! those packets on the layer below, so the stack can say both what pods get and where a packet
//! would not fit ([`Stack::violations`], rules MS301 and MS305). The free functions hold the
//! numbers: [`tunnel_overhead`], [`mesh_overhead`], [`flannel_overhead`],
//! [`cilium_wireguard_overhead`] and [`cilium_route_mtu`].
//!
//! This module does not read interfaces, probe paths or decide which stack a cluster uses;
//! callers build the stack from the resolved spec. All arithmetic saturates: an overhead larger
//! than the MTU yields 0, never a panic.
//!
//! ```
//! use meshspec::cidr::Family;
//! use meshspec::mtu::{mesh_overhead, tunnel_overhead, Stack, Tunnel, TAILSCALE_MTU};
//! let stack = Stack::underlay("underlay (site home)", 1500)
//!     .mesh("tailscale0 (WireGuard +80)", TAILSCALE_MTU, mesh_overhead(Family::Ipv6))
//!     .encap("VXLAN over IPv4 (-50)", tunnel_overhead(Tunnel::Vxlan, Family::Ipv4))
//!     .pod("pod eth0");
//! assert_eq!(stack.pod_mtu(), 1230);
//! assert!(stack.violations().is_empty());
//! assert_eq!(
//!     stack.to_string(),
//!     "underlay (site home)        1500\n\
//!      tailscale0 (WireGuard +80)  1280   fits: 1280 + 80 = 1360 <= 1500\n\
//!      VXLAN over IPv4 (-50)       1230\n\
//!      pod eth0                    1230"
//! );
//! ```

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::cidr::Family;

/// The smallest MTU an IPv6 link may have (RFC 8200); pods with IPv6 need at least this.
pub const IPV6_MIN_MTU: u32 = 1280;

/// The usual Ethernet MTU, and Cilium's fallback when no MTU is known.
pub const ETHERNET_MTU: u32 = 1500;

/// The MTU Tailscale fixes on its interface (`tailscale0`).
pub const TAILSCALE_MTU: u32 = 1280;

/// The default interface MTU of plain WireGuard (`wg-quick`).
pub const WIREGUARD_MTU: u32 = 1420;

/// The interface MTU NetBird sets (`wt0`).
pub const NETBIRD_MTU: u32 = 1280;

/// Bytes Cilium reserves for IPsec encryption (default key size).
pub const CILIUM_IPSEC_OVERHEAD: u32 = 77;

/// A tunnel protocol that wraps pod packets in UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tunnel {
    /// VXLAN (UDP 8472 in flannel and Cilium).
    Vxlan,
    /// Geneve (UDP 6081).
    Geneve,
}

impl fmt::Display for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vxlan => "VXLAN",
            Self::Geneve => "Geneve",
        })
    }
}

/// A flannel backend, as k3s's `flannel-backend` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlannelBackend {
    /// `vxlan`: the k3s default.
    Vxlan,
    /// `wireguard-native`: flannel's own WireGuard tunnel.
    WireguardNative,
    /// `host-gw`: plain routes, needs shared L2.
    HostGw,
    /// The vpn-auth `tailscale` extension backend: routes over the tailnet, no encapsulation.
    TailscaleExtension,
}

/// Encryption Cilium adds on top of (or instead of) its tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CiliumEncryption {
    /// No Cilium encryption.
    #[default]
    None,
    /// `encryption.type: wireguard`.
    WireGuard,
    /// `encryption.type: ipsec`.
    Ipsec,
}

/// Bytes a tunnel adds around each inner packet, by the family of the outer (underlay) header.
///
/// VXLAN and Geneve both cost 50 over IPv4 and 70 over IPv6 (outer IP + UDP 8 + header 8 +
/// inner Ethernet 14), as Cilium counts them.
///
/// ```
/// use meshspec::cidr::Family;
/// use meshspec::mtu::{tunnel_overhead, Tunnel};
/// assert_eq!(tunnel_overhead(Tunnel::Vxlan, Family::Ipv4), 50);
/// assert_eq!(tunnel_overhead(Tunnel::Geneve, Family::Ipv6), 70);
/// ```
#[must_use]
pub fn tunnel_overhead(t: Tunnel, outer: Family) -> u32 {
    match (t, outer) {
        (Tunnel::Vxlan | Tunnel::Geneve, Family::Ipv4) => 50,
        (Tunnel::Vxlan | Tunnel::Geneve, Family::Ipv6) => 70,
    }
}

/// Bytes a WireGuard-based mesh (Tailscale, Headscale, NetBird, WireGuard) adds around each
/// packet: 60 over an IPv4 underlay, 80 over IPv6.
///
/// ```
/// use meshspec::cidr::Family;
/// use meshspec::mtu::mesh_overhead;
/// assert_eq!(mesh_overhead(Family::Ipv4), 60);
/// assert_eq!(mesh_overhead(Family::Ipv6), 80);
/// ```
#[must_use]
pub fn mesh_overhead(outer: Family) -> u32 {
    match outer {
        Family::Ipv4 => 60,
        Family::Ipv6 => 80,
    }
}

/// What flannel subtracts from its interface MTU to get the pod MTU.
///
/// `vxlan` 50, `wireguard-native` 80, `host-gw` and the vpn-auth `tailscale` extension 0
/// (flannel v0.28 constants).
///
/// ```
/// use meshspec::mtu::{flannel_overhead, FlannelBackend};
/// assert_eq!(flannel_overhead(FlannelBackend::Vxlan), 50);
/// assert_eq!(flannel_overhead(FlannelBackend::TailscaleExtension), 0);
/// ```
#[must_use]
pub fn flannel_overhead(b: FlannelBackend) -> u32 {
    match b {
        FlannelBackend::Vxlan => 50,
        FlannelBackend::WireguardNative => 80,
        FlannelBackend::HostGw | FlannelBackend::TailscaleExtension => 0,
    }
}

/// The pod MTU flannel writes to `FLANNEL_MTU`: the interface MTU minus the backend overhead.
///
/// ```
/// use meshspec::mtu::{flannel_pod_mtu, FlannelBackend, TAILSCALE_MTU};
/// assert_eq!(flannel_pod_mtu(TAILSCALE_MTU, FlannelBackend::Vxlan), 1230);
/// assert_eq!(flannel_pod_mtu(TAILSCALE_MTU, FlannelBackend::WireguardNative), 1200);
/// ```
#[must_use]
pub fn flannel_pod_mtu(interface_mtu: u32, b: FlannelBackend) -> u32 {
    interface_mtu.saturating_sub(flannel_overhead(b))
}

/// Bytes Cilium reserves for its WireGuard encryption, by chart minor version (`1.<minor>`).
///
/// 80 up to 1.18; 95 from 1.19.5 and in 1.20 (cilium/cilium#45940: WireGuard pads to a multiple
/// of 16). 1.19.0 to 1.19.4 still reserved 80, but the 1.19 chart meshspec targets is 1.19.6,
/// so minor 19 gives 95.
///
/// ```
/// use meshspec::mtu::cilium_wireguard_overhead;
/// assert_eq!(cilium_wireguard_overhead(18), 80);
/// assert_eq!(cilium_wireguard_overhead(19), 95);
/// assert_eq!(cilium_wireguard_overhead(20), 95);
/// ```
#[must_use]
pub fn cilium_wireguard_overhead(chart_minor: u32) -> u32 {
    if chart_minor >= 19 { 95 } else { 80 }
}

/// The route MTU Cilium gives pods, from its base MTU (the Helm `MTU` value: the underlay).
///
/// Follows Cilium's `Configuration.Calculate`: WireGuard with a tunnel `base - (wg + tunnel)`,
/// WireGuard alone `base - wg`, IPsec with a tunnel `base - (tunnel + 77)`, IPsec alone
/// `base - 77`, a tunnel alone `base - tunnel`, neither `base`. A base of 0 means "unset" to
/// Cilium, which then falls back to [`ETHERNET_MTU`]; this function does the same.
///
/// ```
/// use meshspec::cidr::Family;
/// use meshspec::mtu::{cilium_route_mtu, CiliumEncryption, Tunnel};
/// let vxlan4 = Some((Tunnel::Vxlan, Family::Ipv4));
/// // Cilium over Tailscale: MTU 1280, pods get 1230
/// assert_eq!(cilium_route_mtu(1280, vxlan4, CiliumEncryption::None, 20), 1230);
/// // WireGuard on top of the mesh: 1280 - (95 + 50)
/// assert_eq!(cilium_route_mtu(1280, vxlan4, CiliumEncryption::WireGuard, 20), 1135);
/// assert_eq!(cilium_route_mtu(1280, vxlan4, CiliumEncryption::WireGuard, 18), 1150);
/// ```
#[must_use]
pub fn cilium_route_mtu(
    base: u32,
    tunnel: Option<(Tunnel, Family)>,
    enc: CiliumEncryption,
    chart_minor: u32,
) -> u32 {
    let base = if base == 0 { ETHERNET_MTU } else { base };
    let tunnel = tunnel.map_or(0, |(t, outer)| tunnel_overhead(t, outer));
    let encryption = match enc {
        CiliumEncryption::None => 0,
        CiliumEncryption::WireGuard => cilium_wireguard_overhead(chart_minor),
        CiliumEncryption::Ipsec => CILIUM_IPSEC_OVERHEAD,
    };
    base.saturating_sub(tunnel.saturating_add(encryption))
}

/// One level of an encapsulation stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layer {
    /// What the layer is, as shown to people (`tailscale0 (WireGuard +80)`).
    pub name: String,
    /// The largest packet this layer carries, in bytes.
    pub mtu: u32,
    /// Bytes this layer adds around each packet it carries when it hands it to the layer
    /// below: a packet of `mtu` bytes becomes `mtu + overhead` bytes there.
    pub overhead: u32,
    /// A free-text remark shown after the layer (empty for none).
    pub note: String,
}

impl Layer {
    /// The largest packet this layer puts on the layer below (`mtu + overhead`, saturating).
    #[must_use]
    pub fn outer_size(&self) -> u32 {
        self.mtu.saturating_add(self.overhead)
    }
}

/// A layer whose packets do not fit the layer below.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violation {
    /// Position of the offending layer in [`Stack::layers`].
    pub index: usize,
    /// Name of the offending layer.
    pub layer: String,
    /// Name of the layer below it.
    pub below: String,
    /// The largest packet the layer hands down (`mtu + overhead`).
    pub packet: u32,
    /// The MTU of the layer below.
    pub below_mtu: u32,
    /// How many bytes too many (`packet - below_mtu`).
    pub excess: u32,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` hands down packets of up to {} bytes but `{}` carries at most {}: {} bytes too many",
            self.layer, self.packet, self.below, self.below_mtu, self.excess
        )
    }
}

/// An encapsulation stack from the underlay (first) to the pod interface (last).
///
/// Built with [`Stack::underlay`] and the chained builders; a stack always has at least the
/// underlay layer.
///
/// ```
/// use meshspec::mtu::{Stack, WIREGUARD_MTU};
/// // WireGuard's default 1420 over PPPoE (1492) with an IPv4 underlay: 1420 + 60 = 1480 fits
/// let ok = Stack::underlay("pppoe", 1492).mesh("wg0", WIREGUARD_MTU, 60).pod("pod eth0");
/// assert!(ok.violations().is_empty());
/// // over IPv6 the same interface needs 1500 bytes: 8 too many
/// let bad = Stack::underlay("pppoe", 1492).mesh("wg0", WIREGUARD_MTU, 80).pod("pod eth0");
/// assert_eq!(bad.violations()[0].excess, 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Stack {
    layers: Vec<Layer>,
}

impl Stack {
    /// A stack holding only the underlay: the physical network of a site.
    #[must_use]
    pub fn underlay(name: impl Into<String>, mtu: u32) -> Self {
        Self {
            layers: vec![Layer {
                name: name.into(),
                mtu,
                overhead: 0,
                note: String::new(),
            }],
        }
    }

    /// Adds an arbitrary layer on top.
    #[must_use]
    pub fn layer(mut self, layer: Layer) -> Self {
        self.layers.push(layer);
        self
    }

    /// Adds an interface with a fixed MTU whose packets grow by `overhead` on the layer below,
    /// such as `tailscale0` (1280, WireGuard +60/+80).
    #[must_use]
    pub fn mesh(self, name: impl Into<String>, interface_mtu: u32, overhead: u32) -> Self {
        self.layer(Layer {
            name: name.into(),
            mtu: interface_mtu,
            overhead,
            note: String::new(),
        })
    }

    /// Adds a tunnel whose inner MTU is the MTU of the layer below minus `overhead`.
    #[must_use]
    pub fn encap(self, name: impl Into<String>, overhead: u32) -> Self {
        let mtu = self.pod_mtu().saturating_sub(overhead);
        self.layer(Layer {
            name: name.into(),
            mtu,
            overhead,
            note: String::new(),
        })
    }

    /// Adds a VXLAN or Geneve tunnel named after its protocol and overhead
    /// (`VXLAN over IPv4 (-50)`).
    #[must_use]
    pub fn tunnel(self, t: Tunnel, outer: Family) -> Self {
        let overhead = tunnel_overhead(t, outer);
        self.encap(format!("{t} over {outer} (-{overhead})"), overhead)
    }

    /// Adds the pod interface, which takes the MTU of the layer below.
    #[must_use]
    pub fn pod(self, name: impl Into<String>) -> Self {
        self.encap(name, 0)
    }

    /// Adds a pod interface with an explicit MTU (a configured value that may not fit).
    #[must_use]
    pub fn pod_with_mtu(self, name: impl Into<String>, mtu: u32) -> Self {
        self.mesh(name, mtu, 0)
    }

    /// Sets the note of the topmost layer.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        if let Some(last) = self.layers.last_mut() {
            last.note = note.into();
        }
        self
    }

    /// The layers, underlay first.
    #[must_use]
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The MTU of the underlay (the first layer).
    #[must_use]
    pub fn underlay_mtu(&self) -> u32 {
        self.layers.first().map_or(0, |l| l.mtu)
    }

    /// The MTU of the innermost (last) layer: what pods get once the pod layer is added.
    #[must_use]
    pub fn pod_mtu(&self) -> u32 {
        self.layers.last().map_or(0, |l| l.mtu)
    }

    /// The sum of all overheads above the underlay (saturating).
    #[must_use]
    pub fn total_overhead(&self) -> u32 {
        self.layers
            .iter()
            .skip(1)
            .fold(0u32, |acc, l| acc.saturating_add(l.overhead))
    }

    /// Every layer whose largest packet plus its overhead exceeds the MTU of the layer below,
    /// with the excess in bytes.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        self.layers
            .windows(2)
            .enumerate()
            .filter_map(|(i, pair)| {
                let [below, layer] = pair else { return None };
                // in u64 so that a saturated packet size still counts as too big
                let packet = u64::from(layer.mtu) + u64::from(layer.overhead);
                let excess = packet
                    .checked_sub(u64::from(below.mtu))
                    .filter(|&e| e > 0)?;
                Some(Violation {
                    index: i + 1,
                    layer: layer.name.clone(),
                    below: below.name.clone(),
                    packet: layer.outer_size(),
                    below_mtu: below.mtu,
                    excess: u32::try_from(excess).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }
}

/// A stand-alone MTU question: an underlay, an optional mesh on it, an optional tunnel inside.
///
/// This is the calculator behind `meshspec mtu` and the bindings' `mtu()`; for a whole cluster
/// use `Cluster::mtu_stack`, which also knows Cilium's own encryption and each node's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The underlay's MTU (the site's uplink).
    pub underlay_mtu: u32,
    /// The mesh interface, as its name and MTU; `None` when the tunnel runs on the underlay.
    pub mesh: Option<(String, u32)>,
    /// The family of the underlay under the mesh: its WireGuard overhead is 60 over IPv4 and
    /// 80 over IPv6 (WireGuard's own 1420 default assumes IPv6).
    pub mesh_outer: Family,
    /// A VXLAN or Geneve tunnel carrying the pods, if any.
    pub tunnel: Option<Tunnel>,
    /// The family of the tunnel's outer header: the node-ip family (mesh addresses are IPv4
    /// `100.64.0.0/10` on Tailscale unless the cluster runs on IPv6 node-ips).
    pub tunnel_outer: Family,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            underlay_mtu: ETHERNET_MTU,
            mesh: Some(("tailscale0".to_owned(), TAILSCALE_MTU)),
            mesh_outer: Family::Ipv6,
            tunnel: Some(Tunnel::Vxlan),
            tunnel_outer: Family::Ipv4,
        }
    }
}

/// The stack a [`Query`] describes, layer by layer, with the pod MTU at the end.
///
/// ```
/// use meshspec::mtu::{calculate, Query};
/// // the seeds' case: VXLAN inside Tailscale on a 1500-byte LAN
/// let stack = calculate(&Query::default());
/// assert_eq!(stack.pod_mtu(), 1230);
/// assert!(stack.violations().is_empty());
/// // plain WireGuard (1420) over PPPoE (1492) does not fit over an IPv6 underlay
/// let pppoe = Query { underlay_mtu: 1492, mesh: Some(("wg0".into(), 1420)), ..Query::default() };
/// assert_eq!(calculate(&pppoe).violations()[0].excess, 8);
/// ```
#[must_use]
pub fn calculate(q: &Query) -> Stack {
    let mut stack = Stack::underlay("underlay", q.underlay_mtu);
    if let Some((name, mtu)) = &q.mesh {
        let overhead = mesh_overhead(q.mesh_outer);
        let family = match q.mesh_outer {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        };
        stack = stack.mesh(
            format!("{name} (WireGuard over {family} +{overhead})"),
            *mtu,
            overhead,
        );
    }
    if let Some(t) = q.tunnel {
        stack = stack.tunnel(t, q.tunnel_outer);
    }
    stack.pod("pod eth0")
}

impl fmt::Display for Stack {
    /// One line per layer: name, MTU, then the fit check for layers whose outer packet does
    /// not exactly fill the layer below, then the note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_w = self
            .layers
            .iter()
            .map(|l| l.name.chars().count())
            .max()
            .unwrap_or(0);
        let mtu_w = self
            .layers
            .iter()
            .map(|l| l.mtu.to_string().len())
            .max()
            .unwrap_or(0);
        let mut below: Option<&Layer> = None;
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let mut line = format!("{:<name_w$}  {:>mtu_w$}", layer.name, layer.mtu);
            if let Some(b) = below {
                // in u64 so that the printed sum is right even where `outer_size` saturates
                let packet = u64::from(layer.mtu) + u64::from(layer.overhead);
                let below_mtu = u64::from(b.mtu);
                let sum = format!("{} + {} = {packet}", layer.mtu, layer.overhead);
                if packet > below_mtu {
                    let over = packet - below_mtu;
                    write!(line, "   too big: {sum} > {below_mtu} ({over} bytes over)")?;
                } else if packet < below_mtu {
                    write!(line, "   fits: {sum} <= {below_mtu}")?;
                }
            }
            if !layer.note.is_empty() {
                line.push_str("   ");
                line.push_str(&layer.note);
            }
            f.write_str(line.trim_end())?;
            below = Some(layer);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
