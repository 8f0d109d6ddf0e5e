//! The one place where failures become Python exceptions.
//!
//! Core diagnostics become [`SpecError`] (a `ValueError`) carrying `.diagnostics` (a list of
//! [`Diagnostic`] objects) and `.code` (the first diagnostic's code); its message is the same
//! text the CLI prints. Conversion and lookup problems become `TypeError` / `ValueError`, and
//! file problems the matching `OSError` subclass. Nothing here panics.

use std::io;
use std::path::Path;

use pyo3::exceptions::{
    PyFileNotFoundError, PyOSError, PyPermissionError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::types::Diagnostic;

pyo3::create_exception!(
    meshspec,
    SpecError,
    PyValueError,
    "A spec that cannot be read, or that has errors when rendering.\n\n\
     Attributes: `diagnostics` (every `Diagnostic`, errors first) and `code` (the first one's code)."
);

/// Where a spec came from: a name for messages and, for text input, the text itself.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The file path or a placeholder such as `spec.yaml`.
    pub name: String,
    /// The spec text, when it was read from YAML (absent for dicts).
    pub text: Option<String>,
}

/// A [`SpecError`] for these diagnostics, its message rendered like the CLI's text output
/// (with the offending lines of the spec; the core never shows a line holding a secret).
pub fn spec_error(py: Python<'_>, diagnostics: &meshspec::Diagnostics, origin: &Origin) -> PyErr {
    let source = origin.text.as_deref().map(|text| meshspec::Source {
        name: &origin.name,
        text,
    });
    let message = diagnostics.render(source.as_ref());
    let err = SpecError::new_err(message.trim_end().to_owned());
    let attach = || -> PyResult<()> {
        let value = err.value(py);
        let items = diagnostics.iter().cloned().map(Diagnostic::from);
        value.setattr("diagnostics", PyList::new(py, items)?)?;
        let code = diagnostics.iter().next().map_or("", |d| d.code.as_str());
        value.setattr("code", code)?;
        Ok(())
    };
    match attach() {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// A `TypeError` with this message.
pub fn type_error(message: impl Into<String>) -> PyErr {
    PyTypeError::new_err(message.into())
}

/// A `ValueError` with this message.
pub fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// The `OSError` subclass matching an I/O failure on `path`.
pub fn io_error(path: &Path, err: &io::Error) -> PyErr {
    let message = format!("cannot read `{}`: {err}", path.display());
    match err.kind() {
        io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

/// A spec file that is not UTF-8 text: a [`SpecError`] with `MS001`, as for unreadable YAML.
pub fn not_utf8(py: Python<'_>, name: &str, err: &std::string::FromUtf8Error) -> PyErr {
    let d = meshspec::Diagnostic::new(
        meshspec::Code::YamlSyntax,
        "",
        format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            err.utf8_error().valid_up_to()
        ),
    );
    let origin = Origin {
        name: name.to_owned(),
        text: None,
    };
    spec_error(py, &meshspec::Diagnostics::from_vec(vec![d]), &origin)
}

/// An unknown rule code, with the hint the core gives.
pub fn unknown_code(err: &meshspec::code::UnknownCode) -> PyErr {
    value_error(format!("{err}; meshspec.codes() lists them all"))
}

/// A node name the spec does not have.
pub fn unknown_node(name: &str, known: &[String]) -> PyErr {
    value_error(format!(
        "no node named `{name}` in the spec (nodes: {})",
        known.join(", ")
    ))
}
