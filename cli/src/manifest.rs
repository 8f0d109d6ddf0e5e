//! The output manifest: which files `meshspec render` wrote into a directory, with a content
//! hash and mode for each, so later runs know what they own.
//!
//! Stored as `DIR/.meshspec-manifest.json`:
//! `{"clean":true,"files":{"PLAN.md":{"sha256":"…","mode":"0644"}},"generator":"meshspec","version":1}`
//! (`clean` only when the run that wrote it finished; older manifests without it are read too).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// The manifest's file name inside the output directory.
pub const MANIFEST_NAME: &str = ".meshspec-manifest.json";

/// One file meshspec wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lowercase hex SHA-256 of the contents written.
    pub sha256: String,
    /// The permission bits written.
    pub mode: u32,
    /// In a claim (a manifest without `clean`): the content and mode a run was about to put
    /// there, `(sha256, mode)`. Until its rename the file holds the recorded content, after it
    /// this one, so a run killed between renames leaves a manifest that describes the disk
    /// either way. Written as `"also": {"sha256", "mode"}`.
    pub also: Option<(String, u32)>,
}

impl Entry {
    /// An entry for content just written.
    #[must_use]
    pub fn new(sha256: String, mode: u32) -> Self {
        Self {
            sha256,
            mode,
            also: None,
        }
    }

    /// Whether a file with this hash (and mode, when given) is what meshspec wrote there:
    /// the recorded content, or the one a killed run was putting in place.
    #[must_use]
    pub fn matches(&self, sha256: &str, mode: Option<u32>) -> bool {
        let ok = |s: &str, m: u32| s == sha256 && mode.is_none_or(|x| x == m);
        ok(&self.sha256, self.mode) || self.also.as_ref().is_some_and(|(s, m)| ok(s, *m))
    }
}

/// Relative path → what was written there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The files, by path relative to the output directory (`/`-separated).
    pub files: BTreeMap<String, Entry>,
    /// Written by a run that finished: it left no temporary files behind (`"clean": true`).
    /// A run claims the paths it will touch with a manifest without the mark before it writes
    /// anything, so a killed run's leftovers are looked for only when the mark is missing.
    pub clean: bool,
}

impl Manifest {
    /// Parses a manifest.
    ///
    /// # Errors
    /// A short reason when the text is not a manifest this version understands.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        if value.get("generator").and_then(Value::as_str) != Some("meshspec") {
            return Err("not a meshspec manifest (no `generator: meshspec`)".to_owned());
        }
        if value.get("version").and_then(Value::as_u64) != Some(1) {
            return Err("unsupported manifest version (expected 1)".to_owned());
        }
        let files = value
            .get("files")
            .and_then(Value::as_object)
            .ok_or_else(|| "no `files` object".to_owned())?;
        let mut out = BTreeMap::new();
        for (path, entry) in files {
            let sha256 = entry
                .get("sha256")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{path}` has no sha256"))?
                .to_owned();
            let mode = entry
                .get("mode")
                .and_then(Value::as_str)
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .ok_or_else(|| format!("`{path}` has no octal mode"))?;
            let also = entry.get("also").and_then(|a| {
                let sha = a.get("sha256")?.as_str()?.to_owned();
                let mode = u32::from_str_radix(a.get("mode")?.as_str()?, 8).ok()?;
                Some((sha, mode))
            });
            out.insert(path.clone(), Entry { sha256, mode, also });
        }
        let clean = value.get("clean").and_then(Value::as_bool) == Some(true);
        Ok(Self { files: out, clean })
    }

    /// The manifest as pretty JSON with a trailing newline (deterministic: paths sorted).
    #[must_use]
    pub fn to_json(&self) -> String {
        let files: serde_json::Map<String, Value> = self
            .files
            .iter()
            .map(|(p, e)| {
                let mut v = json!({"sha256": e.sha256, "mode": format!("{:04o}", e.mode)});
                if let Some((sha, mode)) = &e.also {
                    v["also"] = json!({"sha256": sha, "mode": format!("{mode:04o}")});
                }
                (p.clone(), v)
            })
            .collect();
        let mut value = json!({"generator": "meshspec", "version": 1, "files": files});
        if self.clean {
            value["clean"] = Value::Bool(true);
        }
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Lowercase hex SHA-256 of some bytes.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// [`sha256_hex`] of the pieces joined, without joining them.
pub fn sha256_pieces<'a>(pieces: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for p in pieces {
        h.update(p.as_bytes());
    }
    hex(&h.finalize())
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Manifest::default();
        m.files.insert(
            "nodes/a/install.sh".to_owned(),
            Entry::new(sha256_hex(b"x"), 0o755),
        );
        m.files.insert(
            "PLAN.md".to_owned(),
            Entry {
                sha256: sha256_hex(b"old"),
                mode: 0o644,
                also: Some((sha256_hex(b"new"), 0o600)),
            },
        );
        let text = m.to_json();
        assert!(text.contains("\"mode\": \"0755\""));
        assert_eq!(Manifest::parse(&text).unwrap(), m);
        let e = &m.files["PLAN.md"];
        assert!(e.matches(&sha256_hex(b"old"), Some(0o644)));
        assert!(e.matches(&sha256_hex(b"new"), Some(0o600)));
        assert!(!e.matches(&sha256_hex(b"new"), Some(0o644)));
        assert!(!e.matches(&sha256_hex(b"other"), None));
    }

    #[test]
    fn known_hash() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rejects_foreign_json() {
        assert!(Manifest::parse("{}").is_err());
        assert!(Manifest::parse("nope").is_err());
    }
}
