//! `meshspec completions SHELL` and `meshspec man`: generated from the clap definition.

use clap::CommandFactory as _;

use crate::args::{Cli, CompletionsArgs};
use crate::error::{CliError, EXIT_OK};
use crate::output::emit;

/// Prints the completion script for a shell.
///
/// # Errors
/// None; the signature matches the other commands.
pub fn run(args: &CompletionsArgs) -> Result<u8, CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "meshspec", &mut buf);
    emit(&String::from_utf8_lossy(&buf));
    Ok(EXIT_OK)
}

/// Prints the manual page (roff): synopsis, options and the list of subcommands with what
/// each does (`meshspec help <command>` has each one's flags).
///
/// # Errors
/// None; the signature matches the other commands.
pub fn man() -> Result<u8, CliError> {
    let mut buf = Vec::new();
    // writing into a Vec cannot fail
    let _ = clap_mangen::Man::new(Cli::command()).render(&mut buf);
    emit(&String::from_utf8_lossy(&buf));
    Ok(EXIT_OK)
}
