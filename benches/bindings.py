"""Time `Cluster.from_yaml(text).render()` in the Python binding (see benches/bindings.sh).

Usage: python benches/bindings.py SPEC_FILE RUNS
Prints the best process CPU time of the call, in seconds. With MESHSPEC_BENCH_TOUCH=1 it also
times looking up every file once (what writing them all out costs on top of render()). With
MESHSPEC_BENCH_NODES=1 it times a loop of `cluster.node(name)` over every node instead of
`render()` (what an Ansible inventory loop does; goal: at most 2x one render()).
"""

from __future__ import annotations

import gc
import os
import sys
import time

import meshspec


def main() -> int:
    path, runs = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="utf-8") as f:
        text = f.read()
    touch = os.environ.get("MESHSPEC_BENCH_TOUCH") == "1"
    per_node = os.environ.get("MESHSPEC_BENCH_NODES") == "1"
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.process_time()
        cluster = meshspec.Cluster.from_yaml(text)
        if per_node:
            files = [cluster.node(name).files for name in cluster.nodes]
        else:
            files = cluster.render()
        if touch and not per_node:
            for _path, file in files.items():
                file.contents  # noqa: B018 - the access is what is timed
        took = time.process_time() - start
        del files, cluster
        best = min(best, took)
    print(f"{best:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
