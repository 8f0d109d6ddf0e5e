//! Quoting for POSIX `sh`, shared by every rendered script.
//!
//! It does not run anything; it only turns a value into one shell word.

/// Quotes `s` as one `sh` word: unchanged when it holds only safe characters, otherwise in
/// single quotes with each `'` written as `'\''`.
///
/// ```
/// use meshspec::render::shell::quote;
/// assert_eq!(quote("gpu-type=rtx3060"), "gpu-type=rtx3060");
/// assert_eq!(quote("a b"), "'a b'");
/// assert_eq!(quote("it's"), "'it'\\''s'");
/// assert_eq!(quote(""), "''");
/// ```
#[must_use]
pub fn quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_what_the_shell_would_interpret() {
        for (input, want) in [
            ("plain", "plain"),
            ("nvidia.com/gpu=true", "nvidia.com/gpu=true"),
            ("$(reboot)", "'$(reboot)'"),
            ("a;b", "'a;b'"),
            ("`x`", "'`x`'"),
            ("o'k", r"'o'\''k'"),
            ("*", "'*'"),
        ] {
            assert_eq!(quote(input), want, "{input}");
        }
    }
}
