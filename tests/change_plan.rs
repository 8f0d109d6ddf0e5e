//! The change plan knows every file: for every pair of valid fixtures and for single-field
//! edits of each field in the field table, every file that differs between the two bundles is
//! in the plan (per node or cluster-wide, with an action), and nothing else is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use meshspec::change::{Action, Change, ChangePlan};
use meshspec::spec::fields::{FIELDS, Kind};
use meshspec::{Bundle, Cluster, RenderOptions};
use serde_json::Value;

fn valid_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/valid")
}

#[path = "common/specs.rs"]
mod specs;
use specs::valid_fixtures;

fn render(c: &Cluster) -> Option<Bundle> {
    c.render(&RenderOptions::default()).ok()
}

/// The paths whose contents or mode differ, computed here independently of the plan.
fn differing(a: &Bundle, b: &Bundle) -> BTreeSet<String> {
    a.files
        .keys()
        .chain(b.files.keys())
        .filter(|p| a.files.get(*p) != b.files.get(*p))
        .cloned()
        .collect()
}

/// Checks the plan from `old` to `new` against the bundles; returns how many files differ.
fn check(old: &Cluster, new: &Cluster, label: &str) -> Result<usize, String> {
    let (Some(ob), Some(nb)) = (render(old), render(new)) else {
        return Ok(0);
    };
    let diff = differing(&ob, &nb);
    let plan = ChangePlan::between(old, new);
    let mut listed: BTreeSet<String> = BTreeSet::new();
    for nc in &plan.nodes {
        let mut own = BTreeSet::new();
        for f in &nc.files {
            if !own.insert(f.path.clone()) {
                return Err(format!("{label}: `{}` listed twice", f.path));
            }
            // the peer list is an input of every node's firewall script, so it is listed on
            // every node that re-runs it; any other path belongs to one node
            if !listed.insert(f.path.clone()) && f.path != "cluster/firewall/peers.txt" {
                return Err(format!("{label}: `{}` listed on two nodes", f.path));
            }
        }
    }
    for f in &plan.cluster_files {
        if !listed.insert(f.path.clone()) {
            return Err(format!("{label}: `{}` listed twice", f.path));
        }
    }
    if listed != diff {
        let missing: Vec<_> = diff.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&diff).collect();
        return Err(format!(
            "{label}: differ but not in the plan: {missing:?}; in the plan but equal: {extra:?}"
        ));
    }
    let md = plan.render_markdown();
    for p in &diff {
        if !md.contains(&format!("`{p}`")) {
            return Err(format!("{label}: the markdown does not mention `{p}`"));
        }
    }
    // PLAN.md and the bundle's record of its spec are documentation: writing out a default
    // changes the record and nothing a node runs
    let only_docs = diff
        .iter()
        .all(|p| p == "PLAN.md" || p == meshspec::render::spec_record::PATH);
    if !only_docs && md.contains("Nothing changes on the nodes") {
        return Err(format!(
            "{label}: files change but the plan says nothing does"
        ));
    }
    // every existing node whose k3s config, env or drop-in changes restarts
    for n in &new.nodes {
        if old.node(&n.name).is_none() {
            continue;
        }
        let prefix = format!("nodes/{}/etc/", n.name);
        let k3s_file = |p: &&String| {
            p.starts_with(&prefix)
                && (p.contains("/etc/rancher/k3s/") || p.contains("/etc/systemd/system/k3s"))
        };
        if diff.iter().any(|p| k3s_file(&p)) && !plan.restarts.contains(&n.name) {
            return Err(format!(
                "{label}: `{}` changes k3s files but does not restart",
                n.name
            ));
        }
    }
    if !plan.diagnostics.is_empty() || !diff.is_empty() {
        let codes = plan.diagnostics.codes();
        if !diff.is_empty() && !codes.contains(&meshspec::Code::NodeFilesChange) {
            return Err(format!("{label}: files differ but no MS910"));
        }
    }
    Ok(diff.len())
}

#[test]
fn every_pair_of_valid_fixtures_plans_every_file_that_differs() {
    let fixtures = valid_fixtures();
    assert!(fixtures.len() >= 8);
    let clusters: Vec<(String, Cluster)> = fixtures
        .iter()
        .map(|(n, t)| (n.clone(), Cluster::from_yaml(t).unwrap()))
        .collect();
    let mut failures = Vec::new();
    for (an, a) in &clusters {
        for (bn, b) in &clusters {
            match check(a, b, &format!("{an} -> {bn}")) {
                Ok(n) if an == bn && n != 0 => failures.push(format!("{an}: differs from itself")),
                Ok(_) => {}
                Err(e) => failures.push(e),
            }
        }
        let same = ChangePlan::between(a, a);
        assert!(
            same.nodes.is_empty() && same.cluster_files.is_empty(),
            "{an}"
        );
        assert_eq!(
            same.render_markdown(),
            "# Change plan\n\nNothing changes on the nodes.\n",
            "{an}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Sets `path` (`network.cluster_cidr`, `nodes[].labels`: list items are the first item) to
/// `value`, creating missing mappings; false when the path goes through a missing list.
fn set(doc: &mut Value, path: &str, value: Value) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = doc;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let (key, item) = match part.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (*part, false),
        };
        let Some(map) = cur.as_object_mut() else {
            return false;
        };
        if last && !item {
            map.insert(key.to_owned(), value);
            return true;
        }
        if item {
            let Some(Value::Array(items)) = map.get_mut(key) else {
                return false;
            };
            let Some(first) = items.first_mut() else {
                return false;
            };
            if last {
                *first = value;
                return true;
            }
            cur = first;
        } else {
            cur = map
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
    }
    false
}

#[test]
fn single_field_edits_plan_every_file_that_differs() {
    let bases = [
        "three-site-ha",
        "proxy",
        "cilium-lan-pool-proxy",
        "headscale",
    ];
    let mut failures = Vec::new();
    let mut changed_edits = 0;
    let mut fields_that_changed: BTreeSet<&str> = BTreeSet::new();
    for base in bases {
        let text = fs::read_to_string(valid_dir().join(format!("{base}.yaml"))).unwrap();
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        let old = Cluster::from_yaml(&text).unwrap();
        for f in FIELDS {
            if matches!(f.kind, Kind::Block | Kind::Blocks) || f.example.is_empty() {
                continue;
            }
            let Ok(value) = serde_saphyr::from_str::<Value>(f.example) else {
                continue;
            };
            let mut edited = doc.clone();
            if !set(&mut edited, f.path, value) {
                continue;
            }
            let Ok(new) = Cluster::from_json(&edited) else {
                continue;
            };
            match check(&old, &new, &format!("{base}: {} = {}", f.path, f.example)) {
                Ok(0) => {}
                Ok(_) => {
                    changed_edits += 1;
                    fields_that_changed.insert(f.path);
                }
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // the edits reach the bundle (the test is not vacuous)
    assert!(
        changed_edits >= 40 && fields_that_changed.len() >= 25,
        "{changed_edits} edits, fields {fields_that_changed:?}"
    );
}

fn plan_between(old: &str, edit: impl Fn(&str) -> String) -> (Cluster, ChangePlan) {
    let text = fs::read_to_string(valid_dir().join(old)).unwrap();
    let new_text = edit(&text);
    assert_ne!(text, new_text);
    let o = Cluster::from_yaml(&text).unwrap();
    let n = Cluster::from_yaml(&new_text).unwrap();
    let plan = ChangePlan::between(&o, &n);
    (n, plan)
}

/// The first paragraph: a proxy, version, dns_suffix or cluster_cidr change lists
/// every node (servers and agents) with the files that change on it.
#[test]
fn proxy_version_dns_suffix_and_cluster_cidr_changes_list_every_node() {
    type Edit = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(&str, &str, Edit, &[&str])> = vec![
        (
            "proxy",
            "proxy.yaml",
            Box::new(|t: &str| {
                t.replace(
                    "http://proxy.corp.example:3128",
                    "http://proxy2.corp.example:3128",
                )
            }),
            &[".service.env"],
        ),
        (
            "dns_suffix",
            "proxy.yaml",
            Box::new(|t: &str| t.replace("corp-tailnet.ts.net", "corp2-tailnet.ts.net")),
            &[".service.env"],
        ),
        (
            "cluster_cidr",
            "proxy.yaml",
            Box::new(|t: &str| {
                t.replace(
                    "\nproxy:\n",
                    "\nnetwork:\n  cluster_cidr: 10.52.0.0/16\nproxy:\n",
                )
            }),
            &[".service.env"],
        ),
        (
            "version",
            "three-site-ha.yaml",
            Box::new(|t: &str| t.replace("v1.33.5+k3s1", "v1.33.6+k3s1")),
            &["install.sh"],
        ),
    ];
    for (what, base, edit, expect) in cases {
        let (new, plan) = plan_between(base, edit);
        let listed: Vec<&str> = plan.nodes.iter().map(|n| n.node.as_str()).collect();
        let all: Vec<&str> = new.nodes.iter().map(|n| n.name.as_str()).collect();
        let mut sorted_listed = listed.clone();
        sorted_listed.sort_unstable();
        let mut sorted_all = all.clone();
        sorted_all.sort_unstable();
        assert_eq!(sorted_listed, sorted_all, "{what}: every node");
        // servers first
        let first_agent = plan.nodes.iter().position(|n| n.role == "agent").unwrap();
        assert!(
            plan.nodes[first_agent..].iter().all(|n| n.role == "agent"),
            "{what}"
        );
        for nc in &plan.nodes {
            for e in expect {
                assert!(
                    nc.files.iter().any(|f| f.path.ends_with(e)),
                    "{what}: `{}` lacks {e}: {:?}",
                    nc.node,
                    nc.files
                );
            }
            assert!(
                nc.files
                    .iter()
                    .any(|f| matches!(f.action, Action::RestartK3s | Action::RerunInstall)),
                "{what}: `{}` does not restart",
                nc.node
            );
            assert_eq!(
                plan.restarts.iter().filter(|r| **r == nc.node).count(),
                1,
                "{what}"
            );
        }
        let md = plan.render_markdown();
        assert!(!md.contains("Nothing changes"), "{what}: {md}");
    }
}

/// Every node's firewall script reads `cluster/firewall/peers.txt`: when a node joins, the
/// peer list changes and every node that stays must re-run its firewall script, even where its
/// own script's text is unchanged.
#[test]
fn a_new_peer_list_reruns_every_remaining_nodes_firewall() {
    let (new, plan) = plan_between("seed-flannel.yaml", |t: &str| {
        format!(
            "{t}  - {{name: extra-agent, role: agent, mesh_ip: 100.99.1.1, taints: [\"x=y:NoSchedule\"]}}\n"
        )
    });
    for n in new.nodes.iter().filter(|n| n.name != "extra-agent") {
        let changes = plan
            .nodes
            .iter()
            .find(|c| c.node == n.name)
            .unwrap_or_else(|| panic!("{} is not in the plan", n.name));
        assert!(
            changes
                .files
                .iter()
                .any(|f| f.path == "cluster/firewall/peers.txt" && f.action == Action::Firewall),
            "{}: {:?}",
            n.name,
            changes.files
        );
        assert!(
            changes
                .steps
                .iter()
                .any(|s| s.contains(&format!("cluster/firewall/{}.sh", n.name))),
            "{}: {:?}",
            n.name,
            changes.steps
        );
    }
    assert!(
        plan.cluster_files
            .iter()
            .all(|f| f.path != "cluster/firewall/peers.txt"),
        "peers.txt is a per-node action, not documentation"
    );
}

/// A proxy change on one site (or one node) restarts exactly the nodes that use that proxy,
/// each with its unit env file; the nodes on other proxies (or none) are left alone.
#[test]
fn a_site_or_node_proxy_change_lists_only_the_nodes_behind_it() {
    let cases: [(&str, &str, &str, &[&str]); 3] = [
        (
            "the cloud site's proxy",
            "http://proxy.cloud.example:3128",
            "http://proxy2.cloud.example:3128",
            &["cloud-a", "cloud-b"],
        ),
        (
            "home-lab's own proxy",
            "http://lab-proxy.lan:8080",
            "http://lab-proxy2.lan:8080",
            &["home-lab"],
        ),
        (
            "the cluster-wide proxy",
            "https: http://proxy.corp.example:3128",
            "https: http://proxy2.corp.example:3128",
            &["office-server"],
        ),
    ];
    for (what, from, to, expect) in cases {
        let (_, plan) = plan_between("proxy-per-site.yaml", |t| t.replace(from, to));
        let mut listed: Vec<&str> = plan.nodes.iter().map(|n| n.node.as_str()).collect();
        listed.sort_unstable();
        assert_eq!(listed, expect, "{what}");
        for nc in &plan.nodes {
            assert!(
                nc.files
                    .iter()
                    .any(|f| f.path.ends_with(".service.env") && f.action == Action::RestartK3s),
                "{what}: `{}`: {:?}",
                nc.node,
                nc.files
            );
        }
    }
    // `proxy: none` on a node removes its env files: the plan still lists them
    let (new, plan) = plan_between("proxy-per-site.yaml", |t| {
        t.replace(
            "    proxy:\n      http: http://lab-proxy.lan:8080\n      no_proxy_extra: [.lan]\n",
            "    proxy: none\n",
        )
    });
    assert!(new.node("home-lab").unwrap().proxy.is_none());
    let lab = plan.nodes.iter().find(|n| n.node == "home-lab").unwrap();
    assert!(
        lab.files
            .iter()
            .any(|f| f.path.ends_with("k3s-agent.service.env") && f.change == Change::Removed),
        "{:?}",
        lab.files
    );
    assert_eq!(plan.nodes.len(), 1, "{:?}", plan.nodes);
}
