//! POSIX `sh`: every value that reaches a rendered script goes through this module.
//!
//! [`quote`] turns a value into exactly one shell word with the `shlex` crate (single quotes,
//! or double quotes with `$`, `` ` ``, `"` and `\` escaped where a `'` forces them), so nothing
//! in it is expanded, split or globbed. [`comment`] writes text after `# ` that cannot end the
//! comment. It does not run anything.

use std::borrow::Cow;

use crate::render::line::one_line;

/// Quotes `s` as one `sh` word: unchanged when it holds only characters `sh` never interprets
/// (`A-Za-z0-9+-./:@_]`), otherwise quoted by `shlex`.
///
/// A NUL byte cannot be part of a shell word (the argument would end there); decoding refuses
/// it in every field (MS003), and here it is dropped rather than passed on.
///
/// ```
/// use meshspec::render::shell::quote;
/// assert_eq!(quote("k3s-master"), "k3s-master");
/// assert_eq!(quote("gpu-type=rtx3060"), "'gpu-type=rtx3060'");
/// assert_eq!(quote("a b"), "'a b'");
/// assert_eq!(quote("$(id)"), "'$(id)'");
/// assert_eq!(quote("it's"), "\"it's\"");
/// assert_eq!(quote(""), "''");
/// ```
#[must_use]
pub fn quote(s: &str) -> String {
    if let Some(fast) = quote_fast(s) {
        return fast;
    }
    quote_general(s)
}

/// The two cases most rendered words fall in, decided the way `shlex` decides them: every byte
/// allowed bare (`shlex`'s set: letters, digits, `+-./:@]_`) gives the word itself; otherwise
/// no `'`, `^`, `\` or NUL gives the word in single quotes; a word with `'` or `\` but without
/// `^`, `$`, `` ` ``, `!` or NUL goes in double quotes. Anything else (and the empty word) is
/// left to `shlex`. A test compares both on random and adversarial words.
fn quote_fast(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    // one pass: is every byte bare, and which of the troublesome bytes occur
    let (mut bare, mut single_bad, mut double_bad) = (true, false, false);
    for &b in bytes {
        match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'+'
            | b'-'
            | b'.'
            | b'/'
            | b':'
            | b'@'
            | b']'
            | b'_' => {}
            b'^' | 0 => return None,
            b'\'' | b'\\' => (bare, single_bad) = (false, true),
            b'$' | b'`' | b'!' => (bare, double_bad) = (false, true),
            _ => bare = false,
        }
    }
    if bare {
        return Some(s.to_owned());
    }
    let mut out = String::with_capacity(s.len() + 4);
    if !single_bad {
        out.push('\'');
        out.push_str(s);
        out.push('\'');
        return Some(out);
    }
    // a `'` or `\` rules out single quotes; without `$`, `` ` `` or `!` the whole word fits in
    // double quotes, where only `"` and `\` need a backslash
    if double_bad {
        return None;
    }
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest.find(['"', '\\']) {
        out.push_str(&rest[..i]);
        out.push('\\');
        out.push_str(&rest[i..=i]);
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
    Some(out)
}

fn quote_general(s: &str) -> String {
    let clean: Cow<'_, str> = if s.contains('\0') {
        Cow::Owned(s.replace('\0', ""))
    } else {
        Cow::Borrowed(s)
    };
    match shlex::try_quote(&clean) {
        Ok(q) => q.into_owned(),
        // unreachable: the only error is a NUL byte, removed above
        Err(_) => "''".to_owned(),
    }
}

/// A comment line's text (the caller writes the `# `): one line whatever `s` holds.
///
/// ```
/// use meshspec::render::shell::comment;
/// assert_eq!(comment("ufw allow in on x\nid"), "ufw allow in on x\\u{a}id");
/// ```
#[must_use]
pub fn comment(s: &str) -> Cow<'_, str> {
    one_line(s)
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_what_the_shell_would_interpret() {
        for (input, want) in [
            ("plain", "plain"),
            ("nvidia.com/gpu", "nvidia.com/gpu"),
            ("$(reboot)", "'$(reboot)'"),
            ("a;b", "'a;b'"),
            ("`x`", "'`x`'"),
            ("*", "'*'"),
            ("a\nb", "'a\nb'"),
            ("a\0b", "ab"),
        ] {
            assert_eq!(quote(input), want, "{input}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_quotes_as_shlex_does(s in "[ -~]{0,10}|[a-z'^\\\\ $\"!`]{0,6}|\\PC{0,6}|[\\x00-\\x1f\\x7f-\\u{ff}a]{0,4}") {
            if let Some(fast) = super::quote_fast(&s) {
                proptest::prop_assert_eq!(fast, super::quote_general(&s));
            }
        }
    }
}
