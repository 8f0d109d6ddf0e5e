//! A position-aware YAML tree: every value and key remembers its line and column.
//!
//! The spec is read in two steps: text becomes this tree (syntax, duplicate keys, size and
//! nesting budgets), then `spec::decode` turns the tree into a typed [`crate::spec::Spec`],
//! collecting every problem with its field path. Plain JSON-like values (from Python dicts or
//! JavaScript objects) become the same tree without positions, so both paths share one decoder.
//!
//! Text is read by the first of three readers that answers, each declining what it does not
//! handle to the next: the line reader in `lines` (a hand-written one-pass reader for the plain
//! subset specs are written in: block collections, single-line scalars, flow collections of
//! scalars, comments), then the event reader in `events` (the YAML parser's events straight
//! into the tree), then `serde-saphyr`, the reference, which reads everything else (errors,
//! anchors and aliases, merge keys, tags, block scalars, ...) and whose answer and messages
//! then stand. The faster readers produce exactly the reference's tree and positions; tests
//! compare them on every fixture and example and on generated documents.
//!
//! This module knows nothing about the spec's fields.

mod events;
mod lines;
mod scalar;
pub(crate) mod tree;

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::code::Code;
use crate::diagnostic::Diagnostic;

/// The largest spec text meshspec reads, in bytes (a 5,000-node spec is about 1 MiB).
pub const MAX_SPEC_BYTES: usize = 16 * 1024 * 1024;
/// The deepest nesting accepted (the format itself needs 6 levels).
pub const MAX_DEPTH: usize = 64;
/// The most YAML nodes accepted, aliases expanded.
pub const MAX_NODES: usize = 2_000_000;

/// A line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    fn of(loc: serde_saphyr::Location) -> Option<Self> {
        let line = u32::try_from(loc.line()).ok()?;
        let column = u32::try_from(loc.column()).ok()?;
        (line > 0).then_some(Self { line, column })
    }
}

/// A value in the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction (also integers too large for `i64`).
    Float(f64),
    /// Text.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// A short name of the value's type for messages (`a list`, `text`, ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where it was written.
    pub pos: Option<Pos>,
}

/// A value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written (None for trees built from JSON).
    pub pos: Option<Pos>,
}

impl Node {
    /// A node without a position.
    #[must_use]
    pub fn bare(value: Value) -> Self {
        Self { value, pos: None }
    }

    /// Builds a tree from a JSON value (no positions).
    #[must_use]
    pub fn from_json(v: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        Self::bare(match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => n
                .as_i64()
                .map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
            J::String(s) => Value::Str(s.clone()),
            J::Array(a) => Value::Seq(a.iter().map(Self::from_json).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                pos: None,
                            },
                            Self::from_json(v),
                        )
                    })
                    .collect(),
            ),
        })
    }

    /// Converts the tree to JSON (positions dropped; non-finite floats become null).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses YAML text into a tree.
///
/// # Errors
/// One diagnostic: MS001 for syntax errors, oversize or over-nested input and multiple
/// documents; MS010 for a key written twice in one mapping.
pub fn parse(text: &str) -> Result<Node, Diagnostic> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(too_large());
    }
    if let Ok(root) = lines::read(text) {
        return Ok(root);
    }
    match events::read(text) {
        Ok(root) => Ok(root),
        Err(events::Declined) => parse_reference(text),
    }
}

/// [`parse`], into the tree the decoder reads: the line reader's tree borrows the text; the
/// other readers' trees are moved into it.
pub(crate) fn parse_tree(text: &str) -> Result<tree::Node<'_>, Diagnostic> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(too_large());
    }
    if let Ok(root) = lines::read_tree(text) {
        return Ok(root);
    }
    let owned = match events::read(text) {
        Ok(root) => root,
        Err(events::Declined) => parse_reference(text)?,
    };
    Ok(tree::Node::from_owned(owned))
}

/// Reads text with `serde-saphyr`: the reference for everything the faster readers decline.
fn parse_reference(text: &str) -> Result<Node, Diagnostic> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_documents = 1;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 100_000;
    options.alias_limits.max_replay_stack_depth = 16;
    let parsed: Result<Spanned<Node>, _> = serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(n) => Ok(Node {
            value: n.value.value,
            pos: Pos::of(n.referenced),
        }),
        Err(e) => Err(syntax_error(&e)),
    }
}

/// The MS001 refusal of a spec over [`MAX_SPEC_BYTES`]. Readers stop after
/// `MAX_SPEC_BYTES + 1` bytes and return this, so an endless input costs bounded time and memory.
#[must_use]
pub fn too_large() -> Diagnostic {
    Diagnostic::new(
        Code::YamlSyntax,
        "",
        format!(
            "the spec is larger than {} MiB, the most meshspec reads",
            MAX_SPEC_BYTES / (1024 * 1024)
        ),
    )
    .with_help("a spec of 5,000 nodes is about 1 MiB: check that this is the right file")
}

fn syntax_error(e: &serde_saphyr::Error) -> Diagnostic {
    let raw = e.without_snippet().to_string();
    // the library appends " at line L, column C": positions travel separately
    let message = raw
        .split(" at line ")
        .next()
        .unwrap_or(&raw)
        .trim()
        .to_owned();
    let pos = e.location().and_then(Pos::of);
    let (code, message, help) = if message.starts_with("duplicate mapping key") {
        let key = message
            .trim_start_matches("duplicate mapping key:")
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        (
            Code::DuplicateKey,
            format!("the key `{key}` is written twice in one mapping"),
            "remove one of the two; YAML keeps only one and which one differs between tools"
                .to_owned(),
        )
    } else if message.contains("budget breached") {
        (
            Code::YamlSyntax,
            format!("the spec is too large or too deeply nested ({message})"),
            format!(
                "meshspec reads at most {MAX_NODES} values and {MAX_DEPTH} levels of nesting, with aliases expanded"
            ),
        )
    } else if message.contains("multiple YAML documents") {
        (
            Code::YamlSyntax,
            "the file holds more than one YAML document".to_owned(),
            "a spec is one document: remove the `---` separators or split the file".to_owned(),
        )
    } else if message.contains("alias") && message.contains("limit") {
        (
            Code::YamlSyntax,
            format!("aliases expand too far ({message})"),
            "a spec does not need deeply nested aliases; write the values out".to_owned(),
        )
    } else {
        (
            Code::YamlSyntax,
            format!("the spec is not valid YAML: {message}"),
            "fix the YAML syntax at the position shown".to_owned(),
        )
    };
    let d = Diagnostic::new(code, "", message).with_help(help);
    match pos {
        Some(p) => d.at(p.line, p.column),
        None => d,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = d.deserialize_any(ValueVisitor)?;
        Ok(Node::bare(v))
    }
}

fn spanned(n: Spanned<Node>) -> Node {
    Node {
        value: n.value.value,
        pos: Pos::of(n.referenced),
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "only integers beyond i64 take this path"
        )]
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_i128<E>(self, i: i128) -> Result<Value, E> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "only integers beyond i64 take this path"
        )]
        Ok(i64::try_from(i).map_or(Value::Float(i as f64), Value::Int))
    }
    fn visit_u128<E>(self, u: u128) -> Result<Value, E> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "only integers beyond i64 take this path"
        )]
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(b).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element::<Spanned<Node>>()? {
            items.push(spanned(item));
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = a.next_entry::<Spanned<KeyText>, Spanned<Node>>()? {
            let key = Key {
                name: k.value.0,
                pos: Pos::of(k.referenced),
            };
            entries.push((key, spanned(v)));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key: any scalar, kept as its text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ValueVisitor)? {
            Value::Str(s) => Ok(KeyText(s)),
            Value::Int(i) => Ok(KeyText(i.to_string())),
            Value::Bool(b) => Ok(KeyText(b.to_string())),
            Value::Float(f) => Ok(KeyText(f.to_string())),
            Value::Null => Ok(KeyText("null".to_owned())),
            other => Err(de::Error::custom(format!(
                "a mapping key must be a plain name, found {}",
                other.kind()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_recorded() {
        let n = parse("a: 1\nb:\n  - x\n").unwrap();
        let Value::Map(m) = &n.value else {
            panic!("map")
        };
        assert_eq!(m[0].0.pos, Some(Pos { line: 1, column: 1 }));
        assert_eq!(m[1].1.pos.map(|p| p.line), Some(3));
    }

    #[test]
    fn duplicate_keys_are_ms010() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.code, Code::DuplicateKey);
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        assert!(e.message.contains("`a`"));
    }

    #[test]
    fn syntax_errors_are_ms001_with_position() {
        let e = parse("a: [1, 2\n").unwrap_err();
        assert_eq!(e.code, Code::YamlSyntax);
        assert!(e.line.is_some());
        assert!(!e.message.contains(" at line "), "{}", e.message);
    }

    #[test]
    fn bombs_depth_and_size_are_refused_quickly() {
        let bomb = "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        assert_eq!(parse(bomb).unwrap_err().code, Code::YamlSyntax);
        let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert_eq!(parse(&deep).unwrap_err().code, Code::YamlSyntax);
        let big = "#".repeat(MAX_SPEC_BYTES + 1);
        assert!(parse(&big).unwrap_err().message.contains("MiB"));
    }

    /// Reads `text` both ways: when the event reader answers, its tree equals the reference's.
    /// Returns whether the event reader answered.
    fn same_both_ways(text: &str) -> bool {
        let reference = parse_reference(text);
        match events::read(text) {
            Ok(fast) => {
                assert_eq!(Ok(&fast), reference.as_ref(), "{text:?}");
                true
            }
            Err(events::Declined) => false,
        }
    }

    /// Every fixture (valid and invalid) and example spec: its file name and text, in a
    /// stable order. The readers' differential tests run over all of them.
    #[expect(clippy::disallowed_methods, reason = "the test reads the fixtures")]
    pub(super) fn every_fixture_and_example() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut out = Vec::new();
        for dir in [
            "tests/fixtures/valid",
            "tests/fixtures/invalid",
            "examples/specs",
        ] {
            let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect();
            entries.sort();
            for p in entries {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read_to_string(&p).unwrap()));
            }
        }
        out
    }

    #[test]
    fn event_reader_equals_the_reference_on_every_fixture_and_example() {
        let mut read_fast = Vec::new();
        for (name, text) in every_fixture_and_example() {
            if same_both_ways(&text) {
                read_fast.push(name);
            }
        }
        // every valid spec takes the fast path; the declined ones are the reference's to refuse
        for valid in ["seed-flannel.yaml", "seed-cilium.yaml", "dual-stack.yaml"] {
            assert!(
                read_fast.iter().any(|f| f == valid),
                "{valid}: {read_fast:?}"
            );
        }
        for refused in ["MS001.yaml", "MS010.yaml"] {
            assert!(!read_fast.iter().any(|f| f == refused), "{refused}");
        }
    }

    #[test]
    fn event_reader_declines_what_the_reference_decides() {
        let declined = [
            "",
            "# only a comment\n",
            "a: 1\n---\nb: 2\n",
            "a: &x 1\nb: *x\n",
            "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
            "a: !!str 1\n",
            "1: a\n",
            "true: a\n",
            "~: a\n",
            "a: .inf\n",
            "a: 1e999\n",
            "a: 1\na: 2\n",
            "a: [1, 2\n",
            "? [a]\n: 1\n",
        ];
        for text in declined {
            assert!(!same_both_ways(text), "{text:?}");
        }
        let accepted = [
            "a: 1\n",
            "a:\n",
            "\"1\": x\n",
            "a: {b: [1, -2, 0x1F, 1_000, 010, 1.5, 1e3, 18446744073709551615, yes, OFF, ~, null, inf, nan, '1', \"x\"]}\n",
            "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\n",
            "# head\nlist:\n  - x # trailing\n  -\n  - {k: v}\n",
            "\u{feff}a: 1\n",
            "a:   \t\n  - 100.64.0.1\n  - 10.42.0.0/16\n",
            "---\na: b\n...\n",
            "a: \"tab\\there\"\nb: 'it''s'\n",
            "a: [b, c]\nd: e\n",
            "k:\n- x\n- y\n",
            "\"quoted key\": 1\nmulti word key: 2\n",
        ];
        for text in accepted {
            assert!(same_both_ways(text), "{text:?}");
        }
    }

    proptest::proptest! {
        /// Documents stitched from spec-like fragments read the same both ways.
        #[test]
        fn event_reader_equals_the_reference_on_generated_documents(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a: 1\n", "b: x\n", "c:\n", "  - 1\n", "  - y\n", "  - {k: v, n: 2}\n",
                "  d: e\n", "    f: [1, 2]\n", "g: 'q'\n", "h: \"w\\n\"\n", "i: yes\n",
                "j: 0x10\n", "k: -0\n", "l: 1.50\n", "m: 100.64.0.1\n", "# c\n", "\n",
                "n: |\n  t\n", "o: [a, {p: q}]\n", "  r: ~\n", "s: &a 1\n", "t: *a\n",
                "u: !!str 5\n", "v: .inf\n", "w: -\n", "x: :y\n", "z: a: b\n", "  - - 1\n",
                "\t- 1\n", "'': 1\n", "? x\n", "- 1\n", "{a: 1}\n", "y: 1 # c\n",
            ]), 0..12)
        ) {
            let text: String = parts.concat();
            same_both_ways(&text);
        }

        /// Number-like and word-like plain scalars, as values and as keys, are typed alike.
        #[test]
        fn event_reader_types_scalars_like_the_reference(s in "[-+._0-9a-fA-FxobnNyYeE~]{0,8}") {
            same_both_ways(&format!("v: {s}\n"));
            same_both_ways(&format!("{s}: v\n"));
            same_both_ways(&format!("v: [{s}]\n"));
        }
    }

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"a": [1, "x", null, true, 1.5], "b": {"c": {}}});
        assert_eq!(Node::from_json(&j).to_json(), j);
    }
}
