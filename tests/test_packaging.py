"""Packaging: one name, `wallboard`, in site-packages, with feeds/widgets/themes inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_only_the_wallboard_package(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    [wheel] = tmp_path.glob("wallboard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"wallboard"}
    for sub in ("feeds", "widgets", "themes", "engine"):
        assert f"wallboard/{sub}/__init__.py" in names, sub
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert b"wallboard = wallboard.cli:main" in zipfile.ZipFile(wheel).read(entry[0])


def test_installed_names_resolve() -> None:
    import wallboard.feeds.file_tail
    import wallboard.themes
    import wallboard.widgets

    assert Path(wallboard.feeds.file_tail.__file__).parent.name == "feeds"
    assert wallboard.widgets.__name__ == "wallboard.widgets"
    assert wallboard.themes.__name__ == "wallboard.themes"
