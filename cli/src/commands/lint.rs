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
pub fn read_text(path: &Path) -> Result<ConfigFile, CliError> {
    let arg = path.to_string_lossy().into_owned();
    let t = SpecText::read(&arg)?;
    Ok(ConfigFile::new(t.name, t.text))
}

/// One node's files: `PATH` (or `PATH/config.yaml` for a directory), then `<that>.d/*.yaml`
/// and `*.yml` in file-name order, as k3s reads them.
///
/// # Errors
/// [`CliError::Read`] when neither the file nor a drop-in exists, or one cannot be read.
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
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dropin_dir)
            .map_err(|e| CliError::read(dropin_dir.display().to_string(), &e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("yaml") || x.eq_ignore_ascii_case("yml")
                    })
            })
            .collect();
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
