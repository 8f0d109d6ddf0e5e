#!/usr/bin/env bash
# The whole test suite, cheapest first. README: `bash scripts/test.sh`. CI: `.ci/run` calls it.
# Needs Rust, Python 3.9+ with pip, Node 20+ with npm; installs maturin, pytest, mypy,
# ansible-core and the npm packages itself (into throwaway venvs and node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export INSTA_UPDATE=no        # snapshots are reviewed by hand, never written by the suite

step() { printf '\n==== %s\n' "$*"; }
tree_state() { git status --porcelain --untracked-files=all 2>/dev/null; }
tree_before="$(tree_state)"

step "shellcheck (every rendered script is checked by tests/hostile.rs)"
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq shellcheck
fi
export MESHSPEC_REQUIRE_SHELLCHECK=1

step "iptables, iproute2, systemd-analyze (tests/testbed.rs runs meshspec testbed in network namespaces)"
# --- meshspec testbed: its host tools (kept in one block) ---
need=()
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# as root the namespace test must run (it skips loudly otherwise)
if [ "$(id -u)" -eq 0 ]; then export MESHSPEC_REQUIRE_NETNS=1; fi
# --- end of meshspec testbed block ---

step "format"
cargo fmt --all -- --check

step "clippy (all crates, all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests (unit, integration, doctests) for the core and the CLI"
cargo test --workspace --locked

step "every PLAN.md diagram renders with the real Mermaid in Chromium (tests/mermaid)"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
# puppeteer drives Debian's chromium (tests/mermaid/puppeteer.json): never its own download
(cd tests/mermaid && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error && node render.mjs)

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

step "the suite left the work tree as it found it"
if [ "$(tree_state)" != "$tree_before" ]; then
  diff <(echo "$tree_before") <(tree_state) >&2 || true
  echo "error: the test suite changed or left files in the work tree (git status before/after above)" >&2
  exit 1
fi

step "all checks passed"
