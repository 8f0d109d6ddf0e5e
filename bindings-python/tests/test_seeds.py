"""The two seed specs in examples/specs/, read back from Python."""

from __future__ import annotations

import pytest

import meshspec
from conftest import CILIUM_SEED, FLANNEL_SEED


@pytest.fixture(scope="module")
def flannel() -> meshspec.Cluster:
    return meshspec.Cluster.from_file(FLANNEL_SEED)


def test_gpu_worker_config_equals_the_seed(flannel: meshspec.Cluster):
    # the second seed (docs/seeds.md), "GPU Worker config"
    config = flannel.node("k3s-gpu-worker").config
    assert config["server"] == "https://100.84.89.67:6443"
    assert config["node-ip"] == "100.80.98.64"
    assert config["flannel-iface"] == "tailscale0"


def test_gpu_worker_labels_and_taint(flannel: meshspec.Cluster):
    gpu = flannel.node("k3s-gpu-worker")
    assert gpu.labels["nvidia.com/gpu"] == "true"
    assert gpu.labels["gpu-type"] == "rtx3060"
    assert "gpu=true:NoSchedule" in gpu.taints
    assert gpu.node_ip == ["100.80.98.64"]


def test_mtu_over_tailscale_and_vxlan(flannel: meshspec.Cluster):
    # seed: "MTU 1280 on tailscale0 prevents VXLAN fragmentation"; flannel VXLAN takes 50 more
    gpu = flannel.node("k3s-gpu-worker")
    layers = gpu.mtu_stack
    assert layers[0]["name"].startswith("underlay")
    assert [layer["mtu"] for layer in layers][1] == 1280
    assert gpu.pod_mtu == layers[-1]["mtu"] == 1230
    assert flannel.pod_mtu == 1230


def test_master_config_equals_the_seed(flannel: meshspec.Cluster):
    # "Master config": LAN node-ip for etcd, the Tailscale address advertised
    master = flannel.node("k3s-master")
    assert master.role == "server"
    assert master.config["node-ip"] == "192.168.2.20"
    assert master.config["advertise-address"] == "100.84.89.67"
    assert master.advertise_address == "100.84.89.67"
    assert master.config["tls-san"] == ["100.84.89.67", "192.168.2.20"]
    assert master.config["cluster-init"] is True
    assert master.config["etcd-snapshot-retention"] == 14


def test_workers_keep_their_lan_node_ip(flannel: meshspec.Cluster):
    for name, ip in (("k3s-worker-01", "192.168.2.21"), ("k3s-worker-02", "192.168.2.22")):
        assert flannel.node(name).config["node-ip"] == ip
        assert flannel.node(name).config["flannel-iface"] == "tailscale0"


def test_seed_no_proxy_is_broad(flannel: meshspec.Cluster):
    entries = flannel.no_proxy()
    assert entries is not None
    for entry in ("127.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", ".local", "localhost"):
        assert entry in entries


@pytest.mark.parametrize("path", [FLANNEL_SEED, CILIUM_SEED], ids=lambda p: p.stem)
def test_seeds_validate_without_errors_and_render(path):
    c = meshspec.Cluster.from_file(path)
    assert not [d for d in c.validate() if d.is_error]
    files = c.render()
    for node in c.nodes:
        assert f"nodes/{node}/etc/rancher/k3s/config.yaml" in files


@pytest.mark.parametrize("path", [FLANNEL_SEED, CILIUM_SEED], ids=lambda p: p.stem)
def test_seed_from_dict_equals_from_file(path):
    yaml = pytest.importorskip("yaml")  # PyYAML comes with ansible-core
    data = yaml.safe_load(path.read_text())
    from_dict = meshspec.Cluster.from_dict(data, path.name)
    from_file = meshspec.Cluster.from_file(path)
    files, same = from_file.render(), from_dict.render()
    assert files.keys() == same.keys()
    # PLAN.md lists diagnostics sorted by line, and dict input has no lines: same lines, other order
    plan = files.pop("PLAN.md")
    plan_from_dict = same.pop("PLAN.md")
    assert sorted(plan.contents.splitlines()) == sorted(plan_from_dict.contents.splitlines())
    assert files == same
    # same findings; the order differs only because dict input has no line numbers
    assert sorted(d.code for d in from_dict.validate()) == sorted(d.code for d in from_file.validate())


def test_cilium_seed_nodes_use_their_mesh_ips():
    c = meshspec.Cluster.from_file(CILIUM_SEED)
    assert c.node("beelink").config["node-ip"] == "100.113.23.108"
    assert c.node("worker").config["server"] == "https://100.113.23.108:6443"
