//! Plain WireGuard meshes that meshspec renders itself (`mesh.provider: wireguard` with
//! `mesh.wireguard.manage: true`): the values the spec holds for them (a node's public
//! endpoint, its public key), checked when the spec is read so that no value reaches a
//! `wg-quick` file unchecked.
//!
//! The private key of a node never passes through here: it stays on the node, in the file the
//! rendered config loads (`PostUp = wg set %i private-key ...`).

pub mod endpoint;
pub mod key;
pub mod topology;

pub use endpoint::Endpoint;
pub use topology::Topology;

/// The UDP port a WireGuard interface listens on unless `mesh.wireguard.listen_port` says
/// otherwise (wg(8): 51820 by convention).
pub const DEFAULT_LISTEN_PORT: u16 = crate::ports::WIREGUARD_PORT;

/// The `PersistentKeepalive` interval (seconds) of nodes behind NAT unless
/// `mesh.wireguard.keepalive` says otherwise; wg(8) suggests 25 for peers behind NAT.
pub const DEFAULT_KEEPALIVE: u16 = 25;

#[cfg(test)]
mod tests {
    use crate::{Cluster, Code, Spec};

    const KEY_A: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const KEY_B: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    fn managed(extra_mesh: &str, node_a: &str) -> String {
        format!(
            "version: 1\nname: lab\nmesh:\n  provider: wireguard\n  ipv4_range: 10.99.0.0/24\n  wireguard: {{manage: true{extra_mesh}}}\nsites:\n  - {{name: home, subnets: [192.168.2.0/24], nat: true}}\nnodes:\n  - {{name: a, role: server, mesh_ip: 10.99.0.1{node_a}}}\n  - {{name: b, role: agent, site: home, lan_ip: 192.168.2.10, mesh_ip: 10.99.0.2, wireguard: {{public_key: \"{KEY_B}\"}}}}\n"
        )
    }

    fn decode_codes(text: &str) -> Vec<(Code, String)> {
        match Spec::from_yaml(text) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(|d| (d.code, d.path.clone())).collect(),
        }
    }

    #[test]
    fn the_fields_decode_resolve_and_print_back() {
        let text = managed(
            ", listen_port: 51999, keepalive: 15, relays: [a]",
            &format!(
                ", public_endpoint: \"[2001:db8::1]:51999\", wireguard: {{public_key: \"{KEY_A}\"}}"
            ),
        );
        let (spec, _) = Spec::from_yaml(&text).unwrap();
        assert_eq!(Spec::from_yaml(&spec.to_yaml()).unwrap().0, spec);
        let c = Cluster::resolve(spec);
        let w = c.mesh.managed_wireguard().unwrap();
        assert_eq!(
            (w.listen_port, w.keepalive, w.relays.clone()),
            (51999, 15, Some(vec!["a".to_owned()]))
        );
        assert!(c.sites[0].nat);
        let a = c.node("a").unwrap();
        assert_eq!(
            a.public_endpoint.as_ref().map(|e| e.with_port(1)),
            Some("[2001:db8::1]:51999".to_owned())
        );
        assert_eq!(a.wireguard_public_key.as_deref(), Some(KEY_A));
        assert!(!c.validate().has_errors(), "{:?}", c.validate().codes());
    }

    #[test]
    fn defaults_fill_in() {
        let c = Cluster::from_yaml(&managed(
            "",
            &format!(", wireguard: {{public_key: \"{KEY_A}\"}}"),
        ))
        .unwrap();
        let w = c.mesh.managed_wireguard().unwrap();
        assert_eq!(
            (w.listen_port, w.keepalive, w.relays.clone()),
            (51820, 25, None)
        );
        // another provider has no WireGuard settings at all
        let ts = Cluster::from_yaml(
            "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
        )
        .unwrap();
        assert!(ts.mesh.wireguard.is_none() && !ts.sites.iter().any(|s| s.nat));
    }

    #[test]
    fn values_that_cannot_be_written_safely_are_refused_when_read() {
        let bad_endpoint = managed(
            "",
            &format!(
                ", public_endpoint: \"203.0.113.7:51820\\nPostUp = id\", wireguard: {{public_key: \"{KEY_A}\"}}"
            ),
        );
        assert_eq!(
            decode_codes(&bad_endpoint),
            [(Code::InvalidValue, "nodes[0].public_endpoint".to_owned())]
        );
        let bad_key = managed("", ", wireguard: {public_key: \"abc$(id)\"}");
        assert_eq!(
            decode_codes(&bad_key),
            [(
                Code::WgPublicKey,
                "nodes[0].wireguard.public_key".to_owned()
            )]
        );
        let number_key = managed("", ", wireguard: {public_key: 12}");
        assert_eq!(
            decode_codes(&number_key),
            [(
                Code::WgPublicKey,
                "nodes[0].wireguard.public_key".to_owned()
            )]
        );
        let port_zero = managed(", listen_port: 0", "");
        assert_eq!(
            decode_codes(&port_zero),
            [(Code::InvalidValue, "mesh.wireguard.listen_port".to_owned())]
        );
        let bad_relay = managed(", relays: [Not_A_Node]", "");
        assert_eq!(
            decode_codes(&bad_relay),
            [(Code::InvalidValue, "mesh.wireguard.relays[0]".to_owned())]
        );
    }

    #[test]
    fn a_missing_key_is_ms820_and_never_repeats_a_key() {
        let c = Cluster::from_yaml(&managed("", "")).unwrap();
        let d = c.validate();
        let ms820: Vec<_> = d.iter().filter(|d| d.code == Code::WgPublicKey).collect();
        assert_eq!(ms820.len(), 1, "{:?}", d.codes());
        assert_eq!(ms820[0].path, "nodes[0].wireguard.public_key");
        for d in d.iter() {
            assert!(!format!("{} {:?}", d.message, d.help).contains(KEY_B));
        }
    }

    #[test]
    fn fields_that_do_not_apply_are_refused_like_cni_cilium_beside_flannel() {
        let cases: [(&str, &[&str]); 4] = [
            // on another provider
            (
                "version: 1\nname: lab\nmesh: {wireguard: {listen_port: 51820}}\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1, public_endpoint: 203.0.113.7}\n",
                &["mesh.wireguard", "nodes[0].public_endpoint"],
            ),
            // plain WireGuard brought up by the operator
            (
                &format!(
                    "version: 1\nname: lab\nmesh: {{provider: wireguard, ipv4_range: 10.99.0.0/24, wireguard: {{keepalive: 10, relays: []}}}}\nnodes:\n  - {{name: a, role: server, mesh_ip: 10.99.0.1, wireguard: {{public_key: \"{KEY_A}\"}}}}\n"
                ),
                &[
                    "mesh.wireguard.keepalive",
                    "mesh.wireguard.relays",
                    "nodes[0].wireguard",
                ],
            ),
            // `listen_port` applies either way, and so does `nat` (a fact about the site)
            (
                "version: 1\nname: lab\nmesh: {provider: wireguard, ipv4_range: 10.99.0.0/24, wireguard: {listen_port: 51999}}\nsites: [{name: home, subnets: [192.168.2.0/24], nat: true}]\nnodes:\n  - {name: a, role: server, site: home, mesh_ip: 10.99.0.1}\n",
                &[],
            ),
            (
                "version: 1\nname: lab\nsites: [{name: home, subnets: [192.168.2.0/24], nat: true}]\nnodes:\n  - {name: a, role: server, site: home, mesh_ip: 100.64.0.1}\n",
                &[],
            ),
        ];
        for (text, paths) in cases {
            let c = Cluster::from_yaml(text).unwrap();
            let got: Vec<String> = c
                .validate()
                .iter()
                .filter(|d| d.code == Code::InvalidValue)
                .map(|d| d.path.clone())
                .collect();
            assert_eq!(got, *paths, "{text}");
        }
    }
}
