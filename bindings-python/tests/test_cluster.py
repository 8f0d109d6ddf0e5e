"""meshspec.Cluster: reading, the resolved view, rendering."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import meshspec
from conftest import MINIMAL_DICT, MINIMAL_YAML


def test_from_yaml_reads_name_and_nodes():
    c = meshspec.Cluster.from_yaml(MINIMAL_YAML)
    assert c.name == "lab"
    assert c.nodes == ["a", "b"]
    assert repr(c) == "Cluster(name='lab', nodes=['a', 'b'])"


def test_from_file_accepts_str_and_pathlike(tmp_path: Path):
    spec = tmp_path / "lab.yaml"
    spec.write_text(MINIMAL_YAML)
    for arg in (spec, str(spec)):
        c = meshspec.Cluster.from_file(arg)
        assert c.nodes == ["a", "b"]
    # the file name goes into generated-file headers
    header = meshspec.Cluster.from_file(spec).render()["nodes/a/etc/rancher/k3s/config.yaml"]
    assert "from lab.yaml" in header.contents.splitlines()[0]


def test_from_file_missing_is_file_not_found(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="cannot read"):
        meshspec.Cluster.from_file(tmp_path / "nope.yaml")


def test_from_file_not_utf8_is_spec_error(tmp_path: Path):
    spec = tmp_path / "bin.yaml"
    spec.write_bytes(b"version: 1\nname: \xff\xfe\n")
    with pytest.raises(meshspec.SpecError) as info:
        meshspec.Cluster.from_file(spec)
    assert info.value.code == "MS001"
    assert "UTF-8" in str(info.value)


def test_from_dict_equals_from_yaml(minimal_dict: dict):
    from_dict = meshspec.Cluster.from_dict(minimal_dict)
    from_yaml = meshspec.Cluster.from_yaml(MINIMAL_YAML)
    assert from_dict.render() == from_yaml.render()
    assert from_dict.validate() == from_yaml.validate()
    assert from_dict.node("b").config == from_yaml.node("b").config


def test_from_dict_does_not_change_its_input(minimal_dict: dict):
    meshspec.Cluster.from_dict(minimal_dict)
    assert minimal_dict == MINIMAL_DICT


def test_from_dict_accepts_tuples_and_mapping_subclasses():
    from collections import OrderedDict

    class Tagged(str):
        """Stands in for Ansible's tagged/unsafe string types."""

    spec = OrderedDict(MINIMAL_DICT)
    spec["name"] = Tagged("lab")
    spec["nodes"] = tuple(MINIMAL_DICT["nodes"])
    assert meshspec.Cluster.from_dict(spec).nodes == ["a", "b"]


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ({"version": 1, 3: "x"}, TypeError, "keys must be str"),
        ({"version": 1, "nodes": [{"mesh_ip": object()}]}, TypeError, "nodes[0].mesh_ip"),
        ({"version": float("nan")}, ValueError, "not a finite number"),
        ({"version": 2**80}, ValueError, "out of range"),
    ],
)
def test_from_dict_refuses_non_spec_values(bad, error, words):
    with pytest.raises(error) as info:
        meshspec.Cluster.from_dict(bad)
    assert words in str(info.value)
    assert not isinstance(info.value, meshspec.SpecError)


def test_from_dict_refuses_a_container_that_holds_itself():
    loop: dict = {"version": 1}
    loop["nodes"] = [loop]
    with pytest.raises(ValueError, match="deeper than"):
        meshspec.Cluster.from_dict(loop)


def test_from_dict_top_level_not_a_mapping_is_spec_error():
    with pytest.raises(meshspec.SpecError):
        meshspec.Cluster.from_dict(["not", "a", "spec"])


def test_render_gives_files_with_modes():
    files = meshspec.Cluster.from_yaml(MINIMAL_YAML).render()
    assert isinstance(files, dict)
    config = files["nodes/b/etc/rancher/k3s/config.yaml"]
    assert isinstance(config, meshspec.File)
    assert config.mode == 0o600
    assert "server: https://100.64.0.1:6443" in config.contents
    assert list(files) == sorted(files)


def test_render_is_deterministic():
    c = meshspec.Cluster.from_yaml(MINIMAL_YAML)
    assert c.render() == c.render()


def test_node_view():
    c = meshspec.Cluster.from_yaml(MINIMAL_YAML)
    b = c.node("b")
    assert isinstance(b, meshspec.Node)
    assert (b.name, b.role) == ("b", "agent")
    assert b.node_ip == ["100.64.0.2"]
    assert b.advertise_address is None
    assert all("/" in cidr for cidr in b.pod_cidr)
    assert isinstance(b.labels, dict) and isinstance(b.taints, list)
    assert list(b.config) == ["server", "token-file", "node-ip", "flannel-iface"]
    assert b.config["node-ip"] == "100.64.0.2"
    assert "etc/rancher/k3s/config.yaml" in b.files
    bundle = c.render()
    assert b.files == {p[len("nodes/b/"):]: f for p, f in bundle.items() if p.startswith("nodes/b/")}
    assert "Node(name='b', role='agent'" in repr(b)


def test_node_view_is_a_snapshot():
    b = meshspec.Cluster.from_yaml(MINIMAL_YAML).node("b")
    b.config["node-ip"] = "changed"
    b.node_ip.append("changed")
    assert b.config["node-ip"] == "100.64.0.2"
    assert b.node_ip == ["100.64.0.2"]


def test_node_as_dict_is_plain_data():
    d = meshspec.Cluster.from_yaml(MINIMAL_YAML).node("a").as_dict()
    assert d["name"] == "a" and d["role"] == "server"
    assert d["files"]["etc/rancher/k3s/config.yaml"]["mode"] == 0o600
    assert set(d) == {
        "name", "role", "site", "node_ip", "advertise_address", "pod_cidr",
        "labels", "taints", "pod_mtu", "mtu_stack", "config", "files",
    }


def test_unknown_node_is_value_error_naming_the_nodes():
    with pytest.raises(ValueError, match=r"no node named `zz`.*nodes: a, b"):
        meshspec.Cluster.from_yaml(MINIMAL_YAML).node("zz")


def test_plan_is_the_report():
    c = meshspec.Cluster.from_yaml(MINIMAL_YAML)
    plan = c.plan()
    assert plan.startswith("# Plan for cluster `lab`\n")
    assert plan == c.plan()


def test_plan_of_a_spec_with_errors_reports_them():
    from conftest import OVERLAP_YAML

    assert "MS101" in meshspec.Cluster.from_yaml(OVERLAP_YAML).plan()


def test_no_proxy_of_a_cluster():
    assert meshspec.Cluster.from_yaml(MINIMAL_YAML).no_proxy() is None
    with_proxy = MINIMAL_YAML.replace("nodes:", "proxy: {style: broad}\nnodes:")
    entries = meshspec.Cluster.from_yaml(with_proxy).no_proxy()
    assert entries is not None
    assert "localhost" in entries and "10.0.0.0/8" in entries


def test_file_value_class():
    f = meshspec.File("a: 1\n", 0o600)
    assert f == meshspec.File("a: 1\n", 0o600)
    assert f != meshspec.File("a: 1\n", 0o644)
    assert meshspec.File("x").mode == 0o644
    assert repr(f) == "File('a: 1\\n', mode=0o600)"
    assert len({f, meshspec.File("a: 1\n", 0o600)}) == 1
    long = meshspec.File("x" * 100)
    assert repr(long).endswith("'..., mode=0o644)")


def test_value_classes_are_read_only():
    f = meshspec.File("x")
    with pytest.raises(AttributeError):
        f.mode = 0o777  # type: ignore[misc]


def test_the_gil_is_released_while_rendering():
    # smoke test: rendering from threads works and gives the same bytes
    from concurrent.futures import ThreadPoolExecutor

    c = meshspec.Cluster.from_yaml(MINIMAL_YAML)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: c.render(), range(8)))
    assert all(r == results[0] for r in results)


def test_version():
    assert meshspec.__version__.count(".") == 2
    assert os.path.basename(meshspec.__file__) == "__init__.py"


def test_schema_is_the_committed_json_schema():
    import json

    committed = Path(__file__).parents[2] / "schema" / "meshspec.schema.json"
    assert meshspec.schema() == json.loads(committed.read_text())
    assert meshspec.schema()["additionalProperties"] is False


def test_starter_spec_validates_as_written():
    text = meshspec.starter(provider="headscale", cni="cilium", sites=["home", "cloud"])
    cluster = meshspec.Cluster.from_yaml(text)
    assert not [d for d in cluster.validate() if d.is_error]
    assert "  - name: cloud\n" in text and "provider: headscale" in text
    with pytest.raises(ValueError, match="zerotier"):
        meshspec.starter(provider="zerotier")
