"""Clusters that already exist: lint, check_live and import_cluster, with the CLI's codes."""

from __future__ import annotations

import pytest

import meshspec
from conftest import FLANNEL_SEED, REPO

FIXTURES = REPO / "tests" / "fixtures"
SEED_CONFIGS = FIXTURES / "import" / "seed-flannel"
NODES = ["k3s-master", "k3s-worker-01", "k3s-worker-02", "k3s-gpu-worker"]


def test_lint_finds_a_typo_with_file_line_and_column():
    findings = meshspec.lint(
        [("gpu.yaml", "server: https://100.64.0.1:6443\nkublet-arg: [max-pods=200]\n")],
        role="agent",
    )
    assert [f["code"] for f in findings] == ["MS402"]
    f = findings[0]
    assert (f["file"], f["line"], f["column"]) == ("gpu.yaml", 2, 1)
    assert "kubelet-arg" in f["help"]


def test_lint_merges_dropins_in_order_and_compares_servers():
    a = [("a/config.yaml", "cluster-init: true\n"), ("a/config.yaml.d/10.yaml", "cluster-cidr: 10.52.0.0/16\n")]
    b = ("b/config.yaml", "server: https://10.0.0.1:6443\ndisable: [servicelb]\ncluster-cidr: 10.42.0.0/16\n")
    findings = meshspec.lint([a, b], role="server")
    mismatch = [f for f in findings if f["code"] == "MS404"]
    assert {f["path"] for f in mismatch} == {"cluster-cidr", "disable"}
    assert all(f["file"] == "b/config.yaml" for f in mismatch)
    with pytest.raises(ValueError, match="neither"):
        meshspec.lint([b], role="master")


def test_check_live_healthy_and_broken():
    cluster = meshspec.Cluster.from_file(FLANNEL_SEED)
    healthy = (FIXTURES / "live" / "seed-flannel.nodes.json").read_text()
    assert cluster.check_live(healthy) == []
    spec = meshspec.Cluster.from_file(FIXTURES / "invalid" / "MS953.yaml")
    broken = (FIXTURES / "invalid" / "MS953.nodes.json").read_text()
    [d] = spec.check_live(broken)
    assert d.code == "MS953" and d.is_error
    assert "192.168.0.25" in d.message and "100.80.98.64" in d.message
    with pytest.raises(meshspec.SpecError) as e:
        cluster.check_live('{"items": [')
    assert e.value.code == "MS001"


def test_import_cluster_round_trips_the_seed():
    configs = {n: (SEED_CONFIGS / f"{n}.yaml").read_text() for n in NODES}
    nodes_json = (FIXTURES / "live" / "seed-flannel.nodes.json").read_text()
    result = meshspec.import_cluster(configs, nodes_json=nodes_json, name="homelab")
    assert result["restarts"][0] == "k3s-master"
    assert not [d for d in result["diagnostics"] if d["severity"] == "error"]
    cluster = meshspec.Cluster.from_yaml(result["spec"])
    gpu = cluster.node("k3s-gpu-worker")
    assert gpu.config["node-ip"] == "100.80.98.64"
    assert gpu.taints == ["gpu=true:NoSchedule"]
    # without live data the workers' mesh addresses are TODOs, not guesses
    bare = meshspec.import_cluster(configs, roles={"k3s-master": "server"})
    assert any(t["path"] == "nodes[1].mesh_ip" for t in bare["todos"])
    assert "# TODO(nodes[1].mesh_ip)" in bare["spec"]
