//! Diagnostics a newcomer reads first: computed help, no follow-on noise, no repetition, and
//! `acknowledge:` (issue #11, items 7 and 8).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read files and fail by panicking"
)]

use meshspec::{Cluster, Code, Diagnostics, Severity};

fn validate(yaml: &str) -> Diagnostics {
    match Cluster::from_yaml(yaml) {
        Ok(c) => c.validate(),
        Err(d) => d,
    }
}

fn one(ds: &Diagnostics, code: Code) -> &meshspec::Diagnostic {
    let found: Vec<_> = ds.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "{ds}");
    found[0]
}

const NODES: &str = "nodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n";

#[test]
fn ms103_help_finds_a_free_range_for_a_slash_8() {
    let ds = validate(&format!(
        "version: 1\nname: lab\nnetwork:\n  cluster_cidr: 10.0.0.0/8\n  service_cidr: 172.20.0.0/16\nsites:\n  - {{name: home, subnets: [10.1.0.0/24]}}\n{NODES}"
    ));
    let d = one(&ds, Code::CidrSiteOverlap);
    let help = d.help.as_deref().expect("MS103 proposes a free range");
    let proposed: meshspec::cidr::Cidr = help
        .split('`')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no CIDR in {help}"));
    for taken in ["10.1.0.0/24", "172.20.0.0/16", "100.64.0.0/10"] {
        let t: meshspec::cidr::Cidr = taken.parse().unwrap();
        assert!(!proposed.overlaps(&t), "{proposed} overlaps {t}");
    }
    assert!(
        proposed.prefix() <= 16,
        "{proposed} is smaller than k3s's default"
    );
}

#[test]
fn ms101_moves_whichever_network_is_the_odd_one_out() {
    // the pod network was written and swallows k3s's default service network: move the pod network
    let ds = validate(&format!(
        "version: 1\nname: lab\nnetwork:\n  cluster_cidr: 10.40.0.0/14\n{NODES}"
    ));
    let d = one(&ds, Code::PodServiceOverlap);
    assert_eq!(d.path, "network.cluster_cidr");
    assert!(d.help.as_deref().unwrap().contains("cluster_cidr: "), "{d}");
    // the service network was written inside k3s's default pod network: move the service network
    let ds = validate(&format!(
        "version: 1\nname: lab\nnetwork:\n  service_cidr: 10.42.128.0/17\n{NODES}"
    ));
    let d = one(&ds, Code::PodServiceOverlap);
    assert_eq!(d.path, "network.service_cidr");
    assert!(d.help.as_deref().unwrap().contains("service_cidr: "), "{d}");
}

#[test]
fn an_unresolved_site_does_not_also_report_etcd_across_sites() {
    let ds = validate(
        "version: 1\nname: lab\nsites:\n  - {name: home, subnets: [192.168.2.0/24]}\nnodes:\n  - {name: s1, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 100.64.0.1}\n  - {name: s2, role: server, site: hmoe, mesh_ip: 100.64.0.2}\n  - {name: s3, role: server, site: home, lan_ip: 192.168.2.12, mesh_ip: 100.64.0.3}\n",
    );
    assert!(ds.codes().contains(&Code::UnknownReference), "{ds}");
    assert!(!ds.codes().contains(&Code::EtcdAcrossSites), "{ds}");
    // the same spec with the typo fixed but the server truly elsewhere does report it
    let ds = validate(
        "version: 1\nname: lab\nsites:\n  - {name: home, subnets: [192.168.2.0/24]}\n  - {name: away, subnets: [192.168.9.0/24]}\nnodes:\n  - {name: s1, role: server, site: home, lan_ip: 192.168.2.10, mesh_ip: 100.64.0.1}\n  - {name: s2, role: server, site: away, mesh_ip: 100.64.0.2}\n  - {name: s3, role: server, site: home, lan_ip: 192.168.2.12, mesh_ip: 100.64.0.3}\n",
    );
    assert!(ds.codes().contains(&Code::EtcdAcrossSites), "{ds}");
}

#[test]
fn a_duplicate_node_name_is_named_once() {
    let ds = validate(
        "version: 1\nname: lab\nnodes:\n  - {name: a1, role: server, mesh_ip: 100.64.0.1, labels: {tier: x}}\n  - {name: a1, role: agent, mesh_ip: 100.64.0.2, labels: {tier: y}}\n",
    );
    assert!(ds.codes().contains(&Code::DuplicateName), "{ds}");
    let d = one(&ds, Code::TaintRegistrationOnly);
    assert!(d.message.contains("on `a1` apply"), "{}", d.message);
}

#[test]
fn ms602_help_is_a_fix_not_the_message_again() {
    let ds = validate(
        "version: 1\nname: lab\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1, taints: [\"dedicated=gpu\"]}\n",
    );
    let d = one(&ds, Code::InvalidTaint);
    let help = d.help.as_deref().unwrap();
    assert!(help.contains("`dedicated=gpu:NoSchedule`"), "{help}");
    assert_eq!(
        d.message.matches("dedicated=gpu").count(),
        1,
        "{}",
        d.message
    );
    let ds = validate(
        "version: 1\nname: lab\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1, taints: [\"dedicated=gpu:noschedule\"]}\n",
    );
    let d = one(&ds, Code::InvalidTaint);
    assert_eq!(d.help.as_deref(), Some("write `dedicated=gpu:NoSchedule`"));
}

#[test]
fn role_master_suggests_server() {
    let ds = validate(
        "version: 1\nname: lab\nnodes:\n  - {name: s1, role: master, mesh_ip: 100.64.0.1}\n",
    );
    let d = one(&ds, Code::InvalidValue);
    assert_eq!(d.help.as_deref(), Some("did you mean `server`?"));
    let ds = validate(
        "version: 1\nname: lab\nnodes:\n  - {name: s1, role: worker, mesh_ip: 100.64.0.1}\n",
    );
    assert_eq!(
        one(&ds, Code::InvalidValue).help.as_deref(),
        Some("did you mean `agent`?")
    );
}

#[test]
fn question_mark_from_main_prints_the_cli_text() {
    // `fn main() -> Result<(), Diagnostics>` prints `Error: {:?}`
    let err = Cluster::from_yaml("version: 1\nname: lab\nnodes: []\nnetwrk: {}\n").unwrap_err();
    let shown = format!("Error: {err:?}");
    assert!(
        shown.starts_with("Error: error[MS002]: unknown key `netwrk` in the top level\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  = help: did you mean `network`?"),
        "{shown}"
    );
    assert!(!shown.contains("Diagnostics {"), "{shown}");
}

const SERVER_AND_AGENT: &str = "nodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n  - {name: a1, role: agent, site: far, mesh_ip: 100.64.0.2}\nsites:\n  - {name: far, subnets: [192.168.9.0/24]}\n";

#[test]
fn acknowledged_findings_stay_in_json_and_leave_the_text() {
    let plain = validate(&format!("version: 1\nname: lab\n{SERVER_AND_AGENT}"));
    assert!(plain.codes().contains(&Code::InterfaceOrdering), "{plain}");
    let ds = validate(&format!(
        "version: 1\nname: lab\nacknowledge:\n  - code: MS411\n    reason: tailscaled is ordered before k3s by our image\n{SERVER_AND_AGENT}"
    ));
    let d = one(&ds, Code::InterfaceOrdering);
    assert!(d.acknowledged);
    assert_eq!(
        d.reason.as_deref().map(String::as_str),
        Some("tailscaled is ordered before k3s by our image")
    );
    let text = ds.render(None);
    assert!(!text.contains("MS411"), "{text}");
    assert!(text.trim_end().ends_with("(1 acknowledged)"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ds.to_json()).unwrap();
    let acked: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "MS411")
        .collect();
    assert_eq!(acked[0]["acknowledged"], true);
    assert_eq!(
        acked[0]["reason"],
        "tailscaled is ordered before k3s by our image"
    );
}

#[test]
fn acknowledging_an_error_or_an_unknown_code_is_an_error() {
    let ds = validate(&format!(
        "version: 1\nname: lab\nacknowledge:\n  - {{code: MS101, reason: we like overlaps}}\n{NODES}"
    ));
    let d = one(&ds, Code::InvalidValue);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.path, "acknowledge[0].code");
    assert!(
        d.message
            .contains("only warnings and infos can be acknowledged"),
        "{d}"
    );
    let ds = validate(&format!(
        "version: 1\nname: lab\nacknowledge:\n  - {{code: MS4111, reason: typo}}\n{NODES}"
    ));
    let d = one(&ds, Code::InvalidValue);
    assert!(d.message.contains("not a meshspec rule code"), "{d}");
    assert_eq!(d.line, Some(4));
    let ds = validate(&format!(
        "version: 1\nname: lab\nacknowledge:\n  - {{code: MS411}}\n{NODES}"
    ));
    assert_eq!(one(&ds, Code::MissingField).path, "acknowledge[0].reason");
}
