//! The line reader: a hand-written reader for the plain subset of YAML specs are written in.
//!
//! Specs are block mappings and sequences of single-line scalars, with small flow collections
//! of scalars (`labels: {example.com/rack: r0}`, `subnets: [172.16.0.0/20]`). This reader
//! reads exactly that subset in one pass over the bytes and builds the same tree, with the same
//! positions, as the event reader (`events.rs`) and the reference (`serde-saphyr`), several
//! times faster than the event parser. Plain scalars are typed by the library's rules
//! (`scalar.rs`); keys follow the event reader's rules.
//!
//! Anything outside the subset is declined ([`Declined`]) and read again by the event reader,
//! which itself declines to the reference: any byte that is not printable ASCII or a line feed
//! (tabs, carriage returns, a byte order mark, non-ASCII text), document markers and
//! directives, anchors, aliases, tags, complex keys (`?`), block scalars (`|`, `>`), scalars
//! over several lines, escapes in double quotes, empty values inside flow collections,
//! trailing commas, a sequence written at its key's indentation, odd indentation, a document
//! that is not a mapping or a sequence, duplicate keys, keys the library types as something
//! other than text, spellings the library refuses (`.inf`), many comments in a row (the parser
//! buffers at most 32), and documents near the budgets. Declining costs only time: the
//! answer, and every error with its message and position, is then the library's. A test reads
//! every fixture, seed and example and generated documents in and near the subset both ways
//! and requires equal trees.

use std::borrow::Cow;

use super::Pos;
use super::events::{Declined, key_cow as key, scalar_cow as scalar};
use super::tree::{Key, Node, Value};

/// Containers nested this deep are left to the event reader (which declines at the same depth).
const DEPTH: usize = 48;
/// Events (scalars, keys, container starts and ends, comments) beyond this are left to the
/// event reader (which declines at the same count).
const EVENTS: usize = 500_000;
/// Comments in a row beyond this are left to the event reader (the parser refuses 32
/// buffered comments in some places).
const COMMENT_RUN: usize = 16;
/// Mappings up to this many keys are checked for duplicates by a scan; larger ones by a set.
const SCAN_KEYS: usize = 16;
/// Keys longer than this are left to the event reader (the parser looks 1,024 characters
/// ahead for a key's `:`).
const KEY_BYTES: usize = 512;

/// How a scalar was written.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Quoted,
}

struct Reader<'a> {
    text: &'a str,
    src: &'a [u8],
    /// The cursor (a byte offset).
    i: usize,
    /// The 1-based line of the cursor.
    line: u32,
    /// The offset where the cursor's line starts.
    line_start: usize,
    /// The indentation of the line the cursor is on, at its first content; `None` at the end.
    indent: Option<usize>,
    events: usize,
    comments_in_row: usize,
}

impl<'a> Reader<'a> {
    fn byte(&self, at: usize) -> u8 {
        self.src.get(at).copied().unwrap_or(b'\n')
    }

    fn cur(&self) -> u8 {
        self.byte(self.i)
    }

    fn pos(&self) -> Option<Pos> {
        let line = self.line;
        let column = u32::try_from(self.i - self.line_start + 1).ok()?;
        Some(Pos { line, column })
    }

    fn count(&mut self, events: usize) -> Result<(), Declined> {
        self.events += events;
        if self.events > EVENTS {
            return Err(Declined);
        }
        Ok(())
    }

    fn comment(&mut self) -> Result<(), Declined> {
        self.comments_in_row += 1;
        if self.comments_in_row > COMMENT_RUN {
            return Err(Declined);
        }
        self.count(1)
    }

    fn skip_spaces(&mut self) {
        while self.src.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    /// Whether the cursor is at the end of its line's content (a line break, the end of the
    /// text, or a comment).
    fn at_line_end(&self) -> bool {
        match self.cur() {
            b'\n' => true,
            b'#' => self.i == self.line_start || self.byte(self.i - 1) == b' ',
            _ => false,
        }
    }

    /// Requires the rest of the line to be blanks and an optional comment, then moves to the
    /// first content of the next line that has some (setting `indent`).
    fn finish_line(&mut self) -> Result<(), Declined> {
        self.skip_spaces();
        if !self.at_line_end() {
            return Err(Declined);
        }
        if self.cur() == b'#' {
            self.comment()?;
        }
        self.next_content_line()
    }

    /// From anywhere on a line, moves to the first content of the next line that has some.
    fn next_content_line(&mut self) -> Result<(), Declined> {
        loop {
            // to the start of the next line
            match memchr_newline(&self.src[self.i.min(self.src.len())..]) {
                Some(off) => self.i += off + 1,
                None => {
                    self.i = self.src.len();
                    self.indent = None;
                    return Ok(());
                }
            }
            self.line += 1;
            self.line_start = self.i;
            self.skip_spaces();
            match self.src.get(self.i) {
                None => {
                    self.indent = None;
                    return Ok(());
                }
                Some(b'\n') => {}
                Some(b'#') => self.comment()?,
                Some(_) => {
                    let indent = self.i - self.line_start;
                    let rest = &self.src[self.i..];
                    if indent == 0 && (rest.starts_with(b"---") || rest.starts_with(b"...")) {
                        return Err(Declined);
                    }
                    self.comments_in_row = 0;
                    self.indent = Some(indent);
                    return Ok(());
                }
            }
        }
    }

    /// Whether the cursor is at a block sequence entry (`-` then a blank or the line's end).
    fn at_dash(&self) -> bool {
        self.cur() == b'-' && matches!(self.byte(self.i + 1), b' ' | b'\n')
    }

    /// The block node starting at the cursor, the first content of a line (or of a compact
    /// entry) at column `n`: a mapping or a sequence.
    fn block(&mut self, n: usize, depth: usize) -> Result<Node<'a>, Declined> {
        if depth >= DEPTH {
            return Err(Declined);
        }
        if self.at_dash() {
            self.seq(n, depth)
        } else {
            self.map(n, depth)
        }
    }

    fn seq(&mut self, n: usize, depth: usize) -> Result<Node<'a>, Declined> {
        let pos = self.pos();
        self.count(2)?;
        let mut items = Vec::new();
        loop {
            // at the `-` of an entry, in column n
            self.i += 1;
            self.skip_spaces();
            let item = if self.at_line_end() {
                // an empty entry is where the line's content ends (the parser's mark); one
                // followed by a comment is left to the event reader
                let end = self.pos();
                let commented = self.cur() == b'#';
                self.finish_line()?;
                match self.indent {
                    Some(k) if k > n => self.block(k, depth + 1)?,
                    _ if commented => return Err(Declined),
                    _ => self.null(end)?,
                }
            } else if self.at_dash() || self.starts_key() {
                // a compact sequence (`- - x`) or mapping (`- k: v`), in this column
                let c = self.i - self.line_start;
                self.block(c, depth + 1)?
            } else {
                let v = self.inline(depth + 1)?;
                self.finish_line()?;
                v
            };
            items.push(item);
            match self.indent {
                Some(k) if k == n && self.at_dash() => {}
                Some(k) if k > n => return Err(Declined),
                _ => break,
            }
        }
        Ok(Node {
            value: Value::Seq(items),
            pos,
        })
    }

    /// Whether the cursor is at a mapping key (a scalar followed by `:` and a blank or the
    /// line's end); the cursor does not move.
    fn starts_key(&mut self) -> bool {
        let at = self.i;
        let found = match self.block_scalar() {
            Ok(_) => self.at_colon(),
            Err(Declined) => false,
        };
        self.i = at;
        found
    }

    /// Skips blanks; whether the cursor is then at `:` followed by a blank or the line's end.
    fn at_colon(&mut self) -> bool {
        self.skip_spaces();
        self.cur() == b':' && matches!(self.byte(self.i + 1), b' ' | b'\n')
    }

    fn null(&mut self, pos: Option<Pos>) -> Result<Node<'a>, Declined> {
        self.count(1)?;
        Ok(Node {
            value: Value::Null,
            pos,
        })
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Node<'a>, Declined> {
        let pos = self.pos();
        self.count(2)?;
        // most mappings of a spec have a handful of keys: one allocation, no regrowth
        let mut entries: Vec<(Key<'a>, Node<'a>)> = Vec::with_capacity(8);
        let mut seen = None;
        loop {
            // at a key in column n
            let kpos = self.pos();
            let (text, style) = self.block_scalar()?;
            if text.len() > KEY_BYTES || !self.at_colon() {
                return Err(Declined);
            }
            let name = self.key(text, style, &entries, &mut seen)?;
            let colon = self.pos();
            self.i += 1;
            self.skip_spaces();
            let value = if self.at_line_end() {
                self.finish_line()?;
                match self.indent {
                    Some(k) if k > n => self.block(k, depth + 1)?,
                    _ => self.null(colon)?,
                }
            } else {
                let v = self.inline(depth + 1)?;
                self.finish_line()?;
                v
            };
            entries.push((Key { name, pos: kpos }, value));
            match self.indent {
                Some(k) if k == n => {}
                Some(k) if k > n => return Err(Declined),
                _ => break,
            }
        }
        Ok(Node {
            value: Value::Map(entries),
            pos,
        })
    }

    /// A key's name, declining a duplicate or a key the event reader would decline.
    ///
    /// A mapping of a few keys is searched directly; past [`SCAN_KEYS`] the names go into
    /// `seen`, so a mapping of 40,000 keys costs linear time, not quadratic.
    fn key(
        &mut self,
        text: Cow<'a, str>,
        style: Style,
        entries: &[(Key<'a>, Node<'a>)],
        seen: &mut Option<std::collections::HashSet<String>>,
    ) -> Result<Cow<'a, str>, Declined> {
        self.count(1)?;
        let name = key(text, style_of(style))?;
        let duplicate = if entries.len() < SCAN_KEYS {
            entries.iter().any(|(k, _)| k.name == name)
        } else {
            let set = seen
                .get_or_insert_with(|| entries.iter().map(|(k, _)| k.name.to_string()).collect());
            !set.insert(name.to_string())
        };
        if duplicate {
            return Err(Declined);
        }
        Ok(name)
    }

    /// A value written on the key's or the entry's line: a flow collection or a scalar.
    fn inline(&mut self, depth: usize) -> Result<Node<'a>, Declined> {
        match self.cur() {
            b'[' | b'{' => self.flow(depth),
            _ => {
                let pos = self.pos();
                let (text, style) = self.block_scalar()?;
                self.scalar_node(text, style, pos)
            }
        }
    }

    fn scalar_node(
        &mut self,
        text: Cow<'a, str>,
        style: Style,
        pos: Option<Pos>,
    ) -> Result<Node<'a>, Declined> {
        self.count(1)?;
        Ok(Node {
            value: scalar(text, style_of(style))?,
            pos,
        })
    }

    /// A quoted or plain scalar in block context; the cursor stops after it (for a plain
    /// scalar at the blank, `:`, comment or line end that ends it).
    fn block_scalar(&mut self) -> Result<(Cow<'a, str>, Style), Declined> {
        match self.cur() {
            b'\'' => self.single_quoted(),
            b'"' => self.double_quoted(),
            _ => self.plain(false),
        }
    }

    /// A plain scalar; in flow context it also ends at `,`, `[`, `]`, `{`, `}`.
    fn plain(&mut self, flow: bool) -> Result<(Cow<'a, str>, Style), Declined> {
        let start = self.i;
        let first = self.cur();
        let next = self.byte(self.i + 1);
        let starts = first.is_ascii_alphanumeric()
            || matches!(
                first,
                b'.' | b'_' | b'/' | b'~' | b'+' | b'$' | b'(' | b'<' | b'='
            )
            || (first == b'-'
                && !matches!(next, b' ' | b'\n')
                && !(flow && matches!(next, b',' | b'[' | b']' | b'{' | b'}')));
        if !starts {
            return Err(Declined);
        }
        let mut end = start;
        loop {
            let b = self.cur();
            match b {
                b'\n' => break,
                b':' if matches!(self.byte(self.i + 1), b' ' | b'\n') => break,
                b':' if flow => return Err(Declined),
                b'#' if self.byte(self.i - 1) == b' ' => break,
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                b' ' => {}
                _ => end = self.i + 1,
            }
            self.i += 1;
        }
        // the line feed check above also stops at the end of the text (`byte` reads `\n`)
        self.i = self.i.min(self.src.len());
        let text = self.text.get(start..end).ok_or(Declined)?;
        Ok((Cow::Borrowed(text), Style::Plain))
    }

    fn single_quoted(&mut self) -> Result<(Cow<'a, str>, Style), Declined> {
        self.i += 1;
        let start = self.i;
        let mut owned: Option<String> = None;
        let mut from = start;
        loop {
            match self.src.get(self.i) {
                None | Some(b'\n') => return Err(Declined),
                Some(b'\'') if self.byte(self.i + 1) == b'\'' => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(self.text.get(from..=self.i).ok_or(Declined)?);
                    self.i += 2;
                    from = self.i;
                }
                Some(b'\'') => break,
                Some(_) => self.i += 1,
            }
        }
        let tail = self.text.get(from..self.i).ok_or(Declined)?;
        self.i += 1;
        let text = match owned {
            Some(mut s) => {
                s.push_str(tail);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(tail),
        };
        Ok((text, Style::Quoted))
    }

    fn double_quoted(&mut self) -> Result<(Cow<'a, str>, Style), Declined> {
        self.i += 1;
        let start = self.i;
        loop {
            match self.src.get(self.i) {
                None | Some(b'\n' | b'\\') => return Err(Declined),
                Some(b'"') => break,
                Some(_) => self.i += 1,
            }
        }
        let text = self.text.get(start..self.i).ok_or(Declined)?;
        self.i += 1;
        Ok((Cow::Borrowed(text), Style::Quoted))
    }

    /// A flow collection on one line, of scalars and flow collections.
    fn flow(&mut self, depth: usize) -> Result<Node<'a>, Declined> {
        if depth >= DEPTH {
            return Err(Declined);
        }
        let pos = self.pos();
        self.count(2)?;
        let map = self.cur() == b'{';
        let close = if map { b'}' } else { b']' };
        self.i += 1;
        self.skip_spaces();
        let mut items = Vec::new();
        let mut entries: Vec<(Key<'a>, Node<'a>)> = Vec::new();
        let mut seen = None;
        if self.cur() == close {
            self.i += 1;
        } else {
            loop {
                if map {
                    let kpos = self.pos();
                    let (text, style) = self.flow_scalar()?;
                    if text.len() > KEY_BYTES || !self.at_colon() {
                        return Err(Declined);
                    }
                    let name = self.key(text, style, &entries, &mut seen)?;
                    self.i += 1;
                    self.skip_spaces();
                    let value = self.flow_node(depth + 1)?;
                    entries.push((Key { name, pos: kpos }, value));
                } else {
                    items.push(self.flow_node(depth + 1)?);
                }
                self.skip_spaces();
                match self.cur() {
                    b',' => {
                        self.i += 1;
                        self.skip_spaces();
                        if matches!(self.cur(), b']' | b'}' | b',' | b'\n') {
                            return Err(Declined);
                        }
                    }
                    b if b == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(Declined),
                }
            }
        }
        let value = if map {
            Value::Map(entries)
        } else {
            Value::Seq(items)
        };
        Ok(Node { value, pos })
    }

    /// A node inside a flow collection: a nested collection or a scalar (never empty).
    fn flow_node(&mut self, depth: usize) -> Result<Node<'a>, Declined> {
        match self.cur() {
            b'[' | b'{' => self.flow(depth),
            _ => {
                let pos = self.pos();
                let (text, style) = self.flow_scalar()?;
                self.scalar_node(text, style, pos)
            }
        }
    }

    fn flow_scalar(&mut self) -> Result<(Cow<'a, str>, Style), Declined> {
        match self.cur() {
            b'\'' => self.single_quoted(),
            b'"' => self.double_quoted(),
            _ => self.plain(true),
        }
    }
}

fn style_of(style: Style) -> serde_saphyr::granit_parser::ScalarStyle {
    use serde_saphyr::granit_parser::ScalarStyle;
    match style {
        Style::Plain => ScalarStyle::Plain,
        Style::Quoted => ScalarStyle::SingleQuoted,
    }
}

fn memchr_newline(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// Reads one document of the subset into the public tree, or declines.
pub(super) fn read(text: &str) -> Result<super::Node, Declined> {
    read_tree(text).map(Node::into_owned)
}

/// Reads one document of the subset, or declines; the tree borrows the text.
pub(super) fn read_tree(text: &str) -> Result<Node<'_>, Declined> {
    let src = text.as_bytes();
    if !src
        .iter()
        .all(|&b| b == b'\n' || (b' '..=b'~').contains(&b))
    {
        return Err(Declined);
    }
    let mut r = Reader {
        text,
        src,
        i: 0,
        line: 1,
        line_start: 0,
        indent: None,
        events: 0,
        comments_in_row: 0,
    };
    // the first line's content: pretend the cursor ends a line before the text
    r.skip_spaces();
    match r.src.get(r.i) {
        None => return Err(Declined),
        Some(b'\n' | b'#') => {
            if r.cur() == b'#' {
                r.comment()?;
            }
            r.next_content_line()?;
        }
        Some(_) => {
            if src.starts_with(b"---") || src.starts_with(b"...") {
                return Err(Declined);
            }
            r.indent = Some(r.i);
        }
    }
    if r.indent != Some(0) {
        return Err(Declined);
    }
    let root = r.block(0, 0)?;
    if r.indent.is_some() {
        return Err(Declined);
    }
    Ok(root)
}

/// The benchmarks' spec generator, read by the tests.
#[cfg(test)]
#[path = "../../../benches/specgen.rs"]
mod specgen;

#[cfg(test)]
mod tests {
    use super::specgen;
    use super::*;
    use crate::yaml::{events, parse_reference};

    /// Reads `text` with the line reader and the reference: when the line reader answers, its
    /// tree equals the reference's (and the event reader's). Returns whether it answered.
    fn same_as_reference(text: &str) -> bool {
        match read(text) {
            Ok(fast) => {
                let reference = parse_reference(text);
                assert_eq!(Ok(&fast), reference.as_ref(), "{text:?}");
                if let Ok(events) = events::read(text) {
                    assert_eq!(fast, events, "{text:?}");
                }
                true
            }
            Err(Declined) => false,
        }
    }

    #[test]
    fn line_reader_equals_the_reference_on_every_fixture_and_example() {
        let mut read_fast = Vec::new();
        for (name, text) in crate::yaml::tests::every_fixture_and_example() {
            if same_as_reference(&text) {
                read_fast.push(name);
            }
            // the spec printed back (a second, differently laid out document)
            if let Ok((spec, _)) = crate::spec::Spec::from_yaml(&text) {
                same_as_reference(&spec.to_yaml());
            }
        }
        for valid in [
            "seed-flannel.yaml",
            "seed-cilium.yaml",
            "dual-stack.yaml",
            "three-site-ha.yaml",
            "flannel-over-tailscale-gpu-worker.yaml",
        ] {
            assert!(
                read_fast.iter().any(|f| f == valid),
                "{valid}: {read_fast:?}"
            );
        }
        for refused in ["MS001.yaml", "MS010.yaml"] {
            assert!(!read_fast.iter().any(|f| f == refused), "{refused}");
        }
    }

    /// Writes a document from a stream of choices.
    struct Gen {
        choices: std::vec::IntoIter<u8>,
        out: String,
        keys: usize,
    }

    impl Gen {
        fn pick(&mut self, n: u8) -> u8 {
            self.choices.next().unwrap_or(0) % n
        }

        fn scalar(&mut self) -> &'static str {
            const S: [&str; 12] = [
                "x", "1", "-2", "'q''s'", "\"d q\"", "~", "a b", "1.5", "yes", "''", "x:y", "h#i",
            ];
            S[usize::from(self.pick(12))]
        }

        fn flow(&mut self) -> String {
            match self.pick(3) {
                0 => {
                    let (a, b) = (self.scalar(), self.scalar());
                    format!("[{a}, {b}]")
                }
                1 => {
                    let (a, b) = (self.scalar(), self.scalar());
                    format!("{{a: {a}, b: [{b}]}}")
                }
                _ => "[]".to_owned(),
            }
        }

        fn key(&mut self) -> String {
            self.keys += 1;
            match self.pick(4) {
                0 => format!("'k{}'", self.keys),
                1 => format!("\"k {}\"", self.keys),
                _ => format!("k{}", self.keys),
            }
        }

        /// The value after `key:` or `-` (the line is open).
        fn value(&mut self, indent: usize, depth: usize) {
            let nested = depth < 4;
            match self.pick(if nested { 7 } else { 4 }) {
                0 => self.out.push('\n'),
                1 => {
                    let s = self.flow();
                    self.out.push_str(&format!(" {s}\n"));
                }
                2 => self.out.push_str(" # c\n"),
                3 => {
                    let s = self.scalar();
                    self.out.push_str(&format!(" {s}\n"));
                }
                4 => {
                    self.out.push('\n');
                    self.seq(indent + 2, depth + 1);
                }
                _ => {
                    self.out.push('\n');
                    let extra = usize::from(self.pick(2));
                    self.map(indent + 2 + extra, depth + 1);
                }
            }
        }

        fn map(&mut self, indent: usize, depth: usize) {
            for _ in 0..=self.pick(3) {
                self.out.push_str(&" ".repeat(indent));
                let k = self.key();
                self.out.push_str(&k);
                self.out.push(':');
                self.value(indent, depth);
            }
        }

        fn seq(&mut self, indent: usize, depth: usize) {
            for _ in 0..=self.pick(3) {
                self.out.push_str(&" ".repeat(indent));
                match self.pick(3) {
                    // a compact mapping
                    0 => {
                        self.out.push_str("- ");
                        let k = self.key();
                        self.out.push_str(&k);
                        self.out.push(':');
                        self.value(indent + 2, depth + 1);
                        if self.pick(2) == 0 {
                            self.map(indent + 2, depth + 1);
                        }
                    }
                    1 => {
                        self.out.push_str("- - ");
                        let s = self.scalar();
                        self.out.push_str(s);
                        self.out.push('\n');
                    }
                    _ => {
                        self.out.push('-');
                        self.value(indent, depth);
                    }
                }
            }
        }
    }

    #[test]
    fn line_reader_reads_the_bench_specs() {
        for n in [1, 10, 100, 1000] {
            assert!(same_as_reference(&specgen::spec(n)), "{n} nodes");
        }
    }

    #[test]
    fn line_reader_declines_what_it_does_not_handle() {
        let declined = [
            "",
            "# only a comment\n",
            "a\n",
            "- a\n- b\n", // a sequence at the root is read, see `accepted`; this line is a guard
            "a: 1\n---\nb: 2\n",
            "---\na: 1\n",
            "a: 1\n...\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: &x 1\nb: *x\n",
            "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
            "a: !!str 1\n",
            "1: a\n",
            "true: a\n",
            "~: a\n",
            "a: .inf\n",
            "a: 1e999\n",
            "a: 1\na: 2\n",
            "a: {b: 1, b: 2}\n",
            "a: [1, 2\n",
            "a: [1, 2,]\n",
            "a: [1, , 2]\n",
            "a: {b: }\n",
            "a: {b}\n",
            "a: [b: c]\n",
            "a: {b:c}\n",
            "a: [b:c]\n",
            "? [a]\n: 1\n",
            "a: |\n  t\n",
            "a: >\n  t\n",
            "a: b\n  c\n",
            "- a\n  b\n",
            "a: \"x\\ny\"\n",
            "a: \"x\n  y\"\n",
            "a: 'x\n  y'\n",
            "a:\tb\n",
            "a: b\r\n",
            "\u{feff}a: 1\n",
            "a: é\n",
            "a: b: c\n",
            "a: - b\n",
            "k:\n- x\n",
            "a:\n  b\n",
            "a:\n    b: 1\n  c: 2\n",
            "  a: 1\n",
            "a: 1\n b: 2\n",
            "a:b\n",
            ": a\n",
            "a: 'x'y\n",
            "\"a\":b\n",
            "a: @x\n",
            "a: `x`\n",
            "a: [a #c, b]\n",
            "a: ]\n",
        ];
        for text in declined {
            if text == "- a\n- b\n" {
                continue;
            }
            assert!(read(text).is_err(), "{text:?}");
        }
        let many_comments = format!("a: 1\n{}b: 2\n", "# c\n".repeat(40));
        assert!(read(&many_comments).is_err());
        let deep = (0..60).fold(String::new(), |mut s, i| {
            s.push_str(&" ".repeat(i * 2));
            s.push_str("k:\n");
            s
        });
        assert!(read(&deep).is_err());
    }

    #[test]
    fn line_reader_reads_the_subset_like_the_reference() {
        let accepted = [
            "a: 1\n",
            "a: 1",
            "- a\n- b\n",
            "a:\n",
            "a:\nb: 1\n",
            "a: # c\nb: 1\n",
            "a:   \n  - 1\n",
            "l:\n  -\n  - x\n  -\n",
            "\"1\": x\n",
            "'it''s': 'it''s'\n",
            "a: ''\nb: \"\"\n",
            "a: {b: [1, -2, 0x1F, 1_000, 010, 1.5, 1e3, 18446744073709551615, yes, OFF, ~, null, inf, nan, '1', \"x\"]}\n",
            "# head\nlist:\n  - x # trailing\n  -\n  - {k: v}\n",
            "a: [b, c]\nd: e\n",
            "\"quoted key\": 1\nmulti word key: 2\n",
            "a  : 1\n",
            "a: b#c\n",
            "a: b #c\n",
            "a: http://x:80/y?z=1,2[3]\n",
            "a: key:value\n",
            "- - x\n  - y\n- z\n",
            "- {a: 1}\n- [b, {c: d}]\n",
            "-   a: 1\n    b: 2\n-\n  c: 3\n",
            "a: {example.com/rack: r0}\nb: [172.16.0.0/20]\n",
            "a: -1\nb: -x\nc: --\n",
            "a: [ x , y ]\nb: { c: d }\n",
            "a: []\nb: {}\n",
            "a: 1   \n\n\n   \nb: 2\n",
            "a:\n  b:\n    c:\n      - d: 1\n        e: [1]\n",
        ];
        for text in accepted {
            assert!(same_as_reference(text), "{text:?}");
        }
    }

    /// Comments in runs up to the line reader's limit, before, between and after content, and
    /// a comment on every line of a long document: read, and equal to the reference (whose
    /// parser refuses long runs of buffered comments).
    #[test]
    fn line_reader_reads_comment_runs_like_the_reference() {
        let run = "# c\n".repeat(COMMENT_RUN);
        for text in [
            format!("{run}a: 1\n"),
            format!("a: 1\n{run}b: 2\n"),
            format!("a: 1\n{run}"),
            format!("a:\n{run}  - x\n{run}  - y\n{run}"),
            (0..200).fold(String::new(), |s, i| format!("{s}k{i}: v # c\n")),
            (0..200).fold(String::new(), |s, i| format!("{s}# c\nk{i}: v\n  # c\n")),
        ] {
            assert!(same_as_reference(&text), "{text:?}");
        }
        let too_many = format!("a: 1\n{run}# c\nb: 2\n");
        assert!(read(&too_many).is_err());
    }

    proptest::proptest! {
        /// Documents stitched from fragments in and near the subset read the same both ways
        /// (or the line reader declines).
        #[test]
        fn line_reader_equals_the_reference_on_generated_documents(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a: 1\n", "b: x\n", "c:\n", "  - 1\n", "  - y\n", "  - {k: v, n: 2}\n",
                "  d: e\n", "    f: [1, 2]\n", "g: 'q'\n", "h: \"w\\n\"\n", "i: yes\n",
                "j: 0x10\n", "k: -0\n", "l: 1.50\n", "m: 100.64.0.1\n", "# c\n", "\n",
                "n: |\n  t\n", "o: [a, {p: q}]\n", "  r: ~\n", "s: &a 1\n", "t: *a\n",
                "u: !!str 5\n", "v: .inf\n", "w: -\n", "x: :y\n", "z: a: b\n", "  - - 1\n",
                "\t- 1\n", "'': 1\n", "? x\n", "- 1\n", "{a: 1}\n", "y: 1 # c\n",
                "a: 'it''s'\n", "b: \"\\u00e9\"\n", "- - x\n", "key:value\n", ": \n",
                "c: d   \n", "e: f\r\n", "\u{feff}", "g:\n", "- {a: 1}\n", "h: [a, [b, {c: d}]]\n",
                "  -\n", "   - z\n", "-\n", "  i: \"j k\"\n", "j: a#b\n", "k: [a, b]  # c\n",
                "l: {m: n, o: [p]}\n", "  - p: 1\n", "    q: 2\n", "m: [,]\n", "n: [a,]\n",
                "o: {a: }\n", "p: x:y\n", "q: x,y\n", "r: [x:y]\n", "s: {x:y}\n", "t: -1\n",
                "u: - x\n", "---\n", "...\n", "v: 'a\n", "  b'\n", "w: \"a\n", "x: a\n  b\n",
                "y: [a,\n", "  b]\n", "z: 1e3\n", "aa: 1_000\n", "ab: '#'\n", "ac: \"#\"\n",
                "ad: a #b: c\n", "ae: [a #b]\n", "af: {'a': \"b\"}\n", "ag: <<\n", "<<: 1\n",
                "ah: ~x\n", "ai: =\n", "aj: $x\n", "ak: (x)\n", "al: 'x'#c\n", "am: [a]b\n",
            ]), 0..14)
        ) {
            let text: String = parts.concat();
            same_as_reference(&text);
        }

        /// Indented lines of the subset's kinds (keys numbered, so rarely duplicate): mostly
        /// read by the line reader, and then equal to the reference.
        #[test]
        fn line_reader_equals_the_reference_on_subset_lines(
            lines in proptest::collection::vec((0usize..4, 0usize..24), 1..16)
        ) {
            let kinds = [
                "k{i}: v", "k{i}:", "- v", "- k{i}: v", "-", "- - v", "k{i}: [a, 'b', \"c\"]",
                "k{i}: {a: b, c: [d]}", "# c", "", "'k{i}': 'x''y'", "\"k{i}\": \"x y\"",
                "k{i}: 1 # c", "- {a: 1}", "k{i}:   ", "- k{i}:", "k{i}: -1", "k{i}: a:b",
                "-   k{i}: v", "k{i}: []", "k{i}: ~", "k{i}: 0o17", "k{i}: a b  c", "k{i}: x#y",
            ];
            let mut text = String::new();
            for (i, (indent, kind)) in lines.iter().enumerate() {
                text.push_str(&" ".repeat(indent * 2));
                text.push_str(&kinds[*kind].replace("{i}", &i.to_string()));
                text.push('\n');
            }
            same_as_reference(&text);
        }

        /// Well-formed nested documents in varied layouts (compact entries, empty values,
        /// comments, quoting): read by the line reader, and equal to the reference.
        #[test]
        fn line_reader_equals_the_reference_on_nested_documents(
            choices in proptest::collection::vec(0u8..=255, 8..200)
        ) {
            let mut g = Gen { choices: choices.into_iter(), out: String::new(), keys: 0 };
            g.map(0, 0);
            same_as_reference(&g.out);
        }

        /// Number-like and word-like plain scalars, as values and as keys, are typed alike.
        #[test]
        fn line_reader_types_scalars_like_the_reference(s in "[-+._0-9a-fA-FxobnNyYeE~:#, ]{0,8}") {
            same_as_reference(&format!("v: {s}\n"));
            same_as_reference(&format!("{s}: v\n"));
            same_as_reference(&format!("v: [{s}]\n"));
            same_as_reference(&format!("v: {{k: {s}}}\n"));
            same_as_reference(&format!("- {s}\n"));
        }

        /// Any short text over the subset's alphabet: equal trees or a decline.
        #[test]
        fn line_reader_equals_the_reference_on_random_text(s in "[-a:# \n'\"\\[\\]{},.1]{0,24}") {
            same_as_reference(&s);
        }
    }
}
