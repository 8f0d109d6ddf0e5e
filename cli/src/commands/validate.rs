//! `meshspec validate SPEC [--format text|json]`: every diagnostic, and an exit code.

use meshspec::Diagnostics;

use crate::args::{Format, ValidateArgs};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::input::{SpecText, load};
use crate::output::{Output, emit};

/// Runs `validate`: prints the diagnostics on standard output.
///
/// # Errors
/// [`CliError::Read`] when the spec cannot be read.
pub fn run(args: &ValidateArgs, out: &Output) -> Result<u8, CliError> {
    let spec = SpecText::read(&args.spec)?;
    let (diagnostics, code) = match load(&spec) {
        Ok(cluster) => {
            let ds = cluster.validate();
            let code = if ds.has_errors() {
                EXIT_ERRORS
            } else {
                EXIT_OK
            };
            (ds, code)
        }
        Err(failure) => (failure.diagnostics, failure.exit_code),
    };
    print(&diagnostics, &spec, args.format, out);
    Ok(code)
}

fn print(ds: &Diagnostics, spec: &SpecText, format: Format, out: &Output) {
    let text = match format {
        Format::Json => {
            let mut json = ds.to_json();
            json.push('\n');
            json
        }
        Format::Text => out
            .stdout
            .diagnostics(&out.diagnostics_text(ds, Some(&spec.source()))),
    };
    emit(&text);
}
