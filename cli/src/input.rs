//! Reading a spec: from a path or standard input (`-`), then through the core's decoder.

use std::io::Read as _;
use std::path::Path;

use meshspec::{Cluster, Code, Diagnostics, Source};

use crate::error::{CliError, EXIT_ERRORS, EXIT_UNREADABLE};

/// A spec's text and the name it is shown under.
#[derive(Debug)]
pub struct SpecText {
    /// As shown in diagnostics: the path as given, or `<stdin>`.
    pub name: String,
    /// The file name only (for messages); `spec.yaml` for standard input.
    pub file_name: String,
    /// The whole text.
    pub text: String,
}

impl SpecText {
    /// Reads `arg`: a path, or `-` for standard input.
    ///
    /// # Errors
    /// [`CliError::Read`] when the path is missing, a directory, unreadable or not UTF-8.
    pub fn read(arg: &str) -> Result<Self, CliError> {
        if arg == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::read("standard input", &e))?;
            let text = utf8(bytes, "standard input")?;
            return Ok(Self {
                name: "<stdin>".to_owned(),
                file_name: "spec.yaml".to_owned(),
                text,
            });
        }
        let path = Path::new(arg);
        let meta = std::fs::metadata(path).map_err(|e| CliError::read(arg, &e))?;
        if meta.is_dir() {
            return Err(CliError::Read {
                path: arg.to_owned(),
                reason: "is a directory; pass the spec file inside it".to_owned(),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| CliError::read(arg, &e))?;
        let text = utf8(bytes, arg)?;
        let file_name = path
            .file_name()
            .map_or_else(|| arg.to_owned(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            name: arg.to_owned(),
            file_name,
            text,
        })
    }

    /// The source for diagnostics rendering.
    #[must_use]
    pub fn source(&self) -> Source<'_> {
        Source {
            name: &self.name,
            text: &self.text,
        }
    }
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, CliError> {
    String::from_utf8(bytes).map_err(|e| CliError::Read {
        path: what.to_owned(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {}); is this a YAML spec?",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Why a spec could not become a cluster: the reading diagnostics and the exit code they map to.
#[derive(Debug)]
pub struct ReadFailure {
    /// The MS0xx diagnostics from the decoder.
    pub diagnostics: Diagnostics,
    /// `2` when the text is not YAML (MS001) or has duplicate keys (MS010), `1` otherwise.
    pub exit_code: u8,
}

/// Decodes and resolves the spec.
///
/// # Errors
/// The reading diagnostics, with exit code 2 for YAML-level problems and 1 for spec errors.
pub fn load(spec: &SpecText) -> Result<Cluster, ReadFailure> {
    Cluster::from_yaml(&spec.text).map_err(|diagnostics| {
        let not_yaml = diagnostics
            .iter()
            .any(|d| matches!(d.code, Code::YamlSyntax | Code::DuplicateKey));
        ReadFailure {
            diagnostics,
            exit_code: if not_yaml {
                EXIT_UNREADABLE
            } else {
                EXIT_ERRORS
            },
        }
    })
}
