"""The config file: defaults without a file, every mistake with its line, `config check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wallboard.config import Config, check_text, load_config
from wallboard.errors import UserError
from wallboard.timeutil import US

GOOD = """\
timezone = "Europe/London"
windows = ["15m", "1h", "today"]
sl_threshold = 20
sl_target = 0.8
short_abandon = "5s"
sl_formula = "default"
fcr_days = 7
gap_threshold = 5
gap_window = "1h"

[queues.chat]
name = "Chat"
sl_threshold = "2m"
sl_target = 0.9
sl_formula = "answered"

[queues.email]
sl_threshold = "4h"
short_abandon = 0

[agents.a1]
name = "Ann"

[teams.blue]
name = "Blue team"
agents = ["a1", "a2"]
queues = ["chat"]
"""


def test_defaults_need_no_file() -> None:
    c = Config()
    t = c.targets()
    assert (t.sl_threshold_us, t.sl_target, t.short_abandon_us, t.sl_formula) == (
        20 * US,
        0.8,
        5 * US,
        "default",
    )
    assert c.window_specs() == [("15m", 900 * US), ("1h", 3600 * US), ("today", None)]
    assert c.fcr_us() == 7 * 86400 * US


def test_missing_default_file_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config(None) == Config()


def test_good_file_and_per_queue_settings(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    c = load_config(path)
    chat = c.targets("chat")
    assert (chat.sl_threshold_us, chat.sl_target, chat.sl_formula) == (120 * US, 0.9, "answered")
    assert chat.short_abandon_us == 5 * US  # inherited
    email = c.targets("email")
    assert (email.sl_threshold_us, email.short_abandon_us) == (4 * 3600 * US, 0)
    assert c.targets("voice") == c.targets()
    assert c.team_queues() == {"chat": {"a1", "a2"}}
    assert c.zone().key == "Europe/London"


def test_every_mistake_is_reported_with_its_line() -> None:
    text = """\
timezone = "Europe/Lodnon"
windows = ["15m", "ages"]
sl_target = "high"
colour = "red"

[queues.chat]
sl_threshold = "soon"
sl_formual = "answered"

[teams.x]
agents = "a1"
"""
    config, problems = check_text(text)
    assert config is None
    found = {(p.line, p.message.split(":")[0]) for p in problems}
    messages = " | ".join(str(p) for p in problems)
    # Type mistakes are reported first (values are checked once the types are right).
    assert (3, "sl_target") in found, messages
    assert any(p.line == 4 and "unknown key 'colour'" in p.message for p in problems), messages
    assert any(p.line == 8 and "did you mean 'sl_formula'" in p.message for p in problems), messages
    assert any(p.line == 11 and "teams.x.agents" in p.message for p in problems), messages


def test_value_mistakes_with_lines() -> None:
    text = 'timezone = "Mars/Olympus"\nwindows = ["15m", "ages", "15m"]\nsl_target = 1.5\n'
    text += '[queues.q]\nsl_threshold = "soon"\n'
    _, problems = check_text(text)
    messages = [str(p) for p in problems]
    assert any(m.startswith("line 1:") and "unknown time zone" in m for m in messages), messages
    assert any(m.startswith("line 2:") and "not a duration: 'ages'" in m for m in messages)
    assert any(m.startswith("line 2:") and "listed twice" in m for m in messages)
    assert any(m.startswith("line 3:") and "between 0 and 1" in m for m in messages)
    assert any(m.startswith("line 5:") and "queues.q.sl_threshold" in m for m in messages)


def test_toml_syntax_error_has_its_line() -> None:
    _, problems = check_text('timezone = "UTC"\nwindows = [\n"15m"\nsl_target = \n')
    assert len(problems) == 1 and problems[0].line is not None
    assert "not valid TOML" in problems[0].message


def test_load_config_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('sl_formula = "cisco"\n')
    with pytest.raises(UserError, match=r"line 1: sl_formula: expected one of"):
        load_config(path)
    with pytest.raises(UserError, match="no config file"):
        load_config(tmp_path / "absent.toml")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wallboard", "config", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_check_command(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    r = _cli("check", str(good))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok:")
    assert "queue chat (Chat): 90% within 2m, answered" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('windows = ["15m"]\nbogus = 1\n')
    r = _cli("check", str(bad))
    assert r.returncode == 1
    assert f"{bad}:2: unknown key 'bogus'" in r.stdout
    r = _cli("check", str(tmp_path / "none.toml"))
    assert r.returncode == 2 and "no config file" in r.stderr
    assert "Traceback" not in r.stderr


def test_display_and_alerts_sections_are_read_and_checked() -> None:
    text = """
windows = ["15m", "1h"]

[display]
theme = "okabe-ito"
stale_after = "1m"
keys = { "app.pause" = "space" }

[alerts]
bell = false

[[alerts.rules]]
name = "waiting_above"
exclude = ["email*"]
"""
    config, problems = check_text(text)
    assert problems == [] and config is not None
    assert config.display.theme == "okabe-ito" and config.display.keys == {"app.pause": "space"}
    assert Config.seconds(config.display.stale_after) == 60
    assert config.alerts.bell is False
    assert config.alerts.rules[0].exclude == ["email*"]


def test_mistakes_in_display_and_alerts_are_all_reported_with_lines() -> None:
    text = """windows = ["15m", "1h"]
[display]
refresh_hz = 50
keys = { "app.pause" = "space" }
[[alerts.rules]]
name = "asa_sales"
metric = "asa"
scope = "queue"
window = "2h"
op = ">"
warning = "45s"
critical = "2m"
clear = "3m"
"""
    config, problems = check_text(text)
    assert config is None
    found = {(p.line, p.message.split(":")[0]) for p in problems}
    assert (3, "display.refresh_hz") in found
    config, problems = check_text(text.replace('"space"', "3"))
    assert (problems[0].line, problems[0].message) == (
        4,
        "display.keys.app.pause: expected a string, got a whole number",
    )
    assert any(p.line == 9 and "window" in p.message for p in problems)
    assert any(p.line == 13 and "clear" in p.message for p in problems)
