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
        /// Let meshspec choose (see SPEC-FORMAT.md).
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
