//! `meshspec plan SPEC [--from OLD]`: the plan report, or the change plan between two specs.

use meshspec::change::ChangePlan;
use meshspec::{Cluster, RenderOptions};

use meshspec::Diagnostics;

use crate::args::{Format, PlanArgs, PlanFormat};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::input::{SpecText, load};
use crate::output::{Output, emit, emit_err};

/// Runs `plan`: prints PLAN.md, or with `--from` the change plan, on standard output.
///
/// # Errors
/// [`CliError::Read`] when a spec cannot be read.
pub fn run(args: &PlanArgs, out: &Output) -> Result<u8, CliError> {
    if args.from.is_some() && args.format == PlanFormat::Mermaid {
        return Err(CliError::Usage {
            message: "--format mermaid draws one spec's cluster, not a change between two\n  = help: `meshspec plan SPEC --format mermaid` draws SPEC".to_owned(),
        });
    }
    let spec = SpecText::read(&args.spec)?;
    let cluster = match read_cluster(&spec, out) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    if let Some(old_arg) = &args.from {
        let old_spec = SpecText::read(old_arg)?;
        let old = match read_cluster(&old_spec, out) {
            Ok(c) => c,
            Err(code) => return Ok(code),
        };
        return Ok(change_plan(
            &old,
            &cluster,
            &spec,
            args.format.report(),
            out,
        ));
    }
    let format = args.format.report();
    let options = RenderOptions {
        spec_name: spec.file_name.clone(),
    };
    match cluster.render(&options) {
        Ok(bundle) => match bundle.text("PLAN.md") {
            Some(_) if args.format == PlanFormat::Mermaid => {
                // rendered like PLAN.md: only a spec that renders is drawn
                emit(&cluster.diagram());
                Ok(EXIT_OK)
            }
            Some(text) => {
                if format == Format::Json {
                    emit(&report(Some(&text), &bundle.diagnostics));
                } else {
                    emit(&text);
                }
                Ok(EXIT_OK)
            }
            None => Err(CliError::Usage {
                message: "this build of the meshspec core renders no PLAN.md yet\n  = help: `meshspec validate` checks the spec; `meshspec render` writes the bundle".to_owned(),
            }),
        },
        Err(ds) => {
            if format == Format::Json {
                emit(&report(None, &ds));
            }
            emit_err(
                &out.stderr
                    .diagnostics(&out.diagnostics_text(&ds, Some(&spec.source()))),
            );
            Ok(EXIT_ERRORS)
        }
    }
}

/// `--format json`: `{"plan": <markdown or null>, "diagnostics": [...]}`.
fn report(plan: Option<&str>, ds: &Diagnostics) -> String {
    let doc = serde_json::json!({
        "plan": plan,
        "diagnostics": serde_json::to_value(&ds.diagnostics).unwrap_or_default(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// `--format json` with `--from`: the markdown, the diagnostics and the changes as data
/// (`changes.nodes[]` in apply order with their files, actions and steps).
fn change_report(plan: &ChangePlan) -> String {
    let doc = serde_json::json!({
        "plan": plan.render_markdown(),
        "diagnostics": serde_json::to_value(&plan.diagnostics.diagnostics).unwrap_or_default(),
        "changes": plan.changes_json(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Decodes a spec, printing its reading diagnostics on failure; `Err` is the exit code.
fn read_cluster(spec: &SpecText, out: &Output) -> Result<Cluster, u8> {
    load(spec).map_err(|failure| {
        emit_err(
            &out.stderr
                .diagnostics(&out.diagnostics_text(&failure.diagnostics, Some(&spec.source()))),
        );
        emit_err(&failure.notes(&out.stderr));
        failure.exit_code
    })
}

/// Prints the change plan; 1 when the new spec has errors or the change cannot be applied.
fn change_plan(old: &Cluster, new: &Cluster, spec: &SpecText, format: Format, out: &Output) -> u8 {
    let problems = new.validate();
    if problems.has_errors() {
        if format == Format::Json {
            emit(&report(None, &problems));
        }
        emit_err(
            &out.stderr
                .diagnostics(&out.diagnostics_text(&problems, Some(&spec.source()))),
        );
        return EXIT_ERRORS;
    }
    let plan = ChangePlan::between(old, new);
    if format == Format::Json {
        emit(&change_report(&plan));
    } else {
        emit(&plan.render_markdown());
    }
    if plan.diagnostics.has_errors() {
        if format == Format::Text {
            emit_err(
                &out.stderr
                    .diagnostics(&out.diagnostics_text(&plan.diagnostics, Some(&spec.source()))),
            );
        }
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}
