//! `meshspec no-proxy`: the NO_PROXY calculator on its own, from flags.

use meshspec::no_proxy::{self, Inputs, Style};

use crate::args::{Format, NoProxyArgs, NoProxyStyle};
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
    let json = args.format == Format::Json;
    let Some(value) = &args.check else {
        let entries = no_proxy::synthesize(&inputs);
        if json {
            let doc = serde_json::json!({
                "no_proxy": no_proxy::join(&entries),
                "entries": entries,
            });
            emit(&pretty(&doc));
        } else {
            emit(&format!("{}\n", no_proxy::join(&entries)));
        }
        return Ok(EXIT_OK);
    };

    let required = no_proxy::required(&inputs);
    let diagnostics = meshspec::Diagnostics::from_vec(meshspec::rules::check_no_proxy_value(
        value, &required, "NO_PROXY",
    ));
    let missing = no_proxy::missing(&no_proxy::split(value), &required);
    let code = if diagnostics.has_errors() {
        EXIT_ERRORS
    } else {
        EXIT_OK
    };
    if json {
        let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
        let doc = serde_json::json!({
            "missing": missing,
            "diagnostics": serde_json::to_value(&diagnostics.diagnostics).unwrap_or_default(),
        });
        emit(&pretty(&doc));
        return Ok(code);
    }
    let listed: String = missing.iter().map(|m| format!("{m}\n")).collect();
    emit(&listed);
    if diagnostics.is_empty() {
        emit_err("NO_PROXY covers every node, range and server\n");
        return Ok(EXIT_OK);
    }
    // there is no spec: the diagnostics point at the value given to --check
    let source = meshspec::Source {
        name: "--check value",
        text: "",
    };
    emit_err(
        &out.stderr
            .diagnostics(&out.diagnostics_text(&diagnostics, Some(&source))),
    );
    Ok(code)
}

fn pretty(doc: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}
