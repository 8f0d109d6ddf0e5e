# Copyright: meshspec maintainers
# Apache-2.0
"""Filter ``meshspec.k3s.meshspec_node``: one node's values for templates.

``{{ spec | meshspec.k3s.meshspec_node(inventory_hostname) }}`` where ``spec`` is the spec as a
dict (a variable, or ``lookup('file', 'cluster.yaml') | from_yaml``) or as YAML text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

try:
    import meshspec

    MESHSPEC_IMPORT_ERROR = None
except ImportError as exc:  # reported when the filter is used
    meshspec = None
    MESHSPEC_IMPORT_ERROR = exc


def meshspec_node(spec: Any, node: str) -> dict[str, Any]:
    """The node's name, role, node_ip, advertise_address, pod_cidr, labels, taints, config and
    the cluster's no_proxy entries (None when the spec has no ``proxy:`` block)."""
    if meshspec is None:
        raise AnsibleFilterError(
            f"meshspec_node needs the meshspec Python package on the controller: {MESHSPEC_IMPORT_ERROR}"
        )
    try:
        if isinstance(spec, str):
            cluster = meshspec.Cluster.from_yaml(spec)
        elif isinstance(spec, Mapping):
            cluster = meshspec.Cluster.from_dict(spec)
        else:
            raise AnsibleFilterError(
                f"meshspec_node expects the spec as a dict or YAML text, not {type(spec).__name__}"
            )
        view = cluster.node(str(node)).as_dict()
    except meshspec.SpecError as err:
        codes = ", ".join(sorted({d.code for d in err.diagnostics if d.is_error})) or err.code
        first = err.diagnostics[0].message if err.diagnostics else ""
        raise AnsibleFilterError(f"meshspec_node: the spec has errors ({codes}): {first}") from err
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError(f"meshspec_node: {err}") from err
    view.pop("files")
    view["no_proxy"] = cluster.no_proxy()
    return view


class FilterModule:
    """meshspec filters."""

    def filters(self) -> dict[str, Any]:
        return {"meshspec_node": meshspec_node}
