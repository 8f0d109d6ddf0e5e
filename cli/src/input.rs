//! Reading a spec: from a path or standard input (`-`), then through the core's decoder.

use std::io::Read;
use std::path::Path;

use meshspec::yaml::{MAX_SPEC_BYTES, too_large};
use meshspec::{Cluster, Code, Diagnostics, Source};

use crate::error::{CliError, EXIT_ERRORS, EXIT_UNREADABLE};

/// A spec's text and the name it is shown under.
#[derive(Debug)]
pub struct SpecText {
    /// As shown in diagnostics: the path as given, or `<stdin>`.
    pub name: String,
    /// The file name only (for messages); `spec.yaml` for standard input.
    pub file_name: String,
    /// The whole text (empty when the input was too large).
    pub text: String,
    /// The input was over [`MAX_SPEC_BYTES`]; reading stopped there.
    pub too_large: bool,
}

impl SpecText {
    /// Reads `arg`: a path, or `-` for standard input.
    ///
    /// Reads at most [`MAX_SPEC_BYTES`]` + 1` bytes: a larger input (a huge file, `/dev/zero`,
    /// an endless pipe) is not read further, and [`load`] refuses it with MS001.
    ///
    /// # Errors
    /// [`CliError::Read`] when the path is missing, a directory, unreadable or not UTF-8.
    pub fn read(arg: &str) -> Result<Self, CliError> {
        if arg == "-" {
            let bytes = read_bounded(std::io::stdin().lock())
                .map_err(|e| CliError::read("standard input", &e))?;
            return Self::from_bytes(bytes, "<stdin>", "spec.yaml");
        }
        let path = Path::new(arg);
        let file_name = path
            .file_name()
            .map_or_else(|| arg.to_owned(), |n| n.to_string_lossy().into_owned());
        match read_regular(path, arg)? {
            Some(bytes) => Self::from_bytes(bytes, arg, &file_name),
            None => Ok(Self {
                name: arg.to_owned(),
                file_name,
                text: String::new(),
                too_large: true,
            }),
        }
    }

    fn from_bytes(bytes: Vec<u8>, name: &str, file_name: &str) -> Result<Self, CliError> {
        let too_large = bytes.len() > MAX_SPEC_BYTES;
        let text = if too_large {
            String::new()
        } else {
            utf8(bytes, name)?
        };
        if let Some(at) = text.bytes().position(|b| b == 0) {
            return Err(CliError::Read {
                path: name.to_owned(),
                reason: format!(
                    "holds a NUL byte at offset {at}: a binary file, not YAML; nothing of it is shown"
                ),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            file_name: file_name.to_owned(),
            text,
            too_large,
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

/// What a file that is not a regular file is, for the refusal.
fn kind_name(t: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType as T;
    match t {
        T::Directory => "is a directory; pass the spec file inside it",
        T::Fifo => "is a FIFO (named pipe), not a regular file: meshspec reads only regular files",
        T::CharacterDevice => {
            "is a character device, not a regular file: meshspec reads only regular files"
        }
        T::BlockDevice => {
            "is a block device, not a regular file: meshspec reads only regular files"
        }
        T::Socket => "is a socket, not a regular file: meshspec reads only regular files",
        _ => "is not a regular file: meshspec reads only regular files",
    }
}

/// Reads a file named on the command line: a regular file (a link to one is followed; the user
/// named it), at most [`MAX_SPEC_BYTES`]` + 1` bytes, holding text.
///
/// Opened without blocking, so a FIFO never hangs the command; refused without a byte of it
/// shown when it is a FIFO, a device (an endless one, `/dev/zero`, gets MS001) or a socket, a
/// kernel pseudo-file (`/proc/self/environ`:
/// a regular file whose size is 0 yet holds bytes) or binary (a NUL byte): none of those is a
/// YAML file, and echoing a line of one in a snippet would print whatever it holds (the
/// environment, a key). `None` when the file is larger than the limit (by its size, then
/// unread, or by what it holds), for the caller's MS001.
fn read_regular(path: &Path, arg: &str) -> Result<Option<Vec<u8>>, CliError> {
    use rustix::fs::{FileType, Mode, OFlags};
    let refuse = |reason: &str| CliError::Read {
        path: arg.to_owned(),
        reason: reason.to_owned(),
    };
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd =
        rustix::fs::open(path, flags, Mode::empty()).map_err(|e| CliError::read(arg, &e.into()))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| CliError::read(arg, &e.into()))?;
    let kind = FileType::from_raw_mode(st.st_mode);
    if kind == FileType::CharacterDevice {
        // `/dev/zero`, `/dev/urandom`: endless, so MS001 after MAX_SPEC_BYTES + 1 bytes;
        // any other device is refused, nothing of it shown
        let bytes = read_bounded(std::fs::File::from(fd)).map_err(|e| CliError::read(arg, &e))?;
        return if bytes.len() > MAX_SPEC_BYTES {
            Ok(None)
        } else {
            Err(refuse(kind_name(kind)))
        };
    }
    if kind != FileType::RegularFile {
        return Err(refuse(kind_name(kind)));
    }
    if usize::try_from(st.st_size).unwrap_or(usize::MAX) > MAX_SPEC_BYTES {
        // refused by size alone: a sparse file is never read
        return Ok(None);
    }
    let bytes = read_bounded(std::fs::File::from(fd)).map_err(|e| CliError::read(arg, &e))?;
    if st.st_size == 0 && !bytes.is_empty() {
        return Err(refuse(
            "is a kernel pseudo-file (its size is 0 but it holds data, as in /proc or /sys), not a YAML file; nothing of it is shown",
        ));
    }
    if bytes.len() > MAX_SPEC_BYTES {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Reads until the end or until one byte past the spec size limit, whichever comes first.
fn read_bounded(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SPEC_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
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
    /// With reading errors (exit code 1) the diagnostics also hold the findings of every rule
    /// that could run on what was read (one round of errors); this says what was skipped.
    pub skipped: Vec<String>,
}

impl ReadFailure {
    /// The `note:` lines saying which rules were skipped, for standard error or output.
    #[must_use]
    pub fn notes(&self, out: &crate::output::Painter) -> String {
        self.skipped
            .iter()
            .map(|s| format!("{}: {s}\n", out.note("note")))
            .collect()
    }
}

/// Decodes and resolves the spec.
///
/// # Errors
/// The reading diagnostics, with exit code 2 for YAML-level problems and 1 for spec errors.
pub fn load(spec: &SpecText) -> Result<Cluster, ReadFailure> {
    if spec.too_large {
        return Err(ReadFailure {
            diagnostics: Diagnostics::from_vec(vec![too_large()]),
            exit_code: EXIT_UNREADABLE,
            skipped: Vec::new(),
        });
    }
    Cluster::from_yaml(&spec.text).map_err(|diagnostics| {
        let not_yaml = diagnostics
            .iter()
            .any(|d| matches!(d.code, Code::YamlSyntax | Code::DuplicateKey));
        if not_yaml {
            return ReadFailure {
                diagnostics,
                exit_code: EXIT_UNREADABLE,
                skipped: Vec::new(),
            };
        }
        // one round of errors: the rules that can run on what was read run too
        let round = Cluster::check_yaml(&spec.text);
        ReadFailure {
            diagnostics: round.diagnostics,
            exit_code: EXIT_ERRORS,
            skipped: round.skipped,
        }
    })
}
