"""meshspec.no_proxy(): the core's NO_PROXY synthesis."""

from __future__ import annotations

import pytest

import meshspec
from conftest import FLANNEL_SEED


def test_precise_no_proxy_like_the_core_example():
    entries = meshspec.no_proxy(
        node_addresses=["192.168.2.20", "100.84.89.67"],
        site_subnets=["192.168.2.0/24"],
        mesh_ranges=["100.64.0.0/10"],
        server_hosts=["100.84.89.67"],
        extra=[".local"],
    )
    assert ",".join(entries) == (
        "10.42.0.0/15,100.64.0.0/10,127.0.0.0/8,192.168.2.0/24,.local,.svc,localhost"
    )


def test_broad_style_and_defaults():
    entries = meshspec.no_proxy(style="broad")
    assert "10.0.0.0/8" in entries and "192.168.0.0/16" in entries
    assert ".svc" in entries and "localhost" in entries


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"style": "wide"}, "style must be"),
        ({"cluster_cidrs": ["10.42.0.1/16"]}, "host bits"),
        ({"site_subnets": ["nope"]}, "site_subnets"),
        ({"node_addresses": ["10.0.0.300"]}, "not an IP address"),
    ],
)
def test_bad_arguments_are_value_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        meshspec.no_proxy(**kwargs)


def test_a_plain_string_is_not_a_list():
    with pytest.raises(TypeError):
        meshspec.no_proxy(extra=".local")  # type: ignore[arg-type]


def test_check_no_proxy_reports_what_a_line_in_use_misses():
    cluster = meshspec.Cluster.from_file(FLANNEL_SEED)
    seed_line = "127.0.0.0/8,10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,.local,localhost"
    missing = cluster.check_no_proxy(seed_line)
    # the seed's own line misses only the Tailscale IPv6 range (the nodes use IPv4 mesh addresses)
    assert [d.code for d in missing] == ["MS501"]
    assert "fd7a:115c:a1e0::/48" in missing[0].message
    assert cluster.check_no_proxy(",".join(cluster.no_proxy())) == []
    bad = cluster.check_no_proxy("http://proxy:3128," + ",".join(cluster.no_proxy()))
    assert [d.code for d in bad] == ["MS502"]
