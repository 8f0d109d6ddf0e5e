//! The spec files the integration tests walk, shared by the test targets that include this
//! file (`#[path = "common/specs.rs"] mod specs;`).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.yaml` file in `dir` (relative to the repository root), sorted by path, with its
/// text.
pub fn yaml_files(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut paths: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// Every valid fixture as (file stem, text), in name order.
#[allow(
    dead_code,
    reason = "not every test target that includes this file uses it"
)]
pub fn valid_fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = yaml_files("tests/fixtures/valid")
        .into_iter()
        .map(|(p, text)| (p.file_stem().unwrap().to_string_lossy().into_owned(), text))
        .collect();
    out.sort();
    out
}
