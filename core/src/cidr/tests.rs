//! Tests of `cidr`.

use super::*;

#[test]
fn parses_and_prints_both_families() {
    for s in [
        "10.42.0.0/16",
        "100.64.0.0/10",
        "fd7a:115c:a1e0::/48",
        "0.0.0.0/0",
        "::/0",
    ] {
        let c: Cidr = s.parse().unwrap();
        assert_eq!(c.to_string(), s);
    }
}

#[test]
fn refuses_host_bits_with_the_network() {
    let e = "10.1.1.1/24".parse::<Cidr>().unwrap_err();
    assert_eq!(
        e,
        CidrError::HostBits {
            given: "10.1.1.1/24".into(),
            network: "10.1.1.0/24".parse().unwrap()
        }
    );
}

#[test]
fn refuses_garbage() {
    for s in ["", "10.0.0.0", "10.0.0.0/33", "abc/8", "10.0.0.0/-1", "/8"] {
        assert!(
            matches!(s.parse::<Cidr>(), Err(CidrError::Syntax(_))),
            "{s}"
        );
    }
}

#[test]
fn overlap_and_nth() {
    let a: Cidr = "10.42.0.0/16".parse().unwrap();
    let b: Cidr = "10.43.0.0/16".parse().unwrap();
    assert!(!a.overlaps(&b));
    assert_eq!(b.nth(10).unwrap().to_string(), "10.43.0.10");
    assert_eq!("10.0.0.0/30".parse::<Cidr>().unwrap().nth(4), None);
    assert_eq!("::/0".parse::<Cidr>().unwrap().size(), u128::MAX);
}

fn c(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn cs(list: &[&str]) -> Vec<Cidr> {
    list.iter().map(|s| c(s)).collect()
}

#[test]
fn collapse_table() {
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &[]),
        (&["10.0.0.0/25", "10.0.0.128/25"], &["10.0.0.0/24"]),
        (
            &["10.0.0.128/25", "10.0.0.0/25", "10.0.0.0/24"],
            &["10.0.0.0/24"],
        ),
        (
            &["10.0.0.0/8", "10.42.0.0/16", "10.43.0.10/32"],
            &["10.0.0.0/8"],
        ),
        // adjacent but not siblings: stays two blocks
        (
            &["10.0.1.0/24", "10.0.2.0/24"],
            &["10.0.1.0/24", "10.0.2.0/24"],
        ),
        (
            &["10.0.1.0/24", "10.0.2.0/23"],
            &["10.0.1.0/24", "10.0.2.0/23"],
        ),
        (
            &["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/23"],
            &["10.0.0.0/22"],
        ),
        (
            &["fd00::/8", "127.0.0.0/8", "::1/128"],
            &["127.0.0.0/8", "::1/128", "fd00::/8"],
        ),
        (&["0.0.0.0/1", "128.0.0.0/1"], &["0.0.0.0/0"]),
        (&["::/1", "8000::/1"], &["::/0"]),
        (
            &["255.255.255.255/32", "255.255.255.254/32"],
            &["255.255.255.254/31"],
        ),
    ];
    for (input, want) in cases {
        assert_eq!(collapse(&cs(input)), cs(want), "{input:?}");
    }
}

#[test]
fn subtract_table() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("10.0.0.0/24", &[], &["10.0.0.0/24"]),
        ("10.0.0.0/24", &["10.0.0.0/25"], &["10.0.0.128/25"]),
        ("10.0.0.0/24", &["10.0.0.128/25"], &["10.0.0.0/25"]),
        ("10.0.0.0/24", &["10.0.0.0/8"], &[]),
        ("10.0.0.0/24", &["fd00::/8", "11.0.0.0/8"], &["10.0.0.0/24"]),
        (
            "10.0.0.0/24",
            &["10.0.0.5/32"],
            &[
                "10.0.0.0/30",
                "10.0.0.4/32",
                "10.0.0.6/31",
                "10.0.0.8/29",
                "10.0.0.16/28",
                "10.0.0.32/27",
                "10.0.0.64/26",
                "10.0.0.128/25",
            ],
        ),
        (
            "10.0.0.0/30",
            &["10.0.0.1/32", "10.0.0.2/32"],
            &["10.0.0.0/32", "10.0.0.3/32"],
        ),
        ("::/0", &["::/1"], &["8000::/1"]),
        ("::/0", &["8000::/1"], &["::/1"]),
        (
            "ffff::/16",
            &["ffff:ffff::/32"],
            &[
                "ffff::/17",
                "ffff:8000::/18",
                "ffff:c000::/19",
                "ffff:e000::/20",
                "ffff:f000::/21",
                "ffff:f800::/22",
                "ffff:fc00::/23",
                "ffff:fe00::/24",
                "ffff:ff00::/25",
                "ffff:ff80::/26",
                "ffff:ffc0::/27",
                "ffff:ffe0::/28",
                "ffff:fff0::/29",
                "ffff:fff8::/30",
                "ffff:fffc::/31",
                "ffff:fffe::/32",
            ],
        ),
    ];
    for (from, remove, want) in cases {
        assert_eq!(
            subtract(&c(from), &cs(remove)),
            cs(want),
            "{from} - {remove:?}"
        );
    }
}

#[test]
fn covers_table() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&[], "10.0.0.0/24", false),
        (&["10.0.0.0/8"], "10.42.0.0/16", true),
        (&["10.0.0.0/25", "10.0.0.128/25"], "10.0.0.0/24", true),
        (&["10.0.0.0/25", "10.0.1.0/24"], "10.0.0.0/23", false),
        (&["10.0.0.0/24", "10.0.1.0/24"], "10.0.0.0/23", true),
        (&["10.0.0.0/8"], "fd00::/8", false),
        (&["::/0"], "fd7a:115c:a1e0::/48", true),
        (&["0.0.0.0/0"], "::/0", false),
    ];
    for (set, target, want) in cases {
        assert_eq!(
            covers(&cs(set), &c(target)),
            *want,
            "{set:?} covers {target}"
        );
    }
}

#[test]
fn block_count_table() {
    let cases: &[(&str, u8, Option<u128>)] = &[
        ("10.42.0.0/16", 24, Some(256)),
        ("10.42.0.0/16", 16, Some(1)),
        ("10.42.0.0/16", 15, None),
        ("10.42.0.0/16", 33, None),
        ("10.42.0.0/16", 32, Some(65536)),
        ("fd00:42::/56", 64, Some(256)),
        ("::/0", 128, Some(u128::MAX)),
        ("::/0", 127, Some(1 << 127)),
        ("::/0", 129, None),
    ];
    for (cluster, mask, want) in cases {
        assert_eq!(block_count(&c(cluster), *mask), *want, "{cluster} /{mask}");
    }
}

#[test]
fn blocks_are_lazy_and_ordered() {
    let all: Vec<_> = blocks(&c("10.0.0.0/22"), 24).collect();
    assert_eq!(
        all,
        cs(&["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"])
    );
    assert_eq!(blocks(&c("10.0.0.0/22"), 21).count(), 0);
    assert_eq!(blocks(&c("10.0.0.0/22"), 33).count(), 0);
    assert_eq!(blocks(&c("255.255.255.0/24"), 25).count(), 2);
    assert_eq!(blocks(&c("::/0"), 0).collect::<Vec<_>>(), cs(&["::/0"]));
    // a /32 split into /128 would be 2^96 blocks: only what is taken is computed
    let last = blocks(&c("ffff:ffff::/32"), 128).nth(3);
    assert_eq!(last, Some(c("ffff:ffff::3/128")));
}

#[test]
fn allocate_table() {
    type Case<'a> = (&'a str, u8, usize, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        ("10.42.0.0/16", 24, 0, &[], &[]),
        (
            "10.42.0.0/16",
            24,
            2,
            &[],
            &["10.42.0.0/24", "10.42.1.0/24"],
        ),
        (
            "10.42.0.0/16",
            24,
            2,
            &["10.42.0.0/24"],
            &["10.42.1.0/24", "10.42.2.0/24"],
        ),
        // a pin smaller than a block takes the whole block
        ("10.42.0.0/16", 24, 1, &["10.42.0.7/32"], &["10.42.1.0/24"]),
        // a pin larger than a block skips all of it
        ("10.42.0.0/16", 24, 1, &["10.42.0.0/20"], &["10.42.16.0/24"]),
        // pins outside or of the other family are irrelevant
        (
            "10.42.0.0/16",
            24,
            1,
            &["10.0.0.0/16", "fd00::/8"],
            &["10.42.0.0/24"],
        ),
        (
            "fd00:42::/56",
            64,
            2,
            &["fd00:42::/64"],
            &["fd00:42:0:1::/64", "fd00:42:0:2::/64"],
        ),
        ("::/0", 1, 1, &["::/1"], &["8000::/1"]),
    ];
    for (cluster, mask, count, pinned, want) in cases {
        assert_eq!(
            allocate(&c(cluster), *mask, *count, &cs(pinned)),
            Ok(cs(want)),
            "{cluster} /{mask} x{count} pins {pinned:?}"
        );
    }
}

#[test]
fn allocate_errors() {
    let cases: &[(&str, u8, usize, &[&str], AllocError)] = &[
        (
            "10.42.0.0/16",
            8,
            1,
            &[],
            AllocError::InvalidMask {
                cluster: c("10.42.0.0/16"),
                mask: 8,
            },
        ),
        (
            "10.42.0.0/16",
            40,
            1,
            &[],
            AllocError::InvalidMask {
                cluster: c("10.42.0.0/16"),
                mask: 40,
            },
        ),
        (
            "10.42.0.0/22",
            24,
            4,
            &["10.42.1.5/32", "10.42.1.9/32", "10.42.3.0/25"],
            AllocError::Exhausted {
                cluster: c("10.42.0.0/22"),
                mask: 24,
                wanted: 4,
                available: 2,
            },
        ),
        (
            "::/0",
            128,
            1,
            &["::/0"],
            AllocError::Exhausted {
                cluster: c("::/0"),
                mask: 128,
                wanted: 1,
                available: 0,
            },
        ),
        // refused before walking: the shortage is counted, not discovered
        (
            "fd00::/64",
            128,
            usize::MAX,
            &["fd00::/65"],
            AllocError::Exhausted {
                cluster: c("fd00::/64"),
                mask: 128,
                wanted: usize::MAX,
                available: 1 << 63,
            },
        ),
    ];
    for (cluster, mask, count, pinned, want) in cases {
        assert_eq!(
            allocate(&c(cluster), *mask, *count, &cs(pinned)).as_ref(),
            Err(want)
        );
    }
    assert_eq!(
        AllocError::InvalidMask {
            cluster: c("10.42.0.0/16"),
            mask: 8
        }
        .to_string(),
        "node mask `/8` does not fit cluster CIDR `10.42.0.0/16`: it must lie between `/16` and `/32`"
    );
}

#[test]
fn free_block_and_suggest() {
    let used = cs(&["10.42.0.0/16", "10.43.0.0/16", "10.0.0.0/16", "10.1.0.0/16"]);
    assert_eq!(
        free_block(&c("10.0.0.0/8"), 16, &used),
        Some(c("10.2.0.0/16"))
    );
    assert_eq!(free_block(&c("10.0.0.0/8"), 7, &used), None);
    assert_eq!(free_block(&c("10.0.0.0/8"), 8, &used), None);
    assert_eq!(
        suggest_free(16, Family::Ipv4, &used),
        Some(c("10.2.0.0/16"))
    );
    assert_eq!(suggest_free(8, Family::Ipv4, &used), None);
    assert_eq!(
        suggest_free(12, Family::Ipv4, &cs(&["10.0.0.0/8"])),
        Some(c("172.16.0.0/12"))
    );
    assert_eq!(
        suggest_free(16, Family::Ipv4, &cs(&["10.0.0.0/8", "172.16.0.0/12"])),
        Some(c("192.168.0.0/16"))
    );
    assert_eq!(
        suggest_free(56, Family::Ipv6, &cs(&["fd00::/16"])),
        Some(c("fd01::/56"))
    );
    assert_eq!(suggest_free(7, Family::Ipv6, &[]), None);
}

/// The blocks of a small address space, both families, every prefix length: enough overlap
/// (nesting, repeats, neighbours) for the index to be checked against a scan.
fn small_block() -> impl proptest::strategy::Strategy<Value = Cidr> {
    use proptest::prelude::*;
    prop_oneof![
        (0u32..64, 24u8..=32).prop_map(|(a, p)| {
            Cidr::truncated(IpAddr::V4((0x0a00_0000 | a).into()), p).unwrap()
        }),
        (0u32..64, 0u8..=32)
            .prop_map(|(a, p)| { Cidr::truncated(IpAddr::V4((a << 26).into()), p).unwrap() }),
        (0u128..64, 120u8..=128).prop_map(|(a, p)| {
            Cidr::truncated(IpAddr::V6((0xfd00_u128 << 112 | a).into()), p).unwrap()
        }),
    ]
}

proptest::proptest! {
    /// The overlap index answers as the scan it replaces: the first block added that
    /// overlaps the new one.
    #[test]
    fn overlap_index_finds_what_a_scan_finds(blocks in proptest::collection::vec(small_block(), 0..40)) {
        let mut index = OverlapIndex::new();
        let mut seen: Vec<(Cidr, usize)> = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            let scan = seen.iter().find(|(q, _)| q.overlaps(b)).map(|(_, t)| *t);
            proptest::prop_assert_eq!(index.first_overlapping(b), scan, "block {} ({})", i, b);
            index.insert(b, i);
            seen.push((*b, i));
        }
    }
}

#[test]
fn overlap_index_names_the_first_overlapping_block() {
    let c = |s: &str| s.parse::<Cidr>().unwrap();
    let mut index = OverlapIndex::new();
    index.insert(&c("10.42.1.0/24"), "a");
    index.insert(&c("10.0.0.0/8"), "b");
    index.insert(&c("10.42.1.0/24"), "c");
    index.insert(&c("fd00::/64"), "d");
    // held by both a (first) and b
    assert_eq!(index.first_overlapping(&c("10.42.1.128/25")), Some("a"));
    // holds a
    assert_eq!(index.first_overlapping(&c("10.42.0.0/16")), Some("a"));
    assert_eq!(index.first_overlapping(&c("10.43.0.0/16")), Some("b"));
    assert_eq!(index.first_overlapping(&c("11.0.0.0/8")), None);
    // families never overlap
    assert_eq!(index.first_overlapping(&c("::/0")), Some("d"));
    assert_eq!(index.first_overlapping(&c("0.0.0.0/0")), Some("a"));
}
