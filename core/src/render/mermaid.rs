//! Mermaid (`PLAN.md`'s diagrams): spec values as label text that stays text.
//!
//! Every label meshspec draws is a quoted Mermaid string (`n0["..."]`, `subgraph s0["..."]`,
//! `-->|"..."|`), and every piece of it that comes from a spec goes through [`text`]: letters,
//! digits, space and `. , / - _ ( ) + =` are copied; every other character becomes Mermaid's
//! numeric entity code `#<decimal>;`, which Mermaid turns into the HTML character reference
//! `&#<decimal>;` and so shows as that character, never as markup. So a spec value cannot end
//! the quoted string (`"`), start a comment or directive (`%%`), end a statement or start a
//! new one (`;`, a line break: no `click`, `href`, `style` or `classDef` is reachable), close
//! the Markdown fence around the diagram (`` ` ``, `~`), open an HTML tag or entity (`<`,
//! `&`), or form an entity code itself (`#`). `:` is coded too: Mermaid drops the last `;` of
//! any line matching `style.*:\S*#.*;` or `classDef.*:\S*#.*;` before it decodes entity codes
//! (`encodeEntities` in mermaid's `mermaidAPI`), which would break the last code on the line.
//!
//! Ids are never spec text: the diagrams number their nodes and groups (`n0`, `s0`, ...).

/// Characters [`text`] copies unchanged.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, ' ' | '.' | ',' | '/' | '-' | '_' | '(' | ')' | '+' | '=')
}

/// `s` as the text of a quoted Mermaid label: ASCII letters and digits, space and
/// `.,/-_()+=` as they are, every other character as `#<decimal>;`.
///
/// ```
/// use meshspec::render::mermaid::text;
/// assert_eq!(text("k3s-master (init)"), "k3s-master (init)");
/// assert_eq!(text("a\"]; click n0 href"), "a#34;#93;#59; click n0 href");
/// assert_eq!(text("<a href=x>#1</a>"), "#60;a href=x#62;#35;1#60;/a#62;");
/// assert_eq!(text("fd00::1\n%%"), "fd00#58;#58;1#10;#37;#37;");
/// ```
#[must_use]
pub fn text(s: &str) -> String {
    use std::fmt::Write as _;
    if s.chars().all(plain) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if plain(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}

/// A quoted label of several lines: each line through [`text`], joined by `<br>` (Mermaid's
/// line break in labels), in double quotes.
///
/// ```
/// use meshspec::render::mermaid::label;
/// assert_eq!(label(&["site home", "MTU 1500"]), "\"site home<br>MTU 1500\"");
/// ```
#[must_use]
pub fn label<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::from("\"");
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        out.push_str(&text(l.as_ref()));
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_but_plain_characters_survives() {
        let hostile = "x\"] --> n9\nclick n0 href \"javascript:alert(1)\"\r%%{init: {}}%%;`~<b>&amp;#quot;\u{2028}é";
        let t = text(hostile);
        assert!(t.chars().all(|c| plain(c) || c == '#' || c == ';'), "{t}");
        // every `#` starts a numeric code and every `;` ends one
        let mut rest = t.as_str();
        while let Some(i) = rest.find('#') {
            let after = &rest[i + 1..];
            let end = after.find(';').unwrap_or(0);
            assert!(
                end > 0 && after[..end].bytes().all(|b| b.is_ascii_digit()),
                "{t}"
            );
            rest = &after[end + 1..];
        }
        assert!(!rest.contains(';'));
        // decoding the codes gives the input back
        let mut decoded = String::new();
        let mut it = t.split('#');
        decoded.push_str(it.next().unwrap_or_default());
        for part in it {
            let (num, tail) = part.split_once(';').unwrap_or_default();
            decoded.push(char::from_u32(num.parse().unwrap_or(0)).unwrap_or('?'));
            decoded.push_str(tail);
        }
        assert_eq!(decoded, hostile);
    }

    #[test]
    fn no_colon_survives_for_the_style_regex() {
        assert!(!text("style: a#b;").contains(':'));
        assert!(!label(&["classDef x fill:#f00;"]).contains(':'));
    }
}
