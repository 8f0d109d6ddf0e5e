//! The `meshspec` binary as the CLI tests run it, shared by the test targets that include this
//! file (`#[path = "common/cli.rs"] mod cli_common;`). Each target uses the helpers it needs.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "each test target uses only some helpers; a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    root().join("tests/fixtures").join(path)
}

/// The binary under test (assert_cmd), with colour decided by its flags and the terminal, not
/// by a `NO_COLOR` the test runner happens to have.
pub fn meshspec() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_meshspec"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// The binary under test as a plain process (for pipes and `output()`), likewise without
/// `NO_COLOR`.
pub fn meshspec_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_meshspec"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// A temporary directory holding `spec.yaml` with `text`, and that file's path.
pub fn with_spec(text: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let spec = dir.path().join("spec.yaml");
    fs::write(&spec, text).unwrap();
    (dir, spec)
}
