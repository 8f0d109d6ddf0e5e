//! `meshspec render SPEC --out DIR [--check] [--force]`: the bundle on disk, or a drift check.

use std::fmt::Write as _;
use std::path::Path;

use meshspec::{Bundle, Diagnostics, RenderOptions, Severity};

use crate::args::{Format, RenderArgs};
use crate::diff::plan_diff;
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::input::{SpecText, load};
use crate::output::{Output, emit, emit_err, shown};
use crate::write::{self, Action, Conflict, Plan};

/// Runs `render`: writes the bundle (or, with `--check`, shows what would change).
///
/// # Errors
/// [`CliError`] when the spec cannot be read, the directory cannot be written, or a write
/// is refused (files meshspec did not write).
pub fn run(args: &RenderArgs, out: &Output) -> Result<u8, CliError> {
    if args.stdout {
        return to_stdout(args, out);
    }
    let spec = SpecText::read(&args.spec)?;
    let json = args.format == Format::Json;
    let cluster = match load(&spec) {
        Ok(c) => c,
        Err(failure) => {
            if json {
                emit(&report(args, &failure.diagnostics, None));
            }
            emit_err(
                &out.stderr
                    .diagnostics(&out.diagnostics_text(&failure.diagnostics, Some(&spec.source()))),
            );
            emit_err(&failure.notes(&out.stderr));
            let why = if failure.exit_code == EXIT_ERRORS {
                "the spec has errors"
            } else {
                "the spec could not be read"
            };
            emit_err(&nothing_written(out, args.dir(), why));
            return Ok(failure.exit_code);
        }
    };
    let options = RenderOptions {
        spec_name: args
            .spec_name
            .clone()
            .unwrap_or_else(|| spec.file_name.clone()),
    };
    let bundle = match cluster.render(&options) {
        Ok(b) => b,
        Err(ds) => {
            if json {
                emit(&report(args, &ds, None));
            }
            emit_err(
                &out.stderr
                    .diagnostics(&out.diagnostics_text(&ds, Some(&spec.source()))),
            );
            emit_err(&nothing_written(out, args.dir(), "the spec has errors"));
            return Ok(EXIT_ERRORS);
        }
    };
    // acknowledged findings and (with --quiet) warnings and infos stay off the terminal
    if !json && bundle.diagnostics.unacknowledged().next().is_some() {
        emit_err(
            &out.stderr
                .diagnostics(&out.diagnostics_text(&bundle.diagnostics, Some(&spec.source()))),
        );
    }
    let waiting = || {
        emit_err(&format!(
            "{}: another meshspec render is writing {}; waiting for it to finish\n",
            out.stderr.note("note"),
            shown(args.dir())
        ));
    };
    if args.check {
        let lock = write::lock_for_check(args.dir(), waiting)?;
        let plan = write::plan(
            args.dir(),
            write::root_of(lock.as_ref()),
            &bundle,
            args.force,
        )?;
        refuse_symlinks(&plan)?;
        if json {
            emit(&report(args, &bundle.diagnostics, Some(&plan)));
            return Ok(if drifted(&plan) { EXIT_ERRORS } else { EXIT_OK });
        }
        return Ok(check(&plan, args, out));
    }
    let lock = write::lock_for_render(args.dir(), waiting)?;
    let plan = write::plan(args.dir(), Some(lock.dir()), &bundle, args.force)?;
    refuse_symlinks(&plan)?;
    if json {
        emit(&report(args, &bundle.diagnostics, Some(&plan)));
    }
    if !plan.conflicts.is_empty() {
        return Err(CliError::Refused {
            message: refusal(&plan, args.dir()),
        });
    }
    // a file whose contents were changed by hand since meshspec wrote it: an error naming it
    // (a mode changed by hand is restored: the bundle's modes keep secrets private)
    let hand_edited: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.edited && c.action == Action::Update)
        .map(|c| c.path.as_str())
        .collect();
    if !hand_edited.is_empty() && !args.force {
        let mut message = format!(
            "refusing to overwrite {} file{} in {} changed by hand since meshspec wrote {}:\n",
            hand_edited.len(),
            if hand_edited.len() == 1 { "" } else { "s" },
            args.dir().display(),
            if hand_edited.len() == 1 { "it" } else { "them" }
        );
        for p in &hand_edited {
            let _ = writeln!(message, "  {}", args.dir().join(p).display());
        }
        message.push_str("  = help: `meshspec render --check` shows the difference; carry the edit into the spec, or pass --force to overwrite it\nnothing was written");
        return Err(CliError::Refused { message });
    }
    for c in plan.changes.iter().filter(|c| c.edited) {
        let verb = if c.action == Action::Remove {
            "removing"
        } else {
            "overwriting"
        };
        emit_err(&format!(
            "{}: {verb} {}, edited since meshspec wrote it\n",
            out.stderr.warning("warning"),
            shown(&args.dir().join(&c.path))
        ));
    }
    for path in &plan.kept {
        emit_err(&format!(
            "{}: keeping {}: meshspec wrote it and the spec no longer has it, but it was edited since (--force removes it)\n",
            out.stderr.warning("warning"),
            shown(&args.dir().join(path))
        ));
    }
    write::apply(&plan, lock.dir())?;
    drop(lock);
    if !out.quiet && !json {
        emit_err(&format!("{}\n", summary(&plan, &bundle, args.dir())));
    }
    Ok(EXIT_OK)
}

/// `--stdout [--node NAME] [--file PATH]`: the selected files on standard output, nothing
/// written. One file prints as it is; several each after `---` and `# Source: PATH`, as
/// `helm template` does. Diagnostics go to standard error; with `--format json` one document
/// `{"files": [{"path", "mode", "contents"}], "diagnostics"}`. Exit 1 when the spec has
/// errors, 2 when it cannot be read or the node or file does not exist (the message lists
/// the names there are).
fn to_stdout(args: &RenderArgs, out: &Output) -> Result<u8, CliError> {
    let spec = SpecText::read(&args.spec)?;
    let json = args.format == Format::Json;
    let failed = |ds: &Diagnostics, code: u8| {
        if json {
            let doc = serde_json::json!({
                "diagnostics": serde_json::to_value(&ds.diagnostics).unwrap_or_default(),
            });
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        emit_err(
            &out.stderr
                .diagnostics(&out.diagnostics_text(ds, Some(&spec.source()))),
        );
        code
    };
    let cluster = match load(&spec) {
        Ok(c) => c,
        Err(failure) => {
            let code = failed(&failure.diagnostics, failure.exit_code);
            emit_err(&failure.notes(&out.stderr));
            return Ok(code);
        }
    };
    let options = RenderOptions {
        spec_name: args
            .spec_name
            .clone()
            .unwrap_or_else(|| spec.file_name.clone()),
    };
    let bundle = match cluster.render(&options) {
        Ok(b) => b,
        Err(ds) => return Ok(failed(&ds, EXIT_ERRORS)),
    };
    let prefix = match &args.node {
        Some(name) => {
            if !cluster.nodes.iter().any(|n| &n.name == name) {
                let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
                return Err(CliError::Usage {
                    message: format!(
                        "the spec has no node `{}`\n  = help: its nodes: {}",
                        meshspec::render::line::one_line(name),
                        names.join(", ")
                    ),
                });
            }
            format!("nodes/{name}/")
        }
        None => String::new(),
    };
    let selected: Vec<(&String, &meshspec::File)> = bundle
        .files
        .iter()
        .filter(|(path, _)| path.starts_with(&prefix))
        .filter(|(path, _)| {
            args.file
                .as_deref()
                .is_none_or(|f| path.strip_prefix(&prefix) == Some(f.trim_start_matches('/')))
        })
        .collect();
    if selected.is_empty() {
        let listed: Vec<&str> = bundle
            .files
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix))
            .collect();
        return Err(CliError::Usage {
            message: format!(
                "no file `{}` in {}\n  = help: the files there: {}",
                meshspec::render::line::one_line(args.file.as_deref().unwrap_or_default()),
                if prefix.is_empty() {
                    "the bundle".to_owned()
                } else {
                    format!("`{prefix}`")
                },
                listed.join(", ")
            ),
        });
    }
    if json {
        let files: Vec<serde_json::Value> = selected
            .iter()
            .map(|(path, f)| {
                serde_json::json!({
                    "path": path,
                    "mode": format!("{:04o}", f.mode),
                    "contents": f.contents,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "files": files,
            "diagnostics": serde_json::to_value(&bundle.diagnostics.diagnostics).unwrap_or_default(),
        });
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        ));
        return Ok(EXIT_OK);
    }
    if bundle.diagnostics.unacknowledged().next().is_some() {
        emit_err(
            &out.stderr
                .diagnostics(&out.diagnostics_text(&bundle.diagnostics, Some(&spec.source()))),
        );
    }
    if let [(_, only)] = selected.as_slice() {
        emit(&only.contents.as_str());
        return Ok(EXIT_OK);
    }
    let mut text = String::new();
    for (path, f) in selected {
        let _ = writeln!(text, "---\n# Source: {path}");
        let _ = write!(text, "{}", f.contents);
        if !f
            .contents
            .pieces()
            .next_back()
            .is_some_and(|p| p.ends_with('\n'))
        {
            text.push('\n');
        }
    }
    emit(&text);
    Ok(EXIT_OK)
}

/// A symbolic link below `--out` ends the run with exit 2, naming the link.
fn refuse_symlinks(plan: &Plan<'_>) -> Result<(), CliError> {
    let links: Vec<&str> = plan
        .conflicts
        .iter()
        .filter_map(|c| match c {
            Conflict::Symlink(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    match links.first() {
        None => Ok(()),
        Some(first) => {
            let mut err = write::symlink_error(&plan.dir.join(first));
            if let CliError::Write { reason, .. } = &mut err
                && links.len() > 1
            {
                let _ = write!(reason, " (and {} more links below --out)", links.len() - 1);
            }
            Err(err)
        }
    }
}

fn drifted(plan: &Plan<'_>) -> bool {
    plan.has_changes() || !plan.conflicts.is_empty()
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Chmod => "chmod",
        Action::Unchanged => "unchanged",
        Action::Remove => "remove",
    }
}

/// `--format json`: `{"out", "check", "files": [{"path", "action", "mode"}], "conflicts",
/// "diagnostics"}`; `files` is absent when the spec has errors (nothing was planned).
fn report(args: &RenderArgs, ds: &Diagnostics, plan: Option<&Plan<'_>>) -> String {
    let mut doc = serde_json::json!({
        "out": args.dir().display().to_string(),
        "check": args.check,
        "diagnostics": serde_json::to_value(&ds.diagnostics).unwrap_or_default(),
    });
    if let Some(plan) = plan {
        doc["files"] = plan
            .changes
            .iter()
            .map(|c| {
                let mut f = serde_json::json!({"path": c.path, "action": action_word(c.action)});
                if let Some((_, mode)) = &c.new {
                    f["mode"] = serde_json::json!(format!("{mode:04o}"));
                }
                f
            })
            .collect();
        doc["conflicts"] = plan
            .conflicts
            .iter()
            .map(|c| match c {
                Conflict::Foreign(p) => {
                    serde_json::json!({"path": p, "reason": "not written by meshspec"})
                }
                Conflict::Blocked(p, why) => serde_json::json!({"path": p, "reason": why}),
                Conflict::Symlink(p) => {
                    serde_json::json!({"path": p, "reason": "is a symbolic link"})
                }
            })
            .collect();
        doc["up_to_date"] = serde_json::json!(!drifted(plan));
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn nothing_written(out: &Output, dir: &Path, why: &str) -> String {
    format!(
        "{}\n",
        out.stderr
            .error_line(&format!("nothing written to {}: {why}", shown(dir)))
    )
}

/// `--check`: the diff on standard output, a summary on standard error; 1 on drift.
fn check(plan: &Plan<'_>, args: &RenderArgs, out: &Output) -> u8 {
    let dir = shown(args.dir());
    let diff = plan_diff(plan);
    if diff.is_empty() && plan.conflicts.is_empty() {
        if !out.quiet {
            emit_err(&format!(
                "{dir} is up to date ({} files)\n",
                plan.count(Action::Unchanged)
            ));
        }
        return EXIT_OK;
    }
    emit(&out.stdout.diff(&diff));
    let mut parts = Vec::new();
    for (action, label) in [
        (Action::Create, "to create"),
        (Action::Update, "to update"),
        (Action::Chmod, "to re-mode"),
        (Action::Remove, "to remove"),
    ] {
        let n = plan.count(action);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let mut msg = format!(
        "{dir} differs from the spec: {}\n",
        if parts.is_empty() {
            "files in the way".to_owned()
        } else {
            parts.join(", ")
        }
    );
    if !plan.conflicts.is_empty() {
        let _ = writeln!(
            msg,
            "{}: render would refuse as it stands:",
            out.stderr.note("note")
        );
        msg.push_str(&conflict_lines(plan, args.dir()));
    }
    let _ = writeln!(
        msg,
        "  = {} run `meshspec render {} --out {dir}` to update it",
        out.stderr.note("help:"),
        args.spec
    );
    emit_err(&msg);
    EXIT_ERRORS
}

fn conflict_lines(plan: &Plan<'_>, dir: &Path) -> String {
    let mut text = String::new();
    for c in &plan.conflicts {
        match c {
            Conflict::Foreign(p) => {
                let _ = writeln!(text, "  {} (not written by meshspec)", shown(&dir.join(p)));
            }
            Conflict::Blocked(p, why) => {
                let _ = writeln!(text, "  {} ({why})", shown(&dir.join(p)));
            }
            Conflict::Symlink(p) => {
                let _ = writeln!(text, "  {} (is a symbolic link)", shown(&dir.join(p)));
            }
        }
    }
    text
}

/// The refusal message: which files, why, and what to do. Nothing has been written.
fn refusal(plan: &Plan<'_>, dir: &Path) -> String {
    let foreign = plan
        .conflicts
        .iter()
        .filter(|c| matches!(c, Conflict::Foreign(_)))
        .count();
    let blocked = plan.conflicts.len() - foreign;
    let mut msg = if blocked == 0 {
        format!(
            "refusing to overwrite {foreign} file{} in {} that meshspec did not write:\n",
            if foreign == 1 { "" } else { "s" },
            shown(dir)
        )
    } else {
        format!("cannot write the bundle into {}:\n", shown(dir))
    };
    msg.push_str(&conflict_lines(plan, dir));
    if blocked > 0 {
        msg.push_str("  = help: move the listed paths out of the way (--force does not replace directories)\n");
    } else {
        let them = if foreign == 1 { "it" } else { "them" };
        let _ = writeln!(
            msg,
            "  = help: move {them} away, or pass --force to overwrite {them}"
        );
    }
    msg.push_str("nothing was written");
    msg
}

/// `wrote 14 files to out/ (3 warnings)`, with unchanged, re-moded and removed counts.
fn summary(plan: &Plan<'_>, bundle: &Bundle, dir: &Path) -> String {
    let dir = shown(dir);
    let written = plan.count(Action::Create) + plan.count(Action::Update);
    let chmod = plan.count(Action::Chmod);
    let removed = plan.count(Action::Remove);
    let unchanged = plan.count(Action::Unchanged);
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut text = if written + chmod + removed == 0 {
        format!("{dir} is up to date: {unchanged} file{}", plural(unchanged))
    } else {
        let mut t = format!("wrote {written} file{} to {dir}", plural(written));
        if chmod > 0 {
            let _ = write!(t, ", changed the mode of {chmod}");
        }
        if removed > 0 {
            let _ = write!(t, ", removed {removed}");
        }
        if unchanged > 0 {
            let _ = write!(t, ", {unchanged} unchanged");
        }
        t
    };
    let warnings = bundle
        .diagnostics
        .unacknowledged()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    if warnings > 0 {
        let _ = write!(text, " ({warnings} warning{})", plural(warnings));
    }
    text
}
