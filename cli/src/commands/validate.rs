//! `meshspec validate SPEC... [--format text|json]`: every diagnostic, and an exit code.
//!
//! Several specs are checked each on its own, as kubeconform does: an unreadable one is
//! reported and the others still checked; the exit code is the worst of them.

use meshspec::Diagnostics;

use crate::args::{Format, ValidateArgs};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::input::{SpecText, load};
use crate::output::{Output, emit, emit_err};

/// One spec's result: what was read, its diagnostics, its exit code, or why it was not read.
struct Checked {
    name: String,
    spec: Option<SpecText>,
    diagnostics: Diagnostics,
    /// Rules that did not run on a spec with reading problems, and why.
    skipped: Vec<String>,
    code: u8,
    error: Option<CliError>,
}

fn check_one(arg: &str) -> Checked {
    let spec = match SpecText::read(arg) {
        Ok(s) => s,
        Err(e) => {
            return Checked {
                name: if arg == "-" {
                    "<stdin>".to_owned()
                } else {
                    arg.to_owned()
                },
                spec: None,
                diagnostics: Diagnostics::default(),
                skipped: Vec::new(),
                code: e.exit_code(),
                error: Some(e),
            };
        }
    };
    check_one_text(spec)
}

/// Runs `validate`: prints the diagnostics on standard output.
///
/// # Errors
/// [`CliError::Read`] when the only spec given cannot be read; [`CliError::Usage`] when `-`
/// is given twice.
pub fn run(args: &ValidateArgs, out: &Output) -> Result<u8, CliError> {
    if args.specs.iter().filter(|s| *s == "-").count() > 1 {
        return Err(CliError::Usage {
            message: "standard input (`-`) can be given only once".to_owned(),
        });
    }
    if let [one] = args.specs.as_slice() {
        let spec = SpecText::read(one)?;
        let checked = check_one_text(spec);
        print_one(&checked, args.format, out);
        return Ok(checked.code);
    }
    let results: Vec<Checked> = args.specs.iter().map(|a| check_one(a)).collect();
    let worst = results.iter().map(|r| r.code).max().unwrap_or(EXIT_OK);
    match args.format {
        Format::Json => emit(&several_json(&results)),
        Format::Text => {
            for r in &results {
                emit(&format!(
                    "{}\n",
                    out.stdout
                        .bold(&format!("==> {} <==", meshspec::printable::escape(&r.name)))
                ));
                match &r.error {
                    Some(e) => emit_err(&format!("{}\n", out.stderr.error_line(&e.to_string()))),
                    None => print_one(r, Format::Text, out),
                }
            }
        }
    }
    Ok(worst)
}

fn check_one_text(spec: SpecText) -> Checked {
    let (diagnostics, skipped, code) = match load(&spec) {
        Ok(cluster) => {
            let ds = cluster.validate();
            let code = if ds.has_errors() {
                EXIT_ERRORS
            } else {
                EXIT_OK
            };
            (ds, Vec::new(), code)
        }
        // reading errors come with every rule that could still run (one round)
        Err(failure) => (failure.diagnostics, failure.skipped, failure.exit_code),
    };
    Checked {
        name: spec.name.clone(),
        spec: Some(spec),
        diagnostics,
        skipped,
        code,
        error: None,
    }
}

fn print_one(r: &Checked, format: Format, out: &Output) {
    let text = match format {
        Format::Json if r.skipped.is_empty() => {
            let mut json = r.diagnostics.to_json();
            json.push('\n');
            json
        }
        Format::Json => {
            let mut doc = serde_json::to_value(&r.diagnostics).unwrap_or_default();
            doc["skipped"] = serde_json::json!(r.skipped);
            let mut json = serde_json::to_string_pretty(&doc).unwrap_or_default();
            json.push('\n');
            json
        }
        Format::Text => {
            let mut text = out.stdout.diagnostics(&out.diagnostics_text(
                &r.diagnostics,
                r.spec.as_ref().map(SpecText::source).as_ref(),
            ));
            for s in &r.skipped {
                text.push_str(&format!("{}: {s}\n", out.stdout.note("note")));
            }
            text
        }
    };
    emit(&text);
}

/// Several specs as one JSON document: every diagnostic with its `file` (as `lint` gives
/// them), and per file its exit code and, when it could not be read, why.
fn several_json(results: &[Checked]) -> String {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for r in results {
        for d in &r.diagnostics.diagnostics {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            if let serde_json::Value::Object(m) = &mut v {
                let mut with_file = serde_json::Map::new();
                with_file.insert("file".to_owned(), serde_json::json!(r.name));
                with_file.extend(std::mem::take(m));
                *m = with_file;
            }
            diagnostics.push(v);
        }
        let mut f = serde_json::json!({"file": r.name, "exit_code": r.code});
        if !r.skipped.is_empty() {
            f["skipped"] = serde_json::json!(r.skipped);
        }
        if let Some(e) = &r.error {
            f["error"] = serde_json::json!(e.to_string());
        }
        files.push(f);
    }
    let doc = serde_json::json!({"diagnostics": diagnostics, "files": files});
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
