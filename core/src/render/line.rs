//! Text that stays on one line in every output language: the base of every `comment` escaper.
//!
//! A comment in `sh`, a systemd unit, an env file or YAML ends at the first line break, so a
//! value that holds one would continue as live code on the next line. [`one_line`] writes every
//! character that some reader of a rendered file takes as a line break, or that a terminal or
//! editor interprets (C0 and C1 controls, DEL, Unicode line and paragraph separators,
//! bidirectional overrides, the byte-order mark), and the backslash (a systemd line
//! continuation), as a visible `\u{..}` escape. It does not decide where text goes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not appear raw inside one line of a rendered file.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// `s` with every unsafe character written as `\u{hex}`; unchanged (borrowed) when it has none.
///
/// ```
/// use meshspec::render::line::one_line;
/// assert_eq!(one_line("tailscale0"), "tailscale0");
/// assert_eq!(one_line("x\nid>PWNED"), "x\\u{a}id>PWNED");
/// assert_eq!(one_line("a\u{2028}b\\"), "a\\u{2028}b\\u{5c}");
/// ```
#[must_use]
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_that_breaks_a_line_survives() {
        for bad in [
            "\n",
            "\r",
            "\u{85}",
            "\u{2028}",
            "\u{2029}",
            "\0",
            "\u{1b}[2J",
            "\\",
        ] {
            let input = format!("a{bad}b");
            let out = one_line(&input);
            assert!(!out.chars().any(|c| c != '\\' && is_unsafe(c)), "{out:?}");
            assert!(out.starts_with('a') && out.ends_with('b'));
        }
    }
}
