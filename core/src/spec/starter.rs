//! A commented starter spec (`meshspec init`): valid as written, every choice explained.

use std::fmt::Write as _;

use super::decode::is_dns_label;
use super::keywords::{CniPlugin, Keyword, Provider};
use crate::code::Code;
use crate::k3s::known_bugs::{Condition, release_without_known_bugs};

/// What the starter spec is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarterOptions {
    /// The cluster name (a DNS-1123 label).
    pub name: String,
    /// The mesh.
    pub provider: Provider,
    /// The CNI plugin.
    pub cni: CniPlugin,
    /// Site names; empty for a cluster without sites.
    pub sites: Vec<String>,
}

impl Default for StarterOptions {
    fn default() -> Self {
        Self {
            name: "homelab".to_owned(),
            provider: Provider::Tailscale,
            cni: CniPlugin::Flannel,
            sites: Vec::new(),
        }
    }
}

/// Why a starter spec cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StarterError {
    /// A name that is not a DNS-1123 label.
    #[error(
        "`{0}` is not a DNS-1123 label (1-63 lowercase letters, digits or `-`, starting and ending with a letter or digit)"
    )]
    Name(String),
    /// The same site twice.
    #[error("site `{0}` is given twice")]
    DuplicateSite(String),
    /// More sites than the starter numbers.
    #[error("at most 8 sites; add more to the spec by hand")]
    TooManySites,
}

/// The mesh addresses the starter gives its nodes: inside the provider's range, or a small
/// private range for plain WireGuard (which hands out none by default).
fn mesh_ip(provider: Provider, i: usize) -> String {
    match provider.default_ranges().0 {
        Some(_) => format!("100.64.0.{}", i + 1),
        None => format!("10.99.0.{}", i + 1),
    }
}

/// One line with its comment aligned.
fn kv(out: &mut String, text: &str, comment: &str) {
    let _ = writeln!(out, "{text:<36} # {comment}");
}

/// A commented starter spec that validates as written (no errors).
///
/// ```
/// use meshspec::spec::starter::{starter, StarterOptions};
/// let text = starter(&StarterOptions::default()).unwrap();
/// let cluster = meshspec::Cluster::from_yaml(&text).unwrap();
/// assert!(!cluster.validate().has_errors());
/// ```
///
/// # Errors
/// [`StarterError`] for a name or site that is not a DNS-1123 label, or a duplicate site.
pub fn starter(o: &StarterOptions) -> Result<String, StarterError> {
    for n in std::iter::once(&o.name).chain(&o.sites) {
        if !is_dns_label(n) {
            return Err(StarterError::Name(n.clone()));
        }
    }
    for (i, s) in o.sites.iter().enumerate() {
        if o.sites[..i].contains(s) {
            return Err(StarterError::DuplicateSite(s.clone()));
        }
    }
    if o.sites.len() > 8 {
        return Err(StarterError::TooManySites);
    }
    let mut y = format!(
        "# yaml-language-server: $schema={}\n",
        super::fields::SCHEMA_ID
    );
    let providers = Provider::WORDS
        .iter()
        .map(|(w, _)| *w)
        .collect::<Vec<_>>()
        .join(" | ");
    let _ = write!(
        y,
        "\
# A meshspec cluster spec (format: docs/spec-format.md; `meshspec schema` prints the JSON Schema).
# Written by `meshspec init`: it validates as written. Replace the example addresses with your
# nodes' real ones, then run `meshspec validate` on this file.
version: 1
name: {name}

# Pod and service networks: k3s's defaults. Uncomment to change them; they must not overlap
# each other, the mesh range or any site subnet (meshspec checks).
# network:
#   cluster_cidr: 10.42.0.0/16
#   service_cidr: 10.43.0.0/16

mesh:
",
        name = o.name
    );
    kv(&mut y, &format!("  provider: {}", o.provider), &providers);
    match o.provider.default_ranges() {
        (Some(v4), _) => {
            kv(
                &mut y,
                &format!("  # interface: {}", o.provider.default_interface()),
                &format!("the default for {}", o.provider),
            );
            kv(
                &mut y,
                &format!("  # ipv4_range: {v4}"),
                "the addresses it hands out",
            );
        }
        (None, _) => kv(
            &mut y,
            "  ipv4_range: 10.99.0.0/24",
            "WireGuard hands out none itself: the range your peers use",
        ),
    }
    if o.provider == Provider::Headscale {
        // Headscale refuses every autogroup as a tag owner: it needs named users or groups
        kv(
            &mut y,
            "  tag_owners: [admin@]",
            "the Headscale users who may tag the nodes",
        );
    }
    if !o.sites.is_empty() {
        y.push_str(
            "\n# The physical networks. Nodes on one site reach each other directly; between sites\n# they talk over the mesh.\nsites:\n",
        );
        for (i, s) in o.sites.iter().enumerate() {
            let _ = writeln!(y, "  - name: {s}");
            kv(
                &mut y,
                &format!("    subnets: [192.168.{}.0/24]", 10 + i),
                "the site's LAN(s)",
            );
            kv(&mut y, "    # mtu: 1500", "1492 behind PPPoE");
        }
    }
    y.push_str("\ncni:\n");
    kv(&mut y, &format!("  plugin: {}", o.cni), "flannel | cilium");
    match o.cni {
        CniPlugin::Cilium => {
            y.push_str("  cilium:\n");
            kv(
                &mut y,
                &format!("    version: \"{}\"", crate::cilium::ChartLine::newest()),
                "the chart line the values are for (quoted)",
            );
            kv(&mut y, "    tunnel_protocol: vxlan", "vxlan | geneve");
            kv(
                &mut y,
                "    # values: {}",
                "extra Helm values, checked against the chart",
            );
        }
        CniPlugin::Flannel => {
            y.push_str("  # flannel:\n");
            kv(
                &mut y,
                "  #   backend: vxlan",
                "vxlan | wireguard-native | host-gw",
            );
        }
    }
    y.push_str("\nk3s:\n");
    // flannel binds its VXLAN device to the mesh interface on a multi-site cluster (k3s#12436)
    let conditions: &[Condition] = if o.cni == CniPlugin::Flannel {
        &[Condition::FlannelIfaceOnMesh]
    } else {
        &[]
    };
    let pinned = release_without_known_bugs(conditions);
    kv(
        &mut y,
        &format!("  version: {pinned}+k3s1"),
        "the release install.sh fetches: one with no known bug here",
    );
    kv(
        &mut y,
        "  token_file: /etc/rancher/k3s/token",
        "the join token's file on each node, never the token",
    );
    kv(
        &mut y,
        "  disable: [traefik]",
        "packaged components not to deploy",
    );
    let head = y;
    let mut y = String::from(
        "
# The first server initialises the cluster; the others join in this order.
nodes:
",
    );
    let nodes = [("server-1", "server"), ("agent-1", "agent")];
    for (i, (name, role)) in nodes.iter().enumerate() {
        // the server on the first site, the agent on the last
        let site_index = if i == 0 { 0 } else { o.sites.len().max(1) - 1 };
        let _ = writeln!(y, "  - name: {name}");
        kv(&mut y, &format!("    role: {role}"), "server | agent");
        if o.sites.len() > 1 {
            // nodes on different sites: pods everywhere reach every node-ip (MS207)
            kv(
                &mut y,
                "    node_ip: mesh",
                "its mesh address, reachable from every site",
            );
        }
        if let Some(site) = o.sites.get(site_index) {
            let _ = writeln!(y, "    site: {site}");
            kv(
                &mut y,
                &format!("    lan_ip: 192.168.{}.{}", 10 + site_index, 10 + i),
                "its address on the site",
            );
        }
        kv(
            &mut y,
            &format!("    mesh_ip: {}", mesh_ip(o.provider, i)),
            "its mesh address (`tailscale ip -4` prints it)",
        );
        if i == 1 {
            y.push_str("    # labels: {topology.kubernetes.io/zone: edge}\n    # taints: [\"dedicated=batch:NoSchedule\"]\n    # gpu: {vendor: nvidia, model: rtx3060}\n");
        }
    }
    let example = "
# Warnings and infos you accept on purpose, each with a reason (errors cannot be):
# acknowledge:
#   - code: MS411
#     reason: tailscaled is ordered before k3s by our image
";
    let plain = format!("{head}{example}{y}");
    // the warnings the topology itself raises, each handled by the bundle or checked by
    // verify.sh: acknowledged with that reason, so the new spec validates without warnings
    let warned: Vec<Code> = match crate::Cluster::from_yaml(&plain) {
        Ok(c) => {
            let mut codes: Vec<Code> = c
                .validate()
                .iter()
                .filter(|d| d.severity == crate::Severity::Warning)
                .map(|d| d.code)
                .collect();
            codes.sort();
            codes.dedup();
            codes
        }
        Err(_) => Vec::new(),
    };
    let acks: Vec<(Code, &str)> = warned
        .iter()
        .filter_map(|c| ACCEPTED.iter().find(|(code, _)| code == c).copied())
        .collect();
    if acks.is_empty() {
        return Ok(plain);
    }
    let mut block = String::from(
        "
# Warnings this topology raises that the bundle handles: kept in `--format json` output, off
# the terminal (`meshspec explain CODE` says more). Remove an entry to see its warning again.
acknowledge:
",
    );
    for (code, reason) in acks {
        let _ = writeln!(block, "  - code: {code}\n    reason: \"{reason}\"");
    }
    Ok(format!("{head}{block}{y}"))
}

/// The warnings a starter's topology raises, and why each is accepted in a new spec.
const ACCEPTED: &[(Code, &str)] = &[
    (
        Code::InterfaceOrdering,
        "the bundle's k3s drop-in (10-mesh.conf) orders k3s after the mesh daemon and waits for the node's mesh address",
    ),
    (
        Code::TailscaleUdpGroTunnel,
        "the bundle's tailscaled drop-in sets TS_TUN_DISABLE_UDP_GRO=true (Tailscale 1.66+); restart tailscaled once after installing it",
    ),
    (
        Code::CiliumTailscaleFwmark,
        "cluster/verify.sh checks the mesh routes and Cilium's health after install; if it fails, remove this entry and follow `meshspec explain MS705`",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cluster;

    #[test]
    fn every_combination_validates_as_written() {
        for provider in Provider::WORDS.iter().map(|(_, p)| *p) {
            for cni in CniPlugin::WORDS.iter().map(|(_, c)| *c) {
                for sites in [
                    vec![],
                    vec!["home"],
                    vec!["home", "cloud"],
                    vec!["a", "b", "c"],
                ] {
                    let o = StarterOptions {
                        name: "lab".to_owned(),
                        provider,
                        cni,
                        sites: sites.iter().map(|s| (*s).to_owned()).collect(),
                    };
                    let text = starter(&o).unwrap();
                    let c =
                        Cluster::from_yaml(&text).unwrap_or_else(|e| panic!("{o:?}\n{text}\n{e}"));
                    let ds = c.validate();
                    assert!(!ds.has_errors(), "{o:?}\n{text}\n{ds}");
                    // no warnings either: the version is pinned to a release without a
                    // known bug here (no MS412/MS413), the rest handled and acknowledged
                    let warned: Vec<&crate::Diagnostic> = ds
                        .unacknowledged()
                        .filter(|d| d.severity == crate::Severity::Warning)
                        .collect();
                    assert!(warned.is_empty(), "{o:?}\n{text}\n{warned:?}");
                    assert_eq!(
                        text.lines().next(),
                        Some(
                            format!(
                                "# yaml-language-server: $schema={}",
                                crate::spec::fields::SCHEMA_ID
                            )
                            .as_str()
                        )
                    );
                    let version = c.spec.k3s.version.as_deref().unwrap();
                    let v = crate::k3s::known_bugs::Version::parse(version).unwrap();
                    assert!(
                        crate::k3s::known_bugs::KNOWN_BUGS
                            .iter()
                            .all(|b| !b.affects(v))
                    );
                    assert_eq!(c.spec.mesh.provider, Some(provider));
                    assert_eq!(c.spec.sites.len(), sites.len());
                }
            }
        }
    }

    #[test]
    fn bad_names_are_refused() {
        let o = StarterOptions {
            sites: vec!["Home".to_owned()],
            ..StarterOptions::default()
        };
        assert_eq!(starter(&o), Err(StarterError::Name("Home".to_owned())));
        let o = StarterOptions {
            sites: vec!["a".to_owned(), "a".to_owned()],
            ..StarterOptions::default()
        };
        assert_eq!(
            starter(&o),
            Err(StarterError::DuplicateSite("a".to_owned()))
        );
    }
}
