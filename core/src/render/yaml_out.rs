//! YAML: writing it by hand where key order matters (k3s configs), with scalars quoted by the
//! YAML library so `no`, `on`, `0644` or `*` never change meaning, and anything beyond
//! printable ASCII written as a double-quoted scalar with every risky character escaped.
//!
//! Every spec value that reaches a YAML file goes through [`scalar`], [`entry`] or [`comment`].
//! YAML 1.1 readers (k3s reads its config with go-yaml) also take U+0085, U+2028 and U+2029 as
//! line breaks, so those are escaped too.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::render::line::one_line;

/// `s` as a YAML double-quoted scalar: `"` and `\` escaped, and every character outside
/// printable ASCII that a reader could take as a break, a control or a byte-order mark
/// written as `\xNN`, `\uNNNN` or `\UNNNNNNNN` (YAML 1.2, section 5.7).
///
/// ```
/// use meshspec::render::yaml_out::double_quoted;
/// assert_eq!(double_quoted("a\nb: c"), "\"a\\nb: c\"");
/// assert_eq!(double_quoted("\u{2028}"), "\"\\u2028\"");
/// ```
#[must_use]
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x100 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if crate::render::line::is_unsafe(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar as YAML (quoted when plain text would be read as something else).
#[must_use]
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return double_quoted(s);
            }
            match serde_saphyr::to_string(s) {
                Ok(out) if !out.trim_end_matches('\n').contains('\n') => {
                    out.trim_end_matches('\n').to_owned()
                }
                _ => double_quoted(s),
            }
        }
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// A comment line's text (the caller writes the `# `): one line whatever `s` holds.
#[must_use]
pub fn comment(s: &str) -> Cow<'_, str> {
    one_line(s)
}

/// `key: value`, or `key:` followed by an indented list or mapping.
#[must_use]
pub fn entry(key: &str, value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let k = scalar(&Value::String(key.to_owned()));
    match value {
        Value::Array(items) if !items.is_empty() => {
            let mut s = format!("{pad}{k}:\n");
            for it in items {
                match it {
                    Value::Object(_) | Value::Array(_) => {
                        s.push_str(&format!("{pad}  - {}\n", scalar(it)));
                    }
                    _ => s.push_str(&format!("{pad}  - {}\n", scalar(it))),
                }
            }
            s
        }
        Value::Object(m) if !m.is_empty() => {
            let mut s = format!("{pad}{k}:\n");
            for (ck, cv) in m {
                s.push_str(&entry(ck, cv, indent + 2));
            }
            s
        }
        Value::Array(_) => format!("{pad}{k}: []\n"),
        Value::Object(_) => format!("{pad}{k}: {{}}\n"),
        _ => format!("{pad}{k}: {}\n", scalar(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn risky_scalars_are_quoted() {
        for s in [
            "no",
            "on",
            "yes",
            "0644",
            "644",
            "true",
            "null",
            "*",
            "0 */12 * * *",
            "a: b",
            "#x",
            "",
            "a\nb: c",
            "\"quoted\"",
            "x\u{2028}y: 1",
            "\u{1b}[2J",
            "tab\there",
            "back\\slash",
            "caf\u{e9} \u{85}",
        ] {
            let y = scalar(&json!(s));
            let back: String = serde_saphyr::from_str(&y).unwrap();
            assert_eq!(back, s, "{y}");
        }
    }

    #[test]
    fn lists_and_maps() {
        assert_eq!(
            entry("tls-san", &json!(["a", "b"]), 0),
            "tls-san:\n  - a\n  - b\n"
        );
        assert_eq!(
            entry("x", &json!({"mode": 1, "y": 2}), 0),
            "x:\n  mode: 1\n  \"y\": 2\n"
        );
        assert_eq!(
            entry("cluster-init", &json!(true), 0),
            "cluster-init: true\n"
        );
    }
}
