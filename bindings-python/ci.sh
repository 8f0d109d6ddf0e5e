#!/usr/bin/env bash
# Python binding and Ansible collection checks, from a clean machine (Python 3.9+ with venv and
# pip, and Rust). Run from the repository root: bash bindings-python/ci.sh
#
#  1. a fresh venv with maturin builds the abi3 wheel (one wheel for CPython 3.9+);
#  2. a second fresh venv gets the wheel, pytest, mypy and ansible-core;
#  3. stubtest checks the committed .pyi against the built module, mypy --strict checks a typed
#     usage example, ansible-galaxy builds the collection, and pytest runs the API tests and the
#     ansible-playbook tests (which fail rather than skip here).
# Venvs and the wheel live in a temp directory removed on exit; cargo uses the workspace target
# directory (or CARGO_TARGET_DIR). Exits non-zero on the first failure.
set -euo pipefail

if [[ ! -f bindings-python/Cargo.toml ]]; then
    echo "ci.sh: run me from the repository root: bash bindings-python/ci.sh" >&2
    exit 2
fi
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PIP_DISABLE_PIP_VERSION_CHECK=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/meshspec-py-ci.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n==> %s [%ds]\n' "$1" "$SECONDS"; }

step "build venv: maturin ($("$PYTHON" --version))"
"$PYTHON" -m venv "$WORK/build"
"$WORK/build/bin/pip" install --quiet "maturin>=1.16,<2"

step "build the abi3 wheel"
"$WORK/build/bin/maturin" build --release -m bindings-python/Cargo.toml --out "$WORK/wheels"
wheels=("$WORK"/wheels/meshspec-*-cp39-abi3-*.whl)
[[ -f ${wheels[0]} ]] || { echo "ci.sh: no abi3 wheel was built" >&2; exit 1; }

step "test venv: the wheel, pytest, mypy, ansible-core"
"$PYTHON" -m venv "$WORK/test"
"$WORK/test/bin/pip" install --quiet "${wheels[0]}" pytest mypy "ansible-core>=2.16,<2.21"
"$WORK/test/bin/python" -c 'import meshspec, sys; print("meshspec", meshspec.__version__, "on", sys.version.split()[0])'

step "stubtest: the committed stub matches the module"
(cd "$WORK" && "$WORK/test/bin/python" -m mypy.stubtest meshspec)

step "mypy --strict on a typed usage example"
"$WORK/test/bin/python" -m mypy --strict --cache-dir "$WORK/mypy-cache" bindings-python/tests/typing/usage.py

step "ansible-galaxy builds the collection"
"$WORK/test/bin/ansible-galaxy" collection build --output-path "$WORK/galaxy" \
    examples/ansible/collections/ansible_collections/meshspec/k3s

step "pytest: API, errors, seeds, Ansible"
MESHSPEC_REQUIRE_ANSIBLE=1 "$WORK/test/bin/python" -m pytest bindings-python/tests -p no:cacheprovider

step "done"
