//! Whether a `config.yaml` value suits a flag's kind (re-exported from [`super::flags`]).
//!
//! k3s turns every top-level key into `--key=value`: scalars are stringified, lists become one
//! argument per item, and nested maps are not supported. This module checks the shape of a
//! value against [`Kind`], then, for the keys whose value k3s parses further at start, that
//! parse: `etcd-snapshot-schedule-cron` must be a schedule robfig/cron's standard parser
//! accepts ([`crate::spec::cron`]). It is the one value checker of every entry point:
//! `validate` (the spec's `server_extra`/`agent_extra` and `k3s.etcd_snapshots.schedule`),
//! `lint` (config files) and `import` (which does not copy a refused value). It does not check
//! other meanings (that a `node-ip` is an IP: rules with their own codes do) and does not
//! resolve which flag a key names.

use serde_json::Value;

use super::flags::{Flag, Kind};

/// A value k3s refuses for its flag: the wrong kind (a list for a scalar, text for a bool), or
/// the right kind but a value k3s cannot parse (a cron schedule with four fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindMismatch {
    /// The flag's long name.
    pub flag: String,
    /// The kind the flag takes.
    pub expected: Kind,
    /// What was found: the YAML type and the value, shortened, e.g. ``string `"yes"` ``.
    pub found: String,
    hint: String,
    /// Why k3s refuses a value of the right kind, e.g. "is not a cron schedule k3s accepts:
    /// ..."; `None` for a kind mismatch.
    meaning: Option<String>,
}

impl std::fmt::Display for KindMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.meaning {
            Some(why) => write!(f, "`{}` {} {why}", self.flag, self.found),
            None => write!(
                f,
                "`{}` takes {}, found {}",
                self.flag,
                kind_phrase(self.expected),
                self.found
            ),
        }
    }
}

impl std::error::Error for KindMismatch {}

impl KindMismatch {
    /// Why k3s refuses a value of the right kind (the cron parse error), without the flag
    /// and value; `None` when the kind itself is wrong.
    #[must_use]
    pub fn meaning(&self) -> Option<&str> {
        self.meaning.as_deref()
    }

    /// How to write the value instead, e.g. "quote nothing: use `true` or `false`".
    #[must_use]
    pub fn hint(&self) -> &str {
        &self.hint
    }
}

/// Whether `value`, written under the flag's key in `config.yaml`, is acceptable for the
/// flag's kind.
///
/// - bool: `true`/`false`, or the strings `"true"`/`"false"` (k3s stringifies anyway); other
///   text (`yes`, `on`, `1`) is refused.
/// - int: a whole number, or a string of digits.
/// - duration: a Go duration (`300ms`, `5m`, `1h30m`, `10m0s`) or `0`; a bare number other
///   than 0 is refused (Go reads it as no unit).
/// - string: any scalar (text, number, bool).
/// - string-slice: a scalar or a list of scalars.
///
/// Null values and nested maps are refused for every kind. Then the value's meaning, for the
/// keys k3s parses further: `etcd-snapshot-schedule-cron` must be a robfig/cron schedule.
///
/// ```
/// use meshspec::k3s::flags::{check_value, table};
/// use serde_json::json;
/// let flag = table().get("cluster-init").unwrap();
/// assert!(check_value(flag, &json!(true)).is_ok());
/// let err = check_value(flag, &json!("yes")).unwrap_err();
/// assert_eq!(err.to_string(), "`cluster-init` takes a bool, found string `\"yes\"`");
/// assert_eq!(err.hint(), "quote nothing: use `true` or `false`");
/// let cron = table().get("etcd-snapshot-schedule-cron").unwrap();
/// assert!(check_value(cron, &json!("0 */6 * * *")).is_ok());
/// assert!(check_value(cron, &json!("0 */6 * *")).is_err());
/// ```
///
/// # Errors
/// A [`KindMismatch`] naming the flag, its kind, what was found and (via
/// [`KindMismatch::hint`]) how to fix it.
pub fn check_value(flag: &Flag, value: &Value) -> Result<(), KindMismatch> {
    let refused = |hint, meaning| KindMismatch {
        flag: flag.name.clone(),
        expected: flag.kind,
        found: describe(value),
        hint,
        meaning,
    };
    if let Some(hint) = refusal(flag.kind, value) {
        return Err(refused(hint, None));
    }
    match meaning(flag, value) {
        None => Ok(()),
        Some((why, hint)) => Err(refused(hint, Some(why))),
    }
}

/// Why a value of the right kind is still refused, and how to fix it: for the keys k3s parses
/// at start, and for the keys a spec field holds, the grammar of that field (so a spec,
/// `lint` and `import` refuse the same values).
fn meaning(flag: &Flag, value: &Value) -> Option<(String, String)> {
    use crate::spec::grammar;
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let field = |check: fn(&str) -> Result<(), (String, String)>, text: &str| check(text).err();
    match flag.name.as_str() {
        // robfig/cron's standard parser (k3s `pkg/etcd/etcd.go`); `k3s.etcd_snapshots.schedule`
        "etcd-snapshot-schedule-cron" => crate::spec::cron::check(&scalar(value)).err().map(|e| {
            (
                format!("is not a cron schedule k3s accepts: {e}"),
                CRON_HELP.to_owned(),
            )
        }),
        // `strconv.ParseInt(mode, 8, 32)` (k3s `pkg/cli/server/server.go`);
        // `k3s.write_kubeconfig_mode`
        "write-kubeconfig-mode" => {
            let text = scalar(value);
            (!crate::spec::is_mode(&text)).then(|| {
                (
                    "is not a file mode".to_owned(),
                    "write octal digits in quotes, e.g. `\"0644\"`".to_owned(),
                )
            })
        }
        // `k3s.server_url`
        "server" => field(grammar::server_url, &scalar(value)),
        // `k3s.token_file`, `k3s.etcd_snapshots.dir`: a relative path would resolve against
        // the service's working directory (`/`)
        "token-file" | "etcd-snapshot-dir" => field(grammar::absolute_path, &scalar(value)),
        // `k3s.disable`: every item a component name (k3s ignores unknown items silently)
        "disable" => crate::lint::merge::items(&flag.name, value)
            .iter()
            .find_map(|item| {
                field(grammar::component, item)
                    .map(|(what, help)| (format!("has the item `{item}`, which {what}"), help))
            }),
        _ => None,
    }
}

/// How to write a schedule robfig/cron's standard parser accepts.
const CRON_HELP: &str = "write five fields (minute hour day-of-month month day-of-week), e.g. `0 */12 * * *`, or a descriptor such as `@daily`";

/// The fix when `value` does not suit `kind`, or `None` when it does.
fn refusal(kind: Kind, value: &Value) -> Option<String> {
    match value {
        Value::Null => return Some("give a value or remove the key".into()),
        Value::Object(_) => {
            return Some(match kind {
                Kind::StringSlice => {
                    "k3s does not read nested maps: write a list: `- key=value`".into()
                }
                _ => "k3s does not read nested maps: write a single value".into(),
            });
        }
        Value::Array(items) => {
            return match kind {
                Kind::StringSlice => items.iter().find_map(|item| match item {
                    Value::Null => Some("remove the empty list item".into()),
                    Value::Array(_) | Value::Object(_) => {
                        Some("write a flat list: one scalar per entry, e.g. `- a`".into())
                    }
                    _ => None,
                }),
                _ => Some("write a single value: only string-slice flags take a list".into()),
            };
        }
        _ => {}
    }
    match kind {
        Kind::String | Kind::StringSlice => None,
        Kind::Bool => match value {
            Value::Bool(_) => None,
            Value::String(s) if s == "true" || s == "false" => None,
            _ => Some("quote nothing: use `true` or `false`".into()),
        },
        Kind::Int => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => None,
            Value::String(s) if is_integer_text(s) => None,
            _ => Some("write a whole number, e.g. `6443`".into()),
        },
        Kind::Duration => match value {
            Value::Number(n) if n.as_f64() == Some(0.0) => None,
            Value::Number(n) => Some(format!("add a unit, e.g. `{n}s` or `{n}m`")),
            Value::String(s) if is_go_duration(s) => None,
            Value::String(s) if is_number_text(s) => Some(format!("add a unit, e.g. `{s}s`")),
            _ => Some("write a Go duration such as `30s`, `5m` or `1h30m`".into()),
        },
    }
}

/// "a bool", "an int", ...
fn kind_phrase(kind: Kind) -> String {
    let article = if kind == Kind::Int { "an" } else { "a" };
    format!("{article} {kind}")
}

/// The YAML type of a value and the value itself, shortened: ``string `"yes"` ``.
fn describe(value: &Value) -> String {
    let type_name = match value {
        Value::Null => return "null".into(),
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    };
    format!("{type_name} `{}`", shorten(value))
}

/// A value as compact JSON, cut to at most 40 characters.
fn shorten(value: &Value) -> String {
    const MAX: usize = 40;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        text
    } else {
        let mut cut: String = text.chars().take(MAX - 1).collect();
        cut.push('…');
        cut
    }
}

/// An optionally signed run of ASCII digits.
fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An optionally signed decimal number such as `300` or `1.5`.
fn is_number_text(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Whether Go's `time.ParseDuration` accepts `s`: an optional sign, then `0` or one or more
/// decimal numbers each followed by a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`).
fn is_go_duration(s: &str) -> bool {
    let mut rest = s.strip_prefix(['-', '+']).unwrap_or(s);
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        rest = &rest[int_len..];
        let mut frac_len = 0;
        if let Some(after_dot) = rest.strip_prefix('.') {
            frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            rest = &after_dot[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        let unit_len = rest
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let (unit, tail) = rest.split_at(unit_len);
        if !matches!(unit, "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return false;
        }
        rest = tail;
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::k3s::flags::table;

    fn check(flag: &str, value: Value) -> Result<(), KindMismatch> {
        check_value(table().get(flag).unwrap(), &value)
    }

    #[test]
    fn accepted_values() {
        let cases = [
            ("cluster-init", json!(true)),
            ("cluster-init", json!(false)),
            ("cluster-init", json!("true")),
            ("cluster-init", json!("false")),
            ("https-listen-port", json!(6443)),
            ("https-listen-port", json!("6443")),
            ("v", json!(-1)),
            ("etcd-s3-timeout", json!("5m")),
            ("etcd-s3-timeout", json!("300ms")),
            ("etcd-s3-timeout", json!("1h30m")),
            ("etcd-s3-timeout", json!("10m0s")),
            ("etcd-s3-timeout", json!("1.5h")),
            ("etcd-s3-timeout", json!("2µs")),
            ("etcd-s3-timeout", json!("0")),
            ("etcd-s3-timeout", json!(0)),
            ("flannel-backend", json!("vxlan")),
            ("write-kubeconfig-mode", json!("0644")),
            ("write-kubeconfig-mode", json!(644)),
            ("server", json!("https://100.64.0.1:6443")),
            ("token-file", json!("/etc/rancher/k3s/token")),
            ("etcd-snapshot-schedule-cron", json!("0 */12 * * *")),
            ("etcd-snapshot-schedule-cron", json!("@every 6h")),
            ("disable", json!("traefik,servicelb")),
            ("node-ip", json!("100.64.0.1")),
            ("node-ip", json!(["100.64.0.1", "fd7a:115c:a1e0::1"])),
            ("node-label", json!(["gpu=true", "site=home"])),
            ("node-label+", json!("gpu=true")),
            ("disable", json!(["traefik", "servicelb"])),
            ("tls-san", json!([])),
            ("kubelet-arg", json!(["max-pods=200", 5, true])),
        ];
        for (flag, value) in cases {
            assert_eq!(check(flag, value.clone()), Ok(()), "{flag}: {value}");
        }
    }

    #[test]
    fn values_of_the_right_kind_that_k3s_or_the_spec_refuse() {
        let cases = [
            (
                "etcd-snapshot-schedule-cron",
                json!("0 */6 * *"),
                "cron schedule",
            ),
            ("write-kubeconfig-mode", json!("rw-r--r--"), "file mode"),
            ("write-kubeconfig-mode", json!(999), "file mode"),
            ("server", json!("100.64.0.1:6443"), "URL"),
            ("token-file", json!("token"), "absolute path"),
            ("etcd-snapshot-dir", json!(true), "absolute path"),
            (
                "disable",
                json!(["traefik", "metrics server"]),
                "`metrics server`",
            ),
        ];
        for (flag, value, says) in cases {
            let err = check(flag, value.clone()).unwrap_err();
            assert!(
                err.meaning().is_some_and(|m| m.contains(says)),
                "{flag}: {value}: {err}"
            );
            assert!(err.to_string().starts_with(&format!("`{flag}` ")), "{err}");
        }
    }

    #[test]
    fn refused_values() {
        let cases = [
            (
                "cluster-init",
                json!("yes"),
                "quote nothing: use `true` or `false`",
            ),
            (
                "cluster-init",
                json!("on"),
                "quote nothing: use `true` or `false`",
            ),
            (
                "cluster-init",
                json!("1"),
                "quote nothing: use `true` or `false`",
            ),
            (
                "cluster-init",
                json!(1),
                "quote nothing: use `true` or `false`",
            ),
            (
                "cluster-init",
                json!("True"),
                "quote nothing: use `true` or `false`",
            ),
            (
                "cluster-init",
                json!([true]),
                "write a single value: only string-slice flags take a list",
            ),
            (
                "https-listen-port",
                json!("64x3"),
                "write a whole number, e.g. `6443`",
            ),
            (
                "https-listen-port",
                json!(6443.5),
                "write a whole number, e.g. `6443`",
            ),
            (
                "https-listen-port",
                json!(true),
                "write a whole number, e.g. `6443`",
            ),
            (
                "etcd-s3-timeout",
                json!(300),
                "add a unit, e.g. `300s` or `300m`",
            ),
            ("etcd-s3-timeout", json!("300"), "add a unit, e.g. `300s`"),
            (
                "etcd-s3-timeout",
                json!("5 minutes"),
                "write a Go duration such as `30s`, `5m` or `1h30m`",
            ),
            (
                "etcd-s3-timeout",
                json!("5d"),
                "write a Go duration such as `30s`, `5m` or `1h30m`",
            ),
            (
                "etcd-s3-timeout",
                json!(""),
                "write a Go duration such as `30s`, `5m` or `1h30m`",
            ),
            (
                "flannel-backend",
                json!(["vxlan"]),
                "write a single value: only string-slice flags take a list",
            ),
            (
                "flannel-backend",
                json!({"type": "vxlan"}),
                "k3s does not read nested maps: write a single value",
            ),
            (
                "node-label",
                json!({"gpu": "true"}),
                "k3s does not read nested maps: write a list: `- key=value`",
            ),
            (
                "node-label",
                json!([{"gpu": "true"}]),
                "write a flat list: one scalar per entry, e.g. `- a`",
            ),
            (
                "tls-san",
                json!([["a", "b"]]),
                "write a flat list: one scalar per entry, e.g. `- a`",
            ),
            ("tls-san", json!(["a", null]), "remove the empty list item"),
            ("node-name", Value::Null, "give a value or remove the key"),
        ];
        for (flag, value, hint) in cases {
            let err = check(flag, value.clone()).unwrap_err();
            assert_eq!(err.hint(), hint, "{flag}: {value}");
            assert_eq!(err.flag, flag.trim_end_matches('+'));
        }
    }

    #[test]
    fn messages() {
        let err = check("https-listen-port", json!("64x3")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`https-listen-port` takes an int, found string `\"64x3\"`"
        );
        let err = check("flannel-backend", json!(["vxlan"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`flannel-backend` takes a string, found list `[\"vxlan\"]`"
        );
        let err = check("etcd-s3-timeout", json!(300)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`etcd-s3-timeout` takes a duration, found number `300`"
        );
        let err = check("node-name", Value::Null).unwrap_err();
        assert_eq!(err.to_string(), "`node-name` takes a string, found null");
        let long = json!(["a-rather-long-label=value", "another-long-label=value"]);
        let err = check("flannel-iface", long).unwrap_err();
        assert_eq!(
            err.found,
            "list `[\"a-rather-long-label=value\",\"another-l…`"
        );
    }

    #[test]
    fn go_durations() {
        for ok in [
            "0",
            "-0",
            "+0",
            "1s",
            "-1.5h",
            ".5s",
            "1.s",
            "1h2m3s4ms5us6ns",
            "3μs",
        ] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "s", ".s", "1x", "1hh", "-", "1s2", "1 s", "1S"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
