//! Writing YAML by hand where key order matters (k3s configs), with scalars quoted by the
//! YAML library so `no`, `on`, `0644` or `*` never change meaning.

use serde_json::Value;

/// A scalar as YAML (quoted when plain text would be read as something else).
#[must_use]
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let out = serde_saphyr::to_string(s).unwrap_or_else(|_| format!("{s:?}"));
            let t = out.trim_end_matches('\n');
            if t.contains('\n') {
                format!("{s:?}")
            } else {
                t.to_owned()
            }
        }
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// `key: value`, or `key:` followed by an indented list or mapping.
#[must_use]
pub fn entry(key: &str, value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let k = scalar(&Value::String(key.to_owned()));
    match value {
        Value::Array(items) if !items.is_empty() => {
            let mut s = format!("{pad}{k}:\n");
            for it in items {
                match it {
                    Value::Object(_) | Value::Array(_) => {
                        s.push_str(&format!("{pad}  - {}\n", scalar(it)));
                    }
                    _ => s.push_str(&format!("{pad}  - {}\n", scalar(it))),
                }
            }
            s
        }
        Value::Object(m) if !m.is_empty() => {
            let mut s = format!("{pad}{k}:\n");
            for (ck, cv) in m {
                s.push_str(&entry(ck, cv, indent + 2));
            }
            s
        }
        Value::Array(_) => format!("{pad}{k}: []\n"),
        Value::Object(_) => format!("{pad}{k}: {{}}\n"),
        _ => format!("{pad}{k}: {}\n", scalar(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn risky_scalars_are_quoted() {
        for s in [
            "no",
            "on",
            "yes",
            "0644",
            "644",
            "true",
            "null",
            "*",
            "0 */12 * * *",
            "a: b",
            "#x",
            "",
        ] {
            let y = scalar(&json!(s));
            let back: String = serde_saphyr::from_str(&y).unwrap();
            assert_eq!(back, s, "{y}");
        }
    }

    #[test]
    fn lists_and_maps() {
        assert_eq!(
            entry("tls-san", &json!(["a", "b"]), 0),
            "tls-san:\n  - a\n  - b\n"
        );
        assert_eq!(
            entry("x", &json!({"mode": 1, "y": 2}), 0),
            "x:\n  mode: 1\n  \"y\": 2\n"
        );
        assert_eq!(
            entry("cluster-init", &json!(true), 0),
            "cluster-init: true\n"
        );
    }
}
