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
mod tests {
    use serde_json::json;

    use super::*;

    fn seed() -> Value {
        json!({
            "routingMode": "tunnel",
            "tunnelProtocol": "vxlan",
            "autoDirectNodeRoutes": false,
            "enableIPv4Masquerade": true,
            "ipam": {"mode": "kubernetes"},
            "MTU": 1280,
            "kubeProxyReplacement": false,
        })
    }

    fn paths(line: ChartLine, values: &Value) -> Vec<String> {
        check(line, values).into_iter().map(|v| v.path).collect()
    }

    #[test]
    fn every_shipped_schema_parses() {
        for (text, line) in [
            (SCHEMA_1_18, ChartLine::V1_18),
            (SCHEMA_1_19, ChartLine::V1_19),
            (SCHEMA_1_20, ChartLine::V1_20),
        ] {
            let parsed: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parsed["$schema"], "http://json-schema.org/draft-07/schema#");
            assert_eq!(schema(line), &parsed);
            assert!(schema(line)["properties"]["MTU"].is_object());
        }
    }

    /// Every keyword in the schemas is one `check` handles.
    #[test]
    fn schemas_use_only_handled_keywords() {
        fn keywords<'a>(node: &'a Value, out: &mut BTreeSet<&'a str>) {
            let Some(map) = node.as_object() else { return };
            for (k, v) in map {
                out.insert(k);
                match k.as_str() {
                    "properties" => v.as_object().into_iter().flatten().for_each(|(_, c)| {
                        keywords(c, out);
                    }),
                    "items" => keywords(v, out),
                    "anyOf" | "oneOf" => v.as_array().into_iter().flatten().for_each(|c| {
                        keywords(c, out);
                    }),
                    _ => {}
                }
            }
        }
        let handled: BTreeSet<&str> = [
            "$schema",
            "type",
            "properties",
            "items",
            "anyOf",
            "oneOf",
            "enum",
            "minimum",
            "maximum",
        ]
        .into();
        for &line in ChartLine::SUPPORTED {
            let mut found = BTreeSet::new();
            keywords(schema(line), &mut found);
            let unhandled: Vec<_> = found.difference(&handled).collect();
            assert!(unhandled.is_empty(), "{line}: {unhandled:?}");
        }
    }

    #[test]
    fn seed_values_are_clean_on_every_line() {
        for &line in ChartLine::SUPPORTED {
            assert_eq!(check(line, &seed()), [], "{line}");
        }
    }

    #[test]
    fn string_mtu_is_a_violation() {
        let mut values = seed();
        values["MTU"] = json!("1280");
        for &line in ChartLine::SUPPORTED {
            let found = check(line, &values);
            assert_eq!(
                found,
                [SchemaViolation {
                    path: "MTU".into(),
                    expected: vec!["integer".into()],
                    found: "string `\"1280\"`".into(),
                    constraint: Constraint::Type,
                }]
            );
            assert_eq!(
                found[0].to_string(),
                "`MTU` must be integer, found string `\"1280\"`"
            );
        }
    }

    #[test]
    fn integer_accepts_whole_numbers_only() {
        let line = ChartLine::V1_20;
        assert_eq!(paths(line, &json!({"MTU": 1280.0})), Vec::<String>::new());
        assert_eq!(paths(line, &json!({"MTU": 1280.5})), ["MTU"]);
        let v = &check(line, &json!({"MTU": 1280.5}))[0];
        assert_eq!(v.found, "number `1280.5`");
        // `[null, number]` accepts any number and null.
        for ok in [json!(0.5), json!(2), Value::Null] {
            let values = json!({"connectivityProbeFrequencyRatio": ok});
            assert_eq!(check(line, &values), [], "{values}");
        }
        assert_eq!(
            paths(line, &json!({"connectivityProbeFrequencyRatio": "0.5"})),
            ["connectivityProbeFrequencyRatio"]
        );
    }

    #[test]
    fn pod_cidr_list_accepts_array_or_string() {
        for &line in ChartLine::SUPPORTED {
            for ok in [json!(["10.42.0.0/16"]), json!("10.42.0.0/16"), json!([])] {
                let values = json!({"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": ok}}});
                assert_eq!(check(line, &values), [], "{line} {values}");
            }
            let bad = json!({"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": [10, "a"]}}});
            assert_eq!(
                paths(line, &bad),
                ["ipam.operator.clusterPoolIPv4PodCIDRList[0]"]
            );
            let bad = json!({"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": 10}}});
            let found = check(line, &bad);
            assert_eq!(found.len(), 1);
            assert_eq!(
                found[0].to_string(),
                "`ipam.operator.clusterPoolIPv4PodCIDRList` must be array or string, found integer `10`"
            );
        }
    }

    #[test]
    fn nested_paths_are_reported() {
        let values = json!({
            "ipam": {"mode": 1, "operator": {"clusterPoolIPv4MaskSize": "24"}},
            "tolerations": [{"operator": "Exists"}, {"operator": 5}],
            "autoDirectNodeRoutes": 1,
            "kubeProxyReplacement": "strict",
            "k8sServicePort": 6444,
            "enableIPv4Masquerade": "yes",
        });
        for &line in ChartLine::SUPPORTED {
            let found = check(line, &values);
            let text: Vec<String> = found.iter().map(ToString::to_string).collect();
            assert_eq!(
                text,
                [
                    "`autoDirectNodeRoutes` must be boolean or string, found integer `1`",
                    "`enableIPv4Masquerade` must be null or boolean, found string `\"yes\"`",
                    "`ipam.mode` must be string, found integer `1`",
                    "`ipam.operator.clusterPoolIPv4MaskSize` must be integer, found string `\"24\"`",
                    "`tolerations[1].operator` must be string, found integer `5`",
                ],
                "{line}"
            );
        }
    }

    #[test]
    fn dots_in_keys_are_escaped() {
        let values = json!({"nodeSelector": {"kubernetes.io/os": 5}});
        let found = check(ChartLine::V1_20, &values);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "nodeSelector.kubernetes\\.io/os");
        assert!(known_path(
            ChartLine::V1_20,
            "nodeSelector.kubernetes\\.io/os"
        ));
        assert_eq!(
            nearest_key(ChartLine::V1_20, "nodeSelectr.kubernetes\\.io/os").as_deref(),
            Some("nodeSelector.kubernetes\\.io/os")
        );
    }

    #[test]
    fn unknown_keys_and_nulls_pass() {
        let values = json!({
            "tunnel": "vxlan",
            "notAChartKey": {"deep": [1, 2]},
            "ipam": {"operatr": 5},
            "MTU": null,
            "bpf": {"masquerade": null},
        });
        for &line in ChartLine::SUPPORTED {
            assert_eq!(check(line, &values), [], "{line}");
        }
    }

    #[test]
    fn root_must_be_a_map() {
        let found = check(ChartLine::V1_20, &json!([1]));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "the values must be object, found array `[1]`"
        );
    }

    #[test]
    fn enums_bounds_and_one_of() {
        let line = ChartLine::V1_20;
        let text =
            |v: Value| -> Vec<String> { check(line, &v).iter().map(ToString::to_string).collect() };
        assert_eq!(
            text(json!({"identityManagementMode": "cluster"})),
            [
                "`identityManagementMode` must be one of `\"agent\"`, `\"operator\"`, `\"both\"`, found string `\"cluster\"`"
            ]
        );
        assert_eq!(
            text(json!({"identityManagementMode": "operator"})),
            Vec::<String>::new()
        );
        assert_eq!(
            text(json!({"bpf": {"monitorTraceIPOption": 256}})),
            ["`bpf.monitorTraceIPOption` must be at most `255`, found integer `256`"]
        );
        assert_eq!(
            text(json!({"bpf": {"monitorTraceIPOption": -1}})),
            ["`bpf.monitorTraceIPOption` must be at least `0`, found integer `-1`"]
        );
        assert_eq!(
            text(json!({"bpf": {"monitorTraceIPOption": 7}})),
            Vec::<String>::new()
        );
        // oneOf: [{type: null}, {enum: [...]}]
        assert_eq!(
            text(json!({"envoy": {"log": {"defaultLevel": "info"}}})),
            Vec::<String>::new()
        );
        let found = text(json!({"envoy": {"log": {"defaultLevel": "verbose"}}}));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with(
                "`envoy.log.defaultLevel` must be null or one of `\"trace\"`, `\"debug\"`"
            ),
            "{}",
            found[0]
        );
        assert!(
            found[0].ends_with(", found string `\"verbose\"`"),
            "{}",
            found[0]
        );
        // 1.18 has no bounds on monitorTraceIPOption.
        assert_eq!(
            check(
                ChartLine::V1_18,
                &json!({"bpf": {"monitorTraceIPOption": 256}})
            ),
            []
        );
    }

    #[test]
    fn one_of_with_two_matches_is_refused() {
        let schema = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
        let mut out = Vec::new();
        validate(&schema, &json!(3), &mut Vec::new(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].constraint, Constraint::OneOf);
        assert_eq!(
            out[0].to_string(),
            "the values must match exactly one of integer or number, found integer `3`"
        );
        out.clear();
        validate(&schema, &json!(3.5), &mut Vec::new(), &mut out);
        assert_eq!(out, []);
    }

    #[test]
    fn degraded_schema_accepts_everything() {
        let mut out = Vec::new();
        validate(
            &Value::Null,
            &json!({"MTU": "x"}),
            &mut Vec::new(),
            &mut out,
        );
        assert_eq!(out, []);
    }

    #[test]
    fn known_paths() {
        for &line in ChartLine::SUPPORTED {
            for known in [
                "",
                "MTU",
                "routingMode",
                "ipam.mode",
                "ipam.operator.clusterPoolIPv4PodCIDRList",
                "ipam.operator.clusterPoolIPv4PodCIDRList[0]",
                "tolerations[0].operator",
                "tolerations[2].key",
                "podAnnotations.anything",
                "extraEnv[0].name",
                "bpf.masquerade",
            ] {
                assert!(known_path(line, known), "{line} {known}");
            }
            for unknown in [
                "tunnel",
                "mtu",
                "ipam.operater",
                "ipam.operator.clusterPoolIPv4MaskSize.x",
                "MTU[0]",
                "ipam[0]",
                "ipam.",
            ] {
                assert!(!known_path(line, unknown), "{line} {unknown}");
            }
        }
        assert!(known_path(ChartLine::V1_18, "customCalls.enabled"));
        assert!(!known_path(ChartLine::V1_19, "customCalls.enabled"));
        assert!(known_path(ChartLine::V1_20, "devices"));
        assert!(!known_path(ChartLine::V1_19, "devices"));
    }

    #[test]
    fn nearest_keys() {
        let line = ChartLine::V1_20;
        let near = |p: &str| nearest_key(line, p);
        assert_eq!(near("mtu").as_deref(), Some("MTU"));
        assert_eq!(near("routingmode").as_deref(), Some("routingMode"));
        assert_eq!(near("tunnelProtocl").as_deref(), Some("tunnelProtocol"));
        assert_eq!(near("ipam.mod").as_deref(), Some("ipam.mode"));
        assert_eq!(
            near("ipam.operater.clusterPoolIPv4PodCIDRList[0]").as_deref(),
            Some("ipam.operator.clusterPoolIPv4PodCIDRList[0]")
        );
        assert_eq!(near("tolerations[0].operater"), None);
        assert_eq!(
            near("tolerationz[0].key").as_deref(),
            Some("tolerations[0].key")
        );
        assert_eq!(near("ipam.mode"), None);
        assert_eq!(near("MTU.value"), None);
        assert_eq!(near("somethingElseEntirely"), None);
        assert_eq!(near("ipam..mode"), None);
    }
}
