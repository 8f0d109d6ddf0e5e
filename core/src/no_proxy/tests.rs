//! Tests of `no_proxy`.

use super::*;

fn c(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn parse_valid_entries() {
    let cases: Vec<(&str, Entry)> = vec![
        ("*", Entry::Wildcard),
        (" * ", Entry::Wildcard),
        ("10.0.0.0/8", Entry::Cidr(c("10.0.0.0/8"))),
        ("fd7a:115c:a1e0::/48", Entry::Cidr(c("fd7a:115c:a1e0::/48"))),
        ("10.1.2.3", Entry::Ip(ip("10.1.2.3"))),
        ("::1", Entry::Ip(ip("::1"))),
        ("fe80::1", Entry::Ip(ip("fe80::1"))),
        (".svc", Entry::Domain("svc".into())),
        ("*.Example.com", Entry::Domain("example.com".into())),
        ("localhost", Entry::Host("localhost".into())),
        (
            "k3s-master.tail1234.ts.net",
            Entry::Host("k3s-master.tail1234.ts.net".into()),
        ),
        ("under_score.lan", Entry::Host("under_score.lan".into())),
        ("3com.com", Entry::Host("3com.com".into())),
    ];
    for (s, want) in cases {
        assert_eq!(parse_entry(s), Ok(want), "{s}");
    }
}

#[test]
fn parse_refuses_with_reasons() {
    let cases = [
        ("", "empty NO_PROXY entry"),
        ("   ", "empty NO_PROXY entry"),
        (
            "a b",
            "`a b` contains whitespace; NO_PROXY entries are separated by commas",
        ),
        (
            "http://proxy.lan:3128/",
            "`http://proxy.lan:3128/` is a URL; NO_PROXY takes a bare host such as `proxy.lan`",
        ),
        (
            "https://user@[::1]:8443",
            "`https://user@[::1]:8443` is a URL; NO_PROXY takes a bare host such as `::1`",
        ),
        (
            "example.com/path",
            "`example.com/path` has a path; NO_PROXY takes a bare host such as `example.com`",
        ),
        (
            "proxy.lan:3128",
            "`proxy.lan:3128` names a port: Go honours it on that port only and curl and wget not at all; write `proxy.lan`",
        ),
        (
            "10.0.0.1:6443",
            "`10.0.0.1:6443` names a port: Go honours it on that port only and curl and wget not at all; write `10.0.0.1`",
        ),
        (
            "[fd7a::1]:6443",
            "`[fd7a::1]:6443` names a port: Go honours it on that port only and curl and wget not at all; write `fd7a::1`",
        ),
        (
            ":8080",
            "`:8080` is only a port; NO_PROXY entries name hosts, domains, addresses or CIDR blocks",
        ),
        ("[::1]", "`[::1]` has brackets; write the address as `::1`"),
        ("10.0.0.0/33", "`10.0.0.0/33` is not a valid CIDR block"),
        ("10.0.0.1/24", "`10.0.0.1/24` is not a valid CIDR block"),
        ("10.0.0/8", "`10.0.0/8` is not a valid CIDR block"),
        (
            "foo:bar",
            "`foo:bar` contains `:`, which cannot appear in a host name",
        ),
        (
            "exa$mple.com",
            "`exa$mple.com` contains `$`, which cannot appear in a host name",
        ),
        (
            "foo*.com",
            "`foo*.com` contains `*`, which cannot appear in a host name",
        ),
        (
            "bücher.de",
            "`bücher.de` contains `ü`, which cannot appear in a host name",
        ),
        ("a..b", "`a..b` has an empty label between dots"),
        (
            "example.com.",
            "`example.com.` has an empty label between dots",
        ),
        (".", "`.` has an empty label between dots"),
        ("10.0.0", "`10.0.0` looks like an IP address but is not one"),
        (
            "10.0.0.256",
            "`10.0.0.256` looks like an IP address but is not one",
        ),
    ];
    for (s, want) in cases {
        assert_eq!(parse_entry(s).unwrap_err().to_string(), want, "{s}");
    }
    let e = parse_entry("10.0.0.1/24").unwrap_err();
    let source = std::error::Error::source(&e).map(ToString::to_string);
    assert_eq!(
        source.as_deref(),
        Some("`10.0.0.1/24` has host bits set; the network is `10.0.0.0/24`")
    );
    let long_label = format!("{}.com", "a".repeat(64));
    assert!(matches!(
        parse_entry(&long_label),
        Err(EntryError::LabelTooLong { .. })
    ));
    let long_name = vec!["a".repeat(60); 5].join(".");
    assert!(matches!(
        parse_entry(&long_name),
        Err(EntryError::NameTooLong { len: 304, .. })
    ));
}

#[test]
fn entries_print_canonically() {
    for (s, want) in [
        ("*.Example.COM", ".example.com"),
        ("LOCALHOST", "localhost"),
        (" ::1 ", "::1"),
    ] {
        assert_eq!(parse_entry(s).unwrap().to_string(), want);
    }
}

#[test]
fn missing_follows_go_matching() {
    let req = |s: &str| -> Requirement {
        if let Ok(c) = s.parse::<Cidr>() {
            Requirement::Range(c)
        } else if let Ok(a) = s.parse::<IpAddr>() {
            Requirement::Address(a)
        } else {
            Requirement::Host(s.into())
        }
    };
    // (entries, requirement, covered)
    let cases: &[(&[&str], &str, bool)] = &[
        (&["*"], "10.0.0.1", true),
        (&["*"], "example.com", true),
        (&["10.0.0.1"], "10.0.0.1", true),
        (&["10.0.0.1"], "10.0.0.2", false),
        (&["10.0.0.0/8"], "10.200.0.1", true),
        (&["10.0.0.0/8"], "10.42.0.0/16", true),
        (&["10.42.0.0/17", "10.42.128.0/17"], "10.42.0.0/16", true),
        (&["10.42.0.0/17"], "10.42.0.0/16", false),
        (&["10.0.0.1"], "10.0.0.1/32", true),
        (&["::ffff:10.0.0.1"], "10.0.0.1", true),
        (&["10.0.0.0/8"], "::ffff:10.0.0.1", true),
        (&[".example.com"], "a.example.com", true),
        (&[".example.com"], "example.com", false),
        (&["*.example.com"], "a.b.example.com", true),
        (&["example.com"], "example.com", true),
        (&["example.com"], "a.example.com", true),
        (&["example.com"], "badexample.com", false),
        (&["EXAMPLE.com"], "a.Example.COM", true),
        (&["localhost"], "localhost", true),
        // names never match addresses, nor the reverse
        (&["10.0.0.1"], "host10", false),
        (&["example.com"], "10.0.0.1", false),
        // malformed entries match nothing
        (&["example.com:443"], "example.com", false),
        // a block with host bits is its network: Go's net.ParseCIDR masks it
        (&["10.0.0.1/8"], "10.0.0.1", true),
        (&["10.0.0.1/8"], "10.200.0.0/16", true),
        (&["192.168.2.20/24"], "192.168.3.1", false),
        // loopback is not exempt here
        (&[], "127.0.0.1", false),
    ];
    for (entries, r, want) in cases {
        let r = req(r);
        let got = missing(&strings(entries), std::slice::from_ref(&r)).is_empty();
        assert_eq!(got, *want, "{entries:?} covers {r}");
    }
}

fn seed_inputs<'a>(
    style: Style,
    nets: &'a [Cidr],
    nodes: &'a [IpAddr],
    sites: &'a [Cidr],
    mesh: &'a [Cidr],
    servers: &'a [String],
    extra: &'a [String],
) -> Inputs<'a> {
    let (cluster, service) = nets.split_at(1);
    Inputs {
        style,
        cluster_cidrs: cluster,
        service_cidrs: service,
        node_addresses: nodes,
        site_subnets: sites,
        mesh_ranges: mesh,
        server_hosts: servers,
        cluster_domain: "cluster.local",
        dns_suffix: Some("tail1234.ts.net"),
        extra,
    }
}

#[test]
fn synthesize_both_styles() {
    let nets = [c("10.42.0.0/16"), c("10.43.0.0/16")];
    let nodes = [
        ip("192.168.2.20"),
        ip("192.168.2.21"),
        ip("100.84.89.67"),
        ip("203.0.113.9"),
    ];
    let sites = [c("192.168.2.0/24")];
    let mesh = [c("100.64.0.0/10"), c("fd7a:115c:a1e0::/48")];
    let servers = strings(&[
        "k3s-master.tail1234.ts.net",
        "100.84.89.67",
        "api.example.com",
    ]);
    let extra = strings(&[".local", "10.42.5.0/24", "Registry.Lan"]);
    let precise = seed_inputs(
        Style::Precise,
        &nets,
        &nodes,
        &sites,
        &mesh,
        &servers,
        &extra,
    );
    assert_eq!(
        join(&synthesize(&precise)),
        "10.42.0.0/15,100.64.0.0/10,127.0.0.0/8,192.168.2.0/24,203.0.113.9,::1,\
         fd7a:115c:a1e0::/48,.local,.svc,.tail1234.ts.net,api.example.com,localhost,\
         Registry.Lan"
    );
    let broad = Inputs {
        style: Style::Broad,
        ..precise
    };
    assert_eq!(
        join(&synthesize(&broad)),
        "10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,172.16.0.0/12,192.168.0.0/16,203.0.113.9,::1,\
         fd7a:115c:a1e0::/48,.local,.svc,.tail1234.ts.net,api.example.com,localhost,\
         Registry.Lan"
    );
    for inputs in [precise, broad] {
        assert_eq!(missing(&synthesize(&inputs), &required(&inputs)), []);
    }
}

#[test]
fn synthesize_reproduces_the_second_seed_line() {
    // the seed's hand-written line, from its node and mesh addresses in broad style
    let nets = [c("10.42.0.0/16"), c("10.43.0.0/16")];
    let nodes = [ip("192.168.2.20"), ip("100.84.89.67")];
    let sites = [c("192.168.2.0/24")];
    let mesh = [c("100.64.0.0/10")];
    let extra = strings(&[".local"]);
    let inputs = Inputs {
        cluster_domain: "cluster.local",
        dns_suffix: None,
        ..seed_inputs(Style::Broad, &nets, &nodes, &sites, &mesh, &[], &extra)
    };
    assert_eq!(
        join(&synthesize(&inputs)),
        "10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,172.16.0.0/12,192.168.0.0/16,.local,.svc,localhost"
    );
}

#[test]
fn synthesize_edge_cases() {
    let nets = [c("10.42.0.0/16"), c("10.43.0.0/16")];
    let wildcard = strings(&["*"]);
    let inputs = seed_inputs(Style::Precise, &nets, &[], &[], &[], &[], &wildcard);
    assert_eq!(synthesize(&inputs), ["*"]);
    // malformed extras are kept as written (MS502 reports them), duplicates are not
    let extra = strings(&["proxy.lan:3128", "proxy.lan:3128", " .svc ", ".SVC"]);
    let inputs = seed_inputs(Style::Precise, &nets, &[], &[], &[], &[], &extra);
    let out = synthesize(&inputs);
    assert_eq!(
        join(&out),
        "10.42.0.0/15,127.0.0.0/8,.cluster.local,.svc,.tail1234.ts.net,localhost,proxy.lan:3128"
    );
    // a server name under the dns suffix is covered by the suffix entry; IPv6 adds ::1
    let servers = strings(&["[fd7a:115c:a1e0::1]", "K3S.tail1234.ts.net."]);
    let inputs = seed_inputs(Style::Precise, &nets, &[], &[], &[], &servers, &[]);
    assert_eq!(
        join(&synthesize(&inputs)),
        "10.42.0.0/15,127.0.0.0/8,::1,fd7a:115c:a1e0::1,.cluster.local,.svc,.tail1234.ts.net,localhost"
    );
    assert_eq!(missing(&synthesize(&inputs), &required(&inputs)), []);
}

#[test]
fn required_lists_everything_once() {
    let nets = [c("10.42.0.0/16"), c("10.43.0.0/16")];
    let nodes = [ip("100.84.89.67"), ip("100.84.89.67")];
    let mesh = [c("100.64.0.0/10")];
    let servers = strings(&["100.84.89.67", "Api.Example.com"]);
    let inputs = seed_inputs(Style::Precise, &nets, &nodes, &[], &mesh, &servers, &[]);
    let text: Vec<String> = required(&inputs).iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "100.84.89.67",
            "127.0.0.1",
            "10.42.0.0/16",
            "10.43.0.0/16",
            "100.64.0.0/10",
            "api.example.com",
            "localhost"
        ]
    );
    let k3s_own = strings(&["10.42.0.0/16", "10.43.0.0/16", ".svc", ".cluster.local"]);
    let gaps: Vec<String> = missing(&k3s_own, &required(&inputs))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        gaps,
        [
            "100.84.89.67",
            "127.0.0.1",
            "100.64.0.0/10",
            "api.example.com",
            "localhost"
        ]
    );
}

#[test]
fn legacy_helpers() {
    let entries = strings(&[
        "10.0.0.0/8",
        "127.0.0.0/8",
        "10.1.1.1/32",
        "10.1.1.1",
        ".svc",
        "bad entry",
    ]);
    assert!(uses_cidrs(&entries));
    assert_eq!(
        hosts_only(&entries),
        ["127.0.0.1", "10.1.1.1", ".svc", "bad entry"]
    );
    assert!(!uses_cidrs(&hosts_only(&entries)));
    assert_eq!(split(""), Vec::<String>::new());
}

#[test]
fn style_serde() {
    assert_eq!(serde_json::to_string(&Style::Broad).unwrap(), "\"broad\"");
    assert_eq!(
        serde_json::from_str::<Style>("\"precise\"").unwrap(),
        Style::Precise
    );
}

proptest::proptest! {
    /// The map-based `keep_broadest` keeps exactly what comparing every pair kept.
    #[test]
    fn keep_broadest_agrees_with_pairwise(raw in proptest::collection::vec("[*.]?([ab]\\.){0,3}[ab]|#x|\\.", 0..12)) {
        let names: Vec<(String, Option<Entry>)> = raw
            .iter()
            .map(|t| (t.clone(), parse_entry(t).ok().filter(|e| matches!(e, Entry::Host(_) | Entry::Domain(_)))))
            .collect();
        proptest::prop_assert_eq!(keep_broadest(&names), keep_broadest_pairwise(&names));
    }
}

#[test]
fn ten_thousand_extras_are_synthesized_without_pairwise_work() {
    let extra: Vec<String> = (0..10_000)
        .map(|i| format!("h{i}.example.com"))
        .chain(["example.com".to_owned()])
        .collect();
    let nets = [c("10.42.0.0/16"), c("10.43.0.0/16")];
    let out = synthesize(&seed_inputs(
        Style::Precise,
        &nets,
        &[],
        &[],
        &[],
        &[],
        &extra,
    ));
    // every h*.example.com is below example.com: one name entry remains for them
    assert_eq!(
        out.iter().filter(|e| e.contains("example.com")).count(),
        1,
        "{}",
        out.len()
    );
    let hosts = hosts_only(&extra);
    assert_eq!(hosts.len(), 10_001);
}
