//! One round of errors: a spec with reading problems (unknown keys, wrong types, missing
//! keys) is still checked by every rule that can run on what was read, as rustc goes on after
//! a type error, so fixing the reading errors does not reveal a second round.

use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::spec::Spec;

/// Every diagnostic of a spec text, and which rules did not run (and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneRound {
    /// The reading problems and the findings of every rule that ran, sorted.
    pub diagnostics: Diagnostics,
    /// What was skipped and why, one sentence each; empty when every rule ran.
    pub skipped: Vec<String>,
}

/// Whether `a` is `b` or lies below it (`nodes[1].mesh_ip` below `nodes[1]`).
fn under(a: &str, b: &str) -> bool {
    a == b
        || a.strip_prefix(b)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// `text` with every `nodes[k]` naming the k-th decoded node rewritten to that node's index in
/// the text (`indices[k]`).
fn renumber(text: &str, indices: &[usize]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("nodes[") {
        let (head, tail) = rest.split_at(at + "nodes[".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let mapped = tail[..digits]
            .parse::<usize>()
            .ok()
            .filter(|_| tail[digits..].starts_with(']'))
            .and_then(|k| indices.get(k));
        match mapped {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&tail[..digits]),
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// The `nodes[i]` part of a path, if it has one.
fn node_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("nodes[")?;
    let end = rest.find(']')?;
    Some(&path[.."nodes[".len() + end + 1])
}

impl Cluster {
    /// Reads a spec like [`Cluster::from_yaml`]; when it cannot be read, the error holds every
    /// error [`Cluster::check_yaml`] finds in one round: the reading problems and the errors of
    /// the rules that could still run on what was read. The bindings raise this, so a user sees
    /// everything that stops the spec at once, not a second round after fixing the first.
    ///
    /// ```
    /// use meshspec::{Cluster, Code};
    /// // an unknown key, and pod and service networks that overlap
    /// let e = Cluster::from_yaml_one_round("version: 1\nname: lab\nnetwrk: {}\nnetwork: {cluster_cidr: 10.43.0.0/16}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n").unwrap_err();
    /// assert_eq!(e.codes(), [Code::UnknownField, Code::PodServiceOverlap]);
    /// ```
    ///
    /// # Errors
    /// The reading problems (MS0xx) and the errors of every rule that could run.
    pub fn from_yaml_one_round(text: &str) -> Result<Cluster, Diagnostics> {
        Cluster::from_yaml(text).map_err(|reading| {
            let errors: Vec<_> = Cluster::check_yaml(text)
                .diagnostics
                .errors()
                .cloned()
                .collect();
            if errors.len() > reading.len() {
                Diagnostics::from_vec(errors)
            } else {
                reading
            }
        })
    }

    /// Reads a spec and runs every rule that can run on what was read, in one round.
    ///
    /// Without reading problems this is [`Cluster::from_yaml`] then [`Cluster::validate`].
    /// With them, the fields, nodes and list items that could not be read are left out and
    /// the rules run on the rest; a finding at or below a field that could not be read (or
    /// about a block holding one) is left out, as are the findings about nodes when a node
    /// could not be read (the others resolve differently without it); [`OneRound::skipped`]
    /// says so. No rule runs when
    /// the text is not YAML, when `version` or `name` cannot be read, or when a value breaks
    /// its field's grammar (it could be hostile: nothing goes further than the refusal).
    ///
    /// ```
    /// use meshspec::{Cluster, Code};
    /// // an unknown key, and pod and service networks that overlap
    /// let r = Cluster::check_yaml("version: 1\nname: lab\nnetwrk: {}\nnetwork: {cluster_cidr: 10.43.0.0/16}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n");
    /// assert!(r.diagnostics.codes().contains(&Code::UnknownField));
    /// assert!(r.diagnostics.codes().contains(&Code::PodServiceOverlap));
    /// assert!(r.skipped.is_empty());
    /// ```
    #[must_use]
    pub fn check_yaml(text: &str) -> OneRound {
        let (read, reading) = Spec::from_yaml_partial(text);
        let Some(crate::spec::Partial {
            spec,
            spans,
            node_indices,
        }) = read
        else {
            let skipped = if reading
                .iter()
                .any(|d| matches!(d.code, Code::YamlSyntax | Code::DuplicateKey))
            {
                "no rule ran: the file is not YAML a spec can be read from"
            } else {
                "no rule ran: the spec's `version` or `name` could not be read"
            };
            return OneRound {
                diagnostics: Diagnostics::from_vec(reading),
                skipped: vec![skipped.to_owned()],
            };
        };
        if reading.is_empty() {
            return OneRound {
                diagnostics: Cluster::resolve_with_spans(spec, spans).validate(),
                skipped: Vec::new(),
            };
        }
        if !crate::spec::grammar::check(&spec).is_empty() {
            return OneRound {
                diagnostics: Diagnostics::from_vec(reading),
                skipped: vec!["no other rule ran: a value breaks its field's grammar (MS003 above); fix it and validate again".to_owned()],
            };
        }
        let broken: Vec<&str> = reading.iter().map(|d| d.path.as_str()).collect();
        let broken_nodes: Vec<&str> = {
            let mut n: Vec<&str> = broken.iter().filter_map(|p| node_of(p)).collect();
            n.sort_unstable();
            n.dedup();
            n
        };
        let yaml_nodes = crate::yaml::parse(text)
            .ok()
            .and_then(|t| {
                t.to_json()
                    .get("nodes")
                    .and_then(serde_json::Value::as_array)
                    .map(Vec::len)
            })
            .unwrap_or(0);
        let decoded_nodes = spec.nodes.len();
        let dropped_nodes = yaml_nodes > decoded_nodes;
        // with a node left out the later ones move up: the rules run unpositioned, then each
        // finding's `nodes[k]` is mapped back to the text's index and positioned there
        let found = if dropped_nodes {
            let found = Cluster::resolve(spec).validate();
            found
                .diagnostics
                .into_iter()
                .map(|d| {
                    let mut d = Diagnostic {
                        path: renumber(&d.path, &node_indices),
                        message: renumber(&d.message, &node_indices),
                        help: d.help.as_deref().map(|h| renumber(h, &node_indices)),
                        ..d
                    };
                    if d.line.is_none()
                        && let Some(p) = spans.get(&d.path)
                    {
                        d = d.at(p.line, p.column);
                    }
                    d
                })
                .collect()
        } else {
            Cluster::resolve_with_spans(spec, spans)
                .validate()
                .diagnostics
        };
        let (mut cascaded, mut about_nodes) = (0usize, 0usize);
        let mut out: Vec<Diagnostic> = reading.clone();
        for d in found {
            if out.iter().any(|r| r.code == d.code && r.path == d.path) {
                continue;
            }
            // without a node the others resolve differently (node-ips, the server URL, who
            // shares a site): every finding about the nodes waits until it can be read
            if dropped_nodes && (d.path.is_empty() || under(&d.path, "nodes")) {
                about_nodes += 1;
                continue;
            }
            if broken
                .iter()
                .any(|b| under(&d.path, b) || (!d.path.is_empty() && under(b, &d.path)))
            {
                cascaded += 1;
                continue;
            }
            out.push(d);
        }
        let mut skipped = Vec::new();
        if dropped_nodes {
            skipped.push(format!(
                "{} of {yaml_nodes} nodes could not be read (among {}): the rules ran without them, and {about_nodes} finding(s) about nodes wait until they are fixed",
                yaml_nodes - decoded_nodes,
                broken_nodes.join(", ")
            ));
        }
        if cascaded > 0 {
            skipped.push(format!(
                "{cascaded} finding(s) about a field with a reading error above were left out: they may change once it is fixed"
            ));
        }
        OneRound {
            diagnostics: Diagnostics::from_vec(out),
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The errors (code, path) of a spec that reads cleanly.
    fn errors_of_fixed(text: &str) -> Vec<(Code, String)> {
        Cluster::from_yaml(text)
            .unwrap()
            .validate()
            .errors()
            .map(|d| (d.code, d.path.clone()))
            .collect()
    }

    /// The broken spec shows in one round every error the fixed spec still has.
    fn one_round(broken: &str, fixed: &str, reading: &[Code]) -> OneRound {
        // before: reading errors alone
        let before = Cluster::from_yaml(broken).unwrap_err();
        assert!(
            before.codes().iter().all(|c| reading.contains(c)),
            "{before}"
        );
        let round = Cluster::check_yaml(broken);
        for c in reading {
            assert!(round.diagnostics.codes().contains(c), "{c:?} missing");
        }
        let shown: Vec<(Code, String)> = round
            .diagnostics
            .iter()
            .map(|d| (d.code, d.path.clone()))
            .collect();
        let later = errors_of_fixed(fixed);
        assert!(!later.is_empty());
        for e in &later {
            assert!(
                shown.contains(e),
                "{e:?} only after the fix:\n{}",
                round.diagnostics
            );
        }
        round
    }

    #[test]
    fn reading_errors_no_longer_hide_the_cluster_rules() {
        // 2 reading errors (an unknown key, a node without mesh_ip) hid 2 more
        let broken = "version: 1\nname: lab\nnetwrk: {}\nnetwork:\n  cluster_cidr: 10.43.0.0/16\nk3s:\n  server_extra:\n    etcd-snapshot-schedule-cron: \"0 */6 * *\"\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n  - {name: a1, role: agent}\n";
        let fixed = "version: 1\nname: lab\nnetwork:\n  cluster_cidr: 10.43.0.0/16\nk3s:\n  server_extra:\n    etcd-snapshot-schedule-cron: \"0 */6 * *\"\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n  - {name: a1, role: agent, mesh_ip: 100.64.0.2}\n";
        let round = one_round(broken, fixed, &[Code::UnknownField, Code::MissingField]);
        assert!(round.diagnostics.codes().contains(&Code::PodServiceOverlap));
        assert!(round.diagnostics.codes().contains(&Code::K3sKeyKind));
    }

    #[test]
    fn an_imported_spec_with_a_todo_shows_every_error_at_once() {
        // what `import` writes when a node's mesh address is unknown: a wrong-type extra,
        // a missing mesh_ip, and servers that disagree on nothing the spec can hide
        let broken = "version: 1\nname: cluster\ncni: {plugin: flannel}\nk3s:\n  server_extra:\n    etcd-s3-timeout: 5\n    https-listen-port: abc\n  agent_extra:\n    disable: [traefik]\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1, lan_ip: 10.0.0.1}\n  - {name: s2, role: server, mesh_ip: 100.64.0.2}\n  - {name: w1, role: agent, mesh_ip: 5}\n";
        let fixed = "version: 1\nname: cluster\ncni: {plugin: flannel}\nk3s:\n  server_extra:\n    etcd-s3-timeout: 5\n    https-listen-port: abc\n  agent_extra:\n    disable: [traefik]\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1, lan_ip: 10.0.0.1}\n  - {name: s2, role: server, mesh_ip: 100.64.0.2}\n  - {name: w1, role: agent, mesh_ip: 100.64.0.3}\n";
        let round = one_round(broken, fixed, &[Code::InvalidValue]);
        let codes = round.diagnostics.codes();
        assert!(codes.contains(&Code::K3sKeyKind) && codes.contains(&Code::AgentServerOnlyKey));
    }

    #[test]
    fn without_a_node_the_findings_about_nodes_wait_and_paths_keep_the_texts_indices() {
        assert_eq!(
            renumber("nodes[0].lan_ip and nodes[1] but not nodes[x]", &[1, 2]),
            "nodes[1].lan_ip and nodes[2] but not nodes[x]"
        );
        // the server cannot be read: without it the agents would look misplaced (MS207)
        let text = "version: 1\nname: lab\nsites:\n  - {name: home, subnets: [192.168.1.0/24]}\n  - {name: cloud, subnets: [10.0.5.0/24]}\nnodes:\n  - {name: nas, role: master, site: home, lan_ip: 192.168.1.10, mesh_ip: 100.101.1.10}\n  - {name: desk, role: agent, site: home, lan_ip: 192.168.1.20, mesh_ip: 100.101.1.20}\n  - {name: vps, role: agent, site: cloud, lan_ip: 10.0.5.7, mesh_ip: 100.101.2.7}\n";
        let round = Cluster::check_yaml(text);
        assert!(
            round
                .diagnostics
                .iter()
                .all(|d| !d.path.starts_with("nodes[") || d.code == Code::InvalidValue),
            "{}",
            round.diagnostics
        );
        assert!(!round.diagnostics.codes().contains(&Code::NoServer));
        assert!(
            round.skipped[0].contains("finding(s) about nodes wait"),
            "{:?}",
            round.skipped
        );
    }

    #[test]
    fn skipped_rules_are_said_and_hostile_values_stop_the_round() {
        let dropped = "version: 1\nname: lab\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n  - {name: S2, role: agent, mesh_ip: 100.64.0.2}\n";
        let round = Cluster::check_yaml(dropped);
        assert_eq!(round.skipped.len(), 1, "{:?}", round.skipped);
        assert!(round.skipped[0].starts_with("1 of 2 nodes could not be read"));
        // a value that breaks its grammar: nothing runs past the refusal
        let hostile = "version: 1\nname: lab\nmesh: {interface: \"x\\nid\"}\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n";
        let round = Cluster::check_yaml(hostile);
        assert_eq!(round.diagnostics.codes(), [Code::InvalidValue]);
        assert!(round.skipped[0].starts_with("no other rule ran"));
        // no reading problem: exactly `validate`
        let clean =
            "version: 1\nname: lab\nnodes:\n  - {name: s1, role: server, mesh_ip: 100.64.0.1}\n";
        assert_eq!(
            Cluster::check_yaml(clean).diagnostics,
            Cluster::from_yaml(clean).unwrap().validate()
        );
        assert!(Cluster::check_yaml("version: 2\nname: x\n").skipped[0].contains("`version`"));
    }
}
