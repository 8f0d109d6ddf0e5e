//! SARIF 2.1.0 output (OASIS Static Analysis Results Interchange Format), the format GitHub
//! code scanning and most CI viewers read. One run, one tool (`meshspec`), one rule per code
//! that fired, one result per finding with its file, line and column.

use serde_json::{Value, json};

use super::report::Finding;
use crate::code::Code;
use crate::diagnostic::Severity;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A file name as a SARIF artifact URI: relative paths stay relative (resolved against the
/// checkout), absolute paths become `file://` URIs; characters outside the URI's unreserved
/// set are percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn to_sarif(findings: &[Finding]) -> String {
    let mut rules: Vec<Code> = findings.iter().map(|f| f.diagnostic.code).collect();
    rules.sort();
    rules.dedup();
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.slug(),
                "shortDescription": {"text": c.summary()},
                "help": {"text": format!("run `meshspec explain {c}`"), "markdown": c.page()},
                "defaultConfiguration": {"level": level(c.default_severity())},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let d = &f.diagnostic;
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let mut region = serde_json::Map::new();
            region.insert("startLine".into(), json!(d.line.unwrap_or(1)));
            if let Some(c) = d.column {
                region.insert("startColumn".into(), json!(c));
            }
            json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": rules.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.file)},
                        "region": region,
                    },
                    "logicalLocations": [{"name": d.path, "kind": "member"}],
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "meshspec",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/meshspec",
                "rules": rule_objects,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_or_file_and_encoded() {
        assert_eq!(uri("etc/k3s/config.yaml"), "etc/k3s/config.yaml");
        assert_eq!(uri("/etc/a b.yaml"), "file:///etc/a%20b.yaml");
    }
}
