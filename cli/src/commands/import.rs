//! `meshspec import NAME=PATH...`: a spec from a running cluster's configs.

use std::fmt::Write as _;
use std::path::Path;

use meshspec::Source;
use meshspec::import::{ImportInput, ImportNode, import};
use meshspec::lint::ConfigFile;
use meshspec::spec::Role;

use super::lint::{node_files, read_text};
use crate::args::{Format, ImportArgs};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE};
use crate::output::{Output, emit, emit_err};

fn parse_node(arg: &str) -> Result<(String, Option<Role>, &str), CliError> {
    let usage = || CliError::Usage {
        message: format!(
            "`{arg}` is not NAME=PATH\n  = help: write e.g. `k3s-master=/etc/rancher/k3s/config.yaml` or `k3s-master=server:master.yaml`"
        ),
    };
    let (name, rest) = arg.split_once('=').ok_or_else(usage)?;
    if name.is_empty() || rest.is_empty() {
        return Err(usage());
    }
    let (role, path) = match rest.split_once(':') {
        Some(("server", p)) => (Some(Role::Server), p),
        Some(("agent", p)) => (Some(Role::Agent), p),
        _ => (None, rest),
    };
    Ok((name.to_owned(), role, path))
}

/// Writes the imported spec to `path`: never over an existing file (an edited spec would be
/// lost) unless `force`, as `init` does.
fn write_spec(path: &Path, yaml: &str, force: bool) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let mut file = open.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Usage {
                message: format!(
                    "{} exists; nothing written\n  = help: pass --force to overwrite it, or name another file with `-o`",
                    path.display()
                ),
            }
        } else {
            CliError::write(path, &e)
        }
    })?;
    file.write_all(yaml.as_bytes())
        .map_err(|e| CliError::write(path, &e))
}

/// Runs `import`: writes the spec (standard output or `-o`), the report on standard error.
///
/// # Errors
/// [`CliError::Read`] when an input cannot be read; [`CliError::Write`] when `-o` fails.
pub fn run(args: &ImportArgs, out: &Output) -> Result<u8, CliError> {
    let mut input = ImportInput {
        name: args.name.clone(),
        ..ImportInput::default()
    };
    let mut all_files: Vec<ConfigFile> = Vec::new();
    for arg in &args.nodes {
        let (name, role, path) = parse_node(arg)?;
        let files = node_files(Path::new(path))?;
        all_files.extend(files.iter().cloned());
        input.nodes.push(ImportNode { name, role, files });
    }
    if let Some(p) = &args.nodes_json {
        input.nodes_json = Some(read_text(p)?.text);
    }
    if let Some(p) = &args.cilium_values {
        input.cilium_values = Some(read_text(p)?.text);
    }
    let imported = match import(&input) {
        Ok(i) => i,
        Err(report) => {
            if args.format == Format::Json {
                emit(&format!("{}\n", report.to_json()));
            }
            emit_err(&out.stderr.diagnostics(&report.render(&all_files)));
            return Ok(EXIT_UNREADABLE);
        }
    };
    let json = args.format == Format::Json;
    match &args.output {
        Some(path) => write_spec(path, &imported.yaml, args.force)?,
        None if json => {}
        None => emit(&imported.yaml),
    }
    let code = if imported.diagnostics.has_errors() {
        EXIT_ERRORS
    } else {
        EXIT_OK
    };
    if json {
        // the spec itself when no `-o` took it, else where it was written
        let mut doc = serde_json::json!({
            "todos": imported.todos,
            "changes": imported.changes,
            "restarts": imported.plan.restarts,
            "diagnostics": serde_json::to_value(&imported.diagnostics.diagnostics).unwrap_or_default(),
        });
        match &args.output {
            Some(p) => doc["output"] = serde_json::json!(p.display().to_string()),
            None => doc["spec"] = serde_json::json!(imported.yaml),
        }
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        ));
        return Ok(code);
    }
    let mut report = String::new();
    let name = args
        .output
        .as_ref()
        .map_or_else(|| "<stdout>".to_owned(), |p| p.display().to_string());
    let _ = writeln!(
        report,
        "imported {} nodes into {name}: {} TODOs to resolve",
        imported.spec.nodes.len(),
        imported.todos.len()
    );
    for ch in &imported.changes {
        if ch.is_empty() {
            let _ = writeln!(report, "  {}: config.yaml unchanged", ch.node);
            continue;
        }
        let mut parts = Vec::new();
        for (what, keys) in [
            ("adds", &ch.added),
            ("changes", &ch.changed),
            ("drops", &ch.dropped),
        ] {
            if !keys.is_empty() {
                parts.push(format!("{what} {}", keys.join(", ")));
            }
        }
        let _ = writeln!(report, "  {}: render {}", ch.node, parts.join("; "));
    }
    if imported.plan.restarts.is_empty() && !imported.changes.is_empty() {
        let _ = writeln!(
            report,
            "rendering this spec now restarts nothing: every config.yaml stays as it is"
        );
    } else if !imported.plan.restarts.is_empty() {
        let _ = writeln!(
            report,
            "rendering this spec now: k3s would restart on {} of {} nodes ({}), servers first, one at a time",
            imported.plan.restarts.len(),
            imported.changes.len(),
            imported.plan.restarts.join(", ")
        );
    }
    emit_err(&report);
    if !imported.diagnostics.is_empty() {
        let source = Source {
            name: &name,
            text: &imported.yaml,
        };
        emit_err(
            &out.stderr
                .diagnostics(&imported.diagnostics.render(Some(&source))),
        );
    }
    Ok(code)
}
