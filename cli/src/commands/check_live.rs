//! `meshspec check-live SPEC --nodes FILE|-`: a running cluster against its spec.

use meshspec::live::check_live;

use crate::args::{CheckLiveArgs, Format};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE};
use crate::input::{SpecText, load};
use crate::output::{Output, emit, emit_err};

/// Runs `check-live`: prints the MS95x findings on standard output.
///
/// # Errors
/// [`CliError::Read`] when the spec or the node list cannot be read.
pub fn run(args: &CheckLiveArgs, out: &Output) -> Result<u8, CliError> {
    if args.spec == "-" && args.nodes == "-" {
        return Err(CliError::Usage {
            message: "the spec and --nodes cannot both come from standard input\n  = help: pass the spec as a file: `kubectl get nodes -o json | meshspec check-live cluster.yaml --nodes -`".to_owned(),
        });
    }
    let spec = SpecText::read(&args.spec)?;
    let cluster = match load(&spec) {
        Ok(c) => c,
        Err(failure) => {
            emit_err(
                &out.stderr
                    .diagnostics(&failure.diagnostics.render(Some(&spec.source()))),
            );
            emit_err(&failure.notes(&out.stderr));
            return Ok(failure.exit_code);
        }
    };
    let nodes = SpecText::read(&args.nodes)?;
    // an oversized node list is refused, not checked as if empty
    let checked = if nodes.too_large {
        Err(meshspec::Diagnostics::from_vec(vec![
            meshspec::yaml::too_large(),
        ]))
    } else {
        check_live(&cluster, &nodes.text)
    };
    let (ds, code, source) = match checked {
        Ok(ds) => {
            let code = if ds.has_errors() {
                EXIT_ERRORS
            } else {
                EXIT_OK
            };
            (ds, code, spec.source())
        }
        Err(ds) => (ds, EXIT_UNREADABLE, nodes.source()),
    };
    let text = match args.format {
        Format::Json => format!("{}\n", ds.to_json()),
        Format::Text => out.stdout.diagnostics(&ds.render(Some(&source))),
    };
    emit(&text);
    Ok(code)
}
