//! Properties over generated specs: printing and reading a spec round-trips, rendering is
//! byte-stable and does not depend on the order agents are listed in (a node's config is its
//! own), and no input makes reading panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use meshspec::spec::{
    CniPlugin, CniSpec, K3sSpec, MeshSpec, NetworkSpec, NodeSpec, ProxySpec, ProxyStyle, Role,
    SiteSpec, Spec,
};
use meshspec::{Cluster, RenderOptions};
use proptest::prelude::*;

fn node(
    i: usize,
    role: Role,
    site: Option<(usize, u8)>,
    labels: BTreeMap<String, String>,
) -> NodeSpec {
    let octets = (i as u32 + 1).to_be_bytes();
    NodeSpec {
        name: format!("node-{i}"),
        role,
        site: site.map(|(s, _)| format!("site-{s}")),
        lan_ip: site
            .map(|(s, _)| IpAddr::V4(Ipv4Addr::new(192, 168, s as u8, octets[3])))
            .into_iter()
            .collect(),
        mesh_ip: vec![IpAddr::V4(Ipv4Addr::new(
            100,
            64 + octets[2],
            octets[2],
            octets[3],
        ))],
        node_ip: None,
        pod_cidr: Vec::new(),
        labels,
        taints: Vec::new(),
        gpu: None,
        public_endpoint: None,
        proxy: None,
        wireguard: None,
    }
}

prop_compose! {
    fn spec()(
        servers in 1usize..4,
        agents in 0usize..12,
        sites in 0usize..4,
        cilium in any::<bool>(),
        proxy in any::<bool>(),
        disable in prop::collection::vec(prop::sample::select(vec!["traefik", "servicelb", "metrics-server"]), 0..3),
        label_value in "[a-z0-9]{1,8}",
        site_pick in prop::collection::vec(any::<u8>(), 16),
    ) -> Spec {
        let nodes: Vec<NodeSpec> = (0..servers + agents)
            .map(|i| {
                let site = if sites == 0 { None } else { Some((usize::from(site_pick[i % 16]) % sites, 0)) };
                let mut labels = BTreeMap::new();
                if i % 3 == 0 {
                    labels.insert("example.com/tier".to_owned(), label_value.clone());
                }
                node(i, if i < servers { Role::Server } else { Role::Agent }, site, labels)
            })
            .collect();
        Spec {
            version: 1,
            name: "generated".to_owned(),
            network: NetworkSpec::default(),
            mesh: MeshSpec::default(),
            sites: (0..sites)
                .map(|s| SiteSpec {
                    name: format!("site-{s}"),
                    subnets: vec![format!("192.168.{s}.0/24").parse().unwrap()],
                    mtu: None,
                    nat: None,
                    proxy: None,
                })
                .collect(),
            cni: CniSpec { plugin: Some(if cilium { CniPlugin::Cilium } else { CniPlugin::Flannel }), ..CniSpec::default() },
            k3s: K3sSpec { disable: { let mut d: Vec<String> = disable.iter().map(|s| (*s).to_owned()).collect(); d.dedup(); d }, ..K3sSpec::default() },
            proxy: proxy.then(|| ProxySpec { http: Some("http://proxy.lan:3128".to_owned()), style: Some(ProxyStyle::Precise), ..ProxySpec::default() }),
            acknowledge: Vec::new(),
            nodes,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn spec_print_read_round_trip(s in spec()) {
        let text = s.to_yaml();
        let (back, _) = Spec::from_yaml(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, s);
    }

    #[test]
    fn the_bundles_record_of_its_spec_reads_back_to_the_spec(s in spec()) {
        let text = meshspec::render::spec_record::spec_json(&Cluster::resolve(s.clone()));
        let (back, _) = Spec::from_yaml(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, s);
    }

    #[test]
    fn rendering_is_stable_and_agent_order_free(s in spec()) {
        let cluster = Cluster::resolve(s.clone());
        let opts = RenderOptions::default();
        let Ok(first) = cluster.render(&opts) else { return Ok(()) };
        let second = Cluster::resolve(s.clone()).render(&opts).unwrap();
        prop_assert_eq!(&first, &second);
        // list the agents backwards: every node keeps the same config file
        let mut reordered = s.clone();
        let servers: Vec<NodeSpec> = reordered.nodes.iter().filter(|n| n.role == Role::Server).cloned().collect();
        let mut agents: Vec<NodeSpec> = reordered.nodes.iter().filter(|n| n.role == Role::Agent).cloned().collect();
        agents.reverse();
        reordered.nodes = servers.into_iter().chain(agents).collect();
        let third = Cluster::resolve(reordered).render(&opts).unwrap();
        for (path, file) in first.files.iter().filter(|(p, _)| p.ends_with("config.yaml")) {
            prop_assert_eq!(Some(file), third.files.get(path), "{}", path);
        }
    }

    #[test]
    fn reading_never_panics(text in "\\PC{0,300}") {
        let _ = Cluster::from_yaml(&text);
    }

    #[test]
    fn reading_yaml_shaped_noise_never_panics(
        keys in prop::collection::vec(prop::sample::select(vec!["version", "name", "nodes", "network", "mesh", "cni", "k3s", "proxy", "sites", "cluster_cidr", "mesh_ip", "role", "- name", "  -", "values", "mtu"]), 0..20),
        vals in prop::collection::vec(prop::sample::select(vec!["1", "x", "[]", "{}", "10.0.0.0/8", "100.64.0.1", "server", "~", "-1", "99999999999999999999", "'1.20'", "[a, {b: c}]", "&a x", "*a"]), 20),
    ) {
        let text: String = keys.iter().zip(&vals).map(|(k, v)| format!("{k}: {v}\n")).collect();
        if let Ok(c) = Cluster::from_yaml(&text) {
            let _ = c.validate();
            let _ = c.render(&RenderOptions::default());
        }
    }
}
