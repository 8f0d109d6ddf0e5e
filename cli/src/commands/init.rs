//! `meshspec init [FILE]`: a commented starter spec that validates as written.

use std::io::Write as _;

use meshspec::spec::starter::{StarterOptions, starter};
use meshspec::spec::{CniPlugin, Provider};

use crate::args::{InitArgs, InitCni, InitProvider};
use crate::error::{CliError, EXIT_OK};
use crate::output::{Output, emit, emit_err};

/// Writes the starter spec to FILE (never over an existing file without `--force`), or prints
/// it for `-`.
///
/// # Errors
/// [`CliError::Usage`] for a name or site that is not a DNS-1123 label or a file that exists;
/// [`CliError::Write`] when the file cannot be written.
pub fn run(args: &InitArgs, out: &Output) -> Result<u8, CliError> {
    let options = StarterOptions {
        name: args.name.clone(),
        provider: match args.provider {
            InitProvider::Tailscale => Provider::Tailscale,
            InitProvider::Headscale => Provider::Headscale,
            InitProvider::Netbird => Provider::Netbird,
            InitProvider::Wireguard => Provider::Wireguard,
        },
        cni: match args.cni {
            InitCni::Flannel => CniPlugin::Flannel,
            InitCni::Cilium => CniPlugin::Cilium,
        },
        sites: args
            .sites
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    let text = starter(&options).map_err(|e| CliError::Usage {
        message: e.to_string(),
    })?;
    if args.file == "-" {
        emit(&text);
        return Ok(EXIT_OK);
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if args.force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let write_error = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Usage {
                message: format!(
                    "{} exists; nothing written\n  = help: pass --force to overwrite it, or name another file: `meshspec init other.yaml`",
                    args.file
                ),
            }
        } else {
            CliError::Write {
                path: args.file.clone(),
                reason: e.to_string(),
                hint: "check that the directory exists and is writable",
            }
        }
    };
    let mut file = open.open(&args.file).map_err(write_error)?;
    file.write_all(text.as_bytes()).map_err(write_error)?;
    if !out.quiet {
        emit_err(&format!(
            "wrote {}; next: edit the addresses, then `meshspec validate {}`\n",
            args.file, args.file
        ));
    }
    Ok(EXIT_OK)
}
