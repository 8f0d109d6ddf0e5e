//! `meshspec lint FILE...`: hand-written k3s configs checked with the core's rules.

use std::path::{Path, PathBuf};

use meshspec::Code;
use meshspec::k3s::flags::Role;
use meshspec::lint::{CiliumValues, ConfigFile, LintOptions, NodeConfig, lint};

use crate::args::{LintArgs, LintFormat, RoleArg};
use crate::error::{CliError, EXIT_ERRORS, EXIT_OK, EXIT_UNREADABLE};
use crate::input::SpecText;
use crate::output::{Output, emit};

/// Reads one text file as a config file named as the user wrote its path.
///
/// # Errors
/// [`CliError::Read`] when it cannot be read, is not a regular text file, or is larger than
/// the 16 MiB limit (MS001, exit 2: checking an oversized file as if it were empty would
/// report "no problems").
pub fn read_text(path: &Path) -> Result<ConfigFile, CliError> {
    let arg = path.to_string_lossy().into_owned();
    let t = SpecText::read(&arg)?;
    if t.too_large {
        return Err(CliError::Read {
            path: arg,
            reason: format!("error[MS001]: {}", meshspec::yaml::too_large().message),
        });
    }
    Ok(ConfigFile::new(t.name, t.text))
}

/// One node's files: `PATH` (or `PATH/config.yaml` for a directory), then `<that>.d/*.yaml`
/// and `*.yml` in file-name order, as k3s reads them.
///
/// A drop-in that is a symbolic link is read only when it points inside the drop-in
/// directory: a link out of it (to `~/.aws/credentials`, `/proc/self/environ`) is refused
/// without reading it, so no line of it can reach a snippet.
///
/// # Errors
/// [`CliError::Read`] when neither the file nor a drop-in exists, one cannot be read, or a
/// drop-in links out of its directory.
pub fn node_files(path: &Path) -> Result<Vec<ConfigFile>, CliError> {
    let main: PathBuf = if path.is_dir() {
        path.join("config.yaml")
    } else {
        path.to_owned()
    };
    let mut dropin_dir = main.clone().into_os_string();
    dropin_dir.push(".d");
    let dropin_dir = PathBuf::from(dropin_dir);
    let mut files = Vec::new();
    if main.exists() || !dropin_dir.is_dir() {
        files.push(read_text(&main)?);
    }
    if dropin_dir.is_dir() {
        let read_err = |e: std::io::Error| CliError::read(dropin_dir.display().to_string(), &e);
        let real_dir = std::fs::canonicalize(&dropin_dir).map_err(read_err)?;
        let mut names: Vec<PathBuf> = Vec::new();
        for e in std::fs::read_dir(&dropin_dir).map_err(read_err)? {
            let p = e.map_err(read_err)?.path();
            if !p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("yaml") || x.eq_ignore_ascii_case("yml"))
            {
                continue;
            }
            let link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
            if link {
                let inside =
                    std::fs::canonicalize(&p).is_ok_and(|t| t.parent() == Some(real_dir.as_path()));
                if !inside {
                    return Err(CliError::Read {
                        path: p.display().to_string(),
                        reason: "is a symbolic link out of its drop-in directory: not read (k3s would read it; lint its target by name if it is a config)".to_owned(),
                    });
                }
            }
            if p.is_dir() {
                continue;
            }
            names.push(p);
        }
        names.sort();
        for n in names {
            files.push(read_text(&n)?);
        }
    }
    Ok(files)
}

/// Runs `lint`: prints the findings on standard output.
///
/// # Errors
/// [`CliError::Read`] when a file cannot be read.
pub fn run(args: &LintArgs, out: &Output) -> Result<u8, CliError> {
    let role = args.role.map(|r| match r {
        RoleArg::Server => Role::Server,
        RoleArg::Agent => Role::Agent,
    });
    let mut nodes = Vec::new();
    for p in &args.files {
        nodes.push(NodeConfig {
            files: node_files(p)?,
            role,
        });
    }
    let mut options = LintOptions::default();
    if let (Some(path), Some(version)) = (&args.cilium_values, &args.cilium_version) {
        options.cilium = Some(CiliumValues {
            file: read_text(path)?,
            version: version.clone(),
        });
    }
    let report = lint(&nodes, &options);
    let text = match args.format {
        LintFormat::Json => format!("{}\n", report.to_json()),
        LintFormat::Sarif => report.to_sarif(),
        LintFormat::Text => {
            let mut all: Vec<ConfigFile> = nodes.into_iter().flat_map(|n| n.files).collect();
            all.extend(options.cilium.map(|c| c.file));
            out.stdout.diagnostics(&report.render(&all))
        }
    };
    emit(&text);
    let not_yaml = report
        .findings
        .iter()
        .any(|f| matches!(f.diagnostic.code, Code::YamlSyntax | Code::DuplicateKey));
    Ok(if not_yaml {
        EXIT_UNREADABLE
    } else if report.has_errors() {
        EXIT_ERRORS
    } else {
        EXIT_OK
    })
}
