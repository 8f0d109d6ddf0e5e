//! A Cilium values file given to `lint` with its chart line: the chart's schema, removed
//! keys, the chart's own fail rules and the MTU double subtraction.

use std::str::FromStr;

use serde_json::Value;

use super::merge::ConfigFile;
use super::report::Finding;
use crate::cilium::{ChartLine, rules as chart, schema};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::yaml::{self, Node, Pos};

/// A values file and the chart line (`1.19`) it is written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiliumValues {
    /// The file's name and text.
    pub file: ConfigFile,
    /// The chart line, e.g. `1.19`.
    pub version: String,
}

impl CiliumValues {
    fn tree(&self) -> Option<Node> {
        yaml::parse(&self.file.text).ok()
    }

    /// Whether the values replace kube-proxy (`kubeProxyReplacement: true`).
    #[must_use]
    pub fn kube_proxy_replacement(&self) -> bool {
        self.tree()
            .map(|t| t.to_json())
            .and_then(|v| v.get("kubeProxyReplacement").cloned())
            .is_some_and(|v| v == Value::Bool(true) || v.as_str() == Some("true"))
    }
}

/// The position of a dotted Helm path's deepest key found in the tree.
fn position(tree: &Node, path: &str) -> Option<Pos> {
    let mut node = tree;
    let mut found = tree.pos;
    for part in path.split('.') {
        let part = part.split('[').next().unwrap_or(part);
        let yaml::Value::Map(m) = &node.value else {
            break;
        };
        let Some((k, v)) = m.iter().find(|(k, _)| k.name == part) else {
            break;
        };
        found = k.pos.or(found);
        node = v;
    }
    found
}

/// MTU values that are a mesh MTU minus a tunnel's overhead: Cilium subtracts it itself.
const PRESUBTRACTED: &[(u64, &str)] = &[
    (
        1230,
        "Tailscale's or NetBird's 1280 minus VXLAN/Geneve's 50",
    ),
    (
        1210,
        "Tailscale's or NetBird's 1280 minus VXLAN/Geneve's 70 over IPv6",
    ),
    (1370, "WireGuard's 1420 minus VXLAN/Geneve's 50"),
    (1350, "WireGuard's 1420 minus VXLAN/Geneve's 70 over IPv6"),
];

pub(super) fn check(values: &CiliumValues, out: &mut Vec<Finding>) {
    let files = std::slice::from_ref(&values.file);
    let at = |d: Diagnostic, pos: Option<Pos>| {
        let p = pos.unwrap_or(Pos { line: 1, column: 1 });
        Finding::new(files, 0, d.at(p.line, p.column))
    };
    let tree = match yaml::parse(&values.file.text) {
        Ok(t) => t,
        Err(d) => {
            out.push(Finding::new(files, 0, d));
            return;
        }
    };
    let json = tree.to_json();
    let line = match ChartLine::from_str(&values.version) {
        Ok(l) => l,
        Err(e) => {
            out.push(at(Diagnostic::new(Code::CiliumVersion, "", format!("Cilium chart line `{}` is not supported; meshspec knows 1.18, 1.19 and 1.20", values.version)).with_help(e.hint()), None));
            return;
        }
    };
    for r in chart::removed_keys(line, &json) {
        let mut msg = format!(
            "`{}` was removed from the Cilium chart in {}",
            r.path, r.removed_in
        );
        match r.chart_failure {
            Some(f) => msg.push_str(&format!(": the chart fails with `{f}`")),
            None => msg.push_str(": the value does nothing"),
        }
        let help = r.replacement.map_or_else(
            || "remove it".to_owned(),
            |rep| format!("use {rep} instead"),
        );
        out.push(at(
            Diagnostic::new(Code::CiliumRemovedKey, &r.path, msg).with_help(help),
            position(&tree, &r.path),
        ));
    }
    if chart::auto_direct_routes_with_tunnel(&json) {
        out.push(at(Diagnostic::new(Code::AutoDirectRoutesTunnel, "autoDirectNodeRoutes", "`autoDirectNodeRoutes: true` with tunnel routing: the agent exits with `auto-direct-node-routes cannot be used with tunneling`").with_help("remove it: nodes on a mesh share no L2 segment"), position(&tree, "autoDirectNodeRoutes")));
    }
    for v in schema::check(line, &json) {
        out.push(at(Diagnostic::new(Code::CiliumSchema, &v.path, format!("{v} (chart {})", line.chart_version())).with_help("fix the value's type: the chart's values.schema.json refuses it and `helm install` fails"), position(&tree, &v.path)));
    }
    if let Some(mtu) = json.get("MTU").and_then(Value::as_u64)
        && let Some((_, why)) = PRESUBTRACTED.iter().find(|(m, _)| *m == mtu)
    {
        out.push(at(Diagnostic::new(Code::CiliumMtuPresubtracted, "MTU", format!("`MTU: {mtu}` looks like {why}: Cilium's MTU is the underlay (mesh interface) MTU and it subtracts the tunnel overhead itself, so pods would lose it twice")).with_help("set `MTU` to the mesh interface's MTU (e.g. 1280 on Tailscale)"), position(&tree, "MTU")));
    }
}
