//! Plain WireGuard brought up in network namespaces from the rendered `wg-quick` files
//! (`meshspec_testbed::WgMesh`): every node pings every other node's mesh addresses, through
//! the relay where the topology says so; with the relay's forwarding off exactly the relayed
//! pairs fail, with its interface down the relayed pairs and the relay's own pairs fail and
//! the rest still pass.
//!
//! Not root, no netns, no iptables or no `wireguard-go`/`wg-quick`: a loud SKIP on stderr, or
//! a failure when `MESHSPEC_REQUIRE_NETNS=1` (CI sets it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use meshspec::{Bundle, Cluster, RenderOptions};
use meshspec_testbed::{Ping, WgMesh, wg_unavailable};

/// How long a ping that must pass may wait for its reply (the first handshakes included).
const PASS_S: u32 = 8;
/// How long a ping waits once the mesh is up (a failure costs this much).
const AFTER_S: u32 = 3;

fn available(test: &str) -> bool {
    let Some(why) = wg_unavailable() else {
        return true;
    };
    assert!(
        std::env::var("MESHSPEC_REQUIRE_NETNS").as_deref() != Ok("1"),
        "MESHSPEC_REQUIRE_NETNS=1 but the WireGuard namespace test cannot run: {why}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED testbed/tests/wireguard_mesh.rs {test}: {why}. The WireGuard configs were NOT brought up (run as root with iproute2, iptables, wireguard-go and wireguard-tools; CI sets MESHSPEC_REQUIRE_NETNS=1). ***\n"
    );
    false
}

fn fixture(name: &str) -> Cluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/valid")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    Cluster::from_yaml(&text).unwrap()
}

fn up(c: &Cluster) -> (WgMesh, Bundle) {
    let bundle = c.render(&RenderOptions::default()).unwrap();
    let m = WgMesh::build(c, &bundle).unwrap_or_else(|e| panic!("the mesh did not come up: {e}"));
    (m, bundle)
}

/// The nodes whose `verify.sh --wireguard` fails (it pings every mesh address and wants a
/// handshake with every direct peer), all run at once.
fn verify_fails(m: &WgMesh, b: &Bundle) -> BTreeSet<String> {
    std::thread::scope(|s| {
        let hs: Vec<_> = m
            .nodes
            .iter()
            .map(|n| s.spawn(move || (n.name.clone(), m.verify(b, &n.name).unwrap())))
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .filter(|(_, (ok, _))| !ok)
            .map(|(name, (_, out))| {
                eprintln!("verify.sh --wireguard {name}:\n{out}");
                name
            })
            .collect()
    })
}

/// Every node's interface has exactly the peers of its rendered config, and those are the
/// fresh keys of the nodes the topology peers it with.
fn peers_are_the_rendered_ones(c: &Cluster, m: &WgMesh) {
    let t = meshspec::wireguard::topology::compute(c).unwrap();
    for n in &m.nodes {
        let live = m.peers(&n.name).unwrap();
        let mut conf = n.conf_peers.clone();
        conf.sort();
        assert_eq!(live, conf, "`wg show {} peers` of {}", m.iface, n.name);
        let mut want: Vec<String> = t
            .node(&n.name)
            .unwrap()
            .peers
            .iter()
            .map(|p| {
                m.nodes
                    .iter()
                    .find(|x| x.name == p.name)
                    .unwrap()
                    .public_key
                    .clone()
            })
            .collect();
        want.sort();
        assert_eq!(live, want, "the peers of {}", n.name);
    }
    // the keys were replaced one for one
    let fresh: BTreeSet<&String> = m.keys.values().collect();
    assert_eq!(fresh.len(), c.nodes.len());
}

/// The unordered pairs whose pings failed (in either direction, any address).
fn failed(pings: &[Ping]) -> BTreeSet<(String, String)> {
    pings
        .iter()
        .filter(|p| !p.ok)
        .map(|p| {
            let (a, b) = (p.from.clone(), p.to.clone());
            if a < b { (a, b) } else { (b, a) }
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a < b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// The pings, then every node's `wg show` and routes.
fn report(m: &WgMesh, what: &str, pings: &[Ping]) -> String {
    let mut s = format!("{what}:\n");
    for p in pings {
        s.push_str(&format!(
            "  {} -> {} ({}): {}\n",
            p.from,
            p.to,
            p.addr,
            if p.ok { "reply" } else { "NO REPLY" }
        ));
    }
    for n in &m.nodes {
        s.push_str(&format!(
            "{}:\n{}\n",
            n.name,
            m.show(&n.name).unwrap_or_else(|e| e)
        ));
    }
    s
}

#[test]
fn one_site_every_node_pings_every_other_over_the_lan() {
    if !available("one_site_every_node_pings_every_other_over_the_lan") {
        return;
    }
    let c = fixture("wireguard-managed-one-site");
    let (m, b) = up(&c);
    peers_are_the_rendered_ones(&c, &m);
    let pings = m.ping_matrix(PASS_S);
    assert_eq!(pings.len(), 6);
    assert!(
        failed(&pings).is_empty(),
        "{}",
        report(&m, "one site", &pings)
    );
    assert_eq!(verify_fails(&m, &b), BTreeSet::new());
}

#[test]
fn dual_stack_every_node_pings_every_other_in_both_families() {
    if !available("dual_stack_every_node_pings_every_other_in_both_families") {
        return;
    }
    let c = fixture("wireguard-managed-dual-stack");
    let (m, b) = up(&c);
    peers_are_the_rendered_ones(&c, &m);
    let pings = m.ping_matrix(PASS_S);
    // 3 nodes, 2 others each, an IPv4 and an IPv6 mesh address each
    assert_eq!(pings.len(), 12);
    assert_eq!(pings.iter().filter(|p| p.addr.is_ipv6()).count(), 6);
    assert!(
        failed(&pings).is_empty(),
        "{}",
        report(&m, "dual stack", &pings)
    );
    assert_eq!(verify_fails(&m, &b), BTreeSet::new());
}

#[test]
fn nat_relay_relayed_pairs_go_through_the_relay_and_only_they_need_it() {
    if !available("nat_relay_relayed_pairs_go_through_the_relay_and_only_they_need_it") {
        return;
    }
    let t0 = Instant::now();
    let c = fixture("wireguard-managed-nat-relay");
    let topo = meshspec::wireguard::topology::compute(&c).unwrap();
    let relayed: BTreeSet<(String, String)> =
        topo.relayed.iter().map(|r| pair(&r.a, &r.b)).collect();
    // the fixture: both home nodes reach the office node only through cloud-1
    assert_eq!(
        relayed,
        BTreeSet::from([pair("home-1", "office-1"), pair("home-2", "office-1")])
    );
    assert!(topo.relayed.iter().all(|r| r.relay == "cloud-1"));
    let (m, b) = up(&c);
    peers_are_the_rendered_ones(&c, &m);

    let pings = m.ping_matrix(PASS_S);
    assert_eq!(pings.len(), 12);
    assert!(
        failed(&pings).is_empty(),
        "{}",
        report(&m, "all up", &pings)
    );

    // the relay stops forwarding: exactly the relayed pairs fail
    m.set_forwarding("cloud-1", false).unwrap();
    let pings = m.ping_matrix(AFTER_S);
    assert_eq!(
        failed(&pings),
        relayed,
        "{}",
        report(&m, "relay not forwarding", &pings)
    );
    // the rendered verify.sh sees it on every node of a relayed pair, not on the relay
    assert_eq!(
        verify_fails(&m, &b),
        BTreeSet::from(["home-1".into(), "home-2".into(), "office-1".into()])
    );
    m.set_forwarding("cloud-1", true).unwrap();

    // the relay's firewall script put its forward chain first in FORWARD (the host's policy
    // is DROP): without that jump, exactly the relayed pairs fail again
    m.sh("cloud-1", "iptables -w -D FORWARD -j MESHSPEC-FORWARD")
        .unwrap();
    let pings = m.ping_matrix(AFTER_S);
    assert_eq!(
        failed(&pings),
        relayed,
        "{}",
        report(&m, "relay without its forward chain", &pings)
    );
    m.sh("cloud-1", "iptables -w -I FORWARD 1 -j MESHSPEC-FORWARD")
        .unwrap();

    // the relay's interface goes down: the relayed pairs and the relay's own pairs fail, the
    // pair on the home LAN still talks
    m.link_down("cloud-1").unwrap();
    let pings = m.ping_matrix(AFTER_S);
    let mut want = relayed.clone();
    for n in ["home-1", "home-2", "office-1"] {
        want.insert(pair("cloud-1", n));
    }
    assert_eq!(failed(&pings), want, "{}", report(&m, "relay down", &pings));
    assert!(
        pings
            .iter()
            .any(|p| p.ok && p.from == "home-1" && p.to == "home-2")
    );
    let _ = writeln!(
        std::io::stderr(),
        "wireguard nat-relay mesh: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
