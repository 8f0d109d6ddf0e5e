"""meshspec.mtu(): the stand-alone MTU calculator, layer by layer."""

import pytest

import meshspec


def test_tailscale_vxlan_gives_the_seeds_pod_mtu():
    stack = meshspec.mtu()
    assert stack["pod_mtu"] == 1230
    assert [layer["mtu"] for layer in stack["layers"]] == [1500, 1280, 1230, 1230]
    assert stack["violations"] == []
    assert "tailscale0" in stack["table"]


def test_wireguard_over_pppoe_does_not_fit():
    stack = meshspec.mtu(underlay=1492, mesh="wireguard", tunnel="vxlan")
    assert stack["pod_mtu"] == 1370
    assert len(stack["violations"]) == 1
    assert "8 bytes too many" in stack["violations"][0]
    # over an IPv4 underlay the same mesh fits (60 bytes of overhead instead of 80)
    assert meshspec.mtu(underlay=1492, mesh="wireguard", outer="ipv4")["violations"] == []


def test_explicit_mesh_mtu_and_no_tunnel():
    stack = meshspec.mtu(mesh="netbird", mesh_mtu=1400, tunnel=None)
    assert stack["pod_mtu"] == 1400


@pytest.mark.parametrize(
    "kwargs, words",
    [({"mesh": "zerotier"}, "tailscale"), ({"tunnel": "gre"}, "vxlan"), ({"outer": "ip4"}, "ipv6")],
)
def test_bad_arguments_are_value_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        meshspec.mtu(**kwargs)
