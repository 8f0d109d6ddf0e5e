//! `meshspec lint`: hand-written k3s `config.yaml` files (with their `config.yaml.d`
//! drop-ins) checked with the knowledge the renderer has, under the same codes: MS001/MS010
//! (YAML), MS401 (server-only key on an agent), MS402 (unknown key), MS403 (value kind), MS404
//! (critical values differ between servers), MS405/MS406 (CNI and kube-proxy consistency),
//! MS409 (reserved self-labels), MS601/MS602 (label and taint syntax), and with a Cilium
//! values file MS701–MS704 and MS302.
//!
//! Every finding names its file, line and column ([`Finding`]). The report prints as text, JSON
//! or SARIF 2.1.0 ([`LintReport::to_sarif`]).
//!
//! This module reads no files: the caller passes each node's files in k3s's order (the main
//! file, then `config.yaml.d/*.yaml` by name). It does not know the spec and does not check
//! addresses between nodes (use `import` then `validate` for that).

mod checks;
mod cilium_values;
pub mod merge;
mod report;
mod sarif;

pub use cilium_values::CiliumValues;
pub use merge::{ConfigFile, Merged, merge};
pub use report::{Finding, LintReport};

use crate::k3s::flags::Role;

/// One node's config: the main file first, then its drop-ins in lexical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// The files, in the order k3s reads them.
    pub files: Vec<ConfigFile>,
    /// The role, when the caller knows it (`--role`); inferred otherwise.
    pub role: Option<Role>,
}

/// What `lint` is given besides the configs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintOptions {
    /// A Cilium values file and the chart line it is written for.
    pub cilium: Option<CiliumValues>,
}

/// Checks the configs of the nodes given together (servers are compared with each other).
///
/// ```
/// use meshspec::lint::{lint, ConfigFile, LintOptions, NodeConfig};
/// use meshspec::Code;
/// let node = NodeConfig {
///     files: vec![ConfigFile::new("config.yaml", "server: https://10.0.0.1:6443\nkublet-arg: [max-pods=200]\n")],
///     role: None,
/// };
/// let report = lint(&[node], &LintOptions::default());
/// let d = report.findings.iter().find(|f| f.diagnostic.is_error()).unwrap();
/// assert_eq!(d.diagnostic.code, Code::UnknownK3sKey);
/// assert_eq!((d.file.as_str(), d.diagnostic.line), ("config.yaml", Some(2)));
/// assert!(d.diagnostic.help.as_deref().unwrap().contains("kubelet-arg"));
/// ```
#[must_use]
pub fn lint(nodes: &[NodeConfig], options: &LintOptions) -> LintReport {
    let mut findings = Vec::new();
    let mut servers: Vec<(usize, Merged)> = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let (merged, problems) = merge(&node.files);
        for (file, d) in problems {
            findings.push(Finding::new(&node.files, file, d));
        }
        let role = node
            .role
            .unwrap_or_else(|| checks::infer_role(&node.files, &merged, &mut findings));
        checks::keys(&node.files, &merged, role, &mut findings);
        checks::labels_and_taints(&node.files, &merged, &mut findings);
        if role == Role::Server {
            checks::cni(&node.files, &merged, options.cilium.as_ref(), &mut findings);
            servers.push((index, merged));
        }
    }
    checks::critical(nodes, &servers, &mut findings);
    if let Some(values) = &options.cilium {
        let networks = cilium_values::Networks::of(nodes, &servers);
        cilium_values::check(values, &networks, &mut findings);
    }
    LintReport::new(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    fn one(name: &str, text: &str, role: Option<Role>) -> NodeConfig {
        NodeConfig {
            files: vec![ConfigFile::new(name, text)],
            role,
        }
    }

    fn codes(nodes: &[NodeConfig]) -> Vec<Code> {
        lint(nodes, &LintOptions::default())
            .findings
            .iter()
            .map(|f| f.diagnostic.code)
            .collect()
    }

    #[test]
    fn each_rule_on_the_smallest_config() {
        let s = Some(Role::Server);
        let a = Some(Role::Agent);
        let cases: &[(&str, Option<Role>, &[Code])] = &[
            ("cluster-init: true\nnode-ip: 100.64.0.1\n", s, &[]),
            ("kublet-arg: [x=1]\n", a, &[Code::UnknownK3sKey]),
            ("disable: [traefik]\n", a, &[Code::AgentServerOnlyKey]),
            ("cluster-init: maybe\n", s, &[Code::K3sKeyKind]),
            (
                "node-label: [node-role.kubernetes.io/worker=true]\n",
                a,
                &[Code::ReservedSelfLabel],
            ),
            ("node-label: [-bad=1]\n", a, &[Code::InvalidLabel]),
            ("node-taint: [gpu=true]\n", a, &[Code::InvalidTaint]),
            ("flannel-backend: none\n", s, &[Code::CniFlannelConflict]),
            (
                "flannel-backend: none\ndisable-network-policy: true\n",
                s,
                &[],
            ),
            ("disable-kube-proxy: true\n", s, &[Code::KubeProxyMismatch]),
            ("config: /x.yaml\n", s, &[Code::UnknownK3sKey]),
        ];
        for (text, role, want) in cases {
            assert_eq!(codes(&[one("c.yaml", text, *role)]), *want, "{text}");
        }
    }

    #[test]
    fn servers_given_together_must_share_critical_keys() {
        let a = one(
            "a.yaml",
            "cluster-init: true\ncluster-cidr: 10.42.0.0/16\n",
            None,
        );
        let b = one(
            "b.yaml",
            "server: https://x:6443\ncluster-cidr: 10.52.0.0/16\n",
            None,
        );
        let report = lint(&[a.clone(), b], &LintOptions::default());
        let d = report
            .findings
            .iter()
            .find(|f| f.diagnostic.code == Code::CriticalArgMismatch)
            .unwrap();
        assert_eq!(d.file, "b.yaml");
        assert_eq!(d.diagnostic.line, Some(2));
        // an absent key equals its default: `disable: [traefik]` is no servicelb mismatch
        let c = one(
            "c.yaml",
            "server: https://x:6443\ncluster-cidr: 10.42.0.0/16\ndisable: [traefik]\n",
            None,
        );
        assert!(!codes(&[a.clone(), c]).contains(&Code::CriticalArgMismatch));
        // nor are explicit defaults: a switch written `false`, k3s's own pod network
        let d = one(
            "d.yaml",
            "server: https://x:6443\ndisable-network-policy: false\n",
            None,
        );
        let e = one(
            "e.yaml",
            "cluster-init: true\ncluster-cidr: 10.42.0.0/16\n",
            None,
        );
        assert!(!codes(&[e, d]).contains(&Code::CriticalArgMismatch));
    }

    #[test]
    fn an_inferred_role_is_said_with_its_reason_and_mismatches_point_at_written_keys() {
        // issue #23: an agent's config with a stray `cluster-cidr`, linted with a server
        let server = one(
            "s1.yaml",
            "cluster-init: true\ncluster-cidr: 10.42.0.0/16\ndisable: [servicelb]\nflannel-backend: none\ndisable-network-policy: true\n",
            None,
        );
        let agent = one(
            "agent.yaml",
            "server: https://10.0.0.1:6443\ncluster-cidr: 10.42.0.0/16\n",
            None,
        );
        let report = lint(&[server, agent], &LintOptions::default());
        let said = report
            .findings
            .iter()
            .find(|f| f.file == "agent.yaml" && f.diagnostic.severity == crate::Severity::Info)
            .unwrap();
        assert_eq!(
            said.diagnostic.message,
            "`cluster-cidr` is a server-only key: checked as a server"
        );
        assert_eq!(said.diagnostic.line, Some(2));
        assert!(
            said.diagnostic
                .help
                .as_deref()
                .unwrap()
                .contains("--role agent")
        );
        let mismatches: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.diagnostic.code == Code::CriticalArgMismatch)
            .collect();
        assert_eq!(mismatches.len(), 3);
        for f in mismatches {
            // never at 1:1 of a file that lacks the key: at the key in the file that has it
            assert_eq!(f.file, "s1.yaml");
            assert_ne!(f.diagnostic.line, Some(1));
            assert!(
                f.diagnostic
                    .message
                    .contains("`agent.yaml`, which does not set it")
            );
            assert!(
                f.diagnostic
                    .help
                    .as_deref()
                    .unwrap()
                    .contains("--role agent")
            );
        }
        // with the role given, nothing is inferred or said
        let forced = one(
            "agent.yaml",
            "server: https://10.0.0.1:6443\ncluster-cidr: 10.42.0.0/16\n",
            Some(Role::Agent),
        );
        let report = lint(&[forced], &LintOptions::default());
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.diagnostic.severity != crate::Severity::Info)
        );
        assert_eq!(report.findings[0].diagnostic.code, Code::AgentServerOnlyKey);
        // an inferred agent is said at its `server:` key
        let agent = one("w.yaml", "node-ip: 1.2.3.4\nserver: https://x:6443\n", None);
        let report = lint(&[agent], &LintOptions::default());
        assert_eq!(report.findings[0].diagnostic.line, Some(2));
        assert_eq!(report.findings[0].diagnostic.path, "server");
    }

    #[test]
    fn a_finding_about_an_absent_key_has_no_position() {
        // Cilium with flannel left on: `flannel-backend` is not written, so no `1:1`
        let options = LintOptions {
            cilium: Some(CiliumValues {
                file: ConfigFile::new("values.yaml", "routingMode: tunnel\n"),
                version: "1.18".into(),
            }),
        };
        let node = one("s.yaml", "cluster-init: true\n", Some(Role::Server));
        let report = lint(&[node], &options);
        let f = report
            .findings
            .iter()
            .find(|f| {
                f.diagnostic.code == Code::CniFlannelConflict
                    && f.diagnostic.path == "flannel-backend"
            })
            .unwrap();
        assert_eq!((f.diagnostic.line, f.diagnostic.column), (None, None));
    }

    #[test]
    fn inferred_agents_are_said_once_per_file_and_counted() {
        let nodes = [
            one("w1.yaml", "server: https://x:6443\n", None),
            one("w2.yaml", "server: https://x:6443\n", None),
        ];
        let report = lint(&nodes, &LintOptions::default());
        assert_eq!(report.count(crate::Severity::Info), 2);
        let files: Vec<ConfigFile> = nodes.iter().flat_map(|n| n.files.clone()).collect();
        assert!(
            report
                .render(&files)
                .ends_with("0 errors, 0 warnings, 2 info\n")
        );
    }
}
