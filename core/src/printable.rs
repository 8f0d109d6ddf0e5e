//! Text made safe and short to print on a terminal.
//!
//! A spec is untrusted input: its names, values and lines can hold terminal control sequences
//! (`ESC [ 2 J`, OSC title changes, bidirectional overrides) or be one enormous line. Before
//! any of it is shown in text output, [`escape`] turns every non-printing character into a
//! visible `\u{…}` escape, and [`window`] cuts a long line to the part around one column.
//! JSON output needs neither: its encoder escapes control characters and keeps everything.

use std::borrow::Cow;

/// Characters of a long source line shown before the column of interest (as many again after).
pub const WINDOW_SIDE: usize = 60;
/// Lines up to this many bytes are shown whole.
pub const WHOLE_LINE: usize = 160;

/// Whether a character changes what a terminal shows other than by printing a glyph: ASCII and
/// C1 control characters, line and paragraph separators, bidirectional controls, zero-width
/// characters and the byte-order mark.
///
/// ```
/// use meshspec::printable::is_non_printing;
/// assert!(is_non_printing('\x1b') && is_non_printing('\u{202e}') && is_non_printing('\u{85}'));
/// assert!(!is_non_printing('a') && !is_non_printing('é') && !is_non_printing(' '));
/// ```
#[must_use]
pub fn is_non_printing(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `text` with every non-printing character written as `\t`, `\n`, `\r` or `\u{hex}`, so
/// printing it can neither move the cursor, recolour nor reorder the terminal.
///
/// ```
/// use meshspec::printable::escape;
/// assert_eq!(escape("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
/// assert_eq!(escape("plain"), "plain");
/// ```
#[must_use]
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_non_printing) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Pushes `c`, escaped when non-printing; returns how many characters were pushed.
fn push_escaped(out: &mut String, c: char) -> usize {
    let before = out.len();
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if is_non_printing(c) => {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => {
            out.push(c);
            return 1;
        }
    }
    // escapes are ASCII: bytes are characters
    out.len() - before
}

/// The part of one source line to show for a column, escaped, with the caret's offset in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The escaped text, with `…` where the line was cut.
    pub text: String,
    /// How many characters of `text` come before the column's character.
    pub caret: usize,
}

/// Shows a line of up to [`WHOLE_LINE`] bytes whole; cuts a longer one to 2 × [`WINDOW_SIDE`]
/// characters starting [`WINDOW_SIDE`] before the 1-based character `column`, marking each cut
/// with `…`; escapes what remains. Linear in the shown part, not in the line.
///
/// ```
/// use meshspec::printable::window;
/// let long = format!("{}X{}", "a".repeat(500), "b".repeat(500));
/// let s = window(&long, Some(501));
/// assert!(s.text.starts_with('…') && s.text.ends_with('…'));
/// assert_eq!(s.text.chars().nth(s.caret), Some('X'));
/// assert_eq!(window("a\x1bb", Some(3)).text, "a\\u{1b}b");
/// ```
#[must_use]
pub fn window(line: &str, column: Option<u32>) -> Snippet {
    let col = column.map_or(0, |c| (c as usize).saturating_sub(1));
    // A line of ordinary length is shown whole; a longer one from WINDOW_SIDE characters
    // before the column, 2 × WINDOW_SIDE characters in all.
    let start = if line.len() <= WHOLE_LINE {
        0
    } else {
        col.saturating_sub(WINDOW_SIDE)
    };
    let mut chars = line.chars().skip(start);
    let mut text = String::new();
    let mut caret = 0;
    if start > 0 {
        text.push('…');
        caret = 1;
    }
    let shown = if line.len() <= WHOLE_LINE {
        WHOLE_LINE
    } else {
        2 * WINDOW_SIDE
    };
    for i in 0..shown {
        let Some(c) = chars.next() else { break };
        let pushed = push_escaped(&mut text, c);
        if start + i < col {
            caret += pushed;
        }
    }
    if chars.next().is_some() {
        text.push('…');
    }
    Snippet { text, caret }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_shown_whole() {
        let s = window("  service_cidr: 10.42.0.0/16", Some(17));
        assert_eq!(s.text, "  service_cidr: 10.42.0.0/16");
        assert_eq!(s.caret, 16);
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line = "x".repeat(100_000);
        let s = window(&line, Some(50_000));
        assert!(
            s.text.chars().count() <= 2 * WINDOW_SIDE + 2,
            "{}",
            s.text.len()
        );
        assert_eq!(s.caret, WINDOW_SIDE + 1);
        let s = window(&line, None);
        assert_eq!(s.text.chars().count(), 2 * WINDOW_SIDE + 1);
        // an ordinary line is never cut, whatever the column
        let ordinary = "  - {name: agent-1, role: agent, site: lab, lan_ip: 192.168.0.10, mesh_ip: 100.64.0.2}";
        assert_eq!(window(ordinary, Some(5)).text, ordinary);
    }

    #[test]
    fn the_caret_counts_escapes_before_it() {
        let s = window("\x1b\x1bX", Some(3));
        assert_eq!(s.text, "\\u{1b}\\u{1b}X");
        assert_eq!(s.text.chars().nth(s.caret), Some('X'));
    }

    #[test]
    fn every_non_printing_character_is_escaped() {
        for c in [
            '\0', '\x07', '\x1b', '\x7f', '\u{9b}', '\u{202e}', '\u{2066}', '\u{feff}',
        ] {
            let text = format!("a{c}b");
            let e = escape(&text);
            assert!(!e.chars().any(is_non_printing), "{c:?} -> {e}");
        }
    }
}
