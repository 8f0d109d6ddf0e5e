//! `meshspec schema`: the JSON Schema of the spec format.

use crate::error::{CliError, EXIT_OK};
use crate::output::emit;

/// Prints the JSON Schema generated from the core's field table.
///
/// # Errors
/// None; the signature matches the other commands.
pub fn run() -> Result<u8, CliError> {
    emit(&meshspec::spec::fields::json_schema_text());
    Ok(EXIT_OK)
}
