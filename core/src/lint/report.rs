//! The lint report: findings with their file, as text, JSON or SARIF.

use serde::Serialize;

use super::merge::ConfigFile;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity, Source};

/// One finding in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file, as the caller named it.
    pub file: String,
    /// What is wrong there; `path` is the k3s key (`node-label[1]`), line and column are in
    /// `file`.
    #[serde(flatten)]
    pub diagnostic: Diagnostic,
}

impl Finding {
    /// A finding in `files[index]` (an empty name when the index is out of range).
    #[must_use]
    pub fn new(files: &[ConfigFile], index: usize, diagnostic: Diagnostic) -> Self {
        Self {
            file: files
                .get(index)
                .map_or_else(String::new, |f| f.name.clone()),
            diagnostic,
        }
    }
}

/// Every finding of one `lint` run, sorted by file, then position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// The findings. (Serialized as `diagnostics`, like `validate --format json`.)
    #[serde(rename = "diagnostics")]
    pub findings: Vec<Finding>,
}

impl LintReport {
    /// Sorts and deduplicates.
    #[must_use]
    pub fn new(mut findings: Vec<Finding>) -> Self {
        findings.sort_by(|a, b| {
            let (x, y) = (&a.diagnostic, &b.diagnostic);
            a.file
                .cmp(&b.file)
                .then(x.line.cmp(&y.line))
                .then(x.column.cmp(&y.column))
                .then(x.code.cmp(&y.code))
                .then(x.message.cmp(&y.message))
        });
        findings.dedup();
        Self { findings }
    }

    /// Whether any finding is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.diagnostic.is_error())
    }

    /// The findings' diagnostics alone (for the summary line and code lists).
    #[must_use]
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics::from_vec(self.findings.iter().map(|f| f.diagnostic.clone()).collect())
    }

    /// Text as `validate` prints it, each finding with its file's offending line; `files` are
    /// the texts the findings point into (any file not among them is shown without its line).
    #[must_use]
    pub fn render(&self, files: &[ConfigFile]) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let source = files.iter().find(|c| c.name == f.file).map(|c| Source {
                name: &c.name,
                text: &c.text,
            });
            let fallback = Source {
                name: &f.file,
                text: "",
            };
            out.push_str(&f.diagnostic.render(Some(&source.unwrap_or(fallback))));
            out.push('\n');
        }
        // counted from every finding: the same message in two files is two findings
        let all = Diagnostics {
            diagnostics: self.findings.iter().map(|f| f.diagnostic.clone()).collect(),
        };
        out.push_str(&all.summary());
        out.push('\n');
        out
    }

    /// `{"diagnostics":[{"file","code","slug","severity","path","line","column","message","help"}]}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{\"diagnostics\":[]}".to_owned())
    }

    /// SARIF 2.1.0, for GitHub code scanning and other CI viewers.
    #[must_use]
    pub fn to_sarif(&self) -> String {
        super::sarif::to_sarif(&self.findings)
    }

    /// How many findings have this severity.
    #[must_use]
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.diagnostic.severity == severity)
            .count()
    }
}
