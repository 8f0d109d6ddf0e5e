//! Helm value paths as `--set` writes them: keys joined by `.`, a `.` inside a key escaped as
//! `\.`, list items as `[0]`, e.g. `ipam.operator.clusterPoolIPv4PodCIDRList[0]`.
//!
//! This module only splits and joins paths; it does not look them up in a schema or a
//! values tree.

/// One step of a Helm path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg<'a> {
    /// A map key, as written in the path (escapes kept).
    Key(&'a str),
    /// A list index.
    Index(usize),
}

/// A path as Helm writes it, escaping `.` and `\` inside keys.
pub(super) fn render_path(path: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k.replace('\\', "\\\\").replace('.', "\\."));
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Splits a Helm path into steps; `None` when it is malformed (an unclosed `[`, a bad index).
pub(super) fn parse_path(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut segs = Vec::new();
    if path.is_empty() {
        return Some(segs);
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    let mut expect_key = true;
    while i < bytes.len() {
        match bytes[i] {
            b'[' if !expect_key || i == 0 => {
                let close = path[i..].find(']')? + i;
                segs.push(Seg::Index(path[i + 1..close].parse().ok()?));
                i = close + 1;
                expect_key = false;
            }
            b'.' if !expect_key => {
                i += 1;
                expect_key = true;
            }
            _ if expect_key => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'.' && bytes[i] != b'[' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(bytes.len());
                if end == start {
                    return None;
                }
                segs.push(Seg::Key(path.get(start..end)?));
                expect_key = false;
            }
            _ => return None,
        }
    }
    if expect_key {
        return None;
    }
    Some(segs)
}

/// A key with `\.` and `\\` escapes removed.
fn unescape(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The unescaped key of every step (empty for list indices), aligned with `segs`.
pub(super) fn unescaped_keys(segs: &[Seg<'_>]) -> Vec<String> {
    segs.iter()
        .map(|s| match s {
            Seg::Key(k) => unescape(k),
            Seg::Index(_) => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rendering_and_parsing() {
        let segs = parse_path("a.b\\.c[3].d").unwrap();
        assert_eq!(
            segs,
            [
                Seg::Key("a"),
                Seg::Key("b\\.c"),
                Seg::Index(3),
                Seg::Key("d")
            ]
        );
        assert_eq!(unescape("b\\.c"), "b.c");
        assert_eq!(
            render_path(&[Seg::Key("a"), Seg::Key("b.c"), Seg::Index(3), Seg::Key("d")]),
            "a.b\\.c[3].d"
        );
        assert_eq!(render_path(&[Seg::Index(0), Seg::Key("k")]), "[0].k");
        for bad in ["a.", ".a", "a..b", "a[", "a[x]", "a[1]b", "a[-1]", "a.[0]"] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_path(""), Some(vec![]));
    }
}
