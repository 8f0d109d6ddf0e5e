//! Markdown (`PLAN.md`): spec values as inline code or as table cells that stay what they are.
//!
//! [`code`] writes an inline code span whose fence is longer than any run of backticks inside,
//! [`text`] escapes the characters Markdown or an HTML renderer would act on, and both keep
//! the value on one line (a line break would end a list item or a table row) and escape `|`
//! (GitHub-flavoured Markdown splits table cells at it, even inside code spans).

use crate::render::line::one_line;

/// Printable ASCII without any of `special`: text [`code`] and [`text`] copy unchanged (the
/// fast path; everything else takes the general one).
fn inert(s: &str, special: &[u8]) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'\\' && !special.contains(&b))
}

/// `s` as inline code: `` `s` ``, with a longer fence when `s` holds backticks.
///
/// ```
/// use meshspec::render::markdown::code;
/// assert_eq!(code("tailscale0"), "`tailscale0`");
/// assert_eq!(code("a`b"), "`` a`b ``");
/// assert_eq!(code("x\n# y|z"), "`x\\u{a}# y\\|z`");
/// ```
#[must_use]
pub fn code(s: &str) -> String {
    if inert(s, b"`|") {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('`');
        out.push_str(s);
        out.push('`');
        return out;
    }
    code_general(s)
}

fn code_general(s: &str) -> String {
    let body = one_line(s).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{body}{fence}")
    } else {
        format!("{fence} {body} {fence}")
    }
}

/// `s` as plain text on one line: `\\`, `<`, `>`, `&` (HTML), `|`, `[`, `]` (links), `@`, the
/// `:` of `://` and the `.` of `www.` (GitHub's bare autolinks) and a leading `#` escaped;
/// backtick-quoted parts (`` `x` ``, as diagnostics write values) left as code.
///
/// A code span is kept only where CommonMark would see one: a run of backticks closed by the
/// next run of the same length. Every other backtick is escaped, so no unbalanced run can
/// make a later `<` look like code to this function and like HTML to a Markdown viewer.
///
/// ```
/// use meshspec::render::markdown::text;
/// assert_eq!(text("node `a` <b>"), "node `a` \\<b\\>");
/// assert_eq!(text("a\n## b"), "a\\\\u{a}## b");
/// // two backticks are closed by two, not by one: here nothing is code
/// assert_eq!(text("``a` <img>"), "\\`\\`a\\` \\<img\\>");
/// assert_eq!(text("``a` <img>``"), "``a` <img>``");
/// ```
#[must_use]
pub fn text(s: &str) -> String {
    if inert(s, b"`|\\<>&[]@:.") && !s.starts_with('#') {
        return s.to_owned();
    }
    text_general(s)
}

fn text_general(s: &str) -> String {
    let line = one_line(s);
    let chars: Vec<char> = line.chars().collect();
    // runs of backticks: (start, length); `close[i]` is the next run of the same length
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let start = i;
            while i < chars.len() && chars[i] == '`' {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    let mut close = vec![None; runs.len()];
    let mut next_of_len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (k, &(_, len)) in runs.iter().enumerate().rev() {
        close[k] = next_of_len.insert(len, k);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut i = 0;
    let mut r = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let (_, len) = runs[r];
            if let Some(k) = close[r] {
                // a code span: copied as written, `|` escaped for tables
                let (end, end_len) = runs[k];
                for &c in &chars[i..end + end_len] {
                    if c == '|' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                i = end + end_len;
                r = k + 1;
            } else {
                for _ in 0..len {
                    out.push_str("\\`");
                }
                i += len;
                r += 1;
            }
            continue;
        }
        let escape = match c {
            '|' | '\\' | '<' | '>' | '&' | '[' | ']' | '@' => true,
            ':' => chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/'),
            '.' => i >= 3 && chars[i - 3..i].iter().all(|c| c.eq_ignore_ascii_case(&'w')),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        i += 1;
    }
    if out.starts_with('#') {
        out.insert(0, '\\');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_in_their_cell_and_line() {
        for v in ["a|b", "x\n| y |", "`", "``a``", "<script>", "\u{2028}"] {
            for out in [code(v), text(v)] {
                assert!(!out.contains('\n') && !out.contains('\u{2028}'), "{out}");
                assert!(!out.replace("\\|", "").contains('|'), "{out}");
            }
        }
    }

    #[test]
    fn no_string_opens_html_or_a_link() {
        for v in [
            "`` ` <img src=x onerror=alert(1)>``",
            "``a` <a href=\"http://evil\">x</a>",
            "` `` ` <b>",
            "[x](http://evil)",
            "<http://evil>",
            "see http://evil.example/x and www.evil.example and a@evil.example",
            "&lt;img&gt;",
        ] {
            let out = text(v);
            // outside code spans (CommonMark's pairing), every `<`, `[`, `&`, `@` is escaped
            let mut plain = String::new();
            let mut rest = out.as_str();
            while let Some(p) = rest.find('`') {
                plain.push_str(&rest[..p]);
                let run = rest[p..].chars().take_while(|c| *c == '`').count();
                let escaped = p > 0 && rest[..p].ends_with('\\');
                let after = &rest[p + run..];
                let fence = "`".repeat(run);
                match after.find(fence.as_str()).filter(|_| !escaped) {
                    Some(e) if !after[e + run..].starts_with('`') => rest = &after[e + run..],
                    _ => {
                        plain.push_str(&rest[p..p + run]);
                        rest = after;
                    }
                }
            }
            plain.push_str(rest);
            for bad in ["<", "[", "&", "@", "://"] {
                let unescaped = plain
                    .match_indices(bad)
                    .any(|(at, _)| !plain[..at].ends_with('\\'));
                assert!(!unescaped, "{bad} live in {out} (from {v})");
            }
            assert!(!plain.contains("www."), "{out}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_the_general_ones(s in "[ -~]{0,12}|[a-z`|#<\\\\]{0,6}|\\PC{0,6}") {
            proptest::prop_assert_eq!(code(&s), code_general(&s));
            proptest::prop_assert_eq!(text(&s), text_general(&s));
        }
    }
}
