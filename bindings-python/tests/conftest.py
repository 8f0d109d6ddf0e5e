"""Shared fixtures: the repository's example specs and small inline specs."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "examples" / "specs"
FLANNEL_SEED = SPECS / "flannel-over-tailscale-gpu-worker.yaml"
CILIUM_SEED = SPECS / "cilium-vxlan-over-tailscale.yaml"

MINIMAL_YAML = """\
version: 1
name: lab
nodes:
  - {name: a, role: server, mesh_ip: 100.64.0.1}
  - {name: b, role: agent, mesh_ip: 100.64.0.2}
"""

MINIMAL_DICT = {
    "version": 1,
    "name": "lab",
    "nodes": [
        {"name": "a", "role": "server", "mesh_ip": "100.64.0.1"},
        {"name": "b", "role": "agent", "mesh_ip": "100.64.0.2"},
    ],
}

# reads fine, fails validation: pod and service CIDRs overlap (MS101)
OVERLAP_YAML = """\
version: 1
name: lab
network:
  cluster_cidr: 10.42.0.0/16
  service_cidr: 10.42.0.0/16
nodes:
  - {name: a, role: server, mesh_ip: 100.64.0.1}
"""

# cannot be read: unknown top-level key (MS002) on line 3
UNKNOWN_KEY_YAML = """\
version: 1
name: lab
netwrk: {}
nodes:
  - {name: a, role: server, mesh_ip: 100.64.0.1}
"""


@pytest.fixture
def minimal_yaml() -> str:
    return MINIMAL_YAML


@pytest.fixture
def minimal_dict() -> dict:
    import copy

    return copy.deepcopy(MINIMAL_DICT)
