//! `meshspec mtu`: the MTU calculator on its own, from flags.
//!
//! The stack is built with the core's [`Stack`] builder, its overhead constants and the
//! providers' defaults (`Provider::default_mtu`): every number comes from the core.

use meshspec::cidr::Family;
use meshspec::mtu::{self, Stack, Tunnel};
use meshspec::spec::Provider;

use crate::args::{FamilyArg, MeshArg, MtuArgs, TunnelArg};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::output::{Output, emit, emit_err};

/// Runs `mtu`: prints the stack and the pod MTU; exit 1 when a layer does not fit.
///
/// # Errors
/// None today; the signature matches the other commands.
pub fn run(args: &MtuArgs, out: &Output) -> Result<u8, CliError> {
    let stack = build(args);
    let mut text = stack.to_string();
    text.push_str(&format!("\n\npod MTU: {}\n", stack.pod_mtu()));
    emit(&text);
    let violations = stack.violations();
    if violations.is_empty() {
        return Ok(EXIT_OK);
    }
    for v in &violations {
        emit_err(&format!("{}\n", out.stderr.error_line(&v.to_string())));
    }
    emit_err(&format!(
        "  = {} lower the inner MTU by {} bytes (or raise the underlay)\n",
        out.stderr.note("help:"),
        violations.iter().map(|v| v.excess).max().unwrap_or(0)
    ));
    Ok(EXIT_ERRORS)
}

fn family(f: FamilyArg) -> Family {
    match f {
        FamilyArg::Ipv4 => Family::Ipv4,
        FamilyArg::Ipv6 => Family::Ipv6,
    }
}

/// The stack the flags describe: underlay, then the mesh, then the tunnel, then the pod.
fn build(args: &MtuArgs) -> Stack {
    let provider = match args.mesh {
        MeshArg::Tailscale => Some(Provider::Tailscale),
        MeshArg::Headscale => Some(Provider::Headscale),
        MeshArg::Netbird => Some(Provider::Netbird),
        MeshArg::Wireguard => Some(Provider::Wireguard),
        MeshArg::None => None,
    };
    let outer = family(args.outer);
    let query = mtu::Query {
        underlay_mtu: args.underlay,
        mesh: provider.map(|p| {
            (
                p.default_interface().to_owned(),
                args.mesh_mtu.unwrap_or_else(|| p.default_mtu()),
            )
        }),
        mesh_outer: outer,
        tunnel: match args.tunnel {
            TunnelArg::Vxlan => Some(Tunnel::Vxlan),
            TunnelArg::Geneve => Some(Tunnel::Geneve),
            TunnelArg::None => None,
        },
        // inside a mesh the tunnel's outer header uses the mesh addresses (IPv4 100.64/10);
        // on a bare underlay it uses the underlay's family
        tunnel_outer: if provider.is_some() {
            Family::Ipv4
        } else {
            outer
        },
    };
    mtu::calculate(&query)
}
