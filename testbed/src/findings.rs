//! What a testbed run found: one finding per broken expectation, with its rule code, the node,
//! the flow or layer, what was expected and observed, and the bundle file (and line) that
//! decides it.

use meshspec::Code;

use crate::bundle::Place;

/// One finding of a testbed run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The rule code (MS96x).
    pub code: Code,
    /// The node it concerns (the one whose file decides it).
    pub node: String,
    /// The flow or layer (`k3s-worker-01 (192.168.2.21) -> k3s-master 192.168.2.20 10250/tcp`).
    pub what: String,
    /// What should happen.
    pub expected: String,
    /// What happened.
    pub observed: String,
    /// The bundle file and line that decide it.
    pub place: Place,
}

impl Finding {
    /// `file:line`, or the file alone.
    #[must_use]
    pub fn location(&self) -> String {
        match self.place.line {
            Some(l) => format!("{}:{l}", self.place.file),
            None => self.place.file.clone(),
        }
    }

    /// The finding as a few lines of text.
    #[must_use]
    pub fn text(&self) -> String {
        format!(
            "error[{}] {}: node `{}`: {}\n  expected: {}\n  observed: {}\n  --> {}\n",
            self.code.as_str(),
            self.code.slug(),
            self.node,
            self.what,
            self.expected,
            self.observed,
            self.location()
        )
    }

    /// The finding as JSON.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code.as_str(),
            "slug": self.code.slug(),
            "severity": "error",
            "node": self.node,
            "what": self.what,
            "expected": self.expected,
            "observed": self.observed,
            "file": self.place.file,
            "line": self.place.line,
        })
    }
}
