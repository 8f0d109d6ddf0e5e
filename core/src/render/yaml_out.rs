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
    let mut out = String::new();
    write_scalar(&mut out, v);
    out
}

/// [`scalar`], appended to `out`.
pub fn write_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(_) | Value::Object(_) => {
            out.push_str(&serde_json::to_string(v).unwrap_or_default());
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    if plain_as_is(s) {
        out.push_str(s);
        return;
    }
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        out.push_str(&double_quoted(s));
        return;
    }
    match serde_saphyr::to_string(&s) {
        Ok(text) if !text.trim_end_matches('\n').contains('\n') => {
            out.push_str(text.trim_end_matches('\n'));
        }
        _ => out.push_str(&double_quoted(s)),
    }
}

/// Words a YAML 1.1 reader (go-yaml v2, PyYAML) takes as a boolean, null or float, in any case.
const YAML_WORDS: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
];

/// Whether `s` is a plain scalar that the YAML library writes unchanged, decided without
/// calling it: a letter or `/` first, then letters, digits and `._/=-` only, and not one of
/// [`YAML_WORDS`]. Such text cannot start an indicator, a number, a timestamp or a comment, and
/// cannot hold `: `. Most rendered values (flag names, paths, interface names, labels) are
/// like that; everything else goes through the library. A test compares the two on random
/// and adversarial strings.
fn plain_as_is(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'/')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'=' | b'-'))
        && !YAML_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// A comment line's text (the caller writes the `# `): one line whatever `s` holds.
#[must_use]
pub fn comment(s: &str) -> Cow<'_, str> {
    one_line(s)
}

/// `key: value`, or `key:` followed by an indented list or mapping.
#[must_use]
pub fn entry(key: &str, value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_entry(&mut out, key, value, indent);
    out
}

/// [`entry`], appended to `out`.
pub fn write_entry(out: &mut String, key: &str, value: &Value, indent: usize) {
    let pad = |out: &mut String| out.extend(std::iter::repeat_n(' ', indent));
    pad(out);
    write_string(out, key);
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push_str(":\n");
            for it in items {
                pad(out);
                out.push_str("  - ");
                write_scalar(out, it);
                out.push('\n');
            }
        }
        Value::Object(m) if !m.is_empty() => {
            out.push_str(":\n");
            for (ck, cv) in m {
                write_entry(out, ck, cv, indent + 2);
            }
        }
        Value::Array(_) => out.push_str(": []\n"),
        Value::Object(_) => out.push_str(": {}\n"),
        _ => {
            out.push_str(": ");
            write_scalar(out, value);
            out.push('\n');
        }
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

    /// What the library writes for a string, trimmed the way [`write_string`] trims it.
    fn library(s: &str) -> String {
        serde_saphyr::to_string(&s)
            .unwrap()
            .trim_end_matches('\n')
            .to_owned()
    }

    #[test]
    fn the_fast_path_writes_what_the_library_writes() {
        for s in [
            "y",
            "Y",
            "n",
            "No",
            "ON",
            "off",
            "True",
            "NULL",
            "NaN",
            "Inf",
            "yes",
            "e3",
            "E",
            "a",
            "/",
            "//",
            "/etc/rancher/k3s/token",
            "tailscale0",
            "example.com/rack=r10",
            "a-",
            "a.",
            "a_",
            "a=b",
            "k3s-agent",
            "x--y",
            "Infinity",
            "nul",
            "nulls",
            "o",
            "tru",
            "falsey",
            "a/b.c_d=e-f",
        ] {
            if plain_as_is(s) {
                assert_eq!(s, library(s), "{s}");
            }
            let mut out = String::new();
            write_string(&mut out, s);
            let back: String = serde_saphyr::from_str(&out).unwrap();
            assert_eq!(back, s, "{out}");
        }
        for word in YAML_WORDS {
            assert!(!plain_as_is(word));
            assert!(!plain_as_is(&word.to_uppercase()));
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_the_library(s in "[a-zA-Z/][a-zA-Z0-9._/=-]{0,12}") {
            if plain_as_is(&s) {
                proptest::prop_assert_eq!(&s, &library(&s));
            }
        }

        #[test]
        fn fast_path_agrees_on_short_words(s in "[yYnNoOfFtTrRuUeEsSlLaAiI]{1,5}") {
            if plain_as_is(&s) {
                proptest::prop_assert_eq!(&s, &library(&s));
            }
        }
    }
}
