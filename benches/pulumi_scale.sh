#!/usr/bin/env bash
# The Pulumi example (examples/pulumi) at scale under Pulumi's runtime mocks: a generated spec of
# NODES nodes (benches/specgen.rs, the pipeline bench's generator) built into a MeshCluster,
# every resource registered with the mock monitor. Prints nodes, resources, CPU and wall seconds.
# Needs the Node addon built and the example's packages installed (bash bindings-node/ci.sh does
# both). Usage, from the repository root: bash benches/pulumi_scale.sh [NODES] (default 1000).
set -euo pipefail
nodes=${1:-1000}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/meshspec-pulumi-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo build --quiet --release --locked -p meshspec --example bindings_core
"${CARGO_TARGET_DIR:-$root/target}/release/examples/bindings_core" spec "$nodes" >"$work/spec.yaml"
cd examples/pulumi
[[ -d node_modules ]] || { echo "pulumi_scale.sh: run 'npm ci' in examples/pulumi first (bash bindings-node/ci.sh does)" >&2; exit 2; }
npx tsc -p .
node dist/scale.bench.js "$work/spec.yaml"
