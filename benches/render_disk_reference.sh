#!/bin/sh
# The disk bench with the reference script: `meshspec render`, the durable floor and the
# PyYAML + Jinja2 script a user would write instead (benches/reference_render.py), timed in
# the same run. Creates a virtualenv in Cargo's target directory with pinned Jinja2 and PyYAML
# from PyPI (the only reason this needs the network); `cargo test` never needs them.
#   sh benches/render_disk_reference.sh            # 5,000 nodes, 5 runs
#   MESHSPEC_BENCH_NODES=1000 MESHSPEC_BENCH_RUNS=3 sh benches/render_disk_reference.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MESHSPEC_BENCH_VENV:-$root/target/bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  'Jinja2==3.1.6' 'MarkupSafe==3.0.3' 'PyYAML==6.0.3'
cd "$root"
MESHSPEC_BENCH_PYTHON="$venv/bin/python" exec cargo bench -p meshspec-cli --bench render_disk
