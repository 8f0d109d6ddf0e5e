"""meshspec: one YAML spec of a multi-site k3s cluster over an encrypted mesh, turned into
every config file the cluster needs, or refused with precise diagnostics (codes MS001...).

    >>> import meshspec
    >>> c = meshspec.Cluster.from_yaml(open("cluster.yaml").read())    # doctest: +SKIP
    >>> c.node("k3s-gpu-worker").config["flannel-iface"]               # doctest: +SKIP
    'tailscale0'

Everything here is implemented in Rust (``meshspec._meshspec``); this module re-exports it.
"""

from ._meshspec import (
    Cluster,
    Diagnostic,
    File,
    Node,
    SpecError,
    __version__,
    codes,
    explain,
    import_cluster,
    lint,
    mtu,
    no_proxy,
    schema,
    starter,
)

__all__ = [
    "Cluster",
    "Diagnostic",
    "File",
    "Node",
    "SpecError",
    "__version__",
    "codes",
    "explain",
    "import_cluster",
    "lint",
    "mtu",
    "no_proxy",
    "schema",
    "starter",
]
