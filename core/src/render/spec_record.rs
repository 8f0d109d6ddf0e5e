//! `cluster/spec.json`: the spec the bundle was rendered from, as meshspec read it.
//!
//! A bundle's own files say how each node is configured, but not the network they were
//! rendered for: the sites, their subnets and MTUs, which site sits behind NAT, each node's
//! LAN, mesh and public addresses. `meshspec testbed --bundle DIR` builds that network, and
//! computes what the cluster needs (the port matrix, the MTU stack, the mesh topology), from
//! this record, while everything else it tests comes from the bundle's files as they are on
//! disk. The record is the model's own spec written by serde (JSON, which every YAML 1.2
//! reader, meshspec's included, reads back to an equal spec, with lines and columns for its
//! errors), so it can never hold a value the spec could not: a spec holds no secrets (they
//! are refused when it is read), and comments and key order are not kept.

use crate::cluster::Cluster;

/// Where the record sits in the bundle.
pub const PATH: &str = "cluster/spec.json";

/// The record's text: the spec as pretty JSON, ending in a newline.
#[must_use]
pub fn spec_json(c: &Cluster) -> String {
    let mut text = serde_json::to_string_pretty(&c.spec).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn the_record_reads_back_to_the_same_spec_for_every_example() {
        for text in [
            include_str!("../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml"),
            include_str!("../../../examples/specs/cilium-vxlan-over-tailscale.yaml"),
        ] {
            let c = Cluster::from_yaml(text).unwrap();
            let record = spec_json(&c);
            let (back, _) = Spec::from_yaml(&record).unwrap();
            assert_eq!(back, c.spec);
        }
    }
}
