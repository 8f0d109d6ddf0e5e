//! MS8xx: ports and mesh policy.

use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::ports::{self, Scope};

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
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
