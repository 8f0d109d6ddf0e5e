//! The tree the spec decoder reads: [`super::Node`] with text that may borrow the spec.
//!
//! The line reader (`lines.rs`) builds this tree straight from the text, so a plain or quoted
//! scalar without escapes costs no allocation, and the decoder copies only what the spec keeps.
//! The public [`super::Node`] is this tree made owned ([`Node::into_owned`]); a tree from the
//! other readers or from JSON becomes this one by moving its strings ([`Node::from_owned`]).

use std::borrow::Cow;

use super::Pos;

/// A value in the tree: [`super::Value`], with text as [`Cow`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Key<'a>, Node<'a>)>),
}

/// A mapping key with its position: [`super::Key`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) pos: Option<Pos>,
}

/// A value with its position: [`super::Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node<'a> {
    pub(crate) value: Value<'a>,
    pub(crate) pos: Option<Pos>,
}

impl Value<'_> {
    /// A short name of the value's type for messages ([`super::Value::kind`]).
    pub(crate) fn kind(&self) -> &'static str {
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

impl<'a> Node<'a> {
    /// The public, owned tree.
    pub(crate) fn into_owned(self) -> super::Node {
        use super::Value as V;
        super::Node {
            value: match self.value {
                Value::Null => V::Null,
                Value::Bool(b) => V::Bool(b),
                Value::Int(i) => V::Int(i),
                Value::Float(f) => V::Float(f),
                Value::Str(s) => V::Str(s.into_owned()),
                Value::Seq(items) => V::Seq(items.into_iter().map(Node::into_owned).collect()),
                Value::Map(entries) => V::Map(
                    entries
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                super::Key {
                                    name: k.name.into_owned(),
                                    pos: k.pos,
                                },
                                v.into_owned(),
                            )
                        })
                        .collect(),
                ),
            },
            pos: self.pos,
        }
    }

    /// The public tree as this one, its strings moved.
    pub(crate) fn from_owned(node: super::Node) -> Node<'static> {
        use super::Value as V;
        Node {
            value: match node.value {
                V::Null => Value::Null,
                V::Bool(b) => Value::Bool(b),
                V::Int(i) => Value::Int(i),
                V::Float(f) => Value::Float(f),
                V::Str(s) => Value::Str(Cow::Owned(s)),
                V::Seq(items) => Value::Seq(items.into_iter().map(Node::from_owned).collect()),
                V::Map(entries) => Value::Map(
                    entries
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                Key {
                                    name: Cow::Owned(k.name),
                                    pos: k.pos,
                                },
                                Node::from_owned(v),
                            )
                        })
                        .collect(),
                ),
            },
            pos: node.pos,
        }
    }

    /// The public tree borrowed as this one (the text is not copied).
    pub(crate) fn borrowed(node: &'a super::Node) -> Node<'a> {
        use super::Value as V;
        Node {
            value: match &node.value {
                V::Null => Value::Null,
                V::Bool(b) => Value::Bool(*b),
                V::Int(i) => Value::Int(*i),
                V::Float(f) => Value::Float(*f),
                V::Str(s) => Value::Str(Cow::Borrowed(s)),
                V::Seq(items) => Value::Seq(items.iter().map(Node::borrowed).collect()),
                V::Map(entries) => Value::Map(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            (
                                Key {
                                    name: Cow::Borrowed(&k.name),
                                    pos: k.pos,
                                },
                                Node::borrowed(v),
                            )
                        })
                        .collect(),
                ),
            },
            pos: node.pos,
        }
    }

    /// Converts the tree to JSON ([`super::Node::to_json`]).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Node;
    use crate::yaml::{parse, parse_tree};

    /// The decoder's tree is the public tree: read borrowed and made owned, moved in from the
    /// public tree, or borrowed from it, on every fixture and example.
    #[test]
    fn the_decoders_tree_is_the_public_tree() {
        let mut borrowed = 0;
        for (name, text) in crate::yaml::tests::every_fixture_and_example() {
            let (Ok(tree), Ok(public)) = (parse_tree(&text), parse(&text)) else {
                assert_eq!(parse_tree(&text).err(), parse(&text).err(), "{name}");
                continue;
            };
            if matches!(&tree.value, super::Value::Map(m) if m.iter().any(|(k, _)| matches!(k.name, std::borrow::Cow::Borrowed(_))))
            {
                borrowed += 1;
            }
            assert_eq!(Node::borrowed(&public), tree, "{name}");
            assert_eq!(Node::from_owned(public.clone()), tree, "{name}");
            assert_eq!(tree.into_owned(), public, "{name}");
        }
        // the line reader's trees borrow the text
        assert!(borrowed > 10, "{borrowed}");
    }
}
