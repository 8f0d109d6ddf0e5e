//! MS2xx: reachability across sites.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::{Cluster, Cni, NodeIpMode};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::netaddr::Host;
use crate::render::k3s::config_entries;
use crate::spec::FlannelBackend;

/// A node's locality: its site, or itself when it has none.
fn locality(n: &crate::cluster::Node) -> String {
    n.site.clone().unwrap_or_else(|| format!("\u{0}{}", n.name))
}

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let server_sites: BTreeSet<String> = c.servers().map(locality).collect();
    let servers_span_sites = server_sites.len() > 1;
    for n in &c.nodes {
        if n.node_ip_mode != NodeIpMode::Lan {
            continue;
        }
        let here = locality(n);
        let all_servers_here = server_sites.iter().all(|s| *s == here);
        let path = format!("nodes[{}].node_ip", n.index);
        if n.is_server() && servers_span_sites {
            out.push(Diagnostic::new(
                Code::LanIpAcrossSites,
                path,
                format!("server `{}` uses its LAN address as node-ip while servers sit on different sites: etcd peers dial each other at node-ips", n.name),
            ).with_help("use `node_ip: mesh` (or `auto`) on servers that span sites"));
        } else if !all_servers_here {
            out.push(Diagnostic::new(
                Code::LanIpAcrossSites,
                path,
                format!("node `{}` uses its LAN address as node-ip but some server sits on another site and cannot reach it", n.name),
            ).with_help("use `node_ip: mesh` (or `auto`, which picks the mesh address here)"));
        }
    }
    if let Cni::Cilium(_) = &c.cni
        && c.multi_site
    {
        for n in c.nodes.iter().filter(|n| n.node_ip_mode == NodeIpMode::Lan) {
            out.push(Diagnostic::new(
                Code::TunnelEndpointNotMesh,
                format!("nodes[{}].node_ip", n.index),
                format!("node `{}` would be a Cilium tunnel endpoint at its LAN address `{}`, unreachable from other sites", n.name, n.primary_ip().map_or_else(String::new, |i| i.to_string())),
            ).with_help("Cilium's VXLAN endpoints are the node-ips: use `node_ip: mesh` (or `auto`) on every node"));
        }
    }
    if let Some(f) = c.cni.flannel()
        && f.backend == FlannelBackend::HostGw
        && (c.multi_site || c.nodes.iter().any(|n| n.node_ip_mode != NodeIpMode::Lan))
    {
        out.push(Diagnostic::new(
            Code::L2ModeAcrossSites,
            "cni.flannel.backend",
            "flannel `host-gw` needs every node on one L2 segment, but nodes span sites or talk over the mesh",
        ).with_help("use `backend: vxlan` (the default)"));
    }
    if servers_span_sites {
        let names: Vec<String> = c.servers().map(|s| format!("`{}`", s.name)).collect();
        out.push(Diagnostic::new(
            Code::EtcdAcrossSites,
            "nodes",
            format!("embedded-etcd servers {} sit on different sites", names.join(", ")),
        ).with_help("k3s does not support etcd over a VPN between sites: keep servers on one site and put agents elsewhere, or accept the latency risk"));
    }
    let servers = c.servers().count();
    if servers >= 2 && servers.is_multiple_of(2) {
        let msg = if servers == 2 {
            "2 servers: losing either one stops the cluster (etcd needs a majority of 2)".to_owned()
        } else {
            format!(
                "{servers} servers tolerate no more failures than {}",
                servers - 1
            )
        };
        out.push(
            Diagnostic::new(Code::EtcdQuorum, "nodes", msg).with_help(format!(
                "run an odd number of servers: {} or {}",
                servers - 1,
                servers + 1
            )),
        );
    }
    server_url_in_san(c, out);
    mixed_addressing(c, out);
    etcd_over_mesh(c, out);
}

/// MS208: servers on one site whose node-ips are mesh addresses, so embedded etcd peers (which
/// dial each other at node-ips) leave the LAN for the mesh. k3s's docs: "Embedded etcd will not
/// use external IPs for communication. If using embedded etcd; all server nodes must be
/// reachable to each other via their private IPs" (docs.k3s.io, network options, Tailscale).
fn etcd_over_mesh(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let mut by_site: BTreeMap<&str, Vec<&crate::cluster::Node>> = BTreeMap::new();
    for s in c.servers() {
        if let Some(site) = s.site.as_deref() {
            by_site.entry(site).or_default().push(s);
        }
    }
    for (site, servers) in by_site {
        let on_mesh: Vec<&&crate::cluster::Node> = servers
            .iter()
            .filter(|s| s.node_ip_mode != NodeIpMode::Lan && !s.lan_ips.is_empty())
            .collect();
        if servers.len() < 2 || on_mesh.len() < 2 {
            continue;
        }
        let names: Vec<String> = on_mesh.iter().map(|s| format!("`{}`", s.name)).collect();
        let first = on_mesh[0];
        out.push(Diagnostic::new(
            Code::EtcdOverMesh,
            format!("nodes[{}].node_ip", first.index),
            format!("servers {} share site `{site}` but use mesh node-ips, so their etcd traffic crosses the mesh instead of the LAN", names.join(", ")),
        ).with_help(if c.cni.cilium().is_some() && c.multi_site {
            // the node-ips must stay mesh addresses whatever the layout: as `explain MS208`
            // says, keep the path between these servers direct, or split the cluster
            format!("Cilium across sites needs mesh node-ips (they are its tunnel endpoints, MS202), so etcd between these servers runs over the mesh: keep that path direct (`tailscale ping <server>` shows `via <LAN address>`, not `via DERP`) and acknowledge MS208 with that reason (`acknowledge: [{{code: MS208, reason: ...}}]`), or run site `{site}` as its own cluster")
        } else {
            format!("set `node_ip: lan` on the servers of `{site}` (possible when every server sits on `{site}`), so etcd peers talk on the LAN")
        }));
    }
}

fn server_url_in_san(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(host) = &c.k3s.server_host else {
        return;
    };
    if c.servers().count() == 0 {
        return;
    }
    let wanted = host.to_string();
    let mut covered = false;
    for s in c.servers() {
        let mut sans: BTreeSet<String> = ["127.0.0.1", "::1", "localhost"]
            .iter()
            .map(|x| (*x).to_owned())
            .collect();
        sans.insert(s.name.clone());
        for e in config_entries(c, s) {
            if matches!(
                e.key.as_str(),
                "node-ip" | "advertise-address" | "tls-san" | "node-external-ip"
            ) {
                let items: Vec<String> = match &e.value {
                    serde_json::Value::Array(a) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    serde_json::Value::String(v) => {
                        v.split(',').map(|x| x.trim().to_owned()).collect()
                    }
                    _ => Vec::new(),
                };
                sans.extend(items);
            }
        }
        if s.node_ip_mode == NodeIpMode::VpnAuth {
            sans.extend(s.mesh_ips.iter().map(ToString::to_string));
        }
        if sans.contains(&wanted) {
            covered = true;
        }
    }
    if !covered {
        let what = match host {
            Host::Ip(_) => "address",
            Host::Name(_) => "name",
        };
        out.push(Diagnostic::new(
            Code::ServerUrlNotInSan,
            "k3s.server_url",
            format!("`k3s.server_url` uses the {what} `{wanted}`, which no server's certificate covers"),
        ).with_help(format!("joining nodes fail with `x509: certificate is valid for ..., not {wanted}`: add `{wanted}` to `tls-san` in `k3s.server_extra`, or point the URL at a server's address")));
    }
}

fn mixed_addressing(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let lan_sites: BTreeSet<String> = c
        .nodes
        .iter()
        .filter(|n| n.node_ip_mode == NodeIpMode::Lan)
        .map(locality)
        .collect();
    if lan_sites.is_empty() {
        return;
    }
    // one warning per remote site, naming its untainted nodes
    let mut remote: BTreeMap<String, Vec<&crate::cluster::Node>> = BTreeMap::new();
    for n in c.nodes.iter().filter(|n| !n.is_tainted()) {
        let here = locality(n);
        if lan_sites.iter().any(|s| *s != here) {
            remote.entry(here).or_default().push(n);
        }
    }
    for nodes in remote.values() {
        let Some(first) = nodes.first() else { continue };
        let mut names: Vec<String> = nodes
            .iter()
            .take(10)
            .map(|n| format!("`{}`", n.name))
            .collect();
        if nodes.len() > 10 {
            names.push(format!("{} more", nodes.len() - 10));
        }
        let (what, verb) = if nodes.len() == 1 {
            ("node", "sits")
        } else {
            ("nodes", "sit")
        };
        out.push(Diagnostic::new(
            Code::MixedAddressing,
            format!("nodes[{}]", first.index),
            format!("untainted {what} {} {verb} away from nodes whose node-ips are LAN addresses: pods scheduled there cannot reach those node-ips", names.join(", ")),
        ).with_help(format!("taint them (e.g. `taints: [\"site={}:NoSchedule\"]`, as the second seed does for its GPU worker) or use `node_ip: mesh` everywhere", first.site.as_deref().unwrap_or("remote"))));
    }
}

#[cfg(test)]
mod tests {
    use crate::{Cluster, Code};

    /// The `## Fix` section of a rule page.
    fn fix_section(code: Code) -> &'static str {
        let page = code.page();
        page.split("## Fix").nth(1).unwrap_or_default()
    }

    #[test]
    fn ms208_help_with_cilium_across_sites_matches_its_page_and_not_the_layout_in_use() {
        // every server already sits on `home` and the other site holds an agent
        let c = Cluster::from_yaml(
            "version: 1\nname: demo\ncni: {plugin: cilium}\nsites:\n  - {name: home, subnets: [192.168.2.0/24]}\n  - {name: cloud, subnets: [10.10.0.0/24]}\nnodes:\n  - {name: s1, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 100.64.0.1}\n  - {name: s2, role: server, site: home, lan_ip: 192.168.2.11, mesh_ip: 100.64.0.2}\n  - {name: s3, role: server, site: home, lan_ip: 192.168.2.12, mesh_ip: 100.64.0.3}\n  - {name: a1, role: agent, site: cloud, lan_ip: 10.10.0.5, mesh_ip: 100.64.0.4}\n",
        )
        .unwrap();
        let ds = c.validate();
        let d = ds.iter().find(|d| d.code == Code::EtcdOverMesh).unwrap();
        let help = d.help.as_deref().unwrap();
        assert!(!help.contains("keep the servers on one site"), "{help}");
        // the page's remedies, in the help too
        let fix = fix_section(Code::EtcdOverMesh);
        for remedy in ["via DERP", "acknowledge", "its own cluster"] {
            assert!(fix.contains(remedy), "page lacks {remedy}");
            assert!(help.contains(remedy), "help lacks {remedy}: {help}");
        }
        assert!(help.contains("site `home` as its own cluster"));
    }
}
