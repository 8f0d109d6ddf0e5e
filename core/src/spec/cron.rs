//! The cron syntax k3s accepts for `etcd-snapshot-schedule-cron` (`k3s.etcd_snapshots.schedule`).
//!
//! k3s schedules snapshots with `github.com/robfig/cron/v3`, created with `cron.New()` and
//! fed the value through `AddFunc` (k3s `pkg/etcd/etcd.go`, `setSnapshotFunction`). `cron.New()`
//! uses robfig's standard parser: exactly five fields (minute, hour, day of month, month, day
//! of week), each a comma-separated list of `*`, `?`, `N`, `N-M`, optionally `/step`, with
//! month names `jan`–`dec` and weekday names `sun`–`sat`; or a descriptor (`@yearly`,
//! `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, `@every <duration>`);
//! optionally prefixed by `TZ=<zone> ` or `CRON_TZ=<zone> `. A value k3s's parser refuses
//! makes the snapshot schedule fail at server start. The Rust cron crates implement other
//! dialects (seconds fields, Quartz `L`/`W`/`#`), so this module mirrors robfig's grammar
//! instead. It only checks syntax; it does not compute run times.

/// Why a schedule is not one robfig/cron's standard parser accepts.
pub type CronError = String;

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    Field {
        name: "day of week",
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Checks a schedule.
///
/// ```
/// use meshspec::spec::cron::check;
/// assert!(check("0 */12 * * *").is_ok());
/// assert!(check("@every 6h30m").is_ok());
/// assert!(check("CRON_TZ=Europe/Berlin 30 2 * * mon-fri").is_ok());
/// assert!(check("not a cron").is_err());
/// assert!(check("0 0 */12 * * *").is_err()); // six fields: robfig's standard parser has no seconds
/// ```
///
/// # Errors
/// What is wrong, in words.
pub fn check(schedule: &str) -> Result<(), CronError> {
    let mut spec = schedule.trim();
    if spec.is_empty() {
        return Err("it is empty".to_owned());
    }
    for prefix in ["TZ=", "CRON_TZ="] {
        if let Some(rest) = spec.strip_prefix(prefix) {
            let (zone, after) = rest
                .split_once([' ', '\t'])
                .ok_or("the time zone is not followed by a schedule")?;
            let zone_ok = !zone.is_empty()
                && zone
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
            if !zone_ok {
                return Err(format!("`{zone}` is not a time zone name"));
            }
            spec = after.trim_start();
        }
    }
    if let Some(rest) = spec.strip_prefix("@every") {
        let d = rest.trim();
        return if rest.starts_with([' ', '\t']) && go_duration(d) {
            Ok(())
        } else {
            Err("`@every` takes a duration such as `6h` or `1h30m`".to_owned())
        };
    }
    if spec.starts_with('@') {
        return if DESCRIPTORS.contains(&spec) {
            Ok(())
        } else {
            Err(format!(
                "`{spec}` is not a descriptor; use one of {}",
                DESCRIPTORS.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "it has {} fields; k3s's cron parser takes exactly 5 (minute hour day-of-month month day-of-week)",
            fields.len()
        ));
    }
    for (text, field) in fields.iter().zip(FIELDS.iter()) {
        for part in text.split(',') {
            range(part, field).map_err(|e| format!("{} field `{text}`: {e}", field.name))?;
        }
    }
    Ok(())
}

fn range(part: &str, f: &Field) -> Result<(), String> {
    let (span, step) = match part.split_once('/') {
        Some((span, step)) => (span, Some(step)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(s) if s > 0 => {}
            _ => return Err(format!("step `{step}` is not a positive number")),
        }
    }
    if span == "*" || span == "?" {
        return Ok(());
    }
    let (lo, hi) = match span.split_once('-') {
        Some((lo, hi)) => (value(lo, f)?, value(hi, f)?),
        None => {
            let v = value(span, f)?;
            (v, v)
        }
    };
    if lo > hi {
        return Err(format!("`{span}` runs backwards"));
    }
    Ok(())
}

fn value(text: &str, f: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = f.names.iter().position(|n| *n == lower) {
        let i = u32::try_from(i).unwrap_or(0);
        return Ok(f.min + i);
    }
    match text.parse::<u32>() {
        Ok(v) if text.bytes().all(|b| b.is_ascii_digit()) && (f.min..=f.max).contains(&v) => Ok(v),
        Ok(v) if text.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("{v} is outside {}-{}", f.min, f.max))
        }
        _ => Err(format!("`{text}` is not a number")),
    }
}

/// Go's `time.ParseDuration` syntax: one or more `<number><unit>`, units ns, us, µs, ms, s, m, h.
fn go_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num == 0 || rest[..num].matches('.').count() > 1 {
            return false;
        }
        rest = &rest[num..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(*u) && !(**u == "m" && rest.starts_with("ms")));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robfig_standard_grammar() {
        for ok in [
            "0 */12 * * *",
            "*/5 * * * *",
            "0 0 1,15 * *",
            "0 3 * jan-mar SUN",
            "5/15 0-23/2 ? * 1-5",
            "@daily",
            "@every 90s",
            "TZ=UTC 0 0 * * *",
        ] {
            assert!(check(ok).is_ok(), "{ok}: {:?}", check(ok));
        }
        for bad in [
            "",
            "not a cron",
            "0 */12 * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "*/0 * * * *",
            "5-1 * * * *",
            "@fortnightly",
            "@every",
            "@every soon",
            "0 0 L * *",
            "0 0 * * 1#2",
            "0 0 * * *\nfoo: bar",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
    }
}
