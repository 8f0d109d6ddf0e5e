//! Issue #25: PLAN.md's Mermaid diagrams (the cluster and the MTU stack).
//!
//! - snapshots of both diagrams for every valid fixture (the seeds, the three-site cluster,
//!   the hostile-names fixture among them) and for a generated 5,000-node cluster
//!   (`tests/snapshots/diagram/`; `tests/mermaid/` renders every one of them with the real
//!   Mermaid in Chromium, from `scripts/test.sh`);
//! - every line of every diagram is one of the statements meshspec writes, every label holds
//!   only plain characters, numeric entity codes and `<br>`, whatever the spec's strings hold
//!   (also with validation bypassed);
//! - the MTU diagram has the numbers of `Cluster::mtu_stack`, which PLAN.md's table prints;
//! - above 50 nodes the cluster diagram groups nodes per site and role;
//! - a NAT site says "behind NAT", a node its public endpoint, and with a WireGuard mesh
//!   meshspec renders, relays say "relay" and each site of a relayed node has one labelled
//!   edge to its relay (issue #22).

// a test harness: it reads the fixtures, which the core itself never does
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use meshspec::Cluster;
use meshspec::render::diagram::{self, GROUP_ABOVE};

#[path = "../benches/specgen.rs"]
mod specgen;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[path = "common/specs.rs"]
mod specs;
use specs::valid_fixtures;

/// The text of a label (`"..."`) is plain characters, `#<digits>;` codes and `<br>` only.
fn label_is_inert(text: &str) -> bool {
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphanumeric() || " .,/-_()+=".contains(c) {
            rest = &rest[1..];
        } else if let Some(r) = rest.strip_prefix("<br>") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('#') {
            let Some((num, tail)) = r.split_once(';') else {
                return false;
            };
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            rest = tail;
        } else {
            return false;
        }
    }
    true
}

/// A generated id: one lowercase letter and digits.
fn is_id(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(|c| c.is_ascii_lowercase())
        && it.clone().next().is_some()
        && it.all(|c| c.is_ascii_digit())
}

/// `line` with every quoted label replaced by `"…"`, after checking each label is inert.
fn skeleton(line: &str) -> String {
    let mut out = String::new();
    let mut parts = line.split('"');
    out.push_str(parts.next().unwrap());
    let mut inside = true;
    for p in parts {
        if inside {
            assert!(label_is_inert(p), "label {p:?} in {line:?}");
            out.push_str("\"…\"");
        } else {
            out.push_str(p);
        }
        inside = !inside;
    }
    assert!(inside, "unbalanced quotes in {line:?}");
    out
}

/// Checks that every line of a diagram is a statement meshspec writes, with generated ids and
/// inert labels; returns the diagram with its labels blanked out.
fn well_formed(d: &str) -> String {
    let mut lines = d.lines();
    let first = lines.next().unwrap();
    assert!(
        first == "flowchart LR" || first == "flowchart TB",
        "{first}"
    );
    let mut depth = 0usize;
    let mut out = vec![first.to_owned()];
    for line in lines {
        let sk = skeleton(line);
        let t = sk.trim_start();
        let words: Vec<&str> = t.split(' ').collect();
        let ok = match words.as_slice() {
            ["classDef", name, style] => {
                name.bytes().all(|b| b.is_ascii_lowercase()) && !style.contains('"') && depth == 0
            }
            ["subgraph", rest] => {
                depth += 1;
                rest.strip_suffix("[\"…\"]").is_some_and(is_id)
            }
            ["end"] => {
                let was = depth;
                depth = depth.saturating_sub(1);
                was == 1
            }
            ["direction", "TB"] => depth == 1,
            ["class", ids, _] => ids.split(',').all(is_id),
            [a, "---" | "-.-" | "-->", b] => is_id(a) && is_id(b),
            [a, edge, b] => {
                is_id(a) && (*edge == "-->|\"…\"|" || *edge == "-.-|\"…\"|") && is_id(b)
            }
            [node] => ["[\"…\"]", "([\"…\"])", "((\"…\"))"]
                .iter()
                .any(|shape| node.strip_suffix(shape).is_some_and(is_id)),
            _ => false,
        };
        assert!(ok, "unexpected statement {line:?} in\n{d}");
        // nothing but the first word can start a statement: no `click`, `href`, `style`
        assert!(
            !["click", "style", "linkStyle", "%%", "href"]
                .iter()
                .any(|k| t.starts_with(k)),
            "{line}"
        );
        out.push(sk);
    }
    assert_eq!(depth, 0, "unclosed subgraph in\n{d}");
    out.join("\n")
}

fn blocks(fenced: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = fenced;
    while let Some(start) = rest.find("```mermaid\n") {
        let body = &rest[start + "```mermaid\n".len()..];
        let end = body.find("```").unwrap();
        out.push(body[..end].to_owned());
        rest = &body[end + 3..];
    }
    out
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "snapshots/diagram", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn every_valid_fixture_draws_well_formed_diagrams_and_plan_md_holds_them() {
    for (name, text) in valid_fixtures() {
        let c = Cluster::from_yaml(&text).unwrap();
        let d = c.diagram();
        assert_eq!(d, c.diagram(), "{name}: not deterministic");
        let bs = blocks(&d);
        assert_eq!(bs, [diagram::cluster(&c), diagram::mtu(&c)], "{name}");
        for b in &bs {
            well_formed(b);
        }
        let plan = c.plan_report();
        for b in &bs {
            assert!(
                plan.contains(&diagram::fenced(b)),
                "{name}: PLAN.md lacks\n{b}"
            );
        }
        // at the top: before the first table
        assert!(
            plan.find("```mermaid").unwrap() < plan.find("## Addressing").unwrap(),
            "{name}"
        );
        snapshot(&name, &d);
    }
}

#[test]
fn cluster_diagram_has_every_node_site_and_mesh_path() {
    for (name, text) in valid_fixtures() {
        let c = Cluster::from_yaml(&text).unwrap();
        assert!(c.nodes.len() <= GROUP_ABOVE);
        let d = diagram::cluster(&c);
        for n in &c.nodes {
            let ip = n.node_ips.first().map(ToString::to_string);
            let ip = ip.as_deref().map(meshspec::render::mermaid::text);
            let want = format!(
                "[\"{}<br>{}",
                n.name,
                if n.is_server() { "server" } else { "agent" }
            );
            assert!(d.contains(&want), "{name}: no box {want} in\n{d}");
            if let Some(ip) = ip {
                assert!(d.contains(&format!("node-ip {ip}")), "{name}: {ip}\n{d}");
            }
        }
        for s in &c.sites {
            assert!(
                d.contains(&format!("[\"site {}, ", s.name)),
                "{name}: site {}",
                s.name
            );
            assert!(d.contains(&format!("underlay MTU {}\"]", s.mtu)));
        }
        assert_eq!(
            d.contains("internet (no site)"),
            c.nodes.iter().any(|n| n.site.is_none()),
            "{name}"
        );
        // one box per node, servers and agents classed
        let boxes = d
            .lines()
            .filter(|l| l.trim_start().starts_with('n') && l.contains("[\""))
            .count();
        assert_eq!(boxes, c.nodes.len(), "{name}");
        // "behind NAT" in a site's title only when the spec says so; public endpoints shown
        let titles: Vec<&str> = d
            .lines()
            .filter(|l| l.trim_start().starts_with("subgraph"))
            .collect();
        for s in &c.sites {
            let want = format!("[\"site {}, behind NAT, ", s.name);
            assert_eq!(
                titles.iter().any(|t| t.contains(&want)),
                s.nat,
                "{name}: site {}",
                s.name
            );
        }
        assert_eq!(
            titles.iter().filter(|t| t.contains("behind NAT")).count(),
            c.sites.iter().filter(|s| s.nat).count(),
            "{name}"
        );
        for n in &c.nodes {
            if let Some(e) = &n.public_endpoint {
                let want = format!(
                    "public endpoint {}",
                    meshspec::render::mermaid::text(&e.to_string())
                );
                assert!(d.contains(&want), "{name}: no {want} in\n{d}");
            }
        }
        assert_eq!(
            d.matches("public endpoint ").count(),
            c.nodes
                .iter()
                .filter(|n| n.public_endpoint.is_some())
                .count(),
            "{name}"
        );
        if c.wireguard_topology().is_none() {
            assert!(!d.contains("relay"), "{name}:\n{d}");
        }
        let mesh_edges = d.matches(" -.- m0").count();
        if c.multi_site {
            assert!(mesh_edges > 0 && d.contains(&format!("MTU {}\"))", c.mesh.mtu)));
        }
    }
}

#[test]
fn mtu_diagram_has_the_numbers_of_the_plan_table() {
    for (name, text) in valid_fixtures() {
        let c = Cluster::from_yaml(&text).unwrap();
        let d = diagram::mtu(&c);
        let drawn: BTreeSet<u32> = d
            .split("<br>MTU ")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect();
        let mut want = BTreeSet::new();
        for n in &c.nodes {
            let stack = c.mtu_stack(n);
            let plan = c.plan_report();
            for (i, l) in stack.layers().iter().enumerate() {
                want.insert(l.mtu);
                // the table row of the layer (name, MTU) is in PLAN.md too
                assert!(plan.contains(&l.mtu.to_string()));
                if i > 0 && l.overhead > 0 {
                    let packet = l.mtu + l.overhead;
                    assert!(
                        d.contains(&format!("\"+{} = {packet}, ", l.overhead)),
                        "{name}: no +{} = {packet} in\n{d}",
                        l.overhead
                    );
                }
            }
            assert!(d.contains(&format!("pod eth0<br>MTU {}\"]", stack.pod_mtu())));
        }
        assert_eq!(drawn, want, "{name}\n{d}");
    }
}

#[test]
fn a_layer_that_does_not_fit_is_drawn_red() {
    let text = "version: 1\nname: lab\nmesh: {provider: wireguard, mtu: 1480, ipv4_range: 10.9.0.0/24}\nsites:\n  - {name: pppoe, subnets: [192.168.1.0/24], mtu: 1492}\nnodes:\n  - {name: a, role: server, site: pppoe, lan_ip: 192.168.1.2, mesh_ip: 10.9.0.1, node_ip: mesh}\n";
    let c = Cluster::from_yaml(text).unwrap();
    let d = diagram::mtu(&c);
    // 1480 + 80 = 1560 > 1492
    assert!(d.contains("\"+80 = 1560, too big for 1492\""), "{d}");
    let bad = d.lines().find(|l| l.ends_with(" bad")).unwrap();
    let id = d
        .lines()
        .find(|l| l.contains("[\"wg0 (wireguard)<br>MTU 1480\"]"))
        .unwrap()
        .trim()
        .split('[')
        .next()
        .unwrap();
    assert_eq!(bad, format!("  class {id} bad"));
}

#[test]
fn above_fifty_nodes_the_cluster_is_grouped_per_site_and_role() {
    let at = Cluster::from_yaml(&specgen::spec(GROUP_ABOVE)).unwrap();
    let d = diagram::cluster(&at);
    assert!(d.contains("[\"node-49<br>agent"), "{d}");
    let above = Cluster::from_yaml(&specgen::spec(GROUP_ABOVE + 1)).unwrap();
    let d = diagram::cluster(&above);
    assert!(!d.contains("[\"node-0<br>"), "{d}");
    // site-0 holds the 3 servers and agent node-50 (i % 50 == 0 from 3 on); a group of one
    // node is drawn as that node
    assert!(
        d.contains("[\"node-50<br>agent<br>node-ip 172.16.0.4<br>"),
        "{d}"
    );
    assert!(
        d.contains("[\"3 servers<br>node-0 ... node-2<br>holds the init server<br>node-ips 3 LAN"),
        "{d}"
    );
}

#[test]
fn five_thousand_nodes_draw_a_small_diagram() {
    let c = Cluster::from_yaml(&specgen::spec(5000)).unwrap();
    let d = c.diagram();
    let bs = blocks(&d);
    for b in &bs {
        well_formed(b);
    }
    // every node is counted once: the counts of the boxes add up to the cluster
    let counted: usize = bs[0]
        .split("[\"")
        .skip(1)
        .filter_map(|l| {
            let (n, rest) = l.split_once(' ')?;
            (rest.starts_with("server") || rest.starts_with("agent"))
                .then(|| n.parse::<usize>().ok())?
        })
        .sum();
    assert_eq!(counted, 5000);
    let boxes = bs[0]
        .lines()
        .filter(|l| l.trim_start().starts_with('n') && l.contains("[\""))
        .count();
    assert_eq!(
        boxes, 51,
        "one box per site and role: 50 sites, site-0 also holds servers"
    );
    // Mermaid's own limits (maxTextSize 50,000 characters, maxEdges 500)
    assert!(bs[0].len() < 50_000, "{}", bs[0].len());
    assert!(bs[0].matches(" --- ").count() + bs[0].matches(" -.- ").count() < 500);
    // the 50 sites share one MTU stack
    assert_eq!(bs[1].matches("subgraph ").count(), 1, "{}", bs[1]);
    assert!(
        bs[1].contains("sites site-0, site-3, site-4, site-5 and 46 more (5000 nodes)"),
        "{}",
        bs[1]
    );
    snapshot("generated-5000", &d);
}

/// The fields a spec built in code can set directly, bypassing decoding and validation, that
/// reach the diagrams.
#[test]
fn spec_strings_stay_inside_their_labels_even_unvalidated() {
    let base = "version: 1\nname: lab\nsites:\n  - {name: home, subnets: [192.168.2.0/24]}\n  - {name: lab, subnets: [192.168.0.0/24]}\nnodes:\n  - {name: a, role: server, site: home, lan_ip: 192.168.2.2, mesh_ip: 100.64.0.1}\n  - {name: b, role: agent, site: home, lan_ip: 192.168.2.3, mesh_ip: 100.64.0.2}\n  - {name: c, role: agent, site: lab, lan_ip: 192.168.0.3, mesh_ip: 100.64.0.3}\n  - {name: d, role: agent, mesh_ip: 100.64.0.4}\n";
    let hostile = [
        "x\"] --> n0\nclick n0 href \"javascript:alert(1)\" _blank",
        "\"]\n  end\nsubgraph evil[\"x",
        "<a href=\"https://evil.example\">x</a><img src=x onerror=alert(1)>",
        "#quot;#35;#lt;&amp;&#60;",
        "#60;img src=x onerror=alert(1)#62; &#60;img src=x onerror=alert(1)&#62;",
        "%%{init: {\"securityLevel\": \"loose\"}}%%",
        "a;b;click c call alert(1)",
        "```\n# not a heading\n~~~",
        "style: x#f00; classDef server fill:#f00;",
        "é\u{2028}\u{0}\r\t|`",
    ];
    let spec = meshspec::spec::Spec::from_yaml(base).unwrap().0;
    let base_d = Cluster::resolve(spec.clone()).diagram();
    let base_sk: Vec<String> = blocks(&base_d).iter().map(|b| well_formed(b)).collect();
    // every value in every field at once, for tests/mermaid to render with the real Mermaid
    let mut all = String::new();
    for value in hostile {
        let mut s = spec.clone();
        s.sites[0].name = value.to_owned();
        s.nodes[0].site = Some(value.to_owned());
        s.nodes[1].site = Some(value.to_owned());
        s.nodes[2].name = value.to_owned();
        s.mesh.interface = Some(value.to_owned());
        s.name = value.to_owned();
        let d = Cluster::resolve(s).diagram();
        let sk: Vec<String> = blocks(&d).iter().map(|b| well_formed(b)).collect();
        assert_eq!(sk, base_sk, "{value:?}\n{d}");
        all.push_str(&d);
        all.push('\n');
    }
    snapshot("hostile-unvalidated", &all);
    for value in hostile {
        for field in 0..4 {
            let mut s = spec.clone();
            match field {
                0 => {
                    s.sites[0].name = value.to_owned();
                    s.nodes[0].site = Some(value.to_owned());
                    s.nodes[1].site = Some(value.to_owned());
                }
                1 => s.nodes[2].name = value.to_owned(),
                2 => s.mesh.interface = Some(value.to_owned()),
                _ => s.name = value.to_owned(),
            }
            let c = Cluster::resolve(s);
            let d = c.diagram();
            let bs = blocks(&d);
            assert_eq!(bs.len(), 2, "{value:?}: fence broken\n{d}");
            let sk: Vec<String> = bs.iter().map(|b| well_formed(b)).collect();
            // the same statements as with ordinary names: only label text differs
            assert_eq!(sk, base_sk, "{value:?} in field {field}\n{d}");
            let plan = c.plan_report();
            for b in &bs {
                assert!(plan.contains(&diagram::fenced(b)));
            }
        }
    }
}

#[test]
fn a_cluster_without_nodes_or_sites_still_draws_valid_diagrams() {
    let mut spec = meshspec::spec::Spec::from_yaml(
        "version: 1\nname: lab\nnodes:\n  - {name: a, role: server, mesh_ip: 100.64.0.1}\n",
    )
    .unwrap()
    .0;
    spec.nodes.clear();
    let c = Cluster::resolve(spec);
    let d = c.diagram();
    let bs = blocks(&d);
    assert_eq!(bs.len(), 2);
    for b in &bs {
        well_formed(b);
        assert!(b.contains("[\"no nodes\"]"), "{b}");
    }
    snapshot("no-nodes", &d);
}

#[test]
fn the_seeds_page_shows_the_second_seed() {
    let seed =
        fs::read_to_string(root().join("examples/specs/flannel-over-tailscale-gpu-worker.yaml"))
            .unwrap();
    let c = Cluster::from_yaml(&seed).unwrap();
    let readme = fs::read_to_string(root().join("docs/seeds.md")).unwrap();
    assert!(
        readme.contains(&diagram::fenced(&diagram::cluster(&c))),
        "docs/seeds.md's diagram is not the second seed's current cluster diagram:\n{}",
        diagram::fenced(&diagram::cluster(&c))
    );
}

/// The lines of the cluster diagram that are relay edges: `(from, label, to)`.
fn relay_edges(d: &str) -> Vec<(String, String, String)> {
    d.lines()
        .filter_map(|l| {
            let (from, rest) = l.trim_start().split_once(" -.-|\"")?;
            let (label, to) = rest.split_once("\"| ")?;
            Some((from.to_owned(), label.to_owned(), to.to_owned()))
        })
        .collect()
}

/// The id of the node box whose text starts with `name`.
fn box_id(d: &str, name: &str) -> String {
    d.lines()
        .find_map(|l| {
            let (id, text) = l.trim_start().split_once("[\"")?;
            text.starts_with(&format!("{name}<br>"))
                .then(|| id.to_owned())
        })
        .unwrap_or_else(|| panic!("no box for {name} in\n{d}"))
}

/// The id of the subgraph whose title starts with `title`.
fn subgraph_id(d: &str, title: &str) -> String {
    d.lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix("subgraph ")?;
            let (id, text) = rest.split_once("[\"")?;
            text.starts_with(title).then(|| id.to_owned())
        })
        .unwrap_or_else(|| panic!("no subgraph {title} in\n{d}"))
}

#[test]
fn the_nat_relay_fixture_draws_nat_sites_and_one_relay_edge_per_site() {
    let text =
        fs::read_to_string(root().join("tests/fixtures/valid/wireguard-managed-nat-relay.yaml"))
            .unwrap();
    let c = Cluster::from_yaml(&text).unwrap();
    let d = diagram::cluster(&c);
    let home = subgraph_id(&d, "site home, behind NAT, 192.168.1.0/24, ");
    let office = subgraph_id(&d, "site office, behind NAT, 192.168.50.0/24, ");
    let cloud = subgraph_id(&d, "site cloud, 172.31.0.0/16, ");
    assert!(!d.contains("site cloud, behind NAT"), "{d}");
    let relay = box_id(&d, "cloud-1");
    assert!(
        d.contains(&format!("{relay}[\"cloud-1<br>server (init), relay<br>node-ip 10.99.0.1<br>public endpoint 203.0.113.10#58;51820<br>")),
        "{d}"
    );
    for n in ["home-1", "home-2", "office-1"] {
        let id = box_id(&d, n);
        assert!(
            !d.lines()
                .any(|l| l.contains(&format!("{id}[")) && l.contains("relay")),
            "{n}:\n{d}"
        );
    }
    // two relayed pairs (home-1/office-1, home-2/office-1), one edge per site and relay
    let t = c.wireguard_topology().unwrap();
    assert_eq!(t.relayed.len(), 2, "{:?}", t.relayed);
    let via = "relayed via cloud-1".to_owned();
    assert_eq!(
        relay_edges(&d),
        [
            (home, via.clone(), relay.clone()),
            (office, via, relay.clone())
        ]
    );
    // the cloud site peers directly: its path stays the mesh edge
    assert!(d.contains(&format!("  {cloud} -.- m0\n")), "{d}");
    well_formed(&d);
}

#[test]
fn a_nat_site_is_behind_nat_with_every_provider() {
    for provider in ["tailscale", "headscale", "netbird", "wireguard"] {
        let spec = format!(
            "version: 1\nname: lab\nmesh: {{provider: {provider}}}\nsites:\n  - {{name: home, subnets: [192.168.1.0/24], nat: true}}\n  - {{name: lab, subnets: [192.168.0.0/24]}}\nnodes:\n  - {{name: a, role: server, site: home, lan_ip: 192.168.1.2, mesh_ip: 100.64.0.1}}\n  - {{name: b, role: agent, site: lab, lan_ip: 192.168.0.3, mesh_ip: 100.64.0.2}}\n"
        );
        let spec = meshspec::spec::Spec::from_yaml(&spec).unwrap().0;
        let c = Cluster::resolve(spec);
        let d = diagram::cluster(&c);
        assert!(
            d.contains("subgraph s0[\"site home, behind NAT, 192.168.1.0/24, "),
            "{provider}:\n{d}"
        );
        assert!(
            d.contains("subgraph s1[\"site lab, 192.168.0.0/24, "),
            "{provider}:\n{d}"
        );
        assert!(relay_edges(&d).is_empty(), "{provider}:\n{d}");
        well_formed(&d);
    }
}

/// A relay's name, a public endpoint's DNS name and a NAT site's name set in code (no
/// validation) stay label text: the relay diagram keeps its statements.
#[test]
fn hostile_relay_endpoint_and_nat_site_names_stay_inside_their_labels() {
    use meshspec::netaddr::Host;
    let text =
        fs::read_to_string(root().join("tests/fixtures/valid/wireguard-managed-nat-relay.yaml"))
            .unwrap();
    let spec = meshspec::spec::Spec::from_yaml(&text).unwrap().0;
    let base = diagram::cluster(&Cluster::resolve(spec.clone()));
    let base_sk = well_formed(&base);
    assert_eq!(relay_edges(&base).len(), 2);
    let hostile = [
        "x\"] --> n0\nclick n0 href \"javascript:alert(1)\" _blank",
        "\"| n0\n  end\nsubgraph evil[\"x",
        "<img src=x onerror=alert(1)>|",
        "#quot;#35;#lt;&amp;&#60;",
        "%%{init: {\"securityLevel\": \"loose\"}}%%",
        "a;b;click c call alert(1)",
        "```\n~~~",
        "style: x#f00; classDef server fill:#f00;",
        "é\u{2028}\u{0}\r\t|`",
    ];
    assert_eq!(spec.nodes[0].name, "cloud-1");
    // every diagram, for tests/mermaid to render with the real Mermaid
    let mut all = String::new();
    for value in hostile {
        for field in 0..3 {
            let mut s = spec.clone();
            match field {
                0 => s.nodes[0].name = value.to_owned(),
                1 => {
                    let e = s.nodes[0].public_endpoint.as_mut().unwrap();
                    e.host = Host::Name(value.to_owned());
                }
                _ => {
                    s.sites[0].name = value.to_owned();
                    s.nodes[1].site = Some(value.to_owned());
                    s.nodes[2].site = Some(value.to_owned());
                }
            }
            let c = Cluster::resolve(s);
            let d = c.diagram();
            let bs = blocks(&d);
            assert_eq!(bs.len(), 2, "{value:?}: fence broken\n{d}");
            for b in &bs {
                well_formed(b);
            }
            // the same statements as with ordinary names, the relay edges among them
            assert_eq!(
                well_formed(&bs[0]),
                base_sk,
                "{value:?} in field {field}\n{d}"
            );
            assert_eq!(
                relay_edges(&bs[0]).len(),
                2,
                "{value:?} in field {field}\n{d}"
            );
            all.push_str(&d);
            all.push('\n');
        }
    }
    snapshot("hostile-relay-unvalidated", &all);
}
