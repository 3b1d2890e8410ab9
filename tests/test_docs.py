"""The README's examples stay true: its config example passes `config check`."""

from __future__ import annotations

from pathlib import Path

from wallboard.config import check_text

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_example_is_valid() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("```toml") + len("```toml")
    example = text[start : text.index("```", start)]
    config, problems = check_text(example)
    assert problems == [], problems
    assert config is not None and config.display.theme == "high-contrast"


def test_readme_opens_with_the_two_commands() -> None:
    commands = [
        line.strip() for line in README.read_text().splitlines() if "python3 -m venv" in line
    ]
    assert commands[0].endswith("wallboard demo")
    assert commands[1].endswith("python -m pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci
