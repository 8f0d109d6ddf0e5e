//! The event reader: the YAML parser's events straight into the position-aware tree, for
//! what the line reader (`lines.rs`) declines.
//!
//! `serde-saphyr` reads YAML with the `granit-parser` event parser and adds, through serde,
//! scalar typing, anchors and merge keys, the duplicate-key check and the budgets. Going
//! through serde with a span around every value costs about ten times the parsing itself, so
//! this reader consumes the same parser's events, configured exactly as `serde-saphyr`
//! configures it, and builds the tree directly: every node keeps the line and column the
//! library would report (the start of its event), and plain scalars are typed by its rules
//! (`scalar.rs`).
//!
//! It handles the documents specs are made of. Whatever it does not handle itself it declines
//! ([`Declined`]) and [`super::parse`] reads the text again with `serde-saphyr`, whose result,
//! or error with its message and position, is then the answer: syntax errors, duplicate keys
//! (so MS010 keeps the library's position), anchors and aliases (with the alias budget), merge
//! keys, tags, non-text keys, empty or multi-document streams, nesting or sizes near the
//! budgets, and numbers the library refuses. A test reads every fixture, seed and example and
//! generated documents both ways and requires equal trees.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Span};

use super::scalar::{Plain, classify};
use super::{Key, Node, Pos, Value};

/// The reader met something the reference path must decide.
#[derive(Debug)]
pub(super) struct Declined;

/// Nesting beyond this is left to the reference path (its budget is 64 levels).
const DEPTH: usize = 48;
/// Events beyond this are left to the reference path (its budget is 1,000,000).
const EVENTS: usize = 500_000;
/// Maps with more keys than this check duplicates with a hash set.
const LINEAR_KEYS: usize = 16;

/// The parser options `serde-saphyr` 2.1 derives from its default budget.
fn options() -> Options {
    let mut o = Options::default();
    o.simple_key_max_lookahead = 1024;
    o.flow_nesting_limit = 255;
    o.block_nesting_limit = o.block_nesting_limit.max(super::MAX_DEPTH + 1);
    o.emit_comments = true;
    o.max_buffered_comment_events = 32;
    o
}

fn pos(span: &Span) -> Option<Pos> {
    let line = u32::try_from(span.start.line()).ok()?;
    let column = u32::try_from(span.start.col() + 1).ok()?;
    (line > 0).then_some(Pos { line, column })
}

struct Reader<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    events: usize,
}

impl<'a> Reader<'a> {
    /// The next event that is not a comment.
    fn next(&mut self) -> Result<(Event<'a>, Span), Declined> {
        loop {
            let (ev, span) = self
                .parser
                .next_event()
                .ok_or(Declined)?
                .map_err(|_| Declined)?;
            self.events += 1;
            if self.events > EVENTS {
                return Err(Declined);
            }
            match ev {
                Event::Comment(..) => {}
                ev => return Ok((ev, span)),
            }
        }
    }

    /// One node whose first event is `ev`.
    fn node(&mut self, ev: Event<'a>, span: &Span, depth: usize) -> Result<Node, Declined> {
        let pos = pos(span);
        let value = match ev {
            Event::Scalar(text, style, 0, None) => scalar(text, style)?,
            Event::SequenceStart(_, 0, None) => {
                if depth >= DEPTH {
                    return Err(Declined);
                }
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(ev, &span, depth + 1)?);
                }
                Value::Seq(items)
            }
            Event::MappingStart(_, 0, None) => {
                if depth >= DEPTH {
                    return Err(Declined);
                }
                Value::Map(self.map(depth)?)
            }
            _ => return Err(Declined),
        };
        Ok(Node { value, pos })
    }

    fn map(&mut self, depth: usize) -> Result<Vec<(Key, Node)>, Declined> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut seen: Option<HashSet<String>> = None;
        loop {
            let (ev, span) = self.next()?;
            let name = match ev {
                Event::MappingEnd => break,
                Event::Scalar(text, style, 0, None) => key(text, style)?,
                _ => return Err(Declined),
            };
            // a duplicate is the library's to report (MS010 with its position)
            let duplicate = match &mut seen {
                Some(set) => !set.insert(name.clone()),
                None => entries.iter().any(|(k, _)| k.name == name),
            };
            if duplicate {
                return Err(Declined);
            }
            if seen.is_none() && entries.len() >= LINEAR_KEYS {
                let mut set: HashSet<String> =
                    entries.iter().map(|(k, _)| k.name.clone()).collect();
                set.insert(name.clone());
                seen = Some(set);
            }
            let key = Key {
                name,
                pos: pos(&span),
            };
            let (ev, span) = self.next()?;
            let value = self.node(ev, &span, depth + 1)?;
            entries.push((key, value));
        }
        Ok(entries)
    }
}

pub(super) fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Result<Value, Declined> {
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.into_owned()));
    }
    Ok(match classify(&text) {
        Plain::Null => Value::Null,
        Plain::Bool(b) => Value::Bool(b),
        Plain::Int(i) => Value::Int(i),
        Plain::Float(f) => Value::Float(f),
        Plain::Str => Value::Str(text.into_owned()),
        Plain::Refused => return Err(Declined),
    })
}

/// A key the reader handles: text, never `<<` (a merge key) nor a plain spelling the library
/// types as something else (`1`, `true`, `~`).
pub(super) fn key(text: Cow<'_, str>, style: ScalarStyle) -> Result<String, Declined> {
    if text == "<<" || (style == ScalarStyle::Plain && classify(&text) != Plain::Str) {
        return Err(Declined);
    }
    Ok(text.into_owned())
}

/// [`scalar`] for the borrowed tree: the text is kept as it comes.
pub(super) fn scalar_cow(
    text: Cow<'_, str>,
    style: ScalarStyle,
) -> Result<super::tree::Value<'_>, Declined> {
    use super::tree::Value as V;
    if style != ScalarStyle::Plain {
        return Ok(V::Str(text));
    }
    Ok(match classify(&text) {
        Plain::Null => V::Null,
        Plain::Bool(b) => V::Bool(b),
        Plain::Int(i) => V::Int(i),
        Plain::Float(f) => V::Float(f),
        Plain::Str => V::Str(text),
        Plain::Refused => return Err(Declined),
    })
}

/// [`key`] for the borrowed tree: the text is kept as it comes.
pub(super) fn key_cow(text: Cow<'_, str>, style: ScalarStyle) -> Result<Cow<'_, str>, Declined> {
    if text == "<<" || (style == ScalarStyle::Plain && classify(&text) != Plain::Str) {
        return Err(Declined);
    }
    Ok(text)
}

/// Reads one document, or declines.
pub(super) fn read(text: &str) -> Result<Node, Declined> {
    let mut r = Reader {
        parser: Parser::new_from_str_with_options(text, options()),
        events: 0,
    };
    if r.next()?.0 != Event::StreamStart {
        return Err(Declined);
    }
    let Event::DocumentStart(..) = r.next()?.0 else {
        return Err(Declined);
    };
    let (ev, span) = r.next()?;
    let root = r.node(ev, &span, 0)?;
    if r.next()?.0 != Event::DocumentEnd || r.next()?.0 != Event::StreamEnd {
        return Err(Declined);
    }
    Ok(root)
}
