# Copyright: meshspec maintainers
# Apache-2.0
"""Filter ``meshspec.k3s.meshspec_check_live``: a running cluster against its spec.

``{{ spec | meshspec.k3s.meshspec_check_live(nodes_json) }}`` where ``spec`` is the spec as a
dict or YAML text and ``nodes_json`` the output of ``kubectl get nodes -o json``. Returns the
MS951-MS958 diagnostics as dicts, each with a ``text`` line ready for a ``fail`` message.
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


def meshspec_check_live(spec: Any, nodes_json: Any) -> list[dict[str, Any]]:
    """Every diagnostic of ``meshspec check-live``, errors first."""
    if meshspec is None:
        raise AnsibleFilterError(
            f"meshspec_check_live needs the meshspec Python package on the controller: {MESHSPEC_IMPORT_ERROR}"
        )
    try:
        if isinstance(spec, str):
            cluster = meshspec.Cluster.from_yaml(spec)
        elif isinstance(spec, Mapping):
            cluster = meshspec.Cluster.from_dict(spec)
        else:
            raise AnsibleFilterError(
                f"meshspec_check_live expects the spec as a dict or YAML text, not {type(spec).__name__}"
            )
        diagnostics = cluster.check_live(str(nodes_json))
    except meshspec.SpecError as err:
        first = err.diagnostics[0].message if err.diagnostics else str(err)
        raise AnsibleFilterError(f"meshspec_check_live: {err.code}: {first}") from err
    out = []
    for d in diagnostics:
        item = d.as_dict()
        text = f"{d.severity}[{d.code}]: {d.message}"
        if d.help:
            text += f" (help: {d.help})"
        item["text"] = text
        out.append(item)
    return out


class FilterModule:
    """meshspec filters."""

    def filters(self) -> dict[str, Any]:
        return {"meshspec_check_live": meshspec_check_live}
