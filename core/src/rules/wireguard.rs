//! MS82x: a plain WireGuard mesh that meshspec renders (`mesh.wireguard.manage: true`).

use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::Diagnostic;

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    if c.mesh.managed_wireguard().is_none() {
        return;
    }
    public_keys(c, out);
    duplicate_keys(c, out);
    relays(c, out);
    unreachable(c, out);
}

/// MS821: two nodes with one public key. WireGuard tells peers apart by key alone: the second
/// `[Peer]` with a key replaces the first on every interface, and a node whose own key is
/// another's cannot even list that node as a peer.
fn duplicate_keys(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for n in &c.nodes {
        let Some(k) = n.wireguard_public_key.as_deref() else {
            continue;
        };
        if let Some(first) = seen.get(k) {
            out.push(
                Diagnostic::new(
                    Code::WgDuplicateKey,
                    format!("nodes[{}].wireguard.public_key", n.index),
                    format!("nodes `{first}` and `{}` have the same WireGuard public key: every interface keeps one peer per key, so one of them is unreachable", n.name),
                )
                .with_help(format!("each node has its own key pair: copy `wg pubkey < /etc/wireguard/{}.key` from `{}` itself (a cloned disk image carries the same key: delete the key file there and run install.sh again)", c.mesh.interface, n.name)),
            );
        } else {
            seen.insert(k, &n.name);
        }
    }
}

/// `mesh.wireguard.relays` must name nodes (MS007).
fn relays(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(names) = c.mesh.managed_wireguard().and_then(|w| w.relays.as_ref()) else {
        return;
    };
    for (i, r) in names.iter().enumerate() {
        if c.node(r).is_none() {
            let near = crate::suggest::nearest(r, c.nodes.iter().map(|n| n.name.as_str()));
            out.push(
                Diagnostic::new(
                    Code::UnknownReference,
                    format!("mesh.wireguard.relays[{i}]"),
                    format!("`mesh.wireguard.relays` names `{r}`, which is no node of the spec"),
                )
                .with_help(match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "name a node that has a `public_endpoint`".to_owned(),
                }),
            );
        }
    }
}

/// MS822: a pair that neither peers directly nor shares a relay.
fn unreachable(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(t) = c.wireguard_topology() else {
        return;
    };
    let relays = if t.relays.is_empty() {
        if t.relays_explicit {
            "and `mesh.wireguard.relays` is empty".to_owned()
        } else {
            "and there is no relay (by default the servers with a `public_endpoint`; none has one)"
                .to_owned()
        }
    } else {
        format!(
            "and no relay ({}) peers directly with both",
            t.relays
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    for p in &t.unreachable {
        let index = c.node(&p.a).map_or(0, |n| n.index);
        out.push(
            Diagnostic::new(
                Code::WgUnreachablePair,
                format!("nodes[{index}]"),
                format!(
                    "nodes `{}` and `{}` cannot reach each other over WireGuard: {}; {}; {relays}",
                    p.a, p.b, p.a_reason, p.b_reason
                ),
            )
            .with_help("give one of them a `public_endpoint` (a UDP port forward on its site's router), or a node with a `public_endpoint` that both reach to forward between them: list it in `mesh.wireguard.relays` (a server with a `public_endpoint` is a relay by default)"),
        );
    }
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
                    "on `{}`, as root: `(umask 077; wg genkey > /etc/wireguard/{iface}.key); wg pubkey < /etc/wireguard/{iface}.key` prints its public key (the private key stays there; install.sh keeps it and prints the public key again); set `wireguard: {{public_key: \"...\"}}` on the node and render again",
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
