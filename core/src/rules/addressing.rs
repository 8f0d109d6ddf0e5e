//! MS1xx: addresses and CIDRs.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::cidr::{self, Cidr, Family};
use crate::cluster::{Cluster, NodeIpMode};
use crate::code::Code;
use crate::diagnostic::Diagnostic;

/// Ranges no pod or service network should overlap, with why.
const WELL_KNOWN: &[(&str, &str)] = &[
    ("172.17.0.0/16", "Docker's default bridge"),
    (
        "169.254.0.0/16",
        "link-local addresses (cloud metadata at 169.254.169.254)",
    ),
    ("127.0.0.0/8", "loopback"),
    ("0.0.0.0/8", "\"this network\""),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("fe80::/10", "IPv6 link-local"),
    ("ff00::/8", "IPv6 multicast"),
];

fn cidr_list(v: &[Cidr]) -> String {
    v.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything the pod and service networks must avoid, for free-range suggestions.
fn taken(c: &Cluster) -> Vec<Cidr> {
    let mut t: Vec<Cidr> = c.network.cluster_cidrs.clone();
    t.extend(&c.network.service_cidrs);
    t.extend(c.mesh.ranges());
    t.extend(c.sites.iter().flat_map(|s| s.subnets.iter().copied()));
    t.extend(
        WELL_KNOWN
            .iter()
            .filter_map(|(s, _)| s.parse::<Cidr>().ok()),
    );
    t
}

/// A free block the size of `like`: k3s's own defaults first (what most clusters use and
/// most guides assume), else the first free block of the private ranges.
///
/// `like` itself is what is being replaced, so it is not in the way. When no block of its size
/// is free (a `/8` in the private ranges), smaller ones are tried, down to k3s's `/16`
/// (IPv6: `/112` for services, `/56` for pods).
fn suggestion(c: &Cluster, like: &Cidr) -> Option<Cidr> {
    let avoid: Vec<Cidr> = taken(c).into_iter().filter(|t| t != like).collect();
    let defaults: Vec<Cidr> = [
        crate::cluster::DEFAULT_CLUSTER_CIDR_V4,
        crate::cluster::DEFAULT_SERVICE_CIDR_V4,
        crate::cluster::DEFAULT_CLUSTER_CIDR_V6,
        crate::cluster::DEFAULT_SERVICE_CIDR_V6,
    ]
    .iter()
    .filter_map(|d| d.parse::<Cidr>().ok())
    .filter(|d| d.family() == like.family())
    .collect();
    let floor = defaults
        .iter()
        .map(Cidr::prefix)
        .max()
        .unwrap_or(like.prefix())
        .max(like.prefix());
    (like.prefix()..=floor).find_map(|prefix| {
        defaults
            .iter()
            .filter(|d| d.prefix() == prefix)
            .find(|d| !avoid.iter().any(|a| a.overlaps(d)))
            .copied()
            .or_else(|| cidr::suggest_free(prefix, like.family(), &avoid))
    })
}

/// Of two overlapping networks, the one to move: the one the spec wrote when the other is
/// k3s's default (or was left out), else the service network.
fn odd_one_out(c: &Cluster, pod: &Cidr, service: &Cidr) -> bool {
    let is_default = |x: &Cidr| {
        [
            crate::cluster::DEFAULT_CLUSTER_CIDR_V4,
            crate::cluster::DEFAULT_SERVICE_CIDR_V4,
            crate::cluster::DEFAULT_CLUSTER_CIDR_V6,
            crate::cluster::DEFAULT_SERVICE_CIDR_V6,
        ]
        .iter()
        .any(|d| d.parse::<Cidr>().ok().as_ref() == Some(x))
    };
    let wrote_pod = c.spec.network.cluster_cidr.contains(pod);
    let wrote_service = c.spec.network.service_cidr.contains(service);
    wrote_pod && (!wrote_service || (is_default(service) && !is_default(pod)))
}

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    overlaps(c, out);
    sites(c, out);
    capacity(c, out);
    cluster_dns(c, out);
    node_addresses(c, out);
    pinned(c, out);
    shape(c, out);
    well_known(c, out);
    private_sites(c, out);
}

/// The ranges a site subnet may come from (MS113): RFC 1918, RFC 6598 (carrier-grade NAT) and
/// IPv6 unique local addresses.
const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// MS113: the firewall scripts accept k3s ports from every site subnet of a node whose site
/// peers share it, so a public or huge "subnet" opens them to the internet.
fn private_sites(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let private: Vec<Cidr> = PRIVATE.iter().filter_map(|s| s.parse().ok()).collect();
    for (i, site) in c.sites.iter().enumerate() {
        for (j, net) in site.subnets.iter().enumerate() {
            let inside = private.iter().any(|p| p.contains(net));
            let wide = net.family() == Family::Ipv4 && net.prefix() < 8;
            if inside && !wide {
                continue;
            }
            let why = if inside {
                "is wider than /8".to_owned()
            } else {
                "lies outside the private ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7)".to_owned()
            };
            out.push(
                Diagnostic::new(
                    Code::SiteSubnetNotPrivate,
                    format!("sites[{i}].subnets[{j}]"),
                    format!("site `{}` subnet `{net}` {why}: the firewall scripts would accept k3s ports (API, kubelet, VXLAN) from all of it", site.name),
                )
                .with_help("list only the LAN the site's nodes share, e.g. `192.168.2.0/24`; reach other networks over the mesh"),
            );
        }
    }
}

fn overlaps(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let net = &c.network;
    for p in &net.cluster_cidrs {
        for s in &net.service_cidrs {
            if p.overlaps(s) {
                let move_pod = odd_one_out(c, p, s);
                let (field, key, what, moved) = if move_pod {
                    ("network.cluster_cidr", "cluster_cidr", "pod", p)
                } else {
                    ("network.service_cidr", "service_cidr", "service", s)
                };
                let mut d = Diagnostic::new(
                    Code::PodServiceOverlap,
                    field,
                    format!("pod network `{p}` and service network `{s}` overlap"),
                );
                if let Some(free) = suggestion(c, moved) {
                    d = d.with_help(format!(
                        "use a {what} network that overlaps nothing else, e.g. `{key}: {free}`"
                    ));
                }
                out.push(d);
            }
        }
    }
    let mesh = c.mesh.ranges();
    for (field, list) in [
        ("network.cluster_cidr", &net.cluster_cidrs),
        ("network.service_cidr", &net.service_cidrs),
    ] {
        for x in list {
            for m in mesh.iter().filter(|m| m.overlaps(x)) {
                let mut d = Diagnostic::new(
                    Code::CidrMeshOverlap,
                    field,
                    format!(
                        "`{x}` overlaps the mesh range `{m}` that {} hands out",
                        c.mesh.provider
                    ),
                );
                if let Some(free) = suggestion(c, x) {
                    d = d.with_help(format!("nodes would route mesh addresses into the cluster network; use e.g. `{free}`"));
                }
                out.push(d);
            }
            // one suggestion per network (it does not depend on the site), at most
            // MAX_LISTED sites listed
            let mut free = None;
            let mut listed = 0;
            let mut more = 0usize;
            for site in &c.sites {
                for sub in site.subnets.iter().filter(|s| s.overlaps(x)) {
                    if listed == MAX_LISTED {
                        more += 1;
                        continue;
                    }
                    listed += 1;
                    let mut d = Diagnostic::new(
                        Code::CidrSiteOverlap,
                        field,
                        format!("`{x}` overlaps subnet `{sub}` of site `{}`", site.name),
                    );
                    if let Some(free) = free.get_or_insert_with(|| suggestion(c, x)) {
                        d = d.with_help(format!(
                            "hosts on that site would be unreachable from pods; use e.g. `{free}`"
                        ));
                    }
                    out.push(d);
                }
            }
            if more > 0 {
                out.push(and_more(
                    Code::CidrSiteOverlap,
                    field,
                    more,
                    "site subnets overlapping it",
                ));
            }
        }
    }
}

/// The most diagnostics of one kind an overlap check lists; one more says how many it left
/// out. 3,000 sites sharing a subnet are 4.5 million pairs: listing them cost 21 s and 3 GB.
pub(crate) const MAX_LISTED: usize = 20;

/// The diagnostic that ends a capped list: "and M more".
pub(crate) fn and_more(code: Code, path: &str, more: usize, what: &str) -> Diagnostic {
    Diagnostic::new(
        code,
        path,
        format!("and {more} more {what} (only the first {MAX_LISTED} are listed)"),
    )
    .with_help("fix the ones listed and check again")
}

/// Site subnets that overlap: in O(n log n). Identical subnets are grouped (one diagnostic
/// names every site holding it); otherwise CIDR blocks either nest or are disjoint, so a
/// sweep over the blocks sorted by start, with a stack of the blocks that contain the current
/// one (at most 129 deep), finds every nesting. At most [`MAX_LISTED`] are listed, then the
/// count of the rest.
fn sites(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let help = "two sites cannot share addresses: if they are one network, make them one site; otherwise renumber one";
    let site = |i: usize| c.sites[i].name.as_str();
    let mut all: Vec<(Cidr, usize)> = c
        .sites
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.subnets.iter().map(move |x| (*x, i)))
        .collect();
    all.sort_by_key(|(x, i)| (x.family(), x.network(), x.prefix(), *i));
    // identical blocks grouped: (block, the distinct sites holding it, ascending)
    let mut groups: Vec<(Cidr, Vec<usize>)> = Vec::new();
    for (x, i) in all {
        match groups.last_mut() {
            Some((y, sites)) if *y == x => {
                if sites.last() != Some(&i) {
                    sites.push(i);
                }
            }
            _ => groups.push((x, vec![i])),
        }
    }
    let mut listed = 0;
    let mut more = 0usize;
    for (x, sites) in &groups {
        if sites.len() < 2 {
            continue;
        }
        if listed == MAX_LISTED {
            more += 1;
            continue;
        }
        listed += 1;
        let (a, b) = (sites[0], sites[1]);
        let message = if sites.len() == 2 {
            format!(
                "site `{}` subnet `{x}` overlaps site `{}` subnet `{x}`",
                site(b),
                site(a)
            )
        } else {
            let shown: Vec<String> = sites
                .iter()
                .take(5)
                .map(|i| format!("`{}`", site(*i)))
                .collect();
            let rest = sites.len() - shown.len();
            format!(
                "subnet `{x}` is in {} sites: {}{}",
                sites.len(),
                shown.join(", "),
                if rest > 0 {
                    format!(" and {rest} more")
                } else {
                    String::new()
                }
            )
        };
        out.push(
            Diagnostic::new(Code::SiteOverlap, format!("sites[{b}].subnets"), message)
                .with_help(help),
        );
    }
    // nesting: the stack holds the groups containing the current one
    let mut stack: Vec<usize> = Vec::new();
    for (g, (y, inner)) in groups.iter().enumerate() {
        while stack.last().is_some_and(|&t| !groups[t].0.contains(y)) {
            stack.pop();
        }
        for &t in &stack {
            let (x, outer) = &groups[t];
            for &i in outer {
                for &j in inner.iter().filter(|&&j| j != i) {
                    if listed == MAX_LISTED {
                        more += 1;
                        continue;
                    }
                    listed += 1;
                    // as before: reported at the later site, naming the earlier one
                    let ((lo, lo_x), (hi, hi_x)) = if i < j {
                        ((i, x), (j, y))
                    } else {
                        ((j, y), (i, x))
                    };
                    out.push(
                        Diagnostic::new(
                            Code::SiteOverlap,
                            format!("sites[{hi}].subnets"),
                            format!(
                                "site `{}` subnet `{hi_x}` overlaps site `{}` subnet `{lo_x}`",
                                site(hi),
                                site(lo)
                            ),
                        )
                        .with_help(help),
                    );
                }
            }
        }
        stack.push(g);
    }
    if more > 0 {
        out.push(and_more(
            Code::SiteOverlap,
            "sites",
            more,
            "overlapping site subnets",
        ));
    }
    let mesh = c.mesh.ranges();
    let mut listed = 0;
    let mut more = 0usize;
    for (i, a) in c.sites.iter().enumerate() {
        for x in &a.subnets {
            for m in mesh.iter().filter(|m| m.overlaps(x)) {
                if listed == MAX_LISTED {
                    more += 1;
                    continue;
                }
                listed += 1;
                out.push(
                    Diagnostic::new(
                        Code::SiteOverlap,
                        format!("sites[{i}].subnets"),
                        format!("site `{}` subnet `{x}` overlaps the mesh range `{m}`", a.name),
                    )
                    .with_help("a LAN inside the mesh range makes mesh and LAN addresses ambiguous on every node; renumber the site or set `mesh.ipv4_range`"),
                );
            }
        }
    }
    if more > 0 {
        out.push(and_more(
            Code::SiteOverlap,
            "sites",
            more,
            "site subnets inside the mesh range",
        ));
    }
}

fn capacity(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let nodes = c.nodes.len();
    for (p, (family, mask)) in c.network.cluster_cidrs.iter().zip(&c.network.node_masks) {
        let max_mask = family.bits();
        if *mask <= p.prefix() || *mask > max_mask {
            out.push(
                Diagnostic::new(
                    Code::NodeCidrCapacity,
                    "network.node_cidr_mask",
                    format!("node mask /{mask} must be longer than the pod network `{p}` and at most /{max_mask}"),
                )
                .with_help(format!("use a mask between /{} and /{max_mask}", p.prefix() + 1)),
            );
            continue;
        }
        if mask - p.prefix() > 16 {
            out.push(
                Diagnostic::new(
                    Code::NodeCidrCapacity,
                    "network.node_cidr_mask",
                    format!("node mask /{mask} is {} bits longer than `{p}`; kube-controller-manager allows at most 16", mask - p.prefix()),
                )
                .with_help(format!("use a mask of at most /{} with this pod network, or a smaller pod network", p.prefix() + 16)),
            );
            continue;
        }
        let blocks = cidr::block_count(p, *mask).unwrap_or(0);
        if (nodes as u128) > blocks {
            let need_bits = usize::BITS - (nodes.saturating_sub(1)).leading_zeros();
            let suggested = u32::from(*mask).saturating_sub(need_bits);
            out.push(
                Diagnostic::new(
                    Code::NodeCidrCapacity,
                    "network.cluster_cidr",
                    format!("{nodes} nodes need {nodes} /{mask} {family} pod subnets but `{p}` holds only {blocks}"),
                )
                .with_help(format!("use a pod network of /{suggested} or larger, or a longer `node_cidr_mask`")),
            );
        }
    }
}

fn cluster_dns(c: &Cluster, out: &mut Vec<Diagnostic>) {
    for dns in &c.network.cluster_dns {
        let inside = c
            .network
            .service_cidrs
            .iter()
            .find(|s| s.contains_addr(*dns));
        match inside {
            None => {
                let tenth = c
                    .network
                    .service_cidrs
                    .iter()
                    .find(|s| s.family() == Family::of(*dns))
                    .and_then(|s| s.nth(10));
                let mut d = Diagnostic::new(
                    Code::ClusterDnsOutside,
                    "network.cluster_dns",
                    format!(
                        "cluster DNS `{dns}` is not inside the service network {}",
                        cidr_list(&c.network.service_cidrs)
                    ),
                );
                if let Some(t) = tenth {
                    d = d.with_help(format!(
                        "use the 10th service address, `{t}`, or remove `cluster_dns` to get it"
                    ));
                }
                out.push(d);
            }
            Some(s) if s.network() == *dns => {
                out.push(
                    Diagnostic::new(
                        Code::ClusterDnsOutside,
                        "network.cluster_dns",
                        format!("cluster DNS `{dns}` is the network address of `{s}`"),
                    )
                    .with_help(format!(
                        "use `{}`",
                        s.nth(10).map_or_else(String::new, |a| a.to_string())
                    )),
                );
            }
            Some(_) => {}
        }
    }
}

fn node_addresses(c: &Cluster, out: &mut Vec<Diagnostic>) {
    // looked up by address only, never in order: hash maps
    let mut mesh_seen: HashMap<IpAddr, &str> = HashMap::with_capacity(c.nodes.len());
    let mut lan_seen: HashMap<IpAddr, &str> = HashMap::with_capacity(c.nodes.len());
    for n in &c.nodes {
        // a node's path is written only for a finding
        let np = || format!("nodes[{}]", n.index);
        for ip in &n.mesh_ips {
            let range = match Family::of(*ip) {
                Family::Ipv4 => c.mesh.ipv4_range,
                Family::Ipv6 => c.mesh.ipv6_range,
            };
            if let Some(r) = range
                && !r.contains_addr(*ip)
            {
                out.push(
                    Diagnostic::new(
                        Code::MeshIpOutside,
                        format!("{}.mesh_ip", np()),
                        format!("node `{}` mesh address `{ip}` is outside the mesh range `{r}`", n.name),
                    )
                    .with_help(format!("use the address `{}` reports for this node (`tailscale ip` for Tailscale), or correct `mesh.{}_range`", c.mesh.provider, if ip.is_ipv4() { "ipv4" } else { "ipv6" })),
                );
            }
            if let Some(other) = mesh_seen.insert(*ip, &n.name) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateAddress,
                        format!("{}.mesh_ip", np()),
                        format!(
                            "nodes `{other}` and `{}` share the mesh address `{ip}`",
                            n.name
                        ),
                    )
                    .with_help("every node has its own mesh address: check `tailscale ip` on each"),
                );
            }
        }
        for ip in &n.lan_ips {
            if let Some(site) = n.site.as_deref().and_then(|s| c.site(s))
                && !site.subnets.iter().any(|s| s.contains_addr(*ip))
            {
                out.push(
                    Diagnostic::new(
                        Code::LanIpOutside,
                        format!("{}.lan_ip", np()),
                        format!("node `{}` LAN address `{ip}` is not in any subnet of site `{}` ({})", n.name, site.name, cidr_list(&site.subnets)),
                    )
                    .with_help("fix the address, put the node on the right site, or add the subnet to the site"),
                );
            }
            if let Some(other) = lan_seen.insert(*ip, &n.name) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateAddress,
                        format!("{}.lan_ip", np()),
                        format!(
                            "nodes `{other}` and `{}` share the LAN address `{ip}`",
                            n.name
                        ),
                    )
                    .with_help("two hosts cannot share an address; check the inventory"),
                );
            }
        }
    }
}

fn pinned(c: &Cluster, out: &mut Vec<Diagnostic>) {
    // every pin so far, indexed: a scan of them per pin was quadratic in nodes (an imported
    // spec pins every node's pod subnet)
    let mut seen = cidr::OverlapIndex::new();
    for n in c.nodes.iter().filter(|n| n.pod_cidr_pinned) {
        let path = format!("nodes[{}].pod_cidr", n.index);
        for p in &n.pod_cidrs {
            let family_net = c
                .network
                .cluster_cidrs
                .iter()
                .zip(&c.network.node_masks)
                .find(|(cc, _)| cc.family() == p.family());
            match family_net {
                None => out.push(
                    Diagnostic::new(
                        Code::PinnedPodCidr,
                        &path,
                        format!(
                            "node `{}` pins `{p}` but the cluster has no {} pod network",
                            n.name,
                            p.family()
                        ),
                    )
                    .with_help("remove the pin or make the cluster dual-stack"),
                ),
                Some((net, (_, mask))) => {
                    if !net.contains(p) {
                        out.push(Diagnostic::new(
                            Code::PinnedPodCidr,
                            &path,
                            format!("node `{}` pins `{p}`, which is outside the pod network `{net}`", n.name),
                        ).with_help("a pinned pod subnet documents what k3s already gave the node: copy it from `kubectl get node -o jsonpath='{.spec.podCIDR}'`"));
                    } else if p.prefix() != *mask {
                        out.push(
                            Diagnostic::new(
                                Code::PinnedPodCidr,
                                &path,
                                format!(
                                    "node `{}` pins `{p}` but nodes get /{mask} subnets",
                                    n.name
                                ),
                            )
                            .with_help(format!(
                                "pin a /{mask} block, or change `network.node_cidr_mask`"
                            )),
                        );
                    }
                }
            }
            if let Some(other) = seen.first_overlapping(p) {
                out.push(
                    Diagnostic::new(
                        Code::PinnedPodCidr,
                        &path,
                        format!(
                            "node `{}` pins `{p}`, which node `{other}` already pins",
                            n.name
                        ),
                    )
                    .with_help("every node has its own pod subnet"),
                );
            }
            seen.insert(p, n.name.as_str());
        }
    }
}

fn families(v: &[Cidr]) -> Vec<Family> {
    v.iter().map(Cidr::family).collect()
}

fn shape(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let net = &c.network;
    for (field, list) in [
        ("network.cluster_cidr", &net.cluster_cidrs),
        ("network.service_cidr", &net.service_cidrs),
    ] {
        if list.len() == 2 && list.first().map(Cidr::family) == list.get(1).map(Cidr::family) {
            out.push(Diagnostic::new(
                Code::DualStackShape,
                field,
                format!("`{field}` lists two {} networks ({}); dual-stack takes one IPv4 and one IPv6", list.first().map_or(Family::Ipv4, Cidr::family), cidr_list(list)),
            ).with_help("keep one network per family"));
        }
    }
    let (p, s) = (families(&net.cluster_cidrs), families(&net.service_cidrs));
    let mut ps = p.clone();
    ps.sort();
    let mut ss = s.clone();
    ss.sort();
    if ps != ss {
        out.push(Diagnostic::new(
            Code::DualStackShape,
            "network.service_cidr",
            format!("pod networks {} and service networks {} differ in address families", cidr_list(&net.cluster_cidrs), cidr_list(&net.service_cidrs)),
        ).with_help("k3s agents refuse this (`must share the same IP version`): give both one network of each family the cluster uses"));
    }
    let fams = net.families();
    for n in &c.nodes {
        if n.node_ip_mode == NodeIpMode::VpnAuth {
            continue;
        }
        let have: Vec<Family> = n.node_ips.iter().map(|ip| Family::of(*ip)).collect();
        for f in fams.iter().filter(|f| !have.contains(f)) {
            let field = if n.node_ip_mode == NodeIpMode::Lan {
                "lan_ip"
            } else {
                "mesh_ip"
            };
            out.push(
                Diagnostic::new(
                    Code::DualStackShape,
                    format!("nodes[{}].{field}", n.index),
                    format!(
                        "node `{}` has no {f} {} address but the cluster uses {f}",
                        n.name,
                        if field == "lan_ip" { "LAN" } else { "mesh" }
                    ),
                )
                .with_help(format!("list both addresses: `{field}: [<IPv4>, <IPv6>]`")),
            );
        }
    }
}

fn well_known(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let net = &c.network;
    for (field, list) in [
        ("network.cluster_cidr", &net.cluster_cidrs),
        ("network.service_cidr", &net.service_cidrs),
    ] {
        for x in list {
            for (r, why) in WELL_KNOWN {
                if let Ok(rc) = r.parse::<Cidr>()
                    && rc.overlaps(x)
                {
                    let mut d = Diagnostic::new(
                        Code::WellKnownOverlap,
                        field,
                        format!("`{x}` overlaps `{rc}` ({why})"),
                    );
                    if let Some(free) = suggestion(c, x) {
                        d = d.with_help(format!("traffic to those addresses would be misrouted on some nodes; consider `{free}`"));
                    }
                    out.push(d);
                }
            }
        }
    }
}
