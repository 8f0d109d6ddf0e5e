//! MS7xx: Cilium values, checked against the chart line's own schema and fail rules.

use std::str::FromStr;

use crate::cilium::{ChartLine, rules as chart, schema};
use crate::cluster::{Cilium, Cluster, Cni};
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::render::cilium::values;
use crate::spec::CiliumIpam;

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Cni::Cilium(cil) = &c.cni else { return };
    let Some(line) = cil.line else {
        {
            let hint = ChartLine::from_str(&cil.version).err().map_or_else(
                || "use `\"1.18\"`, `\"1.19\"` or `\"1.20\"`".to_owned(),
                |e| e.hint(),
            );
            out.push(Diagnostic::new(
                Code::CiliumVersion,
                "cni.cilium.version",
                format!("Cilium chart line `{}` is not supported; meshspec writes values for 1.18, 1.19 and 1.20", cil.version),
            ).with_help(hint));
            return;
        }
    };
    let merged = values(c, cil);
    let user = serde_json::Value::Object(cil.values.clone().into_iter().collect());
    for r in chart::removed_keys(line, &user) {
        let mut msg = format!(
            "`{}` was removed from the Cilium chart in {}",
            r.path, r.removed_in
        );
        if let Some(f) = r.chart_failure {
            msg.push_str(&format!(": the chart fails with `{f}`"));
        } else {
            msg.push_str(": the value does nothing");
        }
        let help = r.replacement.map_or_else(
            || "remove it from `cni.cilium.values`".to_owned(),
            |rep| format!("use {rep} instead"),
        );
        out.push(
            Diagnostic::new(
                Code::CiliumRemovedKey,
                format!("cni.cilium.values.{}", r.path),
                msg,
            )
            .with_help(help),
        );
    }
    if chart::auto_direct_routes_with_tunnel(&merged) {
        out.push(Diagnostic::new(
            Code::AutoDirectRoutesTunnel,
            "cni.cilium.values.autoDirectNodeRoutes",
            "`autoDirectNodeRoutes: true` with tunnel routing: the agent exits with `auto-direct-node-routes cannot be used with tunneling`",
        ).with_help("remove it: nodes on a mesh share no L2 segment, so direct routes cannot work"));
    } else if c.multi_site
        && chart::effective_routing_mode(&merged) == Some(chart::RoutingMode::Native)
    {
        out.push(Diagnostic::new(
            Code::AutoDirectRoutesTunnel,
            "cni.cilium.values.routingMode",
            "native routing across sites: pod routes need the nodes on one L2 segment",
        ).with_help("remove `routingMode` from `cni.cilium.values`: meshspec renders `routingMode: tunnel`"));
    }
    pool(c, cil, out);
    for v in schema::check(line, &merged) {
        let in_user = cil.values.keys().any(|k| {
            v.path == *k
                || v.path.starts_with(&format!("{k}."))
                || v.path.starts_with(&format!("{k}["))
        });
        let path = if in_user {
            format!("cni.cilium.values.{}", v.path)
        } else {
            "cni.cilium".to_owned()
        };
        out.push(Diagnostic::new(
            Code::CiliumSchema,
            path,
            format!("{v} (chart {})", line.chart_version()),
        ).with_help("fix the value's type: the chart's values.schema.json refuses it and `helm install` fails"));
    }
    if !chart::kube_proxy_replacement_valid(
        merged
            .get("kubeProxyReplacement")
            .unwrap_or(&serde_json::Value::Bool(false)),
    ) {
        out.push(Diagnostic::new(
            Code::CiliumSchema,
            "cni.cilium.values.kubeProxyReplacement",
            "`kubeProxyReplacement` must be `true` or `false` since chart 1.16 (`strict`, `partial` and `disabled` fail)",
        ).with_help("use `cni.cilium.kube_proxy_replacement: true` or `false`"));
    }
    // MS705 applies only when the tunnel endpoints are mesh addresses: a tunnel between LAN
    // node-ips never meets Tailscale's routing rules.
    if c.mesh.is_tailscale() && c.nodes.len() > 1 && c.nodes.iter().any(|n| n.tunnel_over_mesh()) {
        out.push(Diagnostic::new(
            Code::CiliumTailscaleFwmark,
            "cni.cilium",
            "Cilium's tunnel endpoints are Tailscale addresses: Cilium keeps security identities in the upper bits of the packet mark, which overlap Tailscale's fwmark mask 0xff0000, so a marked VXLAN/Geneve packet can match Tailscale's bypass rule (0x80000, routed by the main table) and leave by the physical NIC (cilium/cilium#35338, #36104)",
        ).with_help("`cluster/verify.sh` checks on each node that the route to each peer's mesh address uses the mesh interface and that Cilium's cluster health (`cilium-dbg status`) reaches every node; if a node fails, move Tailscale's marks away from Cilium's with a persisted tailscaled setting where your Tailscale supports it (configurable Linux packet marks, tailscale/tailscale#18695), never a one-off `ip rule`"));
    }
}

fn pool(c: &Cluster, cil: &Cilium, out: &mut Vec<Diagnostic>) {
    if cil.ipam != CiliumIpam::ClusterPool {
        return;
    }
    let Some(p) = cil.cluster_pool_cidr else {
        out.push(Diagnostic::new(
            Code::MissingField,
            "cni.cilium.cluster_pool_cidr",
            "`ipam: cluster-pool` needs `cluster_pool_cidr`: Cilium's default pool `10.0.0.0/8` overlaps k3s's service network `10.43.0.0/16`",
        ).with_help("set `cluster_pool_cidr` to a range that overlaps nothing, or use `ipam: kubernetes`"));
        return;
    };
    let mut clashes: Vec<(String, String)> = Vec::new();
    for s in c.network.service_cidrs.iter().filter(|s| s.overlaps(&p)) {
        clashes.push(("the service network".to_owned(), s.to_string()));
    }
    for site in &c.sites {
        for s in site.subnets.iter().filter(|s| s.overlaps(&p)) {
            clashes.push((format!("site `{}`", site.name), s.to_string()));
        }
    }
    for m in c.mesh.ranges().iter().filter(|m| m.overlaps(&p)) {
        clashes.push(("the mesh range".to_owned(), m.to_string()));
    }
    for (what, range) in clashes {
        let mut avoid = c.network.service_cidrs.clone();
        avoid.extend(c.network.cluster_cidrs.iter().copied());
        avoid.extend(c.mesh.ranges());
        avoid.extend(c.sites.iter().flat_map(|s| s.subnets.iter().copied()));
        let free = crate::cidr::suggest_free(p.prefix(), p.family(), &avoid);
        let mut d = Diagnostic::new(
            Code::CiliumPoolOverlap,
            "cni.cilium.cluster_pool_cidr",
            format!("Cilium pool `{p}` overlaps {what} `{range}`"),
        );
        if let Some(f) = free {
            d = d.with_help(format!("use e.g. `cluster_pool_cidr: {f}`"));
        }
        out.push(d);
    }
}
