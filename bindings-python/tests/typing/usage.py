"""A small typed program against meshspec's stubs; CI runs `mypy --strict` on it.

It is also run by the test suite, so it cannot drift from the real module.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import meshspec


def node_config(spec: Path, node: str) -> dict[str, Any]:
    """The k3s config of one node, or the problems as text."""
    cluster: meshspec.Cluster = meshspec.Cluster.from_file(spec)
    view: meshspec.Node = cluster.node(node)
    return view.config


def problems(spec_yaml: str) -> list[tuple[str, int | None]]:
    """Every rule code with its line, errors first."""
    try:
        cluster = meshspec.Cluster.from_yaml(spec_yaml, "inline.yaml")
    except meshspec.SpecError as e:
        return [(d.code, d.line) for d in e.diagnostics]
    return [(d.code, d.line) for d in cluster.validate()]


def file_modes(spec: dict[str, Any]) -> dict[str, int]:
    files: Mapping[str, meshspec.File] = meshspec.Cluster.from_dict(spec).render()
    return {path: f.mode for path, f in files.items()}


def main() -> int:
    spec = Path(sys.argv[1])
    config = node_config(spec, "k3s-gpu-worker")
    entries: list[str] = meshspec.no_proxy(style="broad", mesh_ranges=["100.64.0.0/10"])
    page: str = meshspec.explain("MS101")
    print(config["server"], ",".join(entries), page.splitlines()[0], len(meshspec.codes()))
    print(problems("version: 2\n"))
    print(file_modes({"version": 1, "name": "x", "nodes": [{"name": "a", "role": "server", "mesh_ip": "100.64.0.1"}]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
