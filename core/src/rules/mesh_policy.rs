//! MS8xx: ports and mesh policy.

use crate::cluster::{Cluster, NodeIpMode};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::ports::{self, Scope};
use crate::spec::{FlannelBackend, Provider};

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    port_clash(c, out);
    if c.nodes.len() < 2 {
        return;
    }
    let ports = ports::required(c);
    let list = |scope: Scope| {
        ports
            .iter()
            .filter(|p| p.scope == scope)
            .map(|p| p.spec())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut msg = format!(
        "the mesh policy must allow {} to servers and {} between all nodes",
        list(Scope::ToServers),
        list(Scope::AllNodes)
    );
    let between = list(Scope::BetweenServers);
    if !between.is_empty() {
        msg.push_str(&format!(", and {between} between servers"));
    }
    let help = match crate::render::acl::path(c) {
        Some(path) => format!("`{path}` in the bundle holds the ACL grants for tag:k3s-server and tag:k3s-agent; `cluster/firewall/<node>.sh` opens the same ports on each host"),
        None => "`cluster/firewall/<node>.sh` in the bundle opens these ports on each host's mesh interface".to_owned(),
    };
    out.push(Diagnostic::new(Code::MeshAcl, "mesh", msg).with_help(help));
}

/// MS823: flannel `wireguard-native` listens on 51820/udp (IPv4) and 51821/udp (IPv6) on every
/// node (k3s docs, installation/requirements), and a plain WireGuard mesh on
/// `mesh.wireguard.listen_port` (default 51820): the second device to bind the same port
/// fails, and whichever comes up first takes the other's traffic.
fn port_clash(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(f) = c.cni.flannel() else { return };
    if c.mesh.provider != Provider::Wireguard || f.backend != FlannelBackend::WireguardNative {
        return;
    }
    let vpn = c
        .nodes
        .iter()
        .any(|n| n.node_ip_mode == NodeIpMode::VpnAuth);
    if vpn {
        return;
    }
    let mesh = ports::mesh_port(c);
    // flannel's wireguard backend (flannel-io/flannel pkg/backend/wireguard/wireguard.go,
    // `RegisterNetwork`, default mode `separate`): `flannel-wg` on `ListenPort` 51820 when the
    // cluster has IPv4 pods, `flannel-wg-v6` on `ListenPortV6` 51821 when it has IPv6 pods
    let families = c.network.families();
    let clash = (mesh.from == 51820 && families.contains(&crate::cidr::Family::Ipv4))
        || (mesh.from == 51821 && families.contains(&crate::cidr::Family::Ipv6));
    if !clash {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::WgPortClash,
            "cni.flannel.backend",
            format!(
                "flannel `wireguard-native` listens on {}/udp on every node ({}), and the WireGuard mesh `{}` listens on {}/udp (`mesh.wireguard.listen_port`): both cannot bind the same UDP port",
                mesh.from,
                if mesh.from == 51820 { "`flannel-wg`, IPv4" } else { "`flannel-wg-v6`, IPv6" },
                c.mesh.interface,
                mesh.from
            ),
        )
        .with_help("the mesh already encrypts node-to-node traffic: set `cni.flannel.backend: vxlan` (VXLAN over the mesh, no second WireGuard layer, 30 bytes more pod MTU); or move the mesh to another port with `mesh.wireguard.listen_port` (e.g. 51822)"),
    );
}
