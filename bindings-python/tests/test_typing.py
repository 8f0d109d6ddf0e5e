"""The typed usage example runs (mypy checks it separately in ci.sh)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import FLANNEL_SEED

USAGE = Path(__file__).parent / "typing" / "usage.py"


def test_typed_usage_example_runs():
    out = subprocess.run(
        [sys.executable, str(USAGE), str(FLANNEL_SEED)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.startswith("https://100.84.89.67:6443 ")
    assert "('MS005'" in out
