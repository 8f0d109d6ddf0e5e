//! `meshspec mtu`: the MTU calculator on its own, from flags.
//!
//! The flags become the same words the bindings take, and the core turns them into a stack
//! (`meshspec::spec::mtu_query`, `meshspec::mtu::calculate`): every number comes from the core.

use meshspec::mtu::{self, Stack};

use crate::args::{FamilyArg, Format, MeshArg, MtuArgs, TunnelArg};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::output::{Output, emit, emit_err};

/// Runs `mtu`: prints the stack and the pod MTU (with `--format json`: `{"layers",
/// "pod_mtu", "violations"}`); exit 1 when a layer does not fit.
///
/// # Errors
/// A usage error if the core does not know a word (clap already limits them).
pub fn run(args: &MtuArgs, out: &Output) -> Result<u8, CliError> {
    let stack = build(args)?;
    let violations = stack.violations();
    if args.format == Format::Json {
        let doc = serde_json::json!({
            "layers": stack.layers(),
            "pod_mtu": stack.pod_mtu(),
            "violations": violations,
        });
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        ));
        return Ok(if violations.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERRORS
        });
    }
    let mut text = stack.to_string();
    text.push_str(&format!("\n\npod MTU: {}\n", stack.pod_mtu()));
    emit(&text);
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

/// The stack the flags describe: underlay, then the mesh, then the tunnel, then the pod.
fn build(args: &MtuArgs) -> Result<Stack, CliError> {
    let mesh = match args.mesh {
        MeshArg::Tailscale => "tailscale",
        MeshArg::Headscale => "headscale",
        MeshArg::Netbird => "netbird",
        MeshArg::Wireguard => "wireguard",
        MeshArg::None => "none",
    };
    let tunnel = match args.tunnel {
        TunnelArg::Vxlan => "vxlan",
        TunnelArg::Geneve => "geneve",
        TunnelArg::None => "none",
    };
    let outer = match args.outer {
        FamilyArg::Ipv4 => "ipv4",
        FamilyArg::Ipv6 => "ipv6",
    };
    let query = meshspec::spec::mtu_query(
        args.underlay,
        Some(mesh),
        args.mesh_mtu,
        Some(tunnel),
        outer,
    )
    .map_err(|e| CliError::Usage {
        message: e.to_string(),
    })?;
    Ok(mtu::calculate(&query))
}
