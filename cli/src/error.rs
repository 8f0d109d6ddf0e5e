//! The CLI's error type and its exit codes.
//!
//! Exit codes are a contract: `0` clean (warnings allowed), `1` the spec has errors, the output
//! directory drifted (`--check`) or a write was refused, `2` an input could not be read or
//! parsed, or the command line itself was wrong. Messages are lowercase, without a trailing
//! period, and name the path and what to do.

use std::fmt;
use std::io;
use std::path::Path;

/// Exit code: no errors (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Exit code: the spec has errors, `--check` found drift, or a write was refused.
pub const EXIT_ERRORS: u8 = 1;
/// Exit code: an input could not be read or is not YAML, or the command line was wrong.
pub const EXIT_UNREADABLE: u8 = 2;

/// A failure that ends the command, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// A file or standard input could not be read.
    Read {
        /// What was being read, as the user named it.
        path: String,
        /// Why, in a few words (`is a directory`, `no such file`).
        reason: String,
    },
    /// Something could not be written or created.
    Write {
        /// The path that failed.
        path: String,
        /// Why, in a few words.
        reason: String,
        /// What the user can do about it.
        hint: &'static str,
    },
    /// `render` refused to touch files it did not write.
    Refused {
        /// The message, already formatted (it lists the files).
        message: String,
    },
    /// The user asked for something that does not exist (e.g. an unknown rule code).
    Usage {
        /// The message, possibly several lines.
        message: String,
    },
}

impl CliError {
    /// A read failure from an I/O error.
    pub fn read(path: impl Into<String>, err: &io::Error) -> Self {
        Self::Read {
            path: path.into(),
            reason: io_reason(err),
        }
    }

    /// A write failure from an I/O error.
    pub fn write(path: &Path, err: &io::Error) -> Self {
        let hint = match err.kind() {
            io::ErrorKind::NotADirectory => {
                "choose an --out directory whose parents are directories"
            }
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                "choose a writable --out directory"
            }
            io::ErrorKind::NotFound => {
                "a parent is missing or cannot hold files; choose another --out directory"
            }
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                "free some space and retry"
            }
            _ => "check the --out directory and retry",
        };
        Self::Write {
            path: path.display().to_string(),
            reason: io_reason(err),
            hint,
        }
    }

    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused { .. } => EXIT_ERRORS,
            Self::Read { .. } | Self::Write { .. } | Self::Usage { .. } => EXIT_UNREADABLE,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, reason } => write!(
                f,
                "cannot read {}: {reason}",
                meshspec::printable::escape(path)
            ),
            Self::Write { path, reason, hint } => write!(
                f,
                "cannot write {}: {reason}\n  = help: {hint}",
                meshspec::printable::escape(path)
            ),
            Self::Refused { message } | Self::Usage { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for CliError {}

/// A short lowercase reason for an I/O error, without the `(os error N)` suffix.
#[must_use]
pub fn io_reason(err: &io::Error) -> String {
    use io::ErrorKind as K;
    let fixed = match err.kind() {
        K::NotFound => Some("no such file or directory"),
        K::PermissionDenied => Some("permission denied"),
        K::IsADirectory => Some("is a directory"),
        K::NotADirectory => Some("a parent of this path is not a directory"),
        K::ReadOnlyFilesystem => Some("read-only file system"),
        K::StorageFull => Some("no space left on device"),
        K::AlreadyExists => Some("already exists"),
        K::InvalidData => Some("not UTF-8 text"),
        _ => None,
    };
    if let Some(text) = fixed {
        return text.to_owned();
    }
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_owned(),
    }
}
