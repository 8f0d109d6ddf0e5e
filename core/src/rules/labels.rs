//! MS6xx: labels and taints, and the kubelet's self-labelling limits (MS409).

use crate::cluster::Cluster;
use crate::code::Code;
use crate::diagnostic::Diagnostic;
use crate::labels::{self, Taint};

pub(super) fn check(c: &Cluster, out: &mut Vec<Diagnostic>) {
    for n in &c.nodes {
        // a label's path is written only for a finding
        for (k, v) in &n.labels {
            let path = || format!("nodes[{}].labels.{k}", n.index);
            if let Err(e) = labels::check_label_key(k) {
                out.push(Diagnostic::new(Code::InvalidLabel, path(), format!("label key `{k}` on node `{}`: {e}", n.name)).with_help("keys are `[prefix/]name`: prefix a DNS subdomain, name up to 63 of `A-Za-z0-9._-` starting and ending alphanumeric"));
                continue;
            }
            if let Err(e) = labels::check_label_value(v) {
                out.push(Diagnostic::new(Code::InvalidLabel, path(), format!("label `{k}={v}` on node `{}`: {e}", n.name)).with_help("values are empty or up to 63 of `A-Za-z0-9._-` starting and ending alphanumeric"));
            }
            if !labels::self_label_allowed(k) {
                out.push(Diagnostic::new(Code::ReservedSelfLabel, path(), format!("node `{}` cannot label itself `{k}`: the kubelet may not set labels in the kubernetes.io/k8s.io namespaces, and it refuses to start", n.name)).with_help(format!("apply it with kubectl after the node joins (`kubectl label node {} {k}={v}`), or use your own prefix such as `example.com/{}`", n.name, k.rsplit('/').next().unwrap_or(k))));
            }
        }
        let own = c.spec.nodes.get(n.index).map_or(0, |s| s.taints.len());
        for (i, t) in n.taints.iter().enumerate() {
            if let Err(e) = t.parse::<Taint>() {
                let path = if i < own {
                    format!("nodes[{}].taints[{i}]", n.index)
                } else {
                    format!("nodes[{}].gpu", n.index)
                };
                out.push(
                    Diagnostic::new(Code::InvalidTaint, path, format!("node `{}`: {e}", n.name))
                        .with_help(taint_help(t, &e)),
                );
            }
        }
        if n.gpu && !n.taints.iter().any(|t| t.ends_with(":NoSchedule")) {
            out.push(Diagnostic::new(Code::GpuUntainted, format!("nodes[{}].taints", n.index), format!("GPU node `{}` has no NoSchedule taint: ordinary pods will fill it", n.name)).with_help("add `gpu=true:NoSchedule` (meshspec adds it unless a `gpu` taint is already listed)"));
        }
    }
}

/// A fix for a taint, computed from what is wrong with it (never the message again).
fn taint_help(taint: &str, e: &crate::labels::TaintError) -> String {
    use crate::labels::TaintError;
    match e {
        TaintError::MissingEffect(_) => {
            format!("add the effect: `{taint}:NoSchedule` (or `:PreferNoSchedule`, `:NoExecute`)")
        }
        TaintError::Effect {
            suggestion: Some(s),
            ..
        } => {
            let head = taint.rsplit_once(':').map_or(taint, |(h, _)| h);
            format!("write `{head}:{s}`")
        }
        TaintError::Key { source, .. } | TaintError::Value { source, .. } => {
            format!("{source}; a taint is `key[=value]:Effect` with a label-style key and value")
        }
        _ => "a taint is `key[=value]:Effect`, e.g. `dedicated=gpu:NoSchedule`".to_owned(),
    }
}
