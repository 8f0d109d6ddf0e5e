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
# Not `npm ci`: @napi-rs/cli's optional per-platform packages (@napi-rs/lzma-*, tar-*,
# wasm-tools-* for other OSes) are not served by the registry this lockfile was made with, so
# the lockfile lacks them and `npm ci` refuses it as out of sync. `npm install` with the
# committed lockfile installs the same versions; the lockfile must come out unchanged.
step "bindings-node: npm install (locked)"
npm install
git diff --exit-code -- package-lock.json
step "bindings-node: napi build --platform --release"
npx napi build --platform --release
step "bindings-node: generated typings and loader match the committed ones"
if ! git diff --exit-code -- index.d.ts index.js; then
  echo "index.d.ts or index.js drifted: run 'npx napi build --platform --release' in bindings-node and commit them" >&2
  exit 1
fi
step "bindings-node: node --test"
node --test test/*.test.js
step "bindings-node: tsc (typed usage, wrong names must fail)"
npx tsc -p test/tsconfig.json

cd "$root/examples/pulumi"
step "examples/pulumi: npm ci (install scripts stay unapproved: no plugin downloads)"
npm ci
step "examples/pulumi: tsc"
rm -rf dist
npx tsc -p .
step "examples/pulumi: node --test (Pulumi runtime mocks)"
node --test dist/*.test.js

step "all passed"
