//! Texts the bundle renders once and gives to every node that needs them.
//!
//! Most of a node's files are the same on many nodes but for a line that names the node: the
//! proxy environment, the firewall rules of every node with the same role and site, the middle
//! of `install.sh`. Each such renderer is split into a header that names the node and a body
//! whose inputs are explicit values (the cluster plus a key such as
//! [`firewall::rules`] or [`install::Shape`]), never the node itself; [`Shared`] renders
//! each distinct body once. The public per-node functions (`firewall::script`,
//! `install::install_script`, `env::service_env`) join the same header and body, so a file is
//! byte-identical whichever way it was made (a test compares them on every node).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::cluster::{Cluster, Node, Proxy};
use crate::render::firewall::{self, Group, Rule};
use crate::render::{Contents, dropin, env, install};

/// The bodies rendered so far, for one bundle, each held once and shared by every file that
/// holds it (see [`Contents`]). Ordered maps: a key is compared only until its first
/// difference, where hashing would read every byte of every key.
pub(super) struct Shared<'c> {
    cluster: &'c Cluster,
    /// Per distinct proxy setting of the nodes: the unit env body and the environment.d file
    /// (a proxy group has a handful of members, so a list is searched).
    proxy: Vec<(Proxy, Arc<str>, Arc<str>)>,
    firewall: BTreeMap<Vec<Rule>, Arc<str>>,
    /// The groups the firewall rules so far read (what `peers.txt` lists).
    groups: BTreeSet<Group>,
    install: BTreeMap<install::Shape, Arc<str>>,
    /// tailscaled's drop-in: the same on every node that has one.
    tailscaled: Option<Arc<str>>,
}

impl<'c> Shared<'c> {
    pub(super) fn new(cluster: &'c Cluster) -> Self {
        Self {
            cluster,
            proxy: cluster
                .proxy_groups()
                .into_iter()
                .map(|(p, _)| {
                    (
                        p.clone(),
                        Arc::from(env::service_env_body(cluster, p)),
                        Arc::from(env::environment_d_of(cluster, p)),
                    )
                })
                .collect(),
            firewall: BTreeMap::new(),
            groups: BTreeSet::new(),
            install: BTreeMap::new(),
            tailscaled: None,
        }
    }

    /// The shared texts of `n`'s proxy setting, when it has one.
    fn proxy_texts(&self, n: &Node) -> Option<&(Proxy, Arc<str>, Arc<str>)> {
        let p = n.proxy.as_ref()?;
        self.proxy.iter().find(|(q, _, _)| q.same_settings(p))
    }

    /// [`env::service_env`] for `n`: its own proxy's variables.
    pub(super) fn service_env(&self, n: &Node) -> Option<Contents> {
        let (_, body, _) = self.proxy_texts(n)?;
        Some(Contents::concat([
            env::service_env_header(self.cluster, n).into(),
            body.into(),
        ]))
    }

    /// [`env::environment_d`] for `n` (the same on every node with its proxy).
    pub(super) fn environment_d(&self, n: &Node) -> Option<Contents> {
        self.proxy_texts(n).map(|(_, _, text)| text.into())
    }

    /// [`dropin::tailscaled_dropin`] for `n` (the same on every node that has one).
    pub(super) fn tailscaled_dropin(&mut self, n: &Node) -> Option<Contents> {
        if let Some(text) = &self.tailscaled {
            // whether a node has it depends on the node; its text does not
            return self.cluster.tunnel_in_tailscale(n).then(|| text.into());
        }
        let text: Arc<str> = Arc::from(dropin::tailscaled_dropin(self.cluster, n)?);
        self.tailscaled = Some(Arc::clone(&text));
        Some(text.into())
    }

    /// [`firewall::script`] for `n`.
    pub(super) fn firewall_script(&mut self, n: &Node) -> Contents {
        let c = self.cluster;
        let rules = firewall::rules(c, n);
        self.groups.extend(rules.iter().map(|r| r.from));
        let body = self
            .firewall
            .entry(rules)
            .or_insert_with_key(|rules| Arc::from(firewall::body(c, rules)));
        Contents::concat([firewall::header(c, n).into(), (&*body).into()])
    }

    /// [`firewall::peers_txt`], once [`Shared::firewall_script`] has seen every node.
    pub(super) fn peers_txt(&self) -> String {
        firewall::peers_txt_of(self.cluster, &self.groups)
    }

    /// [`install::install_script`] for `n` with these files.
    pub(super) fn install_script(&mut self, n: &Node, files: Vec<(String, u32)>) -> Contents {
        let c = self.cluster;
        let body = self
            .install
            .entry(install::Shape::of(n, files))
            .or_insert_with_key(|shape| Arc::from(install::body(c, shape)));
        Contents::concat([
            install::header(c, n).into(),
            (&*body).into(),
            install::footer(n).into(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use crate::cluster::Cluster;
    use crate::render::{RenderOptions, env, firewall, install};

    /// Every valid fixture and example: many sites, roles, meshes (with and without address
    /// ranges), proxies and CNIs.
    const SPECS: &[&str] = &[
        include_str!("../../../tests/fixtures/valid/cilium-cluster-pool.yaml"),
        include_str!("../../../tests/fixtures/valid/cilium-lan-pool-proxy.yaml"),
        include_str!("../../../tests/fixtures/valid/dual-stack.yaml"),
        include_str!("../../../tests/fixtures/valid/flannel-wireguard-native.yaml"),
        include_str!("../../../tests/fixtures/valid/headscale.yaml"),
        include_str!("../../../tests/fixtures/valid/kube-proxy-replacement.yaml"),
        include_str!("../../../tests/fixtures/valid/proxy.yaml"),
        include_str!("../../../tests/fixtures/valid/proxy-per-site.yaml"),
        include_str!("../../../tests/fixtures/valid/seed-cilium.yaml"),
        include_str!("../../../tests/fixtures/valid/seed-flannel.yaml"),
        include_str!("../../../tests/fixtures/valid/single-node-cilium.yaml"),
        include_str!("../../../tests/fixtures/valid/three-site-ha.yaml"),
        include_str!("../../../tests/fixtures/valid/vpn-auth.yaml"),
        include_str!("../../../examples/specs/flannel-over-tailscale-gpu-worker.yaml"),
        include_str!("../../../examples/specs/cilium-vxlan-over-tailscale.yaml"),
    ];

    #[test]
    fn shared_bodies_give_the_files_the_per_node_functions_give() {
        for spec in SPECS {
            let c = Cluster::from_yaml(spec).unwrap();
            let b = c.render(&RenderOptions::default()).unwrap();
            let text = |p: &str| b.text(p).unwrap().into_owned();
            assert_eq!(
                text(crate::render::firewall::PEERS_PATH),
                firewall::peers_txt(&c)
            );
            for n in &c.nodes {
                let base = format!("nodes/{}", n.name);
                assert_eq!(
                    text(&format!("cluster/firewall/{}.sh", n.name)),
                    firewall::script(&c, n),
                    "{}",
                    n.name
                );
                let unit_env = format!("etc/systemd/system/{}.service.env", env::service_name(n));
                assert_eq!(
                    b.text(&format!("{base}/{unit_env}"))
                        .map(std::borrow::Cow::into_owned),
                    env::service_env(&c, n),
                    "{}",
                    n.name
                );
                assert_eq!(
                    b.text(&format!("{base}/{}", install::ENVIRONMENT_D))
                        .map(std::borrow::Cow::into_owned),
                    env::environment_d(&c, n),
                    "{}",
                    n.name
                );
                assert_eq!(
                    b.text(&format!(
                        "{base}/{}",
                        crate::render::dropin::TAILSCALED_DROPIN
                    ))
                    .map(std::borrow::Cow::into_owned),
                    crate::render::dropin::tailscaled_dropin(&c, n),
                    "{}",
                    n.name
                );
                // the node's other files, in the order the bundle hands them to install.sh
                let mut files = vec![("etc/rancher/k3s/config.yaml".to_owned(), 0o600)];
                let dropin = crate::render::dropin::path(n);
                for (rel, mode) in [
                    (unit_env.clone(), 0o600),
                    (install::ENVIRONMENT_D.to_owned(), 0o644),
                    (dropin, 0o644),
                    (crate::render::dropin::TAILSCALED_DROPIN.to_owned(), 0o644),
                ] {
                    if let Some(f) = b.files.get(&format!("{base}/{rel}")) {
                        assert_eq!(f.mode, mode, "{rel}");
                        files.push((rel, mode));
                    }
                }
                assert_eq!(
                    text(&format!("{base}/install.sh")),
                    install::install_script(&c, n, &files),
                    "{}",
                    n.name
                );
            }
        }
    }
}
