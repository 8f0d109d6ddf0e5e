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
}
