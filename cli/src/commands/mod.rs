//! One module per subcommand. Each `run` returns the exit code, or a [`CliError`].
//!
//! [`CliError`]: crate::error::CliError

pub mod check_live;
pub mod completions;
pub mod explain;
pub mod import;
pub mod init;
pub mod lint;
pub mod mtu;
pub mod no_proxy;
pub mod plan;
pub mod render;
pub mod schema;
pub mod testbed;
pub mod validate;
