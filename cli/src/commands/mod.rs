//! One module per subcommand. Each `run` returns the exit code, or a [`CliError`].
//!
//! [`CliError`]: crate::error::CliError

pub mod completions;
pub mod explain;
pub mod init;
pub mod mtu;
pub mod no_proxy;
pub mod plan;
pub mod render;
pub mod schema;
pub mod validate;
