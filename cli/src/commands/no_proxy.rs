//! `meshspec no-proxy`: the NO_PROXY calculator on its own, from flags.

use std::fmt::Write as _;

use meshspec::no_proxy::{self, Inputs, Style};

use crate::args::{NoProxyArgs, NoProxyStyle};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::output::{Output, emit, emit_err};

/// Runs `no-proxy`: prints the value, or with `--check` what a given value misses.
///
/// # Errors
/// None today; the signature matches the other commands.
pub fn run(args: &NoProxyArgs, out: &Output) -> Result<u8, CliError> {
    let inputs = Inputs {
        style: match args.style {
            NoProxyStyle::Precise => Style::Precise,
            NoProxyStyle::Broad => Style::Broad,
        },
        cluster_cidrs: &args.cluster_cidr,
        service_cidrs: &args.service_cidr,
        node_addresses: &args.nodes,
        site_subnets: &args.site_subnets,
        mesh_ranges: &args.mesh_ranges,
        server_hosts: &args.servers,
        cluster_domain: &args.cluster_domain,
        dns_suffix: args.dns_suffix.as_deref(),
        extra: &args.extras,
    };
    let Some(value) = &args.check else {
        let entries = no_proxy::synthesize(&inputs);
        emit(&format!("{}\n", no_proxy::join(&entries)));
        return Ok(EXIT_OK);
    };

    let entries = no_proxy::split(value);
    let mut report = String::new();
    for e in &entries {
        if let Err(err) = no_proxy::parse_entry(e) {
            let _ = writeln!(report, "{}: {err}", out.stderr.warning("warning"));
        }
    }
    let missing = no_proxy::missing(&entries, &no_proxy::required(&inputs));
    if missing.is_empty() {
        emit_err(&report);
        emit_err("NO_PROXY covers every node, range and server\n");
        return Ok(EXIT_OK);
    }
    let listed: String = missing.iter().map(|m| format!("{m}\n")).collect();
    emit(&listed);
    let _ = writeln!(
        report,
        "{}: NO_PROXY misses {} required entr{}; kubectl logs/exec through the proxy break (k3s#6705)\n  = {} use `meshspec no-proxy` with the same flags (without --check) for a complete value",
        out.stderr.error("error"),
        missing.len(),
        if missing.len() == 1 { "y" } else { "ies" },
        out.stderr.note("help:")
    );
    emit_err(&report);
    Ok(EXIT_ERRORS)
}
