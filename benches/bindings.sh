#!/usr/bin/env bash
# The bindings against the core: `Cluster.from_yaml(text).render()` (Python) and
# `Cluster.fromYaml(text).render()` (Node) against the core's `Cluster::from_yaml` + `render`,
# on the pipeline bench's generated spec (benches/specgen.rs), in one run. Each side's number
# is the best CPU time of RUNS calls (CPU time: on a busy shared machine the wall clock also
# counts waiting for a core). Goal (issue #13): each binding within 10% of the core.
#
# Usage, from the repository root, after building the bindings:
#   PYTHON=/path/to/venv/bin/python bash benches/bindings.sh [NODES] [RUNS]
# PYTHON is a Python with the meshspec wheel installed (bindings-python/README.md: maturin
# build --release); the Node addon is the one `npx napi build --platform --release` leaves in
# bindings-node/ (NODE_ADDON=dir to point elsewhere). A side whose binding is missing is
# skipped with a note. Defaults: 5000 nodes, 7 runs.
set -euo pipefail

nodes=${1:-5000}
runs=${2:-7}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PYTHON=${PYTHON:-python3}
NODE_ADDON=${NODE_ADDON:-$root/bindings-node}
work=$(mktemp -d "${TMPDIR:-/tmp}/meshspec-bindings-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release --locked -p meshspec --example bindings_core
core_bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/bindings_core"
"$core_bin" spec "$nodes" >"$work/spec.yaml"

core=$("$core_bin" time "$nodes" "$runs")
printf '%-8s %10s %8s\n' side "cpu s" "x core"
printf '%-8s %10.4f %8.3f\n' core "$core" 1
ratio() { awk -v a="$1" -v b="${2:-$core}" 'BEGIN { printf "%.3f", a / b }'; }

if "$PYTHON" -c 'import meshspec' 2>/dev/null; then
  py=$("$PYTHON" benches/bindings.py "$work/spec.yaml" "$runs")
  printf '%-8s %10.4f %8s\n' python "$py" "$(ratio "$py")"
  pyn=$(MESHSPEC_BENCH_NODES=1 "$PYTHON" benches/bindings.py "$work/spec.yaml" "$runs")
  printf '%-8s %10.4f %8s  (every cluster.node(name): %s x python render, goal <= 2)\n' py-nodes "$pyn" "$(ratio "$pyn")" "$(ratio "$pyn" "$py")"
else
  echo "python   skipped: $PYTHON cannot import meshspec"
fi

if ls "$NODE_ADDON"/*.node >/dev/null 2>&1; then
  js=$(node --expose-gc benches/bindings.js "$NODE_ADDON" "$work/spec.yaml" "$runs")
  printf '%-8s %10.4f %8s\n' node "$js" "$(ratio "$js")"
  jsn=$(MESHSPEC_BENCH_NODES=1 node --expose-gc benches/bindings.js "$NODE_ADDON" "$work/spec.yaml" "$runs")
  printf '%-8s %10.4f %8s  (every cluster.node(name): %s x node render, goal <= 2)\n' js-nodes "$jsn" "$(ratio "$jsn")" "$(ratio "$jsn" "$js")"
else
  echo "node     skipped: no built addon in $NODE_ADDON"
fi
echo "($nodes nodes, $(wc -c <"$work/spec.yaml") bytes of spec, best of $runs, $(nproc) cores)"
