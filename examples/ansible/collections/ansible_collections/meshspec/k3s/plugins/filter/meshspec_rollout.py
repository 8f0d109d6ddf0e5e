# Copyright: meshspec maintainers
# Apache-2.0
"""Filter ``meshspec.k3s.meshspec_rollout``: the rollout order and the Cilium release of a spec.

``{{ spec | meshspec.k3s.meshspec_rollout }}`` where ``spec`` is the spec as a dict or as YAML
text. Returns ``servers`` (join order: the first server, then the order of ``nodes``),
``agents`` (the order of ``nodes``) and ``cilium``: ``None`` unless the spec uses Cilium,
otherwise the arguments of ``kubernetes.core.helm`` for the bundle's release (chart, repository,
the exact chart version of ``cluster/cilium-install.sh``, and the parsed
``cluster/cilium-values.yaml`` as ``release_values``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

try:
    import yaml

    YAML_IMPORT_ERROR = None
except ImportError as exc:  # PyYAML comes with ansible-core; reported when the filter is used
    yaml = None
    YAML_IMPORT_ERROR = exc

try:
    import meshspec

    MESHSPEC_IMPORT_ERROR = None
except ImportError as exc:  # reported when the filter is used
    meshspec = None
    MESHSPEC_IMPORT_ERROR = exc

CILIUM_VALUES = "cluster/cilium-values.yaml"
CILIUM_INSTALL = "cluster/cilium-install.sh"
CILIUM_REPO = "https://helm.cilium.io"
# `  --version 1.20.0 \` in the bundle's cilium-install.sh: the version meshspec chose
CHART_VERSION = re.compile(r"^\s*--version ([0-9][0-9A-Za-z.+-]*) \\$", re.M)


def _cluster(spec: Any) -> Any:
    if meshspec is None:
        raise AnsibleFilterError(
            f"meshspec_rollout needs the meshspec Python package on the controller: {MESHSPEC_IMPORT_ERROR}"
        )
    try:
        if isinstance(spec, str):
            return meshspec.Cluster.from_yaml(spec)
        if isinstance(spec, Mapping):
            return meshspec.Cluster.from_dict(spec)
    except meshspec.SpecError as err:
        codes = ", ".join(sorted({d.code for d in err.diagnostics if d.is_error})) or err.code
        first = err.diagnostics[0].message if err.diagnostics else ""
        raise AnsibleFilterError(f"meshspec_rollout: the spec has errors ({codes}): {first}") from err
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError(f"meshspec_rollout: {err}") from err
    raise AnsibleFilterError(f"meshspec_rollout expects the spec as a dict or YAML text, not {type(spec).__name__}")


def meshspec_rollout(spec: Any) -> dict[str, Any]:
    """The servers in join order, the agents, and the Cilium release (or None)."""
    cluster = _cluster(spec)
    nodes = [cluster.node(n) for n in cluster.nodes]
    servers = [n for n in nodes if n.role == "server"]
    first = next((n for n in servers if n.config.get("cluster-init") is True), servers[0] if servers else None)
    order = ([first] if first else []) + [n for n in servers if n is not first]
    bundle = cluster.render()
    cilium = None
    values = bundle.get(CILIUM_VALUES)
    if values is not None:
        if yaml is None:
            raise AnsibleFilterError(f"meshspec_rollout needs PyYAML: {YAML_IMPORT_ERROR}")
        install = bundle.get(CILIUM_INSTALL)
        found = CHART_VERSION.search(install.contents) if install is not None else None
        if found is None:
            raise AnsibleFilterError(f"meshspec_rollout: {CILIUM_INSTALL} names no chart version")
        cilium = {
            "release_name": "cilium",
            "release_namespace": "kube-system",
            "chart_ref": "cilium",
            "chart_repo_url": CILIUM_REPO,
            "chart_version": found[1],
            "release_values": yaml.safe_load(values.contents),
        }
    return {
        "servers": [n.name for n in order],
        "agents": [n.name for n in nodes if n.role == "agent"],
        "cilium": cilium,
    }


class FilterModule:
    """meshspec filters."""

    def filters(self) -> dict[str, Any]:
        return {"meshspec_rollout": meshspec_rollout}
