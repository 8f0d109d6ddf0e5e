//! `meshspec explain CODE` and `meshspec explain --list`: the rule catalogue.

use std::fmt::Write as _;

use meshspec::Code;

use crate::args::{ExplainArgs, Format};
use crate::error::{CliError, EXIT_OK};
use crate::output::{Output, emit};

/// Runs `explain`: prints a rule page, or the list of codes.
///
/// # Errors
/// [`CliError::Usage`] naming the nearest codes when `CODE` is unknown.
pub fn run(args: &ExplainArgs, out: &Output) -> Result<u8, CliError> {
    let json = args.format == Format::Json;
    if args.list {
        if json {
            let codes: Vec<serde_json::Value> = Code::ALL.iter().map(|c| fields(*c)).collect();
            emit(&pretty(&serde_json::json!({ "codes": codes })));
        } else {
            emit(&list(out));
        }
        return Ok(EXIT_OK);
    }
    let wanted = args.code.as_deref().unwrap_or_default().trim();
    match Code::lookup(wanted) {
        Some(code) if json => {
            let mut doc = fields(code);
            doc["page"] = serde_json::json!(code.page());
            emit(&pretty(&doc));
            Ok(EXIT_OK)
        }
        Some(code) => {
            let page = code.page();
            let mut page = style_page(page, out);
            if !page.ends_with('\n') {
                page.push('\n');
            }
            emit(&page);
            Ok(EXIT_OK)
        }
        None => Err(CliError::Usage {
            message: unknown(wanted),
        }),
    }
}

/// A code's fields for `--format json`: code, slug, severity, summary.
fn fields(c: Code) -> serde_json::Value {
    serde_json::json!({
        "code": c.as_str(),
        "slug": c.slug(),
        "severity": c.default_severity().as_str(),
        "summary": c.summary(),
    })
}

fn pretty(doc: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The code table: code, slug, severity, summary; one per line.
fn list(out: &Output) -> String {
    let width = Code::ALL.iter().map(|c| c.slug().len()).max().unwrap_or(0);
    let mut text = String::new();
    for c in Code::ALL {
        let sev = c.default_severity().as_str();
        let sev_styled = match sev {
            "error" => out.stdout.error(&format!("{sev:<7}")),
            "warning" => out.stdout.warning(&format!("{sev:<7}")),
            _ => out.stdout.note(&format!("{sev:<7}")),
        };
        let _ = writeln!(
            text,
            "{}  {:<width$}  {sev_styled}  {}",
            out.stdout.bold(c.as_str()),
            c.slug(),
            c.summary()
        );
    }
    text
}

/// Bold headings when colouring.
fn style_page(page: &str, out: &Output) -> String {
    if !out.stdout.enabled {
        return page.to_owned();
    }
    let mut text = String::new();
    for line in page.lines() {
        if line.starts_with('#') {
            text.push_str(&out.stdout.bold(line));
        } else {
            text.push_str(line);
        }
        text.push('\n');
    }
    text
}

/// The message for an unknown code: what was asked, the nearest codes, and how to list all.
fn unknown(wanted: &str) -> String {
    let mut msg = format!("`{wanted}` is not a meshspec rule code or slug");
    let near = nearest(wanted, 3);
    if !near.is_empty() {
        msg.push_str("\n  = help: nearest codes:");
        for c in near {
            let _ = write!(
                msg,
                "\n          {}  {}  {}",
                c.as_str(),
                c.slug(),
                c.summary()
            );
        }
    }
    msg.push_str("\n  = help: `meshspec explain --list` lists every code");
    msg
}

/// The `n` codes nearest to `wanted`: by number for `MSnnn`-like input, else by slug spelling.
fn nearest(wanted: &str, n: usize) -> Vec<Code> {
    let digits: String = wanted.chars().filter(char::is_ascii_digit).collect();
    let mut scored: Vec<(usize, Code)> = if let Ok(num) = digits.parse::<u32>()
        && digits.len() == wanted.trim_start_matches(['M', 'S', 'm', 's']).len()
    {
        Code::ALL
            .iter()
            .map(|c| (num.abs_diff(u32::from(c.number())) as usize, *c))
            .collect()
    } else {
        let w = wanted.to_ascii_lowercase().replace('_', "-");
        Code::ALL
            .iter()
            .map(|c| {
                let slug = c.slug();
                let d = meshspec::suggest::distance(&w, slug);
                // Partial words ("overlap") should find the slugs that contain them.
                let d = if !w.is_empty() && slug.contains(&w) {
                    d.min(slug.len() - w.len()).min(1)
                } else {
                    d
                };
                (d, *c)
            })
            .filter(|(d, c)| *d <= c.slug().len().max(w.len()) / 2)
            .collect()
    };
    scored.sort_by_key(|(d, c)| (*d, c.number()));
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_by_number_and_by_slug() {
        assert_eq!(nearest("MS100", 1), vec![Code::PodServiceOverlap]);
        assert_eq!(nearest("ms102", 3)[0], Code::CidrMeshOverlap);
        assert_eq!(
            nearest("pod-service-overlp", 1),
            vec![Code::PodServiceOverlap]
        );
        assert!(nearest("zzzzzzzzzzzzzzzzzzzzzzz", 3).is_empty());
    }

    #[test]
    fn unknown_message_lists_codes() {
        let m = unknown("MS100");
        assert!(m.starts_with("`MS100` is not a meshspec rule code"));
        assert!(m.contains("MS101  pod-service-overlap"));
        assert!(m.contains("explain --list"));
    }
}
