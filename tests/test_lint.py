"""The code base stays ruff clean: the same command a developer runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    r = subprocess.run(
        [ruff, "check", "--no-cache", str(REPO)], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stdout + r.stderr
