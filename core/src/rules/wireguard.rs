//! MS82x: a plain WireGuard mesh that meshspec renders (`mesh.wireguard.manage: true`).

use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::Diagnostic;

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    if c.mesh.managed_wireguard().is_none() {
        return;
    }
    public_keys(c, out);
}

/// MS820: every node has a public key, 32 bytes of base64 (a spec read from text was refused
/// already when the key is malformed; one built in code is checked here). Keys are never
/// repeated in messages.
fn public_keys(c: &Cluster, out: &mut Vec<Diagnostic>) {
    for n in &c.nodes {
        let path = format!("nodes[{}].wireguard.public_key", n.index);
        match &n.wireguard_public_key {
            None => out.push(
                Diagnostic::new(
                    Code::WgPublicKey,
                    &path,
                    format!("node `{}` has no WireGuard public key: the other nodes' configs cannot name it as a peer", n.name),
                )
                .with_help(format!(
                    "run the bundle's `nodes/{}/install.sh` once (it creates the private key on the node and prints the public one), or `wg genkey | tee /etc/wireguard/{iface}.key | wg pubkey` there with umask 077; then set `wireguard: {{public_key: \"...\"}}` and render again",
                    n.name,
                    iface = c.mesh.interface
                )),
            ),
            Some(k) => {
                if let Err((what, help)) = crate::wireguard::key::check(k) {
                    out.push(
                        Diagnostic::new(Code::WgPublicKey, &path, format!("`{path}` {what}"))
                            .with_help(help),
                    );
                }
            }
        }
    }
}
