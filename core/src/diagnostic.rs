//! Diagnostics: one problem found in a spec, as data, printable as text or JSON.
//!
//! A [`Diagnostic`] carries a [`Code`], a severity, the field path (`nodes[2].mesh_ip`), the
//! line and column when the spec came from text, a one-line message and an optional `help`
//! with a computed fix. [`Diagnostics`] is an ordered collection of them.
//!
//! This module formats; it does not decide what is wrong (see `rules`) nor read files: the
//! caller passes the source text in a [`Source`] when it wants the offending line shown.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::code::Code;
use crate::printable::{escape, window};

/// The most diagnostics of one code shown in text output; the rest are counted in one line.
/// JSON output and the diagnostics as data always hold every one.
pub const MAX_SHOWN_PER_CODE: usize = 50;

/// How serious a diagnostic is. Only errors stop rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// Likely to hurt; rendering goes on.
    Warning,
    /// The cluster would break; rendering refuses.
    Error,
}

impl Severity {
    /// The lowercase name, as printed (`error`, `warning`, `info`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The rule that fired.
    pub code: Code,
    /// The rule's stable slug (same as `code.slug()`, kept for JSON consumers).
    pub slug: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// The field path in the spec, e.g. `nodes[2].mesh_ip`; empty for the whole document.
    pub path: String,
    /// 1-based line in the spec text, when known.
    pub line: Option<u32>,
    /// 1-based column in the spec text, when known.
    pub column: Option<u32>,
    /// One line: what is wrong, with the offending values in backticks.
    pub message: String,
    /// A concrete fix, computed where possible.
    pub help: Option<String>,
    /// Whether the spec's `acknowledge:` accepts this finding; acknowledged findings stay in
    /// JSON output and leave text output.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub acknowledged: bool,
    /// The reason the `acknowledge:` entry gives, when acknowledged (boxed: a diagnostic
    /// stays small enough to return by value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Box<String>>,
}

impl Diagnostic {
    /// A diagnostic at the code's default severity, with no position yet.
    ///
    /// ```
    /// use meshspec::{Code, Diagnostic, Severity};
    /// let d = Diagnostic::new(Code::PodServiceOverlap, "network.service_cidr", "they overlap")
    ///     .with_help("use `10.43.0.0/16`");
    /// assert_eq!(d.severity, Severity::Error);
    /// assert_eq!(d.slug, "pod-service-overlap");
    /// ```
    ///
    /// The path, the message and (in [`Diagnostic::with_help`]) the help pass through the
    /// secret detector ([`crate::secrets::redact_text`]): a token is never echoed.
    #[must_use]
    pub fn new(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            slug: code.slug(),
            severity: code.default_severity(),
            path: crate::secrets::redact_text(&path.into()),
            line: None,
            column: None,
            message: crate::secrets::redact_text(&message.into()),
            help: None,
            acknowledged: false,
            reason: None,
        }
    }

    /// Adds a help text (secrets in it are redacted).
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(crate::secrets::redact_text(&help.into()));
        self
    }

    /// Sets the position in the spec text.
    #[must_use]
    pub fn at(mut self, line: u32, column: u32) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Whether this diagnostic stops rendering.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Formats the diagnostic as text, in the style
    /// `error[MS101]: message` / `  --> file:line:col` / source line / `  = help: ...`.
    ///
    /// `source` adds the file name and the offending line with a caret under the column. Every
    /// non-printing character is escaped and a long source line is cut to a window around the
    /// column ([`crate::printable`]), so the text is safe to print and bounded in size.
    #[must_use]
    pub fn render(&self, source: Option<&Source<'_>>) -> String {
        let line_text = match (source, self.line) {
            (Some(src), Some(line)) => src.text.lines().nth((line as usize).saturating_sub(1)),
            _ => None,
        };
        self.render_line(source.map_or("<spec>", |s| s.name), line_text)
    }

    /// [`Self::render`] with the offending line already looked up.
    fn render_line(&self, name: &str, line_text: Option<&str>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}[{}]: {}",
            self.severity,
            self.code,
            escape(&self.message)
        );
        let name = escape(name);
        let location = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
            (Some(l), None) => format!("{name}:{l}"),
            _ => name.into_owned(),
        };
        if self.path.is_empty() {
            let _ = writeln!(out, "  --> {location}");
        } else {
            let _ = writeln!(out, "  --> {location} ({})", escape(&self.path));
        }
        if let (Some(text), Some(line)) = (line_text, self.line) {
            let gutter = line.to_string();
            let pad = " ".repeat(gutter.len());
            let _ = writeln!(out, "{pad} |");
            let snippet =
                if self.code == Code::InlineSecret || crate::secrets::line_has_secret(text) {
                    window(&crate::secrets::redact_line(text), self.column)
                } else {
                    // a URL's user name and password are hidden too
                    window(&crate::secrets::redact_text(text.trim_end()), self.column)
                };
            let _ = writeln!(out, "{gutter} | {}", snippet.text);
            if self.column.is_some() {
                let _ = writeln!(out, "{pad} | {}^", " ".repeat(snippet.caret));
            }
        }
        if let Some(help) = &self.help {
            let mut lines = help.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "  = help: {}", escape(first));
            }
            for l in lines {
                let _ = writeln!(out, "          {}", escape(l));
            }
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

/// The text a spec was read from, used to show the offending line.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// A name for the source, usually the file path.
    pub name: &'a str,
    /// The full text.
    pub text: &'a str,
}

/// An ordered list of diagnostics, as returned by parsing, validation and rendering.
///
/// `Debug` prints the same text as `Display` (what the CLI prints), so that `?` from a `main`
/// returning `Result<_, Diagnostics>` shows readable diagnostics; `{:#?}` shows the structure.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics {
    /// The diagnostics, errors first, then by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Wraps a list, sorting it (errors first, then warnings, then info; by line within).
    #[must_use]
    pub fn from_vec(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.line.unwrap_or(u32::MAX).cmp(&b.line.unwrap_or(u32::MAX)))
                .then(a.column.cmp(&b.column))
                .then(a.code.cmp(&b.code))
                .then(a.path.cmp(&b.path))
                .then(a.message.cmp(&b.message))
        });
        diagnostics.dedup();
        Self { diagnostics }
    }

    /// Whether any diagnostic is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The number of diagnostics.
    #[must_use]
    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Iterates over the diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.diagnostics.iter()
    }

    /// The codes that fired, in order (handy in tests).
    #[must_use]
    pub fn codes(&self) -> Vec<Code> {
        self.diagnostics.iter().map(|d| d.code).collect()
    }

    /// Marks the diagnostics whose code an `acknowledge:` entry names.
    #[must_use]
    pub fn acknowledge(mut self, entries: &[crate::spec::Acknowledgement]) -> Self {
        for d in &mut self.diagnostics {
            if let Some(a) = entries
                .iter()
                .find(|a| a.code == d.code && d.severity != Severity::Error)
            {
                d.acknowledged = true;
                d.reason = Some(Box::new(crate::secrets::redact_text(&a.reason)));
            }
        }
        self
    }

    /// The diagnostics no `acknowledge:` entry accepts.
    pub fn unacknowledged(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.acknowledged)
    }

    /// All diagnostics as text, followed by a one-line summary.
    ///
    /// At most [`MAX_SHOWN_PER_CODE`] diagnostics of each code are shown; then one line per
    /// code says how many more there are. The size of the text is bounded by the number of
    /// codes, not by the number of diagnostics or the length of the spec's lines.
    /// Acknowledged ones are left out (the summary counts them).
    #[must_use]
    pub fn render(&self, source: Option<&Source<'_>>) -> String {
        let mut shown_per_code: BTreeMap<Code, usize> = BTreeMap::new();
        let mut shown = Vec::new();
        for d in self.unacknowledged() {
            let n = shown_per_code.entry(d.code).or_default();
            *n += 1;
            if *n <= MAX_SHOWN_PER_CODE {
                shown.push(d);
            }
        }
        // One pass over the text finds every line shown (not one pass per diagnostic).
        let mut lines: BTreeMap<u32, &str> = BTreeMap::new();
        if let Some(src) = source {
            let wanted: BTreeSet<u32> = shown.iter().filter_map(|d| d.line).collect();
            if let Some(&last) = wanted.last() {
                for (i, text) in (1..=last).zip(src.text.lines()) {
                    if wanted.contains(&i) {
                        lines.insert(i, text);
                    }
                }
            }
        }
        let name = source.map_or("<spec>", |s| s.name);
        let mut out = String::new();
        for d in shown {
            let line_text = d.line.and_then(|l| lines.get(&l).copied());
            out.push_str(&d.render_line(name, line_text));
            out.push('\n');
        }
        for (code, n) in shown_per_code {
            if n > MAX_SHOWN_PER_CODE {
                let _ = writeln!(
                    out,
                    "... and {} more {code} ({}) not shown; the JSON output lists every one\n",
                    n - MAX_SHOWN_PER_CODE,
                    code.slug()
                );
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// `2 errors, 1 warning, 0 info`, or `no problems found`; `(3 acknowledged)` is added
    /// when the spec acknowledges some (they are not counted in the numbers).
    #[must_use]
    pub fn summary(&self) -> String {
        let count = |s| self.unacknowledged().filter(|d| d.severity == s).count();
        let (e, w, i) = (
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info),
        );
        let acknowledged = self.diagnostics.iter().filter(|d| d.acknowledged).count();
        let acked = if acknowledged == 0 {
            String::new()
        } else {
            format!(" ({acknowledged} acknowledged)")
        };
        if e + w + i == 0 {
            return format!("no problems found{acked}");
        }
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        format!(
            "{}, {}, {i} info{acked}",
            plural(e, "error"),
            plural(w, "warning")
        )
    }

    /// The diagnostics as JSON: `{"diagnostics":[{"code",...}]}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{\"diagnostics\":[]}".to_owned())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.debug_struct("Diagnostics")
                .field("diagnostics", &self.diagnostics)
                .finish()
        } else {
            f.write_str(&self.render(None))
        }
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.diagnostics.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.diagnostics.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_location_line_caret_and_help() {
        let text = "version: 1\nnetwork:\n  service_cidr: 10.42.0.0/16\n";
        let d = Diagnostic::new(Code::PodServiceOverlap, "network.service_cidr", "overlap")
            .at(3, 17)
            .with_help("use `10.43.0.0/16`");
        let out = d.render(Some(&Source {
            name: "c.yaml",
            text,
        }));
        assert_eq!(
            out,
            "error[MS101]: overlap\n  --> c.yaml:3:17 (network.service_cidr)\n  |\n3 |   service_cidr: 10.42.0.0/16\n  |                 ^\n  = help: use `10.43.0.0/16`\n"
        );
    }

    #[test]
    fn a_secret_on_the_offending_line_is_never_shown() {
        let text = "k3s:\n  server_extra:\n    token: K10abcdef0123456789abcdef0123456789abcdef::server:hunter2\n";
        let d = Diagnostic::new(Code::InlineSecret, "k3s.server_extra.token", "secret").at(3, 5);
        let out = d.render(Some(&Source {
            name: "c.yaml",
            text,
        }));
        assert!(!out.contains("hunter2") && !out.contains("K10abc"), "{out}");
        assert!(out.contains("token: <redacted>"), "{out}");
        // any other rule pointing at a line that holds an auth key hides it too
        let text = "x: tskey-auth-abc123\n";
        let d = Diagnostic::new(Code::UnknownField, "x", "unknown").at(1, 1);
        assert!(
            !d.render(Some(&Source {
                name: "c.yaml",
                text
            }))
            .contains("tskey-auth-abc123")
        );
    }

    #[test]
    fn text_is_bounded_per_code_and_per_line() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("k{i}: 1")).collect();
        let text = format!("network: {{{}}}\n", keys.join(", "));
        let mut column = 11;
        let ds = Diagnostics::from_vec(
            (0..10_000)
                .map(|i| {
                    let d = Diagnostic::new(Code::UnknownField, format!("network.k{i}"), "unknown")
                        .at(1, column);
                    column += u32::try_from(keys[i].len()).unwrap() + 2;
                    d
                })
                .collect(),
        );
        let out = ds.render(Some(&Source {
            name: "c.yaml",
            text: &text,
        }));
        assert!(out.len() < 50_000, "{} bytes", out.len());
        assert_eq!(out.matches("error[MS002]").count(), MAX_SHOWN_PER_CODE);
        assert!(out.contains("... and 9950 more MS002 (unknown-field) not shown"));
        assert!(out.ends_with("10000 errors, 0 warnings, 0 info\n"));
        // the caret still points at the key inside the window
        let lines: Vec<&str> = out.lines().collect();
        let i = lines.iter().position(|l| l.contains("k40: 1")).unwrap();
        let at = lines[i + 1].chars().position(|c| c == '^').unwrap();
        let under: String = lines[i].chars().skip(at).take(3).collect();
        assert!(under.starts_with('k'), "{}\n{}", lines[i], lines[i + 1]);
    }

    #[test]
    fn text_escapes_control_characters_everywhere() {
        let text = "x\x1b[2J: 1\n";
        let d = Diagnostic::new(Code::UnknownField, "x\x1b[2J", "unknown key `x\x1b[2J`")
            .at(1, 1)
            .with_help("drop \u{202e}it");
        let out = d.render(Some(&Source {
            name: "a\x07.yaml",
            text,
        }));
        assert!(!out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{202e}'));
        assert!(out.contains("unknown key `x\\u{1b}[2J`") && out.contains("a\\u{7}.yaml:1:1"));
    }

    #[test]
    fn sorted_errors_first_and_summary() {
        let ds = Diagnostics::from_vec(vec![
            Diagnostic::new(Code::MeshAcl, "", "ports"),
            Diagnostic::new(Code::EtcdQuorum, "", "two"),
            Diagnostic::new(Code::NoServer, "nodes", "none").at(4, 1),
        ]);
        assert_eq!(
            ds.codes(),
            vec![Code::NoServer, Code::EtcdQuorum, Code::MeshAcl]
        );
        assert_eq!(ds.summary(), "1 error, 1 warning, 1 info");
        assert!(ds.has_errors());
    }

    #[test]
    fn debug_prints_the_text_so_question_mark_in_main_reads_well() {
        let ds = Diagnostics::from_vec(vec![
            Diagnostic::new(Code::NoServer, "nodes", "no node has role `server`")
                .with_help("add one"),
        ]);
        assert_eq!(format!("{ds:?}"), ds.to_string());
        assert!(format!("{ds:?}").starts_with("error[MS008]: no node has role `server`\n"));
        assert!(format!("{ds:#?}").contains("diagnostics: ["));
    }

    #[test]
    fn acknowledged_findings_leave_the_text_and_stay_in_json() {
        let ack = [crate::spec::Acknowledgement {
            code: Code::MeshAcl,
            reason: "our ACL is managed elsewhere".to_owned(),
        }];
        let ds = Diagnostics::from_vec(vec![
            Diagnostic::new(Code::MeshAcl, "mesh", "ports"),
            Diagnostic::new(Code::EtcdQuorum, "", "two"),
        ])
        .acknowledge(&ack);
        let text = ds.render(None);
        assert!(!text.contains("MS801"), "{text}");
        assert!(text.contains("MS205"), "{text}");
        assert!(
            text.ends_with("0 errors, 1 warning, 0 info (1 acknowledged)\n"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&ds.to_json()).unwrap();
        let acked = &v["diagnostics"][1];
        assert_eq!(acked["code"], "MS801");
        assert_eq!(acked["acknowledged"], true);
        assert_eq!(acked["reason"], "our ACL is managed elsewhere");
        assert!(v["diagnostics"][0].get("acknowledged").is_none());
    }

    #[test]
    fn json_shape() {
        let ds = Diagnostics::from_vec(vec![Diagnostic::new(Code::NoServer, "nodes", "none")]);
        let v: serde_json::Value = serde_json::from_str(&ds.to_json()).unwrap();
        let d = &v["diagnostics"][0];
        assert_eq!(d["code"], "MS008");
        assert_eq!(d["slug"], "no-server");
        assert_eq!(d["severity"], "error");
        assert_eq!(d["line"], serde_json::Value::Null);
    }
}
