//! The spec's fixed vocabularies (`role: server`, `plugin: cilium`, ...).

use std::fmt;

use serde::{Serialize, Serializer};

/// A closed set of words a spec field accepts.
pub trait Keyword: Copy + Sized + 'static {
    /// Every accepted word with its value, in the order documented.
    const WORDS: &'static [(&'static str, Self)];

    /// The value for a word, exactly as written.
    fn from_word(word: &str) -> Option<Self> {
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, v)| *v)
    }

    /// The word for a value.
    fn word(self) -> &'static str;

    /// The accepted words, quoted and comma-separated, for messages.
    #[must_use]
    fn expected() -> String {
        Self::WORDS
            .iter()
            .map(|(w, _)| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! keyword {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl Keyword for $name {
            const WORDS: &'static [(&'static str, Self)] = &[$(($word, $name::$variant)),+];

            fn word(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.word())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.word())
            }
        }
    };
}

keyword!(
    /// `mesh.provider`.
    Provider {
        /// Tailscale (the default).
        Tailscale = "tailscale",
        /// Headscale: the Tailscale client against a self-hosted control server.
        Headscale = "headscale",
        /// NetBird.
        Netbird = "netbird",
        /// Plain WireGuard.
        Wireguard = "wireguard",
    }
);

keyword!(
    /// `cni.plugin`.
    CniPlugin {
        /// Cilium.
        Cilium = "cilium",
        /// Flannel, k3s's built-in CNI (the default).
        Flannel = "flannel",
    }
);

keyword!(
    /// `cni.cilium.tunnel_protocol`.
    TunnelProtocol {
        /// VXLAN (UDP 8472).
        Vxlan = "vxlan",
        /// Geneve (UDP 6081).
        Geneve = "geneve",
    }
);

keyword!(
    /// `cni.cilium.ipam`.
    CiliumIpam {
        /// Pod CIDRs allocated by k3s's controller manager.
        Kubernetes = "kubernetes",
        /// Cilium's own pool.
        ClusterPool = "cluster-pool",
    }
);

keyword!(
    /// `cni.flannel.backend`.
    FlannelBackend {
        /// VXLAN encapsulation (the default).
        Vxlan = "vxlan",
        /// Flannel's own WireGuard tunnels.
        WireguardNative = "wireguard-native",
        /// Plain routes; needs shared L2.
        HostGw = "host-gw",
    }
);

keyword!(
    /// `nodes[].role`.
    Role {
        /// Runs the control plane (and workloads).
        Server = "server",
        /// Runs workloads only.
        Agent = "agent",
    }
);

keyword!(
    /// `nodes[].node_ip`.
    NodeIpChoice {
        /// Let meshspec choose (see `docs/spec-format.md`).
        Auto = "auto",
        /// The node's LAN address.
        Lan = "lan",
        /// The node's mesh address.
        Mesh = "mesh",
    }
);

keyword!(
    /// `proxy.style`.
    ProxyStyle {
        /// Exactly the ranges the cluster uses, collapsed.
        Precise = "precise",
        /// Whole private blocks.
        Broad = "broad",
    }
);

impl Provider {
    /// The interface the provider brings up by default.
    ///
    /// ```
    /// use meshspec::spec::Provider;
    /// assert_eq!(Provider::Netbird.default_interface(), "wt0");
    /// ```
    #[must_use]
    pub fn default_interface(self) -> &'static str {
        match self {
            Provider::Tailscale | Provider::Headscale => "tailscale0",
            Provider::Netbird => "wt0",
            Provider::Wireguard => "wg0",
        }
    }

    /// The provider's interface MTU (Tailscale fixes 1280; WireGuard's default is 1420).
    #[must_use]
    pub fn default_mtu(self) -> u32 {
        match self {
            Provider::Tailscale | Provider::Headscale => crate::mtu::TAILSCALE_MTU,
            Provider::Netbird => crate::mtu::NETBIRD_MTU,
            Provider::Wireguard => crate::mtu::WIREGUARD_MTU,
        }
    }

    /// The address ranges the provider hands out by default (none for plain WireGuard).
    #[must_use]
    pub fn default_ranges(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Provider::Tailscale | Provider::Headscale => {
                (Some("100.64.0.0/10"), Some("fd7a:115c:a1e0::/48"))
            }
            Provider::Netbird => (Some("100.64.0.0/10"), None),
            Provider::Wireguard => (None, None),
        }
    }
}

/// A word the stand-alone MTU calculator does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` is `{given}`; expected {expected}")]
pub struct UnknownWord {
    /// Which argument.
    pub field: &'static str,
    /// What was given.
    pub given: String,
    /// The accepted words.
    pub expected: String,
}

/// The stand-alone MTU calculator's question from words, as bindings and scripts take them:
/// `mesh` is a provider (`tailscale`, ...) or `none`/absent for no mesh, `tunnel` is `vxlan`,
/// `geneve` or `none`/absent, `outer` is the underlay family under the mesh (`ipv4`/`ipv6`).
///
/// ```
/// use meshspec::spec::mtu_query;
/// let q = mtu_query(1492, Some("wireguard"), None, Some("vxlan"), "ipv6").unwrap();
/// assert_eq!(meshspec::mtu::calculate(&q).violations()[0].excess, 8);
/// assert!(mtu_query(1500, Some("zerotier"), None, None, "ipv6").is_err());
/// ```
///
/// # Errors
/// [`UnknownWord`] naming the argument and the accepted words.
pub fn mtu_query(
    underlay: u32,
    mesh: Option<&str>,
    mesh_mtu: Option<u32>,
    tunnel: Option<&str>,
    outer: &str,
) -> Result<crate::mtu::Query, UnknownWord> {
    use crate::cidr::Family;
    let unknown = |field, given: &str, expected: String| UnknownWord {
        field,
        given: given.to_owned(),
        expected,
    };
    let provider =
        match mesh {
            None | Some("none") => None,
            Some(word) => Some(Provider::from_word(word).ok_or_else(|| {
                unknown("mesh", word, format!("{} or `none`", Provider::expected()))
            })?),
        };
    let tunnel = match tunnel {
        None | Some("none") => None,
        Some("vxlan") => Some(crate::mtu::Tunnel::Vxlan),
        Some("geneve") => Some(crate::mtu::Tunnel::Geneve),
        Some(other) => {
            return Err(unknown(
                "tunnel",
                other,
                "`vxlan`, `geneve` or `none`".to_owned(),
            ));
        }
    };
    let outer = match outer {
        "ipv4" => Family::Ipv4,
        "ipv6" => Family::Ipv6,
        other => return Err(unknown("outer", other, "`ipv4` or `ipv6`".to_owned())),
    };
    Ok(crate::mtu::Query {
        underlay_mtu: underlay,
        mesh: provider.map(|p| {
            (
                p.default_interface().to_owned(),
                mesh_mtu.unwrap_or_else(|| p.default_mtu()),
            )
        }),
        mesh_outer: outer,
        tunnel,
        // inside a mesh the tunnel runs between mesh addresses (IPv4 on Tailscale)
        tunnel_outer: if provider.is_some() {
            Family::Ipv4
        } else {
            outer
        },
    })
}
