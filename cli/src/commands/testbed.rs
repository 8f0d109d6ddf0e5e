//! `meshspec testbed SPEC | --bundle DIR`: the cluster's network in network namespaces, and the
//! bundle proven on it (MS961-MS966). With `--bundle` alone, the network is the one the
//! bundle records (`cluster/spec.json`); the files tested are the bundle's, as they are on disk.

use std::time::Instant;

use meshspec::RenderOptions;
use meshspec_testbed::{CheckOptions, Finding, Testbed};

use crate::args::{Format, TestbedArgs};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE};
use crate::input::{SpecText, load};
use crate::output::{Output, emit, emit_err};

/// Runs `testbed`: findings on standard output, progress on standard error.
///
/// # Errors
/// [`CliError::Read`] when the spec cannot be read.
pub fn run(args: &TestbedArgs, out: &Output) -> Result<u8, CliError> {
    if let Some(dir) = &args.bundle
        && !dir.join("cluster").is_dir()
    {
        return Err(CliError::Read {
            path: dir.display().to_string(),
            reason: "not a rendered bundle (no cluster/ directory)".into(),
        });
    }
    let spec = SpecText::read(&spec_source(args)?)?;
    let cluster = match load(&spec) {
        Ok(c) => c,
        Err(failure) => {
            emit_err(
                &out.stderr
                    .diagnostics(&out.diagnostics_text(&failure.diagnostics, Some(&spec.source()))),
            );
            return Ok(failure.exit_code);
        }
    };
    let validated = cluster.validate();
    if validated.has_errors() {
        emit_err(
            &out.stderr
                .diagnostics(&out.diagnostics_text(&validated, Some(&spec.source()))),
        );
        return Ok(EXIT_ERRORS);
    }
    for n in &args.nodes {
        if !cluster.nodes.iter().any(|x| &x.name == n) {
            return Err(CliError::Usage {
                message: format!(
                    "--node {n}: the spec has no such node\n  = help: the nodes are {}",
                    cluster
                        .nodes
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    // the mesh is WireGuard: `wg`, and the kernel module or `wireguard-go`
    let why = if cluster.nodes.iter().any(|n| !n.mesh_ips.is_empty()) {
        meshspec_testbed::wg_unavailable()
    } else {
        meshspec_testbed::unavailable()
    };
    if let Some(why) = why {
        emit_err(&format!(
            "{}\n",
            out.stderr
                .error_line(&format!("the testbed cannot run here: {why}"))
        ));
        return Ok(EXIT_UNREADABLE);
    }
    meshspec_testbed::set_verbose(args.verbose);
    let progress = |line: &str| {
        if !out.quiet {
            emit_err(&format!("testbed: {line}\n"));
        }
    };
    let started = Instant::now();
    let built = match &args.bundle {
        Some(dir) => Testbed::build_at(&cluster, dir),
        None => {
            let options = RenderOptions {
                spec_name: spec.file_name.clone(),
            };
            match cluster.render(&options) {
                Ok(b) => Testbed::build(&cluster, &b),
                Err(ds) => {
                    emit_err(
                        &out.stderr
                            .diagnostics(&out.diagnostics_text(&ds, Some(&spec.source()))),
                    );
                    return Ok(EXIT_ERRORS);
                }
            }
        }
    };
    let tb = match built {
        Ok(tb) => tb,
        Err(e) => {
            emit_err(&format!(
                "{}\n",
                out.stderr.error_line(&format!("testbed: {e}"))
            ));
            return Ok(EXIT_UNREADABLE);
        }
    };
    progress(&format!(
        "built {} nodes and {} outsiders in {:.1}s ({})",
        tb.nodes.len(),
        tb.outsiders.len(),
        started.elapsed().as_secs_f64(),
        tb.prefix
    ));
    let opts = CheckOptions {
        nodes: args.nodes.clone(),
        ..CheckOptions::default()
    };
    let mut report = |line: &str| progress(line);
    let result = meshspec_testbed::check(&tb, &cluster, &opts, &mut report);
    let (findings, counts) = match result {
        Ok(r) => r,
        Err(e) => {
            emit_err(&format!(
                "{}\n",
                out.stderr.error_line(&format!("testbed: {e}"))
            ));
            if args.keep {
                emit_err(&kept(tb));
            }
            return Ok(EXIT_UNREADABLE);
        }
    };
    let text = match args.format {
        Format::Json => {
            let list: Vec<serde_json::Value> = findings.iter().map(Finding::to_json).collect();
            format!(
                "{}\n",
                serde_json::json!({
                    "findings": list,
                    "counts": {
                        "nodes": tb.nodes.len(),
                        "needed_flows": counts.needed,
                        "outsider_probes": counts.exposed + counts.never_cut,
                        "script_runs": counts.scripts,
                        "drop_ins": counts.units,
                        "mesh_pings": counts.mesh_pings,
                        "mtu_pairs": counts.mtu_pairs,
                    },
                    "mtu": tb.mtu_report().map(|r| r.to_json()),
                })
            )
        }
        Format::Text => {
            let mut s = String::new();
            for f in &findings {
                s.push_str(&f.text());
                s.push('\n');
            }
            s.push_str(&format!(
                "{} finding{}: {} nodes, {} needed flows, {} outsider probes, {} mesh pings, {} script runs, {} drop-ins\n",
                findings.len(),
                if findings.len() == 1 { "" } else { "s" },
                tb.nodes.len(),
                counts.needed,
                counts.exposed + counts.never_cut,
                counts.mesh_pings,
                counts.scripts,
                counts.units
            ));
            if let Some(r) = tb.mtu_report() {
                s.push_str(&r.summary());
                s.push('\n');
            }
            s
        }
    };
    emit(&text);
    progress(&format!("done in {:.1}s", started.elapsed().as_secs_f64()));
    if args.keep {
        emit_err(&kept(tb));
    }
    Ok(if findings.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERRORS
    })
}

/// Where the spec comes from: SPEC when given, else the bundle's record of the spec it was
/// rendered from (`cluster/spec.json`).
fn spec_source(args: &TestbedArgs) -> Result<String, CliError> {
    match (&args.spec, &args.bundle) {
        (Some(spec), _) => Ok(spec.clone()),
        (None, Some(dir)) => {
            let record = dir.join(meshspec::render::spec_record::PATH);
            if record.is_file() {
                Ok(record.display().to_string())
            } else {
                Err(CliError::Read {
                    path: record.display().to_string(),
                    reason: "the bundle has no record of its spec (rendered by an older meshspec); render it again, or pass the spec: `meshspec testbed SPEC --bundle DIR`".into(),
                })
            }
        }
        (None, None) => Err(CliError::Usage {
            message: "give a SPEC or --bundle DIR".into(),
        }),
    }
}

/// Leaves the testbed up and says how to enter each node and how to remove it all.
fn kept(tb: Testbed) -> String {
    let prefix = tb.prefix.clone();
    // the run's scratch directory (keys made for the run, the bundle under test) goes too
    let scratch = meshspec::render::shell::quote(&tb.scratch().to_string_lossy());
    let mut s = String::from("testbed: kept; enter a node with:\n");
    for k in &tb.keep() {
        s.push_str(&format!("  ip netns exec {} bash    # {}\n", k.ns, k.node));
    }
    s.push_str(&format!(
        "  remove everything: for n in $(ip netns list | grep -o '^{prefix}-[^ ]*'); do ip netns pids \"$n\" | xargs -r kill; ip netns del \"$n\"; done; rm -rf {scratch}\n"
    ));
    s
}
