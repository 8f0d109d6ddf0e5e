//! `cluster/spec.json`: the spec the bundle was rendered from, as meshspec read it.
//!
//! A bundle's own files say how each node is configured, but not the network they were
//! rendered for: the sites, their subnets and MTUs, which site sits behind NAT, each node's
//! LAN, mesh and public addresses. `meshspec testbed --bundle DIR` builds that network, and
//! computes what the cluster needs (the port matrix, the MTU stack, the mesh topology), from
//! this record, while everything else it tests comes from the bundle's files as they are on
//! disk. The record is the model's own spec written by serde (JSON, which every YAML 1.2
//! reader, meshspec's included, reads back to an equal spec, with lines and columns for its
//! errors). Comments and key order are not kept.
//!
//! A spec holds no token or auth key (they are refused when it is read), but a proxy URL may
//! carry a user name and password, which the bundle keeps only in files of mode 0600. The
//! record (mode 0644, and shown by `render --check`) leaves them out: such a URL is written
//! without its user information, so rendering the record gives the same bundle except for the
//! credentials in the private env files, which the testbed does not read.

use crate::cluster::Cluster;

/// Where the record sits in the bundle.
pub const PATH: &str = "cluster/spec.json";

/// The record's text: the spec as pretty JSON without any URL's credentials, ending in a
/// newline.
#[must_use]
pub fn spec_json(c: &Cluster) -> String {
    let mut text = serde_json::to_string_pretty(&c.spec).unwrap_or_default();
    // only a URL with user information holds an `@` (no name, address or path can)
    if text.contains('@') {
        let mut value = serde_json::to_value(&c.spec).unwrap_or_default();
        strip_credentials(&mut value);
        text = serde_json::to_string_pretty(&value).unwrap_or_default();
    }
    text.push('\n');
    text
}

/// Every string in `v` that is a URL with a user name or password loses them.
fn strip_credentials(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if crate::netaddr::has_credentials(s)
                && let Some(start) = s.find("://").map(|i| i + 3)
            {
                let end = s[start..]
                    .find(['/', '?', '#'])
                    .map_or(s.len(), |i| start + i);
                if let Some(at) = s[start..end].rfind('@') {
                    s.replace_range(start..=start + at, "");
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_credentials),
        serde_json::Value::Object(map) => map.values_mut().for_each(strip_credentials),
        _ => {}
    }
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

    #[test]
    fn a_proxy_password_never_reaches_the_record() {
        let c = Cluster::from_yaml(
            "version: 1\nname: lab\nproxy:\n  http: http://bob:hunter2@proxy.example:3128\n  https: http://bob:hunter2@proxy.example:3128\nsites:\n  - {name: home, subnets: [192.168.1.0/24], proxy: {http: \"http://alice:s3cret@10.0.0.1:8080\"}}\nnodes:\n  - {name: a, role: server, site: home, lan_ip: 192.168.1.2, mesh_ip: 100.64.0.1}\n",
        )
        .unwrap();
        let record = spec_json(&c);
        for secret in ["hunter2", "bob", "s3cret", "alice"] {
            assert!(!record.contains(secret), "{secret} in\n{record}");
        }
        let (back, _) = Spec::from_yaml(&record).unwrap();
        let proxy = back.proxy.unwrap();
        assert_eq!(proxy.http.as_deref(), Some("http://proxy.example:3128"));
    }
}
