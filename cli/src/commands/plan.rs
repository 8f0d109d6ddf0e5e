//! `meshspec plan SPEC`: the plan report (addressing, pod subnets, MTU stack, rollout order).

use meshspec::RenderOptions;

use crate::args::PlanArgs;
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK};
use crate::input::{SpecText, load};
use crate::output::{Output, emit, emit_err};

/// Runs `plan`: prints PLAN.md on standard output.
///
/// # Errors
/// [`CliError::Read`] when the spec cannot be read.
pub fn run(args: &PlanArgs, out: &Output) -> Result<u8, CliError> {
    let spec = SpecText::read(&args.spec)?;
    let cluster = match load(&spec) {
        Ok(c) => c,
        Err(failure) => {
            emit_err(
                &out.stderr
                    .diagnostics(&failure.diagnostics.render(Some(&spec.source()))),
            );
            return Ok(failure.exit_code);
        }
    };
    let options = RenderOptions {
        spec_name: spec.file_name.clone(),
    };
    match cluster.render(&options) {
        Ok(bundle) => match bundle.text("PLAN.md") {
            Some(text) => {
                emit(text);
                Ok(EXIT_OK)
            }
            None => Err(CliError::Usage {
                message: "this build of the meshspec core renders no PLAN.md yet\n  = help: `meshspec validate` checks the spec; `meshspec render` writes the bundle".to_owned(),
            }),
        },
        Err(ds) => {
            emit_err(&out.stderr.diagnostics(&ds.render(Some(&spec.source()))));
            Ok(EXIT_ERRORS)
        }
    }
}
