//! systemd files: unit drop-ins, `EnvironmentFile=` files and `environment.d` snippets.
//!
//! Values follow systemd.exec(5), "EnvironmentFile=": one `KEY=VALUE` assignment per line; an
//! unquoted value keeps its characters except that `\` escapes the next one, and a
//! double-quoted value keeps its characters except that `\` before `"`, `\`, `` ` `` or `$`
//! stands for that character. [`env_value`] writes plain values as they are and everything
//! else double-quoted with those four escaped, which reads back identically in systemd and in
//! POSIX `sh` (`install.sh` reads the same file). A line break cannot be written inside one
//! line; decoding refuses every control character (MS003), and here they (and the Unicode
//! line separators) are dropped.
//! Comments follow systemd.syntax(7): a line starting with `#`; [`comment`] keeps it one line.

use std::borrow::Cow;

use crate::render::line::{is_unsafe, one_line};

/// Whether `c` may stand unquoted in an env-file value (and in `sh`, for `install.sh`).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_./:,@%+=[]".contains(c)
}

/// A value for `KEY=VALUE` in an `EnvironmentFile=` or `environment.d` file.
///
/// ```
/// use meshspec::render::systemd::env_value;
/// assert_eq!(env_value("http://proxy.lan:3128"), "http://proxy.lan:3128");
/// assert_eq!(env_value("a b"), "\"a b\"");
/// assert_eq!(env_value("x\nLD_PRELOAD=/tmp/evil.so"), "\"xLD_PRELOAD=/tmp/evil.so\"");
/// assert_eq!(env_value("$(id)`\"\\"), "\"\\$(id)\\`\\\"\\\\\"");
/// ```
#[must_use]
pub fn env_value(value: &str) -> Cow<'_, str> {
    if !value.is_empty() && value.chars().all(plain) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars().filter(|c| *c == '\\' || !is_unsafe(*c)) {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Cow::Owned(out)
}

/// Whether `key` is a variable name (`[A-Za-z_][A-Za-z0-9_]*`), as both systemd and `sh` need.
#[must_use]
pub fn is_env_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One `KEY=VALUE\n` line. The keys are meshspec's own (`HTTP_PROXY`, ...); one that is not a
/// variable name is written as a comment instead of a line systemd would misread.
///
/// ```
/// use meshspec::render::systemd::env_line;
/// assert_eq!(env_line("NO_PROXY", "localhost,10.0.0.0/8"), "NO_PROXY=localhost,10.0.0.0/8\n");
/// ```
#[must_use]
pub fn env_line(key: &str, value: &str) -> String {
    if is_env_key(key) {
        format!("{key}={}\n", env_value(value))
    } else {
        format!("# not a variable name: {}\n", one_line(key))
    }
}

/// A comment line's text (the caller writes the `# `): one line whatever `s` holds.
#[must_use]
pub fn comment(s: &str) -> Cow<'_, str> {
    one_line(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_never_adds_a_line() {
        for v in ["a\nB=1", "a\r\nB=1", "a\\\nB=1", "'\n", "\"\nB=1"] {
            let line = env_line("HTTP_PROXY", v);
            assert_eq!(line.matches('\n').count(), 1, "{line:?}");
            assert!(line.starts_with("HTTP_PROXY="));
        }
        assert_eq!(env_line("A\nB", "x"), "# not a variable name: A\\u{a}B\n");
    }
}
