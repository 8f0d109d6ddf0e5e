#!/usr/bin/env bash
# CI for the Node binding and the Pulumi example, from a clean checkout with Node 20, npm and
# Rust: installs locked npm dependencies, builds the addon (into the workspace's target dir),
# fails if the committed index.d.ts/index.js drift from what the build generates, runs the
# binding's tests and type check, then the Pulumi program's type check and mock tests.
# Run from anywhere: bindings-node/ci.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
start=$SECONDS

step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - start))"; }

cd "$root/bindings-node"
# `npm ci` installs exactly the committed lockfile (every platform's optional packages are in it),
# so what the registry serves on the day cannot change the tree. A lockfile out of step with
# package.json fails here with one line, not with npm's page of "Missing:" entries.
locked_install() {
  local dir=$1 log
  log="$(mktemp)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund >"$log" 2>&1); then
    if grep -q EUSAGE "$log"; then
      echo "error: $dir/package-lock.json is out of sync with package.json: run 'npm install' in $dir and commit the lockfile" >&2
    else
      cat "$log" >&2
      echo "error: 'npm ci' failed in $dir (output above)" >&2
    fi
    rm -f "$log"
    exit 1
  fi
  # the README names Node 20: a locked package that does not support it fails here
  if grep -q EBADENGINE "$log"; then
    grep EBADENGINE "$log" >&2
    echo "error: 'npm ci' in $dir warned EBADENGINE on Node $(node --version): pin compatible versions (package.json \"overrides\")" >&2
    rm -f "$log"
    exit 1
  fi
  tail -n 1 "$log"
  rm -f "$log"
}
step "bindings-node: npm ci (exactly the committed lockfile)"
locked_install "$root/bindings-node"
step "bindings-node: napi build --platform --release"
npx napi build --platform --release
step "bindings-node: generated typings and loader match the committed ones"
if ! git diff --exit-code -- index.d.ts index.js; then
  echo "index.d.ts or index.js drifted: run 'npx napi build --platform --release' in bindings-node and commit them" >&2
  exit 1
fi
step "bindings-node: npm pack holds the loader, typings, addon, README and LICENSE"
packed="$(npm pack --dry-run --json 2>/dev/null | node -e 'const p = JSON.parse(require("fs").readFileSync(0, "utf8"))[0]; console.log(p.files.map(f => f.path).sort().join(" "))')"
for f in LICENSE README.md index.d.ts index.js package.json; do
  [[ " $packed " == *" $f "* ]] || { echo "error: npm pack lacks $f (it has: $packed)" >&2; exit 1; }
done
[[ "$packed" == *.node* ]] || { echo "error: npm pack lacks the built .node addon (it has: $packed)" >&2; exit 1; }
echo "$packed"
step "bindings-node: node --test"
node --test test/*.test.js
step "bindings-node: tsc (typed usage, wrong names must fail)"
npx tsc -p test/tsconfig.json

cd "$root/examples/pulumi"
# a fresh Pulumi home: a provider plugin downloaded by an install script or at test time would
# land in its plugins/ folder
PULUMI_HOME="$(mktemp -d)"
export PULUMI_HOME
step "examples/pulumi: npm ci (install scripts stay unapproved: no plugin downloads)"
locked_install "$root/examples/pulumi"
step "examples/pulumi: tsc"
rm -rf dist
npx tsc -p .
step "examples/pulumi: node --test (Pulumi runtime mocks)"
node --test dist/*.test.js
step "examples/pulumi: no Pulumi plugin was downloaded"
if [[ -e "$PULUMI_HOME/plugins" ]]; then
  echo "error: a Pulumi plugin was downloaded during npm ci or the mock tests: $(ls "$PULUMI_HOME/plugins")" >&2
  exit 1
fi
rm -rf "$PULUMI_HOME"

step "all passed"
