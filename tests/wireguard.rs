//! Issue #22: plain WireGuard rendered by meshspec (`mesh.wireguard.manage: true`).
//!
//! Over every valid fixture that renders a WireGuard mesh:
//! - every pair of nodes either peers directly or goes through one relay that peers directly
//!   with both, and on every interface the `AllowedIPs` of its peers are disjoint and carry
//!   each other node's mesh addresses exactly once (under the node itself or under the relay
//!   of the pair);
//! - nothing in the bundle, PLAN.md or the diagnostics looks like a key but the spec's own
//!   public keys, no config has a `PrivateKey`, every config is mode 0600;
//! - `wg-quick strip` (wireguard-tools) accepts every rendered config, when it is installed.
//!
//! The namespace proof (interfaces brought up from these files, pings through NAT and relays)
//! is `meshspec testbed`'s.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::{BTreeMap, BTreeSet};

use meshspec::render::RenderOptions;
use meshspec::{Bundle, Cluster};

#[path = "common/specs.rs"]
mod specs;

/// Every valid fixture whose mesh meshspec renders, with its cluster and bundle.
fn managed() -> Vec<(String, Cluster, Bundle)> {
    let out: Vec<(String, Cluster, Bundle)> = specs::valid_fixtures()
        .into_iter()
        .filter_map(|(name, text)| {
            let c = Cluster::from_yaml(&text).unwrap();
            c.wireguard_topology()?;
            let b = c.render(&RenderOptions::default()).unwrap();
            Some((name, c, b))
        })
        .collect();
    assert!(out.len() >= 3, "the WireGuard fixtures are gone");
    out
}

#[test]
fn every_pair_is_direct_or_relayed_and_allowed_ips_never_overlap() {
    for (name, c, _) in managed() {
        let t = c.wireguard_topology().unwrap();
        assert!(t.unreachable.is_empty(), "{name}");
        let mesh: BTreeMap<&str, Vec<String>> = c
            .nodes
            .iter()
            .map(|n| {
                let routes = n
                    .mesh_ips
                    .iter()
                    .map(|ip| format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 }))
                    .collect();
                (n.name.as_str(), routes)
            })
            .collect();
        for node in &t.nodes {
            // every other node's addresses appear exactly once on this interface
            let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
            for p in &node.peers {
                for a in &p.allowed_ips {
                    assert!(
                        seen.insert(a, &p.name).is_none(),
                        "{name}: {} lists {a} under two peers",
                        node.name
                    );
                }
            }
            for other in c.nodes.iter().filter(|o| o.name != node.name) {
                let direct = node.peers.iter().any(|p| p.name == other.name);
                let relayed = t.relayed.iter().find(|r| {
                    (r.a == node.name && r.b == other.name)
                        || (r.b == node.name && r.a == other.name)
                });
                assert!(
                    direct != relayed.is_some(),
                    "{name}: {} and {} are neither direct nor relayed, or both",
                    node.name,
                    other.name
                );
                let under = relayed.map_or(other.name.as_str(), |r| r.relay.as_str());
                for a in &mesh[other.name.as_str()] {
                    assert_eq!(
                        seen.get(a.as_str()).copied(),
                        Some(under),
                        "{name}: {} reaches {} ({a}) under the wrong peer",
                        node.name,
                        other.name
                    );
                }
                if let Some(r) = relayed {
                    // the relay peers with both and forwards
                    let relay = t.node(&r.relay).unwrap();
                    assert!(relay.forwards, "{name}: {}", r.relay);
                    assert!(relay.peers.iter().any(|p| p.name == r.a));
                    assert!(relay.peers.iter().any(|p| p.name == r.b));
                }
            }
            // a peer that cannot dial this node gets a keepalive, so the path stays open
            for p in &node.peers {
                assert_eq!(
                    p.keepalive.is_some(),
                    !p.dials_in,
                    "{name}: {} -> {}",
                    node.name,
                    p.name
                );
                assert!(
                    p.endpoint.is_some() || p.dials_in,
                    "{name}: {} -> {}",
                    node.name,
                    p.name
                );
            }
        }
    }
}

/// Every run of 43 base64 characters followed by `=`: what a WireGuard key looks like.
fn key_like(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        if is_b64(b[i]) && (i == 0 || !is_b64(b[i - 1])) {
            let mut j = i;
            while j < b.len() && is_b64(b[j]) {
                j += 1;
            }
            if j - i == 43 && b.get(j) == Some(&b'=') {
                out.insert(String::from_utf8_lossy(&b[i..j]).into_owned());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn nothing_but_the_specs_public_keys_looks_like_a_key_and_configs_are_private() {
    for (name, c, b) in managed() {
        let public: BTreeSet<String> = c
            .nodes
            .iter()
            .filter_map(|n| n.wireguard_public_key.as_ref())
            .map(|k| k.trim_end_matches('=').to_owned())
            .collect();
        let mut texts: Vec<(String, String)> = b
            .files
            .iter()
            .map(|(p, f)| (p.clone(), f.contents.to_string()))
            .collect();
        texts.push(("diagnostics".into(), c.validate().render(None)));
        texts.push((
            "topology".into(),
            serde_json::to_string(c.wireguard_topology().unwrap()).unwrap(),
        ));
        for (path, text) in &texts {
            for k in key_like(text) {
                assert!(
                    public.contains(&k),
                    "{name}: {path} holds {k}, which is no public key of the spec"
                );
            }
            assert!(!text.contains("PrivateKey"), "{name}: {path}");
        }
        for n in &c.nodes {
            let conf = b
                .files
                .get(&format!(
                    "nodes/{}/etc/wireguard/{}.conf",
                    n.name, c.mesh.interface
                ))
                .unwrap();
            assert_eq!(conf.mode, 0o600, "{name}: {}", n.name);
            assert!(conf.contents.as_str().contains(&format!(
                "PostUp = wg set %i private-key /etc/wireguard/{}.key",
                c.mesh.interface
            )));
            let install = b.text(&format!("nodes/{}/install.sh", n.name)).unwrap();
            assert!(
                install.contains("(umask 077; wg genkey >"),
                "{name}: {}",
                n.name
            );
            assert!(install.contains("wg pubkey <"), "{name}: {}", n.name);
            assert!(install.contains(&format!(
                "systemctl enable wg-quick@{}.service",
                c.mesh.interface
            )));
        }
    }
}

#[test]
fn the_key_scan_finds_a_key_anywhere() {
    // the scan itself must catch a key inside any text
    let k = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    assert_eq!(key_like(&format!("PrivateKey = {k}\n")).len(), 1);
    assert_eq!(key_like(&format!("x`{k}`y")).len(), 1);
    assert!(key_like("10.99.0.1/32, fd99::1/128").is_empty());
    assert!(
        key_like("https://github.com/rancher/system-upgrade-controller/releases/latest/download/x")
            .is_empty()
    );
}

#[test]
fn wg_quick_strip_accepts_every_rendered_config() {
    let have = std::process::Command::new("wg-quick")
        .arg("-h")
        .output()
        .is_ok();
    if !have {
        eprintln!(
            "SKIPPED: wg-quick is not installed (Debian: wireguard-tools --no-install-recommends); the rendered configs were not parsed by it"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("meshspec-wgquick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, c, b) in managed() {
        for n in &c.nodes {
            let rel = format!("nodes/{}/etc/wireguard/{}.conf", n.name, c.mesh.interface);
            let path = dir.join(format!("{}.conf", c.mesh.interface));
            std::fs::write(&path, &*b.text(&rel).unwrap()).unwrap();
            let out = std::process::Command::new("wg-quick")
                .arg("strip")
                .arg(&path)
                .output()
                .unwrap();
            let stripped = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{name}/{}: wg-quick strip failed: {}",
                n.name,
                String::from_utf8_lossy(&out.stderr)
            );
            // what `wg setconf` gets: the peers, no wg-quick keys, no private key
            let t = c.wireguard_topology().unwrap();
            let peers = t.node(&n.name).unwrap().peers.len();
            assert_eq!(
                stripped.matches("[Peer]").count(),
                peers,
                "{name}/{}",
                n.name
            );
            for k in ["Address", "MTU", "PostUp", "PrivateKey"] {
                assert!(
                    !stripped.contains(&format!("{k} =")),
                    "{name}/{}: {k}",
                    n.name
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_key_reloads_the_peers_interfaces_before_k3s() {
    let old = specs::valid_fixtures()
        .into_iter()
        .find(|(n, _)| n == "wireguard-managed-nat-relay")
        .unwrap()
        .1;
    // office-1 got a new key pair: every peer of it changes its [Peer] entry
    let new = old.replace(
        "Qy6pFADJOj/5M7iSygcaZ8JhX/cgc2G+FDsMfVuQ/Eg=",
        "CKCcp3LlbsBxgpGOXk1Nfz7lYUIQpDhM8Y+jWwJSuFA=",
    );
    let (old, new) = (
        Cluster::from_yaml(&old).unwrap(),
        Cluster::from_yaml(&new).unwrap(),
    );
    let plan = meshspec::change::ChangePlan::between(&old, &new);
    let cloud = plan.nodes.iter().find(|n| n.node == "cloud-1").unwrap();
    assert!(
        cloud
            .files
            .iter()
            .any(|f| f.path == "nodes/cloud-1/etc/wireguard/wg0.conf"
                && f.action == meshspec::change::Action::ReloadWireguard),
        "{:?}",
        cloud.files
    );
    assert!(
        cloud
            .steps
            .iter()
            .any(|s| s.contains("systemctl reload wg-quick@wg0.service")),
        "{:?}",
        cloud.steps
    );
    // home-1 reaches office-1 through the relay: its own config does not name office-1's key
    let home = plan.nodes.iter().find(|n| n.node == "home-1");
    assert!(home.is_none_or(|h| h.files.iter().all(|f| !f.path.contains("wireguard"))));
}
