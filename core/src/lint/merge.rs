//! k3s's reading of a config file and its `config.yaml.d` drop-ins, merged the way k3s merges
//! them (`pkg/configfilearg/parser.go`).
//!
//! The main file comes first, then the drop-ins in lexical file-name order (the caller lists
//! them in that order). Across files a later plain key replaces the earlier value; `key+`
//! appends to the accumulated value (a scalar becomes a one-item list). The order in which keys
//! were first seen is kept. One-letter aliases (`i` for `node-ip`) resolve to the long name.
//!
//! This module reads no files and judges nothing: the lint rules and the importer do.

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::k3s::flags;
use crate::yaml::{self, Pos};

/// One config file's name (as shown in findings) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The path as the user named it, e.g. `/etc/rancher/k3s/config.yaml`.
    pub name: String,
    /// The whole text.
    pub text: String,
}

impl ConfigFile {
    /// A file from its name and text.
    #[must_use]
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// One key as written in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEntry {
    /// Index of the file in the list given to [`merge`].
    pub file: usize,
    /// The key as written, e.g. `node-label+` or `i`.
    pub written: String,
    /// The long flag name when k3s knows the key, else the key without `+`.
    pub key: String,
    /// Whether it was written with the `+` append suffix.
    pub append: bool,
    /// The value as JSON (positions dropped).
    pub value: Value,
    /// Where the key was written.
    pub key_pos: Option<Pos>,
    /// Where each value item was written: one position for a scalar, one per list item.
    pub item_pos: Vec<Option<Pos>>,
}

/// One key after merging all files.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedEntry {
    /// The long flag name when k3s knows the key.
    pub key: String,
    /// The effective value.
    pub value: Value,
    /// The entry that set (or last appended to) the value.
    pub last: RawEntry,
}

/// A node's effective configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// Every key as written, file by file.
    pub raw: Vec<RawEntry>,
    /// The effective keys, in first-seen order.
    pub entries: Vec<MergedEntry>,
}

impl Merged {
    /// The effective value of a key (long name).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&MergedEntry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

fn canonical(written: &str) -> (String, bool) {
    let (bare, append) = match written.strip_suffix('+') {
        Some(b) => (b, true),
        None => (written, false),
    };
    let key = flags::table()
        .get(bare)
        .map_or_else(|| bare.to_owned(), |f| f.name.clone());
    (key, append)
}

fn as_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// Reads and merges a node's files. Files that are not YAML, or whose top level is not a
/// mapping, contribute nothing and yield a diagnostic (MS001, MS010), paired with the index of
/// the file.
#[must_use]
pub fn merge(files: &[ConfigFile]) -> (Merged, Vec<(usize, Diagnostic)>) {
    let mut merged = Merged::default();
    let mut problems = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, f) in files.iter().enumerate() {
        let tree = match yaml::parse(&f.text) {
            Ok(t) => t,
            Err(d) => {
                problems.push((i, d));
                continue;
            }
        };
        let map = match tree.value {
            yaml::Value::Map(m) => m,
            yaml::Value::Null => continue,
            other => {
                let mut d = Diagnostic::new(
                    crate::Code::YamlSyntax,
                    "",
                    format!(
                        "a k3s config file is a mapping of flag names to values, not {}",
                        other.kind()
                    ),
                )
                .with_help("write one `flag-name: value` per line, e.g. `node-ip: 100.64.0.1`");
                if let Some(p) = tree.pos {
                    d = d.at(p.line, p.column);
                }
                problems.push((i, d));
                continue;
            }
        };
        for (k, node) in map {
            let (key, append) = canonical(&k.name);
            let item_pos = match &node.value {
                yaml::Value::Seq(items) => items.iter().map(|n| n.pos.or(node.pos)).collect(),
                _ => vec![node.pos.or(k.pos)],
            };
            let raw = RawEntry {
                file: i,
                written: k.name.clone(),
                key: key.clone(),
                append,
                value: node.to_json(),
                key_pos: k.pos,
                item_pos,
            };
            merged.raw.push(raw.clone());
            // an index by key: a config of 40,000 keys merges in linear time
            let found = index.get(&key).copied();
            match found.and_then(|at| merged.entries.get_mut(at)) {
                Some(e) if append => {
                    let mut items = as_items(&e.value);
                    items.extend(as_items(&raw.value));
                    e.value = Value::Array(items);
                    e.last = raw;
                }
                Some(e) => {
                    e.value = raw.value.clone();
                    e.last = raw;
                }
                None => merged.entries.push(MergedEntry {
                    key: {
                        index.insert(key.clone(), merged.entries.len());
                        key
                    },
                    value: if append {
                        Value::Array(as_items(&raw.value))
                    } else {
                        raw.value.clone()
                    },
                    last: raw,
                }),
            }
        }
    }
    (merged, problems)
}

/// The items of a value the way k3s reads them: a list item by item, a scalar as one item;
/// for the flags k3s splits on commas (`node-ip`, `tls-san`, `disable`...) each item split.
#[must_use]
pub fn items(key: &str, v: &Value) -> Vec<String> {
    let split = flags::comma_split(key);
    let mut out = Vec::new();
    for item in as_items(v) {
        let text = match &item {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if split {
            out.extend(
                text.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
            );
        } else {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropins_replace_plain_keys_and_append_plus_keys_in_order() {
        let files = [
            ConfigFile::new(
                "config.yaml",
                "node-ip: 10.0.0.1\nnode-label: [a=1]\ni: 10.0.0.9\n",
            ),
            ConfigFile::new("config.yaml.d/10-x.yaml", "node-label+: b=2\n"),
            ConfigFile::new(
                "config.yaml.d/20-y.yaml",
                "node-label+: [c=3]\nflannel-iface: wg0\n",
            ),
        ];
        let (m, problems) = merge(&files);
        assert!(problems.is_empty());
        let keys: Vec<&str> = m.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["node-ip", "node-label", "flannel-iface"]);
        assert_eq!(m.get("node-ip").unwrap().value, Value::from("10.0.0.9"));
        assert_eq!(
            items("node-label", &m.get("node-label").unwrap().value),
            ["a=1", "b=2", "c=3"]
        );
        assert_eq!(m.get("node-label").unwrap().last.file, 2);
    }

    #[test]
    fn a_later_plain_key_overwrites_an_appended_one() {
        let files = [
            ConfigFile::new("a", "node-taint+: [x=1:NoSchedule]\n"),
            ConfigFile::new("b", "node-taint: y=2:NoExecute\n"),
        ];
        let (m, _) = merge(&files);
        assert_eq!(
            items("node-taint", &m.get("node-taint").unwrap().value),
            ["y=2:NoExecute"]
        );
    }

    #[test]
    fn broken_files_are_reported_with_their_index() {
        let files = [
            ConfigFile::new("a", "node-ip: [\n"),
            ConfigFile::new("b", "- a\n- b\n"),
            ConfigFile::new("c", ""),
        ];
        let (m, problems) = merge(&files);
        assert!(m.entries.is_empty());
        let idx: Vec<usize> = problems.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, [0, 1]);
    }

    #[test]
    fn comma_split_only_for_the_flags_k3s_splits() {
        assert_eq!(items("tls-san", &Value::from("a,b")), ["a", "b"]);
        assert_eq!(items("node-label", &Value::from("a=1,b=2")), ["a=1,b=2"]);
        assert_eq!(items("cluster-init", &Value::Bool(true)), ["true"]);
    }
}
