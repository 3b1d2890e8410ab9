"""Where wallboard keeps its files by default: the per-user data and config dirs."""

from __future__ import annotations

from pathlib import Path

import platformdirs


def default_db_path() -> Path:
    """The per-user database used when no ``--db`` is given (its folder is created)."""
    folder = Path(platformdirs.user_data_dir("wallboard", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "wallboard.db"


def default_config_path() -> Path:
    """The per-user config file (it need not exist)."""
    return Path(platformdirs.user_config_dir("wallboard", appauthor=False)) / "config.toml"
