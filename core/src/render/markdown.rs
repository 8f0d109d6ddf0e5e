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

/// `s` as plain text on one line: `\`, `<`, `>`, `&` (HTML), `|`, `[`, `]` (links) and a leading
/// `#` escaped, backtick-quoted parts (`` `x` ``, as diagnostics write values) left as code.
///
/// ```
/// use meshspec::render::markdown::text;
/// assert_eq!(text("node `a` <b>"), "node `a` \\<b\\>");
/// assert_eq!(text("a\n## b"), "a\\\\u{a}## b");
/// ```
#[must_use]
pub fn text(s: &str) -> String {
    if inert(s, b"`|\\<>&[]") && !s.starts_with('#') {
        return s.to_owned();
    }
    text_general(s)
}

fn text_general(s: &str) -> String {
    let line = one_line(s);
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
            continue;
        }
        if c == '|' || (!in_code && "\\<>&[]".contains(c)) {
            out.push('\\');
        }
        out.push(c);
    }
    if in_code {
        // an unbalanced backtick would open a code span over the rest of the document
        out.push('`');
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

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_the_general_ones(s in "[ -~]{0,12}|[a-z`|#<\\\\]{0,6}|\\PC{0,6}") {
            proptest::prop_assert_eq!(code(&s), code_general(&s));
            proptest::prop_assert_eq!(text(&s), text_general(&s));
        }
    }
}
