//! Property tests for the pure math modules: CIDR set arithmetic and allocation, the MTU stack,
//! NO_PROXY synthesis and coverage, and label/taint round trips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]
#![expect(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use meshspec::cidr::{self, AllocError, Cidr, Family};
use meshspec::labels::{self, Effect, Taint};
use meshspec::mtu::{self, CiliumEncryption, Stack, Tunnel};
use meshspec::no_proxy::{self, Inputs, Style};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// strategies

fn v4(addr: u32, prefix: u8) -> Cidr {
    Cidr::truncated(IpAddr::V4(Ipv4Addr::from(addr)), prefix).unwrap()
}

fn v6(addr: u128, prefix: u8) -> Cidr {
    Cidr::truncated(IpAddr::V6(Ipv6Addr::from(addr)), prefix).unwrap()
}

/// Any block of either family.
fn any_cidr() -> impl Strategy<Value = Cidr> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, p)| v4(a, p)),
        (any::<u128>(), 0u8..=128).prop_map(|(a, p)| v6(a, p)),
    ]
}

/// Blocks crowded into a small universe (10.0.0.0/22 or fd00::/118) so that they overlap,
/// touch and nest often.
fn crowded_cidr() -> impl Strategy<Value = Cidr> {
    prop_oneof![
        3 => (0u32..1024, 22u8..=32).prop_map(|(off, p)| v4(0x0a00_0000 + off, p)),
        1 => (0u128..1024, 118u8..=128)
            .prop_map(|(off, p)| v6((0xfd00u128 << 112) + off, p)),
    ]
}

fn crowded_set() -> impl Strategy<Value = Vec<Cidr>> {
    prop::collection::vec(crowded_cidr(), 0..12)
}

/// The addresses of a crowded block as offsets in its universe (exact, small).
fn offsets(c: &Cidr) -> std::ops::Range<u128> {
    let base: u128 = match c.family() {
        Family::Ipv4 => 0x0a00_0000,
        Family::Ipv6 => 0xfd00u128 << 112,
    };
    let start = match c.network() {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    } - base;
    start..start + c.size()
}

/// The exact set of (family, offset) addresses a crowded set holds.
fn addresses(set: &[Cidr]) -> std::collections::BTreeSet<(Family, u128)> {
    set.iter()
        .flat_map(|c| offsets(c).map(move |o| (c.family(), o)))
        .collect()
}

/// Whether two blocks could merge into one (siblings under the same parent).
fn mergeable(a: &Cidr, b: &Cidr) -> bool {
    a.family() == b.family()
        && a.prefix() == b.prefix()
        && a.prefix() > 0
        && a != b
        && Cidr::truncated(a.network(), a.prefix() - 1)
            == Cidr::truncated(b.network(), b.prefix() - 1)
}

// ---------------------------------------------------------------------------------------------
// cidr

proptest! {
    #[test]
    fn cidr_display_parse_round_trip(c in any_cidr()) {
        let text = c.to_string();
        prop_assert_eq!(text.parse::<Cidr>().unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        prop_assert_eq!(serde_json::from_str::<Cidr>(&json).unwrap(), c);
    }

    #[test]
    fn collapse_is_exact_disjoint_sorted_and_minimal(input in crowded_set()) {
        let out = cidr::collapse(&input);
        for b in &input {
            prop_assert!(cidr::covers(&out, b), "input {} not covered by {:?}", b, out);
        }
        for o in &out {
            prop_assert!(cidr::covers(&input, o), "output {} not inside the input", o);
        }
        prop_assert_eq!(addresses(&out), addresses(&input));
        for (i, a) in out.iter().enumerate() {
            for b in out.iter().skip(i + 1) {
                prop_assert!(!a.overlaps(b), "{} overlaps {}", a, b);
                prop_assert!(!mergeable(a, b), "{} and {} could merge", a, b);
            }
        }
        prop_assert!(out.windows(2).all(|w| w[0] < w[1]), "not sorted: {:?}", out);
        prop_assert_eq!(cidr::collapse(&out), out.clone());
    }

    #[test]
    fn subtract_removes_exactly(from in crowded_cidr(), remove in crowded_set()) {
        let out = cidr::subtract(&from, &remove);
        for o in &out {
            prop_assert!(from.contains(o), "{} outside {}", o, from);
            for r in &remove {
                prop_assert!(!o.overlaps(r), "{} overlaps removed {}", o, r);
            }
        }
        // out together with what was removed from `from` is exactly `from`
        let mut union = out.clone();
        union.extend(remove.iter().filter(|r| r.overlaps(&from)).map(|r| {
            if from.contains(r) { *r } else { from }
        }));
        prop_assert_eq!(cidr::collapse(&union), vec![from]);
        let kept = addresses(&out);
        let removed = addresses(&remove);
        for a in addresses(&[from]) {
            prop_assert_eq!(kept.contains(&a), !removed.contains(&a));
        }
        prop_assert_eq!(cidr::collapse(&out), out);
    }

    #[test]
    fn covers_agrees_with_addresses(set in crowded_set(), target in crowded_cidr()) {
        let all = addresses(&set);
        let want = addresses(&[target]).iter().all(|a| all.contains(a));
        prop_assert_eq!(cidr::covers(&set, &target), want);
    }

    #[test]
    fn allocate_is_disjoint_aligned_inside_and_avoids_pins(
        cluster in prop_oneof![
            3 => (0u32..1024, 22u8..=28).prop_map(|(o, p)| v4(0x0a00_0000 + o, p)),
            1 => (0u128..1024, 118u8..=124).prop_map(|(o, p)| v6((0xfd00u128 << 112) + o, p)),
        ],
        extra_bits in 0u8..=4,
        count in 0usize..20,
        pins in crowded_set(),
    ) {
        let mask = cluster.prefix() + extra_bits;
        let free: Vec<Cidr> = cidr::blocks(&cluster, mask)
            .filter(|b| !pins.iter().any(|p| p.overlaps(b)))
            .collect();
        match cidr::allocate(&cluster, mask, count, &pins) {
            Ok(got) => {
                prop_assert_eq!(got.len(), count);
                for (i, b) in got.iter().enumerate() {
                    prop_assert!(cluster.contains(b));
                    prop_assert_eq!(b.prefix(), mask);
                    prop_assert!(!pins.iter().any(|p| p.overlaps(b)), "{} overlaps a pin", b);
                    for other in got.iter().skip(i + 1) {
                        prop_assert!(!b.overlaps(other));
                    }
                }
                prop_assert!(got.windows(2).all(|w| w[0] < w[1]));
                // first-fit in address order, as the controller manager hands them out
                prop_assert_eq!(&got[..], &free[..count]);
            }
            Err(AllocError::Exhausted { wanted, available, .. }) => {
                prop_assert_eq!(wanted, count);
                prop_assert_eq!(available, free.len() as u128);
                prop_assert!(free.len() < count);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn blocks_match_block_count(c in crowded_cidr(), extra_bits in 0u8..=6) {
        let mask = c.prefix().saturating_add(extra_bits);
        let n = cidr::blocks(&c, mask).count() as u128;
        prop_assert_eq!(Some(n).filter(|_| mask <= c.family().bits()), cidr::block_count(&c, mask));
    }

    #[test]
    fn free_block_is_free_and_first(within in crowded_cidr(), extra_bits in 0u8..=4, avoid in crowded_set()) {
        let prefix = within.prefix().saturating_add(extra_bits);
        let first = cidr::blocks(&within, prefix).find(|b| !avoid.iter().any(|a| a.overlaps(b)));
        prop_assert_eq!(cidr::free_block(&within, prefix, &avoid), first);
    }
}

// ---------------------------------------------------------------------------------------------
// mtu

#[derive(Debug, Clone)]
struct StackSpec {
    underlay: u32,
    mesh: Option<(u32, u32)>,
    tunnels: Vec<(Tunnel, Family)>,
    pod: Option<u32>,
}

fn stack_spec() -> impl Strategy<Value = StackSpec> {
    let tunnel = (
        prop_oneof![Just(Tunnel::Vxlan), Just(Tunnel::Geneve)],
        prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)],
    );
    (
        0u32..=9000,
        prop::option::of((
            0u32..=9000,
            prop_oneof![Just(60u32), Just(80u32), 0u32..200],
        )),
        prop::collection::vec(tunnel, 0..3),
        prop::option::of(0u32..=9000),
    )
        .prop_map(|(underlay, mesh, tunnels, pod)| StackSpec {
            underlay,
            mesh,
            tunnels,
            pod,
        })
}

fn build(s: &StackSpec) -> Stack {
    let mut stack = Stack::underlay("underlay", s.underlay);
    if let Some((mtu, overhead)) = s.mesh {
        stack = stack.mesh("mesh", mtu, overhead);
    }
    for (t, f) in &s.tunnels {
        stack = stack.tunnel(*t, *f);
    }
    match s.pod {
        Some(mtu) => stack.pod_with_mtu("pod", mtu),
        None => stack.pod("pod"),
    }
}

proptest! {
    #[test]
    fn mtu_stack_never_exceeds_the_underlay(s in stack_spec()) {
        let stack = build(&s);
        let violations = stack.violations();
        for v in &violations {
            prop_assert!(v.excess > 0);
            prop_assert_eq!(u64::from(v.excess), u64::from(v.packet) - u64::from(v.below_mtu));
        }
        if violations.is_empty() {
            let total = u64::from(stack.pod_mtu()) + u64::from(stack.total_overhead());
            prop_assert!(total <= u64::from(stack.underlay_mtu()), "{stack}");
            for layer in stack.layers() {
                prop_assert!(stack.pod_mtu() <= layer.mtu, "{stack}");
            }
        }
        // derived MTUs fit by construction, unless an overhead exceeds the MTU below it
        if s.pod.is_none() {
            let ok = |v: &mtu::Violation| v.layer == "mesh" || stack.layers()[v.index].mtu == 0;
            prop_assert!(violations.iter().all(ok), "{stack}");
        }
        prop_assert_eq!(stack.to_string().lines().count(), stack.layers().len());
    }

    #[test]
    fn cilium_route_mtu_matches_the_stack(
        base in 1u32..=9000,
        t in prop_oneof![Just(Tunnel::Vxlan), Just(Tunnel::Geneve)],
        f in prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)],
    ) {
        let stack = Stack::underlay("mesh", base).tunnel(t, f).pod("pod");
        prop_assert_eq!(
            mtu::cilium_route_mtu(base, Some((t, f)), CiliumEncryption::None, 20),
            stack.pod_mtu()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// no_proxy

#[derive(Debug, Clone)]
struct ProxyCase {
    cluster: Vec<Cidr>,
    service: Vec<Cidr>,
    sites: Vec<Cidr>,
    mesh: Vec<Cidr>,
    nodes: Vec<IpAddr>,
    servers: Vec<String>,
    dns_suffix: Option<String>,
    extra: Vec<String>,
}

/// A random address inside `c`.
fn inside(c: Cidr, seed: u128) -> IpAddr {
    c.nth(seed % c.size().max(1)).unwrap_or(c.network())
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,6}[a-z0-9](\\.[a-z][a-z0-9]{0,6}){0,2}"
}

fn proxy_case() -> impl Strategy<Value = ProxyCase> {
    let v4_block = |lo: u8, hi: u8| (any::<u32>(), lo..=hi).prop_map(|(a, p)| v4(a, p));
    let v6_block = |lo: u8, hi: u8| (any::<u128>(), lo..=hi).prop_map(|(a, p)| v6(a, p));
    let net = prop_oneof![3 => v4_block(8, 24), 1 => v6_block(48, 112)];
    let site = prop_oneof![
        3 => (0u32..65536, 16u8..=28).prop_map(|(o, p)| v4(0xc0a8_0000 + o, p)),
        1 => v4_block(8, 30),
        1 => v6_block(48, 64),
    ];
    let mesh = prop_oneof![
        Just(vec![v4(0x6440_0000, 10)]),
        Just(vec![
            v4(0x6440_0000, 10),
            v6(0xfd7a_115c_a1e0u128 << 80, 48)
        ]),
        prop::collection::vec(v4_block(8, 16), 1..2),
    ];
    let extra = prop::collection::vec(
        prop_oneof![
            Just(".local".to_string()),
            Just("registry.lan".to_string()),
            Just("10.1.0.0/16".to_string()),
            Just("fd00::/8".to_string()),
            Just("*.corp.example".to_string()),
            name(),
        ],
        0..3,
    );
    (
        prop::collection::vec(net.clone(), 1..3),
        prop::collection::vec(net, 1..3),
        prop::collection::vec(site, 0..3),
        mesh,
        prop::collection::vec(any::<u128>(), 1..6),
        prop::collection::vec(prop_oneof![Just(None), name().prop_map(Some)], 0..3),
        prop::option::of(name()),
        extra,
    )
        .prop_map(
            |(cluster, service, sites, mesh, seeds, server_names, dns_suffix, extra)| {
                // nodes: alternately inside a site subnet and inside a mesh range
                let mut nodes = Vec::new();
                for (i, seed) in seeds.iter().enumerate() {
                    let pool = if i % 2 == 0 && !sites.is_empty() {
                        &sites
                    } else {
                        &mesh
                    };
                    let c = pool[(*seed as usize) % pool.len()];
                    nodes.push(inside(c, *seed >> 8));
                }
                let mut servers: Vec<String> = vec![nodes[0].to_string()];
                for n in server_names.into_iter().flatten() {
                    // some server names live under the mesh DNS suffix
                    match &dns_suffix {
                        Some(s) if n.len() % 2 == 0 => servers.push(format!("{n}.{s}")),
                        _ => servers.push(n),
                    }
                }
                ProxyCase {
                    cluster,
                    service,
                    sites,
                    mesh,
                    nodes,
                    servers,
                    dns_suffix,
                    extra,
                }
            },
        )
}

fn inputs(c: &ProxyCase, style: Style) -> Inputs<'_> {
    Inputs {
        style,
        cluster_cidrs: &c.cluster,
        service_cidrs: &c.service,
        node_addresses: &c.nodes,
        site_subnets: &c.sites,
        mesh_ranges: &c.mesh,
        server_hosts: &c.servers,
        cluster_domain: "cluster.local",
        dns_suffix: c.dns_suffix.as_deref(),
        extra: &c.extra,
    }
}

proptest! {
    #[test]
    fn synthesized_no_proxy_covers_what_is_required(case in proxy_case()) {
        for style in [Style::Precise, Style::Broad] {
            let i = inputs(&case, style);
            let entries = no_proxy::synthesize(&i);
            let gaps = no_proxy::missing(&entries, &no_proxy::required(&i));
            prop_assert!(gaps.is_empty(), "{style:?}: {} misses {:?}", no_proxy::join(&entries), gaps);
            // deterministic, duplicate-free, every entry well-formed, in the documented order
            prop_assert_eq!(&no_proxy::synthesize(&i), &entries);
            let rank = |e: &str| match no_proxy::parse_entry(e) {
                Ok(no_proxy::Entry::Cidr(c)) => if c.family() == Family::Ipv4 { 0 } else { 1 },
                Ok(no_proxy::Entry::Ip(a)) => if a.is_ipv4() { 0 } else { 1 },
                _ => 2,
            };
            for (k, e) in entries.iter().enumerate() {
                prop_assert!(no_proxy::parse_entry(e).is_ok(), "{e}");
                prop_assert!(!entries[..k].contains(e), "duplicate {e}");
            }
            prop_assert!(entries.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])), "{entries:?}");
            // the legacy list keeps every name entry
            let legacy = no_proxy::hosts_only(&entries);
            prop_assert!(!no_proxy::uses_cidrs(&legacy));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// labels

fn label_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
}

fn label_key() -> impl Strategy<Value = String> {
    let prefix = "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}";
    (prop::option::of(prefix), label_name()).prop_map(|(p, n)| match p {
        Some(p) => format!("{p}/{n}"),
        None => n,
    })
}

proptest! {
    #[test]
    fn taints_round_trip(
        key in label_key(),
        value in prop::option::of(prop_oneof![Just(String::new()), label_name()]),
        effect in prop_oneof![Just(Effect::NoSchedule), Just(Effect::PreferNoSchedule), Just(Effect::NoExecute)],
    ) {
        prop_assert!(labels::check_label_key(&key).is_ok(), "{key}");
        let t = Taint { key, value, effect };
        let text = t.to_string();
        prop_assert_eq!(text.parse::<Taint>().unwrap(), t.clone());
        let json = serde_json::to_string(&t).unwrap();
        prop_assert_eq!(serde_json::from_str::<Taint>(&json).unwrap(), t);
    }

    #[test]
    fn label_checks_never_panic(s in "\\PC{0,80}") {
        let _ = labels::check_label_key(&s);
        let _ = labels::check_label_value(&s);
        let _ = labels::self_label_allowed(&s);
        let _ = s.parse::<Taint>();
        let _ = no_proxy::parse_entry(&s);
    }
}
