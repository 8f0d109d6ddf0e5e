#!/usr/bin/env bash
# `meshspec testbed` as whole processes (root, network namespaces): each seed spec (goal: under
# 10 s) and a generated 50-node spec over three sites and the mesh (goal: under 2 minutes), on
# the release build. A bench, never a timed test: the figures depend on the machine's load.
# Times with farm-bench when it is on PATH (median of RUNS runs), else with bash's `time`.
#
# Usage, from the repository root, as root: bash benches/testbed.sh [NODES] [RUNS]
# (defaults: 50 nodes, 3 runs).
set -euo pipefail

nodes=${1:-50}
runs=${2:-3}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/meshspec-testbed-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release --locked -p meshspec-cli
bin="${CARGO_TARGET_DIR:-$root/target}/release/meshspec"

# a spec of NODES nodes: three servers and a third of the agents on `home`, a third on `lab`,
# the rest in the cloud (mesh only)
{
  printf 'version: 1\nname: bench\nsites:\n'
  printf '  - {name: home, subnets: [192.168.2.0/24]}\n  - {name: lab, subnets: [192.168.0.0/24]}\n'
  printf 'k3s: {version: v1.33.13+k3s1}\ncni: {plugin: flannel}\nnodes:\n'
  for i in $(seq 1 "$nodes"); do
    mesh="100.64.$((i / 200)).$((i % 200 + 1))"
    if [ "$i" -le 3 ]; then
      printf '  - {name: server-%d, role: server, site: home, lan_ip: 192.168.2.%d, mesh_ip: %s}\n' "$i" "$((i + 10))" "$mesh"
    elif [ $((i % 3)) -eq 0 ]; then
      printf '  - {name: agent-%d, role: agent, site: home, lan_ip: 192.168.2.%d, mesh_ip: %s}\n' "$i" "$((i + 10))" "$mesh"
    elif [ $((i % 3)) -eq 1 ]; then
      printf '  - {name: agent-%d, role: agent, site: lab, lan_ip: 192.168.0.%d, mesh_ip: %s}\n' "$i" "$((i + 10))" "$mesh"
    else
      printf '  - {name: agent-%d, role: agent, mesh_ip: %s}\n' "$i" "$mesh"
    fi
  done
} >"$work/bench.yaml"
"$bin" validate "$work/bench.yaml" >/dev/null 2>&1 || { "$bin" validate "$work/bench.yaml"; exit 1; }

bench() {
  local label=$1; shift
  printf '\n== %s\n' "$label"
  if command -v farm-bench >/dev/null 2>&1; then
    farm-bench -n "$runs" --warmup 0 --timeout 3600 -- "$@"
  else
    for _ in $(seq 1 "$runs"); do time "$@" >/dev/null 2>&1 || true; done
  fi
}

for seed in tests/fixtures/valid/seed-flannel.yaml tests/fixtures/valid/seed-cilium.yaml; do
  bench "$seed (goal: under 10 s)" "$bin" --quiet testbed "$seed"
done
bench "$nodes nodes (goal: under 2 minutes)" "$bin" --quiet testbed "$work/bench.yaml"
