//! The `meshspec` command line: validate a spec, render its bundle, print its plan, explain
//! rule codes.
//!
//! Results go to standard output, progress and errors to standard error. Exit codes: `0` no
//! errors (warnings allowed), `1` errors (or drift with `--check`, or a refused write), `2` an
//! input could not be read or is not YAML, or the command line is wrong.

mod args;
mod commands;
mod diff;
mod error;
mod input;
mod manifest;
mod output;
mod write;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command};
use crate::output::{Output, emit_err};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Output::new(cli.color);
    out.quiet = cli.quiet;
    let result = match &cli.command {
        Command::Validate(a) => commands::validate::run(a, &out),
        Command::Render(a) => commands::render::run(a, &out),
        Command::Plan(a) => commands::plan::run(a, &out),
        Command::Explain(a) => commands::explain::run(a, &out),
        Command::Mtu(a) => commands::mtu::run(a, &out),
        Command::NoProxy(a) => commands::no_proxy::run(a, &out),
        Command::Lint(a) => commands::lint::run(a, &out),
        Command::CheckLive(a) => commands::check_live::run(a, &out),
        Command::Testbed(a) => commands::testbed::run(a, &out),
        Command::Import(a) => commands::import::run(a, &out),
        Command::Schema => commands::schema::run(),
        Command::Init(a) => commands::init::run(a, &out),
        Command::Completions(a) => commands::completions::run(a),
        Command::Man => commands::completions::man(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            emit_err(&format!("{}\n", out.stderr.error_line(&e.to_string())));
            ExitCode::from(e.exit_code())
        }
    }
}
