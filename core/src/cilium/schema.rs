//! The Cilium chart's `values.schema.json`, per chart line, and a checker for Helm values.
//!
//! Helm validates the values against the chart's draft-07 schema before rendering and refuses
//! the install on a mismatch. The vendored schemas are generated from `values.yaml` and are
//! almost all types: they use `type` (a name or a list of names), `properties`, `items`,
//! `anyOf`, `oneOf`, and in a handful of places `enum`, `minimum` and `maximum`. [`check`]
//! handles exactly those keywords (a unit test fails should a vendored schema use another).
//!
//! Like Helm, the check lets unknown keys pass: the schemas have no
//! `additionalProperties: false`, so a misspelt key is silently ignored by the chart.
//! [`known_path`] and [`nearest_key`] let callers warn about likely typos. Because the schema
//! is generated from the defaults, maps meant for user keys that ship with a default entry
//! (`nodeSelector` lists `kubernetes.io/os`) look closed to [`known_path`]: warn, never refuse.
//!
//! This module does not reproduce the chart's template `fail` rules (see
//! [`super::rules`]), does not merge values with the chart defaults, and builds no
//! diagnostics.
//!
//! Paths are Helm paths as `--set` writes them: keys joined by `.`, a `.` inside a key
//! escaped as `\.`, list items as `[0]`, e.g. `ipam.operator.clusterPoolIPv4PodCIDRList[0]`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

use super::ChartLine;
use super::path::{Seg, parse_path, render_path, unescaped_keys};

const SCHEMA_1_18: &str = include_str!("../../data/cilium/1.18.12/values.schema.json");
const SCHEMA_1_19: &str = include_str!("../../data/cilium/1.19.6/values.schema.json");
const SCHEMA_1_20: &str = include_str!("../../data/cilium/1.20.0/values.schema.json");

/// The JSON schema type names, as `type` writes them.
const TYPE_NAMES: &[&str] = &[
    "null", "boolean", "integer", "number", "string", "array", "object",
];

/// The chart's `values.schema.json` for `line`, parsed from the embedded copy on first use.
///
/// Should the embedded data fail to parse, this is `null`, which [`check`] treats as
/// accepting everything (a unit test proves every shipped schema parses).
#[must_use]
pub fn schema(line: ChartLine) -> &'static Value {
    static S1_18: OnceLock<Value> = OnceLock::new();
    static S1_19: OnceLock<Value> = OnceLock::new();
    static S1_20: OnceLock<Value> = OnceLock::new();
    let (cell, text) = match line {
        ChartLine::V1_18 => (&S1_18, SCHEMA_1_18),
        ChartLine::V1_19 => (&S1_19, SCHEMA_1_19),
        ChartLine::V1_20 => (&S1_20, SCHEMA_1_20),
    };
    cell.get_or_init(|| serde_json::from_str(text).unwrap_or(Value::Null))
}

/// Which part of the schema a value breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Constraint {
    /// `type` (or the types of `anyOf`/`oneOf` alternatives): `expected` holds type names,
    /// plus allowed values written as JSON when an alternative is an `enum`.
    Type,
    /// `enum`: `expected` holds the allowed values written as JSON, e.g. `"Disk"`.
    Enum,
    /// `minimum`: `expected` holds the bound.
    Minimum,
    /// `maximum`: `expected` holds the bound.
    Maximum,
    /// `oneOf` with more than one matching alternative: `expected` describes the alternatives.
    OneOf,
}

/// A value the chart's schema refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaViolation {
    /// The Helm path, e.g. `ipam.operator.clusterPoolIPv4MaskSize` or `tolerations[0].key`;
    /// empty for the whole values tree.
    pub path: String,
    /// What the schema wants: JSON schema type names (`integer`), allowed values as JSON
    /// (`"Disk"`), or a bound, depending on [`SchemaViolation::constraint`].
    pub expected: Vec<String>,
    /// The JSON type found and the value, shortened: ``string `"24"` ``.
    pub found: String,
    /// Which keyword refused the value.
    pub constraint: Constraint,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str("the values")?;
        } else {
            write!(f, "`{}`", self.path)?;
        }
        match self.constraint {
            Constraint::Type | Constraint::Enum => {
                write!(f, " must be {}", describe_expected(&self.expected))?;
            }
            Constraint::Minimum => write!(f, " must be at least `{}`", self.expected.join(""))?,
            Constraint::Maximum => write!(f, " must be at most `{}`", self.expected.join(""))?,
            Constraint::OneOf => write!(
                f,
                " must match exactly one of {}",
                describe_expected(&self.expected)
            )?,
        }
        write!(f, ", found {}", self.found)
    }
}

/// `integer`, `boolean or string`, ``one of `"Disk"`, `"Memory"` ``, ``null or one of `"a"` ``.
fn describe_expected(expected: &[String]) -> String {
    let (types, literals): (Vec<&str>, Vec<&str>) = expected
        .iter()
        .map(String::as_str)
        .partition(|e| TYPE_NAMES.contains(e));
    let mut parts: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    if !literals.is_empty() {
        let quoted: Vec<String> = literals.iter().map(|l| format!("`{l}`")).collect();
        parts.push(format!("one of {}", quoted.join(", ")));
    }
    parts.join(" or ")
}

/// Every place `values` breaks the schema of `line`, depth first in the order the values'
/// maps iterate (sorted by key).
///
/// A `null` value for a key is skipped: Helm treats it as "delete this key" when it merges
/// the values with the chart defaults, so the schema never sees it.
///
/// ```
/// use meshspec::cilium::{schema::check, ChartLine};
/// use serde_json::json;
/// let values = json!({"MTU": "1280", "ipam": {"mode": "kubernetes"}});
/// let found = check(ChartLine::V1_20, &values);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].to_string(), "`MTU` must be integer, found string `\"1280\"`");
/// ```
#[must_use]
pub fn check(line: ChartLine, values: &Value) -> Vec<SchemaViolation> {
    let mut out = Vec::new();
    validate(schema(line), values, &mut Vec::new(), &mut out);
    out
}

fn validate<'v>(
    schema: &Value,
    value: &'v Value,
    path: &mut Vec<Seg<'v>>,
    out: &mut Vec<SchemaViolation>,
) {
    // `true`, `{}` or a schema that failed to parse: anything goes.
    let Some(s) = schema.as_object() else {
        return;
    };
    if let Some(v) = shallow(s, value, path) {
        out.push(v);
        return;
    }
    if let Some(Value::Array(branches)) = s.get("anyOf")
        && !alternatives(false, branches, value, path, out)
    {
        return;
    }
    if let Some(Value::Array(branches)) = s.get("oneOf")
        && !alternatives(true, branches, value, path, out)
    {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = s.get("properties") {
                for (key, child) in map {
                    if child.is_null() {
                        continue;
                    }
                    if let Some(child_schema) = props.get(key) {
                        path.push(Seg::Key(key));
                        validate(child_schema, child, path, out);
                        path.pop();
                    }
                }
            }
        }
        Value::Array(items) => match s.get("items") {
            Some(Value::Array(tuple)) => {
                for (i, (item, item_schema)) in items.iter().zip(tuple).enumerate() {
                    path.push(Seg::Index(i));
                    validate(item_schema, item, path, out);
                    path.pop();
                }
            }
            Some(item_schema) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    validate(item_schema, item, path, out);
                    path.pop();
                }
            }
            None => {}
        },
        _ => {}
    }
}

/// Checks an `anyOf` (or `oneOf`) and reports into `out`; true when the value passes.
///
/// When no alternative matches, the alternative whose own type fits the value explains the
/// failure (its nested violations, the fewest if several fit); when none fits, one violation
/// at this path lists what the alternatives accept.
fn alternatives<'v>(
    one_of: bool,
    branches: &[Value],
    value: &'v Value,
    path: &mut Vec<Seg<'v>>,
    out: &mut Vec<SchemaViolation>,
) -> bool {
    let results: Vec<Vec<SchemaViolation>> = branches
        .iter()
        .map(|b| {
            let mut found = Vec::new();
            validate(b, value, path, &mut found);
            found
        })
        .collect();
    let passing = results.iter().filter(|r| r.is_empty()).count();
    if one_of && passing > 1 {
        out.push(SchemaViolation {
            path: render_path(path),
            expected: branches.iter().flat_map(expectation).collect(),
            found: found(value),
            constraint: Constraint::OneOf,
        });
        return false;
    }
    if passing > 0 {
        return true;
    }
    let fitting = branches
        .iter()
        .zip(results)
        .filter(|(b, _)| {
            b.as_object()
                .is_none_or(|s| shallow(s, value, path).is_none())
        })
        .map(|(_, r)| r)
        .min_by_key(Vec::len);
    if let Some(best) = fitting {
        out.extend(best);
        return false;
    }
    let mut expected: Vec<String> = Vec::new();
    for e in branches.iter().flat_map(expectation) {
        if !expected.contains(&e) {
            expected.push(e);
        }
    }
    let constraint = if expected.iter().any(|e| TYPE_NAMES.contains(&e.as_str())) {
        Constraint::Type
    } else {
        Constraint::Enum
    };
    out.push(SchemaViolation {
        path: render_path(path),
        expected,
        found: found(value),
        constraint,
    });
    false
}

/// What one schema accepts at its own level: its type names, else its enum values.
fn expectation(schema: &Value) -> Vec<String> {
    let types = type_names(schema);
    if !types.is_empty() {
        return types.into_iter().map(str::to_owned).collect();
    }
    match schema.get("enum") {
        Some(Value::Array(values)) => values.iter().map(Value::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The names in a schema's `type` keyword.
fn type_names(schema: &Value) -> Vec<&str> {
    schema.as_object().map(type_names_of).unwrap_or_default()
}

/// The names in the `type` keyword of a schema object.
fn type_names_of(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The checks that look at the value itself, not inside it: `type`, `enum`, bounds.
fn shallow(s: &Map<String, Value>, value: &Value, path: &[Seg<'_>]) -> Option<SchemaViolation> {
    let violation = |expected: Vec<String>, constraint| SchemaViolation {
        path: render_path(path),
        expected,
        found: found(value),
        constraint,
    };
    let types = type_names_of(s);
    if s.contains_key("type") && !types.iter().any(|t| has_type(value, t)) {
        return Some(violation(
            types.into_iter().map(str::to_owned).collect(),
            Constraint::Type,
        ));
    }
    if let Some(Value::Array(allowed)) = s.get("enum")
        && !allowed.iter().any(|a| json_eq(a, value))
    {
        return Some(violation(
            allowed.iter().map(Value::to_string).collect(),
            Constraint::Enum,
        ));
    }
    if let Some(x) = value.as_f64() {
        if let Some(min) = s
            .get("minimum")
            .filter(|m| m.as_f64().is_some_and(|m| x < m))
        {
            return Some(violation(vec![min.to_string()], Constraint::Minimum));
        }
        if let Some(max) = s
            .get("maximum")
            .filter(|m| m.as_f64().is_some_and(|m| x > m))
        {
            return Some(violation(vec![max.to_string()], Constraint::Maximum));
        }
    }
    None
}

/// JSON equality, with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A whole number, whichever way JSON wrote it (`24` or `24.0`).
fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => false,
    }
}

/// Whether `value` is of JSON schema type `name`.
fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => is_integer(value),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

/// The JSON schema type of `value` and the value, shortened: ``string `"24"` ``.
fn found(value: &Value) -> String {
    let name = match value {
        Value::Null => return "null".into(),
        Value::Bool(_) => "boolean",
        Value::Number(_) if is_integer(value) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    format!("{name} `{}`", shorten(value))
}

/// A value as compact JSON, cut to at most 40 characters.
fn shorten(value: &Value) -> String {
    const MAX: usize = 40;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        return text;
    }
    let mut cut: String = text.chars().take(MAX - 1).collect();
    cut.push('…');
    cut
}

/// Where a path leads in a schema.
enum Walk<'s> {
    /// The schema defines the path, or it lies inside a free-form map or list.
    Known,
    /// Step `at` names a key the schema does not list; `siblings` are the keys it does.
    UnknownKey {
        at: usize,
        siblings: BTreeSet<&'s str>,
    },
    /// The path goes inside a value the schema says is a scalar (or indexes a map).
    NotContainer,
}

/// The schemas a value at this point must or may satisfy: the node, or its alternatives.
fn facets<'s>(node: &'s Value, out: &mut Vec<&'s Value>) {
    let mut composite = false;
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = node.get(key) {
            composite = true;
            for b in branches {
                facets(b, out);
            }
        }
    }
    if !composite || node.get("properties").is_some() || node.get("type").is_some() {
        out.push(node);
    }
}

fn allows(node: &Value, type_name: &str) -> bool {
    let types = type_names(node);
    node.get("type").is_none() || types.contains(&type_name)
}

fn walk<'s>(schema: &'s Value, segs: &[Seg<'_>], keys: &[String]) -> Walk<'s> {
    let mut current = vec![schema];
    let mut in_list = false;
    for (at, seg) in segs.iter().enumerate() {
        let mut all = Vec::new();
        for node in current {
            facets(node, &mut all);
        }
        let mut next = Vec::new();
        let mut open = false;
        let mut siblings = BTreeSet::new();
        for facet in all {
            if !facet.is_object() {
                open = true;
                continue;
            }
            match seg {
                Seg::Key(_) => match facet.get("properties") {
                    Some(Value::Object(props)) => {
                        siblings.extend(props.keys().map(String::as_str));
                        if let Some(child) = props.get(&keys[at]) {
                            next.push(child);
                        }
                    }
                    _ => open |= allows(facet, "object"),
                },
                Seg::Index(_) => match facet.get("items") {
                    Some(Value::Array(tuple)) => next.extend(tuple),
                    Some(items) => next.push(items),
                    None => open |= allows(facet, "array"),
                },
            }
        }
        if next.is_empty() {
            // List items are usually Kubernetes objects (tolerations, env vars) whose schema
            // lists only the keys of the default entries: treat their keys as open.
            return if open || in_list {
                Walk::Known
            } else if matches!(seg, Seg::Key(_)) && !siblings.is_empty() {
                Walk::UnknownKey { at, siblings }
            } else {
                Walk::NotContainer
            };
        }
        in_list |= matches!(seg, Seg::Index(_));
        current = next;
    }
    Walk::Known
}

/// Whether the schema of `line` defines `dotted_path`, or the path lies inside a map or list
/// the schema leaves free-form, or inside a list item (list items are mostly Kubernetes
/// objects such as tolerations, whose schema lists only the keys of the default entries). A
/// malformed path is not known.
///
/// ```
/// use meshspec::cilium::{schema::known_path, ChartLine};
/// assert!(known_path(ChartLine::V1_20, "ipam.operator.clusterPoolIPv4MaskSize"));
/// assert!(known_path(ChartLine::V1_20, "podAnnotations.example\\.com/team"));
/// assert!(!known_path(ChartLine::V1_20, "ipam.operater.clusterPoolIPv4MaskSize"));
/// assert!(!known_path(ChartLine::V1_20, "MTU.value"));
/// ```
#[must_use]
pub fn known_path(line: ChartLine, dotted_path: &str) -> bool {
    let Some(segs) = parse_path(dotted_path) else {
        return false;
    };
    let keys = unescaped_keys(&segs);
    matches!(walk(schema(line), &segs, &keys), Walk::Known)
}

/// For a path the schema does not define, the same path with its first unknown key replaced
/// by the closest key the schema lists at that level, if one is close enough.
///
/// ```
/// use meshspec::cilium::{schema::nearest_key, ChartLine};
/// assert_eq!(
///     nearest_key(ChartLine::V1_20, "ipam.operater.clusterPoolIPv4MaskSize").as_deref(),
///     Some("ipam.operator.clusterPoolIPv4MaskSize")
/// );
/// assert_eq!(nearest_key(ChartLine::V1_20, "routingMode"), None);
/// ```
#[must_use]
pub fn nearest_key(line: ChartLine, dotted_path: &str) -> Option<String> {
    let segs = parse_path(dotted_path)?;
    let keys = unescaped_keys(&segs);
    let Walk::UnknownKey { at, siblings } = walk(schema(line), &segs, &keys) else {
        return None;
    };
    let suggestion = crate::suggest::nearest(&keys[at], siblings)?;
    // Rebuild from the unescaped keys; `render_path` escapes them again.
    let rebuilt: Vec<Seg<'_>> = segs
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (seg, key))| match seg {
            Seg::Key(_) if i == at => Seg::Key(suggestion),
            Seg::Key(_) => Seg::Key(key),
            Seg::Index(n) => Seg::Index(*n),
        })
        .collect();
    Some(render_path(&rebuilt))
}

#[cfg(test)]
mod tests;
