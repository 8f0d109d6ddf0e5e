//! JSON (`tailscale-acl.json`): written only by `serde_json`, which escapes every string.

use serde_json::Value;

/// Pretty JSON with a trailing newline (an empty object if serialising fails, which it cannot
/// for a `Value`).
///
/// ```
/// let v = serde_json::json!({"k": "a\"\n"});
/// assert_eq!(meshspec::render::json_out::pretty(&v), "{\n  \"k\": \"a\\\"\\n\"\n}\n");
/// ```
#[must_use]
pub fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".to_owned());
    s.push('\n');
    s
}
