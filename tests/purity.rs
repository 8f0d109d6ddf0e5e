//! The core stays pure: its source names no file, environment, clock, process or network API,
//! and its dependency tree holds neither the Python nor the Node binding machinery.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::env",
    "std::net::Tcp",
    "std::net::Udp",
    "std::process",
    "SystemTime",
    "Instant::now",
    "std::io::stdin",
    "std::io::stdout",
    "println!",
    "eprintln!",
    "print!(",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn core_source_does_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20);
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // test modules may read fixtures; only the library code must stay pure
        let lib = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in lib.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    found.push(format!("{}:{}: {word}", f.display(), i + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "I/O in the core:\n{}", found.join("\n"));
}

#[test]
fn core_depends_on_no_binding_machinery() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "meshspec",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("serde-saphyr") && tree.contains("ipnet"),
        "unexpected tree:\n{tree}"
    );
    for banned in ["pyo3", "napi", "clap", "tokio", "reqwest", "libc "] {
        assert!(
            !tree.contains(banned),
            "the core depends on {banned}:\n{tree}"
        );
    }
}
