//! k3s upgrades between two specs (rules MS905–MS908, and MS413 on the target version).
//!
//! Kubernetes supports control planes one minor version at a time (the version-skew policy:
//! kube-apiserver instances differ by at most one minor version, and upgrades must not skip a
//! minor), and k3s does not support downgrading a datastore; the k3s documentation's upgrade
//! pages say to take an etcd snapshot first and to upgrade servers before agents. This module
//! turns a change of `k3s.version` into those findings; the per-node order comes from the
//! change plan ([`crate::change`]).

use crate::cilium::ChartLine;
use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::k3s::known_bugs::Version;
use crate::render::upgrade::{INSTALL_CONTROLLER, NAMESPACE};

/// A k3s release: `vMAJOR.MINOR.PATCH` and the `+k3sN` build (0 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    /// The Kubernetes version.
    pub version: Version,
    /// The k3s build on top of it (`+k3s2` is 2).
    pub build: u32,
}

impl Release {
    /// Parses `v1.33.5+k3s1`; `None` when [`Version::parse`] refuses it.
    ///
    /// ```
    /// use meshspec::upgrade::Release;
    /// let a = Release::parse("v1.33.5+k3s1").unwrap();
    /// let b = Release::parse("v1.33.5+k3s2").unwrap();
    /// assert!(a < b);
    /// ```
    #[must_use]
    pub fn parse(s: &str) -> Option<Release> {
        let version = Version::parse(s)?;
        let build = s
            .split_once("+k3s")
            .and_then(|(_, b)| b.parse::<u32>().ok())
            .unwrap_or(0);
        Some(Release { version, build })
    }
}

/// The name an etcd snapshot before upgrading to `version` gets (`+` is not kept).
#[must_use]
pub fn snapshot_name(version: &str) -> String {
    let clean: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("pre-upgrade-{clean}")
}

/// Whether the servers keep their datastore in embedded etcd (no external `datastore-endpoint`).
fn embedded_etcd(c: &Cluster) -> bool {
    !c.k3s.server_extra.contains_key("datastore-endpoint")
}

/// The servers' data directory (`data-dir` in `k3s.server_extra`, else k3s's default).
fn data_dir(c: &Cluster) -> String {
    c.k3s
        .server_extra
        .get("data-dir")
        .and_then(serde_json::Value::as_str)
        .filter(|d| d.starts_with('/') && d.chars().all(|ch| !ch.is_whitespace() && ch != '`'))
        .map_or_else(
            || "/var/lib/rancher/k3s".to_owned(),
            |d| d.trim_end_matches('/').to_owned(),
        )
}

/// MS905–MS908 and MS413 (on the target) for a change of `k3s.version`; returns what to do
/// before any node changes (the etcd snapshot) when the upgrade can go ahead.
pub(crate) fn check(old: &Cluster, new: &Cluster, out: &mut Vec<Diagnostic>) -> Vec<String> {
    let (from, to) = (old.k3s.version.as_deref(), new.k3s.version.as_deref());
    if from == to {
        return Vec::new();
    }
    let Some(to) = to else {
        // unpinning: MS412 on the new spec says what that means
        return Vec::new();
    };
    let Some(from) = from else {
        out.push(
            Diagnostic::new(
                Code::UpgradeVersionUnknown,
                "k3s.version",
                format!("`k3s.version` becomes `{to}`, but the old spec pinned no version: what the nodes run now is unknown, so whether this is an upgrade, a skipped minor version or a downgrade cannot be checked"),
            )
            .with_help("read the running versions from the nodes: `kubectl get nodes -o json > nodes.json`, then `meshspec check-live OLD.yaml --nodes nodes.json` (MS957 names each kubelet's version); put that version in the old spec as `k3s.version` and run this plan again"),
        );
        return Vec::new();
    };
    let (Some(a), Some(b)) = (Release::parse(from), Release::parse(to)) else {
        return Vec::new();
    };
    if b < a {
        out.push(
            Diagnostic::new(
                Code::K3sDowngrade,
                "k3s.version",
                format!("`k3s.version` goes down from `{from}` to `{to}`: k3s does not support downgrading; the datastore and the API objects a newer release wrote may not be readable by an older one"),
            )
            .with_help(format!("keep `k3s.version: {from}` (or a newer release). To go back to `{to}`, restore the etcd snapshot taken before the upgrade on the first server (`k3s server --cluster-reset --cluster-reset-restore-path=<snapshot>`) with the old binary installed, or build a new cluster at `{to}` and move the workloads")),
        );
        return Vec::new();
    }
    let (va, vb) = (a.version, b.version);
    if vb.major != va.major || vb.minor > va.minor + 1 {
        let lines: Vec<String> = if vb.major == va.major {
            (va.minor + 1..vb.minor)
                .map(|m| format!("v{}.{m}", va.major))
                .collect()
        } else {
            Vec::new()
        };
        let through = if lines.is_empty() {
            "each minor release line in between".to_owned()
        } else {
            lines
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", then ")
        };
        out.push(
            Diagnostic::new(
                Code::UpgradeSkipsMinor,
                "k3s.version",
                format!("the k3s upgrade from `{from}` to `{to}` skips a minor version: Kubernetes upgrades control planes one minor version at a time"),
            )
            .with_help(format!("go through {through} first: pin the latest patch release of each line (`v{}.{}.x+k3sN`, see https://github.com/k3s-io/k3s/releases), run `meshspec plan` and roll it out, then the next line, then `{to}`", va.major, va.minor + 1)),
        );
        return Vec::new();
    }
    let first = new
        .nodes_in_join_order()
        .find(|n| n.is_server())
        .map_or_else(
            || "the first server".to_owned(),
            |n| format!("`{}`", n.name),
        );
    let name = snapshot_name(to);
    let dir = data_dir(new);
    let mut help = Vec::new();
    let mut before = Vec::new();
    if embedded_etcd(new) {
        before.push(format!("on {first}: `sudo k3s etcd-snapshot save --name {name}`, then copy the file `sudo k3s etcd-snapshot ls` shows off the node (MS905 says how to restore it)"));
        help.push(format!("before: on {first}, `sudo k3s etcd-snapshot save --name {name}` (k3s appends the node name and a timestamp; `sudo k3s etcd-snapshot ls` shows the file, under `{dir}/server/db/snapshots/`); copy it off the node"));
        let others = if new.servers().count() > 1 {
            format!("; then on each other server remove `{dir}/server/db` and start k3s to rejoin")
        } else {
            "; then start k3s".to_owned()
        };
        help.push(format!("to roll back: stop k3s on every server; on {first}, with the old release installed: `sudo k3s server --cluster-reset --cluster-reset-restore-path={dir}/server/db/snapshots/<that file>`{others}"));
    } else {
        help.push(
            "before: back up the external datastore (`datastore-endpoint`) with its own tools"
                .to_owned(),
        );
        before.push(
            "back up the external datastore (`datastore-endpoint`) with its own tools".to_owned(),
        );
    }
    help.push(format!("manual: servers one at a time in join order, then agents: `kubectl drain <node> --ignore-daemonsets --delete-emptydir-data` where workloads run, re-run the node's `install.sh` (it installs `{to}`), wait until `kubectl get node <node>` is Ready at `{to}`, `kubectl uncordon <node>`; then `sh cluster/verify.sh`"));
    help.push(format!("automated: `{INSTALL_CONTROLLER}`, then `kubectl apply -f cluster/upgrade/` (control-plane nodes one at a time, cordoned; agents after them); watch `kubectl -n {NAMESPACE} get plans,jobs`"));
    out.push(
        Diagnostic::new(
            Code::K3sUpgrade,
            "k3s.version",
            format!("k3s upgrade from `{from}` to `{to}`: snapshot first, servers one at a time in join order, then agents, then verify"),
        )
        .with_help(help.join("\n")),
    );
    // a known bug of the target release, in this spec's topology
    for d in new
        .validate()
        .iter()
        .filter(|d| d.code == Code::K3sKnownBug)
    {
        let mut d = d.clone();
        d.message = format!("upgrade target: {}", d.message);
        out.push(d);
    }
    before
}

/// MS909 for a Cilium chart line that skips one; otherwise, when the line changes, the
/// upgrade steps of Cilium's upgrade guide (docs.cilium.io, operations/upgrade: the pre-flight
/// check, `upgradeCompatibility`, `helm upgrade` with the full values, the checks after),
/// to run once the nodes are done.
pub(crate) fn cilium(old: &Cluster, new: &Cluster, out: &mut Vec<Diagnostic>) -> Vec<String> {
    let (Some(a), Some(b)) = (old.cni.cilium(), new.cni.cilium()) else {
        return Vec::new();
    };
    let line = |c: &crate::cluster::Cilium| c.line.unwrap_or_else(ChartLine::newest);
    let (la, lb) = (line(a), line(b));
    if la == lb || lb.minor() < la.minor() {
        // a step down is a rollback: `helm rollback`, which the guide covers one line at a time
        return Vec::new();
    }
    if lb.minor() > la.minor() + 1 {
        let through: Vec<String> = ChartLine::SUPPORTED
            .iter()
            .filter(|l| l.minor() > la.minor() && l.minor() < lb.minor())
            .map(|l| format!("`{l}` (chart {})", l.chart_version()))
            .collect();
        out.push(
            Diagnostic::new(
                Code::CiliumUpgradeSkipsMinor,
                "cni.cilium.version",
                format!("the Cilium upgrade from `{la}` to `{lb}` skips a minor line: Cilium tests upgrades and rollbacks only between consecutive minor releases"),
            )
            .with_help(format!("set `cni.cilium.version` to {} first, roll it out (`meshspec plan` lists the steps), then `{lb}`", through.join(", then "))),
        );
        return Vec::new();
    }
    let chart = lb.chart_version();
    let kpr = if b.kube_proxy_replacement {
        " --set k8sServiceHost=<the values file's k8sServiceHost> --set k8sServicePort=<its k8sServicePort>"
    } else {
        ""
    };
    vec![
        format!("Cilium `{la}` to `{lb}`, pre-flight check (pre-pulls the new image on every node): `helm install cilium-preflight cilium/cilium --version {chart} --namespace kube-system --set preflight.enabled=true --set agent=false --set operator.enabled=false{kpr}`; wait until `kubectl -n kube-system get ds cilium-pre-flight-check` is as READY as `ds/cilium` and `deploy/cilium-pre-flight-check` is 1/1, then `helm delete cilium-preflight --namespace kube-system`"),
        format!("`helm upgrade cilium cilium/cilium --version {chart} --namespace kube-system -f cluster/cilium-values.yaml --set upgradeCompatibility={la}` (`upgradeCompatibility` is the line the cluster was first installed with: `{la}` unless it started older; never `--reuse-values`)"),
        "`kubectl -n kube-system rollout status ds/cilium --timeout=10m`, `cilium status --wait`, then `sh cluster/verify.sh`; to go back: `helm rollback cilium --namespace kube-system`".to_owned(),
    ]
}
