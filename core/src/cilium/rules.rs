//! The Cilium chart's and agent's own refusals, reproduced over a Helm values tree.
//!
//! Helm's schema check ([`super::schema`]) only sees types. Past it, the chart's templates
//! `fail` the render on some values, and the agent exits on some combinations. These
//! functions state those facts so the rules (MS701, MS702) can report them before an install.
//!
//! This module builds no diagnostics, decides no severity, and knows nothing about the
//! spec or the mesh: whether native routing across sites is wrong (MS702's second half) is
//! the rule's business. It does not render templates; only the checks listed here exist.

use serde::Serialize;
use serde_json::Value;

use super::ChartLine;

/// The message the chart's `templates/validate.yaml` fails with when `tunnel` is set
/// (charts 1.15 through 1.20.0).
pub const TUNNEL_REMOVED_MESSAGE: &str =
    "tunnel was deprecated in v1.14 and has been removed in v1.15";

/// A key set in the values that the chart line no longer has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedKey {
    /// The Helm path, e.g. `tunnel` or `encryption.strictMode.cidr`.
    pub path: String,
    /// The chart line the key vanished in, e.g. `"1.15"`.
    pub removed_in: &'static str,
    /// What to write instead, when the vendored data shows a successor.
    pub replacement: Option<&'static str>,
    /// The chart's own render failure for this key and value, when it has one. `None` means
    /// the key merely vanished from `values.yaml` and its schema: Helm accepts it, the
    /// vendored data records no failure, and the setting most likely does nothing.
    pub chart_failure: Option<&'static str>,
}

/// One removal, as recorded.
struct Removal {
    path: &'static str,
    /// The minor version of the first chart line without the key.
    removed_in_minor: u32,
    removed_in: &'static str,
    replacement: Option<&'static str>,
}

/// Keys removed from the chart. `tunnel` comes from `defaults.json`'s `tunnel_key_history`;
/// the rest from comparing the property trees of the vendored 1.18.12, 1.19.6 and 1.20.0
/// schemas (a successor is given only where the newer schema shows it beside the old key).
const REMOVALS: &[Removal] = &[
    Removal {
        path: "tunnel",
        removed_in_minor: 15,
        removed_in: "1.15",
        replacement: None, // depends on the value; see `tunnel_replacement`
    },
    // Gone in 1.19.
    Removal {
        path: "customCalls",
        removed_in_minor: 19,
        removed_in: "1.19",
        replacement: None,
    },
    Removal {
        path: "svcSourceRangeCheck",
        removed_in_minor: 19,
        removed_in: "1.19",
        replacement: None,
    },
    Removal {
        path: "nodePort.enabled",
        removed_in_minor: 19,
        removed_in: "1.19",
        replacement: None,
    },
    Removal {
        path: "l2podAnnouncements.interface",
        removed_in_minor: 19,
        removed_in: "1.19",
        replacement: Some("`l2podAnnouncements.interfacePattern`"),
    },
    Removal {
        path: "clustermesh.apiserver.tls.client",
        removed_in_minor: 19,
        removed_in: "1.19",
        replacement: None,
    },
    // Gone in 1.20.
    Removal {
        path: "clustermesh.apiserver.tls.admin",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "clustermesh.apiserver.tls.enableSecrets",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "clustermesh.apiserver.tls.remote",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "clustermesh.apiserver.tls.server",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "clustermesh.enableMCSAPISupport",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: Some("`clustermesh.mcsapi.enabled`"),
    },
    Removal {
        path: "encryption.ipsec.encryptedOverlay",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "encryption.strictMode.enabled",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: Some("`encryption.strictMode.egress.enabled`"),
    },
    Removal {
        path: "encryption.strictMode.cidr",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: Some("`encryption.strictMode.egress.cidr`"),
    },
    Removal {
        path: "encryption.strictMode.allowRemoteNodeIdentities",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: Some("`encryption.strictMode.egress.allowRemoteNodeIdentities`"),
    },
    Removal {
        path: "hubble.redact.kafka",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "hubble.ui.backend.livenessProbe",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "hubble.ui.backend.readinessProbe",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
    Removal {
        path: "preflight.tofqdnsPreCache",
        removed_in_minor: 20,
        removed_in: "1.20",
        replacement: None,
    },
];

/// The keys set in `values` that `line` no longer has, in the order of the table above
/// (`tunnel` first). A key counts as set when present and not null.
///
/// Only `tunnel` makes the chart fail ([`TUNNEL_REMOVED_MESSAGE`], when its value is
/// non-empty); for the other keys the vendored data records no failure, so they are most
/// likely ignored.
///
/// ```
/// use meshspec::cilium::{rules::removed_keys, ChartLine};
/// use serde_json::json;
/// let found = removed_keys(ChartLine::V1_20, &json!({"tunnel": "vxlan"}));
/// assert_eq!(found[0].path, "tunnel");
/// assert_eq!(found[0].removed_in, "1.15");
/// assert_eq!(
///     found[0].replacement,
///     Some("`routingMode: tunnel` with `tunnelProtocol: vxlan`")
/// );
/// assert!(found[0].chart_failure.is_some());
/// ```
#[must_use]
pub fn removed_keys(line: ChartLine, values: &Value) -> Vec<RemovedKey> {
    REMOVALS
        .iter()
        .filter(|r| line.minor() >= r.removed_in_minor)
        .filter_map(|r| {
            let value = lookup(values, r.path).filter(|v| !v.is_null())?;
            let tunnel = r.path == "tunnel";
            Some(RemovedKey {
                path: r.path.to_owned(),
                removed_in: r.removed_in,
                replacement: if tunnel {
                    Some(tunnel_replacement(value))
                } else {
                    r.replacement
                },
                chart_failure: (tunnel && helm_truthy(value)).then_some(TUNNEL_REMOVED_MESSAGE),
            })
        })
        .collect()
}

/// What replaces `tunnel: <value>` (notes/cilium.md §4).
fn tunnel_replacement(value: &Value) -> &'static str {
    match value.as_str() {
        Some("disabled") => "`routingMode: native` with `ipv4NativeRoutingCIDR`",
        Some("geneve") => "`routingMode: tunnel` with `tunnelProtocol: geneve`",
        Some("vxlan") => "`routingMode: tunnel` with `tunnelProtocol: vxlan`",
        _ => {
            "`routingMode: tunnel` with `tunnelProtocol: vxlan` or `geneve`, or `routingMode: native`"
        }
    }
}

/// The value at a plain dotted path (no escapes, no indices).
fn lookup<'v>(values: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(values, |node, key| node.get(key))
}

/// Go template truth: false, 0, null and empty strings, lists and maps are false.
fn helm_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Whether the chart renders with this `kubeProxyReplacement`: from 1.16 it fails unless the
/// value is `true` or `false`, as a bool or a string. The old `disabled`, `partial` and
/// `strict` are refused. An unset value renders as `"false"` and needs no check.
///
/// ```
/// use meshspec::cilium::rules::kube_proxy_replacement_valid;
/// use serde_json::json;
/// assert!(kube_proxy_replacement_valid(&json!(true)));
/// assert!(kube_proxy_replacement_valid(&json!("false")));
/// assert!(!kube_proxy_replacement_valid(&json!("strict")));
/// ```
#[must_use]
pub fn kube_proxy_replacement_valid(v: &Value) -> bool {
    matches!(v, Value::Bool(_)) || matches!(v.as_str(), Some("true" | "false"))
}

/// How Cilium routes pod traffic between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingMode {
    /// Encapsulated (VXLAN or Geneve) between node IPs.
    Tunnel,
    /// Routed by the network, pod CIDRs must be routable (`ipv4NativeRoutingCIDR`).
    Native,
}

impl RoutingMode {
    /// The value as written in Helm values.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingMode::Tunnel => "tunnel",
            RoutingMode::Native => "native",
        }
    }
}

/// The routing mode the chart renders for these values: `routingMode` when it names one;
/// when it is unset, null or empty, `native` if `gke.enabled` or `eni.enabled`, else
/// `tunnel`. `None` for a `routingMode` that is neither `tunnel` nor `native` (the agent
/// refuses it).
///
/// The recorded data says the `eni.enabled` fallback exists "only from 1.19"; this function
/// applies it to every line, which only matters for AWS ENI installs.
#[must_use]
pub fn effective_routing_mode(values: &Value) -> Option<RoutingMode> {
    match values.get("routingMode") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) if s == "tunnel" => return Some(RoutingMode::Tunnel),
        Some(Value::String(s)) if s == "native" => return Some(RoutingMode::Native),
        Some(_) => return None,
    }
    let enabled = |key: &str| lookup(values, key).is_some_and(helm_truthy);
    if enabled("gke.enabled") || enabled("eni.enabled") {
        Some(RoutingMode::Native)
    } else {
        Some(RoutingMode::Tunnel)
    }
}

/// Whether `autoDirectNodeRoutes` is on while the routing mode is tunnel (set, or unset and
/// defaulting to it): the agent exits with "auto-direct-node-routes cannot be used with
/// tunneling".
///
/// `autoDirectNodeRoutes` may be a bool or a string (the schema allows both); strings count
/// as on the way Go's `strconv.ParseBool` reads them (`true`, `True`, `TRUE`, `t`, `T`, `1`).
///
/// ```
/// use meshspec::cilium::rules::auto_direct_routes_with_tunnel;
/// use serde_json::json;
/// assert!(auto_direct_routes_with_tunnel(&json!({"autoDirectNodeRoutes": true})));
/// assert!(!auto_direct_routes_with_tunnel(
///     &json!({"autoDirectNodeRoutes": true, "routingMode": "native"})
/// ));
/// ```
#[must_use]
pub fn auto_direct_routes_with_tunnel(values: &Value) -> bool {
    let on = match values.get("autoDirectNodeRoutes") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "True" | "TRUE" | "t" | "T" | "1"),
        _ => false,
    };
    on && effective_routing_mode(values) == Some(RoutingMode::Tunnel)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::cilium::schema::{known_path, schema};

    #[test]
    fn tunnel_is_removed_on_every_line() {
        for &line in ChartLine::SUPPORTED {
            for (value, replacement) in [
                (
                    "vxlan",
                    "`routingMode: tunnel` with `tunnelProtocol: vxlan`",
                ),
                (
                    "geneve",
                    "`routingMode: tunnel` with `tunnelProtocol: geneve`",
                ),
                (
                    "disabled",
                    "`routingMode: native` with `ipv4NativeRoutingCIDR`",
                ),
            ] {
                let found = removed_keys(line, &json!({"tunnel": value, "MTU": 1280}));
                assert_eq!(
                    found,
                    [RemovedKey {
                        path: "tunnel".into(),
                        removed_in: "1.15",
                        replacement: Some(replacement),
                        chart_failure: Some(TUNNEL_REMOVED_MESSAGE),
                    }],
                    "{line} {value}"
                );
            }
            // An empty tunnel does not fail the chart, but is still a removed key.
            let found = removed_keys(line, &json!({"tunnel": ""}));
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].chart_failure, None);
            assert_eq!(removed_keys(line, &json!({"tunnel": null})), []);
            assert_eq!(removed_keys(line, &json!({"routingMode": "tunnel"})), []);
        }
    }

    #[test]
    fn keys_removed_later_only_count_on_later_lines() {
        let values = json!({
            "customCalls": {"enabled": true},
            "encryption": {"strictMode": {"cidr": "10.0.0.0/8"}},
        });
        let paths = |line| -> Vec<String> {
            removed_keys(line, &values)
                .into_iter()
                .map(|r| r.path)
                .collect()
        };
        assert_eq!(paths(ChartLine::V1_18), Vec::<String>::new());
        assert_eq!(paths(ChartLine::V1_19), ["customCalls"]);
        assert_eq!(
            paths(ChartLine::V1_20),
            ["customCalls", "encryption.strictMode.cidr"]
        );
        let strict = &removed_keys(ChartLine::V1_20, &values)[1];
        assert_eq!(
            strict.replacement,
            Some("`encryption.strictMode.egress.cidr`")
        );
        assert_eq!(strict.chart_failure, None);
    }

    /// The table agrees with the schemas: each key exists on the line before its removal
    /// and not on the lines from it on, and each successor exists where the key is gone.
    #[test]
    fn removals_agree_with_the_schemas() {
        for r in REMOVALS.iter().filter(|r| r.path != "tunnel") {
            for &line in ChartLine::SUPPORTED {
                let removed = line.minor() >= r.removed_in_minor;
                if line.minor() + 1 == r.removed_in_minor {
                    assert!(known_path(line, r.path), "{} on {line}", r.path);
                }
                if removed {
                    assert!(!known_path(line, r.path), "{} on {line}", r.path);
                    if let Some(successor) = r.replacement {
                        assert!(known_path(line, successor.trim_matches('`')), "{successor}");
                    }
                }
            }
            assert_eq!(r.removed_in, format!("1.{}", r.removed_in_minor));
        }
        for &line in ChartLine::SUPPORTED {
            assert!(!known_path(line, "tunnel"));
        }
    }

    /// Every top-level key that vanished between the vendored schemas is in the table.
    #[test]
    fn top_level_removals_are_complete() {
        let top = |line| -> BTreeSet<String> {
            schema(line)["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        for pair in ChartLine::SUPPORTED.windows(2) {
            let (old, new) = (top(pair[0]), top(pair[1]));
            for gone in old.difference(&new) {
                assert!(
                    REMOVALS
                        .iter()
                        .any(|r| r.path == gone && r.removed_in_minor == pair[1].minor()),
                    "{gone} vanished in {}",
                    pair[1]
                );
            }
        }
    }

    #[test]
    fn kube_proxy_replacement_values() {
        for ok in [json!(true), json!(false), json!("true"), json!("false")] {
            assert!(kube_proxy_replacement_valid(&ok), "{ok}");
        }
        for bad in [
            json!("strict"),
            json!("partial"),
            json!("disabled"),
            json!("True"),
            json!(""),
            json!(1),
            Value::Null,
        ] {
            assert!(!kube_proxy_replacement_valid(&bad), "{bad}");
        }
    }

    #[test]
    fn routing_modes() {
        let mode = |v: Value| effective_routing_mode(&v);
        assert_eq!(mode(json!({})), Some(RoutingMode::Tunnel));
        assert_eq!(mode(json!({"routingMode": ""})), Some(RoutingMode::Tunnel));
        assert_eq!(
            mode(json!({"routingMode": null})),
            Some(RoutingMode::Tunnel)
        );
        assert_eq!(
            mode(json!({"routingMode": "native"})),
            Some(RoutingMode::Native)
        );
        assert_eq!(
            mode(json!({"gke": {"enabled": true}})),
            Some(RoutingMode::Native)
        );
        assert_eq!(
            mode(json!({"eni": {"enabled": true}})),
            Some(RoutingMode::Native)
        );
        assert_eq!(
            mode(json!({"routingMode": "tunnel", "eni": {"enabled": true}})),
            Some(RoutingMode::Tunnel)
        );
        assert_eq!(mode(json!({"routingMode": "vxlan"})), None);
        assert_eq!(mode(json!({"routingMode": true})), None);
    }

    #[test]
    fn auto_direct_routes() {
        let clash = |v: Value| auto_direct_routes_with_tunnel(&v);
        assert!(clash(json!({"autoDirectNodeRoutes": true})));
        assert!(clash(
            json!({"autoDirectNodeRoutes": "true", "routingMode": "tunnel"})
        ));
        assert!(clash(
            json!({"autoDirectNodeRoutes": true, "routingMode": ""})
        ));
        assert!(!clash(
            json!({"autoDirectNodeRoutes": false, "routingMode": "tunnel"})
        ));
        assert!(!clash(json!({"autoDirectNodeRoutes": "false"})));
        assert!(!clash(
            json!({"autoDirectNodeRoutes": true, "routingMode": "native"})
        ));
        assert!(!clash(json!({"routingMode": "tunnel"})));
        assert!(!clash(json!({
            "autoDirectNodeRoutes": true,
            "gke": {"enabled": true}
        })));
    }
}
