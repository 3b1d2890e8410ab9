"""Alert rules: the defaults, the `[alerts]` TOML section, and every check of it."""

from __future__ import annotations

import msgspec
import pytest

from wallboard.alert_rules import (
    DEFAULT_RULES,
    METRICS,
    AlertsConfig,
    concerns_agent,
    decode_alerts,
    level_value,
    resolve,
    rules_for,
    rules_or_raise,
    summary,
    validate_alerts,
)
from wallboard.errors import UserError


def toml(text: str) -> AlertsConfig:
    """The [alerts] section of a TOML text, decoded the way Config will decode it."""
    return msgspec.toml.decode(text.encode(), type=dict[str, AlertsConfig])["alerts"]


def problems(text: str, **kw: object) -> list[str]:
    return validate_alerts(toml(text), **kw)  # type: ignore[arg-type]


class TestDefaults:
    def test_no_config_gives_the_default_rules(self) -> None:
        rules, found = resolve(None)
        assert found == []
        assert [r.name for r in rules] == [r.name for r in DEFAULT_RULES]
        assert {r.metric for r in rules} >= {
            "service_level", "longest_wait", "waiting", "abandonment_rate", "wrap_up_time",
            "away_time", "product_gap", "complaints", "service_down", "feed_silence",
            "quarantine_growth",
        }  # fmt: skip

    def test_every_default_rule_passes_its_own_checks(self) -> None:
        assert (
            validate_alerts(AlertsConfig(), windows=["15m", "1h", "today"], gap_threshold=5) == []
        )

    def test_a_default_window_missing_from_the_config_falls_back_to_the_first(self) -> None:
        rules, found = resolve(AlertsConfig(), windows=["15m", "1h"])
        assert found == []
        assert next(r for r in rules if r.name == "agent_complaints").window is None

    def test_defaults_off(self) -> None:
        assert resolve(toml("[alerts]\ndefaults = false\n"))[0] == []

    def test_summary_lists_each_rule(self) -> None:
        lines = summary()
        assert lines[0].startswith(f"alerts: {len(DEFAULT_RULES)} rule(s)")
        assert any("service_level_below" in line and "target" in line for line in lines)


class TestToml:
    def test_a_new_rule(self) -> None:
        cfg = toml(
            """
            [alerts]
            bell = false
            [[alerts.rules]]
            name = "asa_sales"
            metric = "asa"
            scope = "queue"
            match = ["sales*", "retention"]
            exclude = "sales-test"
            window = "1h"
            op = ">"
            warning = "45s"
            critical = "2m"
            clear = 30
            for = "5m"
            """
        )
        assert cfg.bell is False
        rules = rules_or_raise(cfg, windows=["15m", "1h"])
        rule = next(r for r in rules if r.name == "asa_sales")
        assert (rule.warning, rule.critical, rule.clear, rule.for_us) == (45, 120, 30, 300_000_000)
        assert rule.matches("sales-uk") and rule.matches("retention")
        assert not rule.matches("sales-test") and not rule.matches("support")

    def test_naming_a_default_rule_changes_only_the_keys_given(self) -> None:
        cfg = toml('[[alerts.rules]]\nname = "waiting_above"\nexclude = ["email*"]\nwarning = 8\n')
        rule = next(r for r in rules_or_raise(cfg) if r.name == "waiting_above")
        default = next(r for r in DEFAULT_RULES if r.name == "waiting_above")
        assert rule.exclude == ("email*",) and rule.warning == 8
        assert (rule.critical, rule.clear, rule.for_us) == (
            default.critical,
            default.clear,
            default.for_us,
        )

    def test_a_default_rule_can_be_switched_off(self) -> None:
        cfg = toml('[[alerts.rules]]\nname = "away_too_long"\nenabled = false\n')
        assert "away_too_long" not in [r.name for r in rules_or_raise(cfg)]

    def test_percentages_and_durations(self) -> None:
        assert level_value("85%", "share") == pytest.approx(0.85)
        assert level_value("2m", "seconds") == 120
        with pytest.raises(ValueError, match="percentage"):
            level_value("85%", "seconds")
        with pytest.raises(ValueError, match="duration"):
            level_value("2m", "count")

    def test_sounds_per_mode(self) -> None:
        cfg = toml("[alerts]\nbell = true\nnotify = false\n")
        assert cfg.sounds("tv") == (False, False)
        assert cfg.sounds("supervisor") == (True, False)
        loud = toml("[alerts]\ntv_silent = false\n")
        assert loud.sounds("tv") == (True, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\nmetric = "service_levle"\nwarning = 1', "did you mean 'service_level'"),
        ('name = "x"\nwarning = 1', "metric: missing"),
        ('name = "x"\nmetric = "asa"\nwarning = 30\nclear = 40', "clear: must be at or below"),
        ('name = "x"\nmetric = "csat"\nwarning = 0.8\nclear = 0.7', "clear: must be at or above"),
        (
            'name = "x"\nmetric = "asa"\nwarning = 30\ncritical = 20',
            "critical: must be at or above",
        ),
        ('name = "x"\nmetric = "asa"', "give a warning level"),
        ('name = "x"\nmetric = "asa"\nscope = "service"\nwarning = 1', "counted per"),
        ('name = "x"\nmetric = "waiting"\nwindow = "1h"\nwarning = 1', "has no window"),
        ('name = "x"\nmetric = "asa"\nwindow = "2h"\nwarning = 1', "not a configured window"),
        ('name = "x"\nmetric = "asa"\nwarning = "80%"', "percentage suits a share"),
        ('name = "x"\nmetric = "waiting"\nwarning = "2m"', "duration suits a metric in seconds"),
        ('name = "x"\nmetric = "asa"\nwarning = 1\nfor = "soon"', "for: not a duration"),
        ('name = "x"\nmetric = "asa"\nwarning = 1\nop = "=>"', 'one of ">"'),
        ('name = "x"\nmetric = "asa"\nwarning = 1\nwhen = 2', "unknown key 'when'"),
        ('name = "x y"\nmetric = "asa"\nwarning = 1', "name: use 1-64 letters"),
        (
            'name = "x"\nmetric = "asa"\nwarning = 1\nrelative_to = "sl_target"',
            "sl_target offsets only suit a share",
        ),
        (
            'name = "x"\nmetric = "service_level"\nscope = "overall"\nwarning = 0'
            '\nrelative_to = "sl_target"',
            'need scope = "queue"',
        ),
        ('name = "x"\nmetric = "product_gap"\nwarning = 3', "below gap_threshold (5)"),
        ('name = "x"\nmetric = "waiting"\nwarning = 1\nmin_contacts = 5', "only for window"),
        (
            'name = "x"\nmetric = "quarantine_growth"\nwarning = 1\nwindow = "today"',
            "quarantine's growth",
        ),
        ('name = "x"\nmetric = "waiting"\nscope = "overall"\nmatch = "a*"\nwarning = 1', "no ids"),
    ],
)
def test_each_mistake_is_explained(text: str, message: str) -> None:
    data = msgspec.toml.decode(f"[[alerts.rules]]\n{text}\n".encode())
    cfg, found = decode_alerts(data["alerts"])
    if cfg is not None:
        found = resolve(cfg, windows=["15m", "1h", "today"], gap_threshold=5)[1]
    assert found, f"no problem found for {text!r}"
    assert any(message in p.message for p in found), [p.message for p in found]
    assert all(p.path[:2] == ("alerts", "rules") for p in found)


def test_every_broken_rule_is_reported_in_one_pass() -> None:
    data = msgspec.toml.decode(
        b'[[alerts.rules]]\nname = "a"\nmetric = "nope"\nwarning = 1\n'
        b'[[alerts.rules]]\nname = "b"\nmetric = "asa"\nwarning = "x"\n'
        b'[[alerts.rules]]\nname = "a"\nmetric = "asa"\nwarning = 1\n'
    )
    cfg, found = decode_alerts(data["alerts"])
    assert cfg is not None and found == []
    found = resolve(cfg)[1]
    assert [p.path[2] for p in found] == [0, 1, 2]
    assert "given twice" in found[2].message


def test_rules_or_raise_gives_one_line() -> None:
    cfg = toml('[[alerts.rules]]\nname = "x"\nmetric = "nope"\nwarning = 1\n')
    with pytest.raises(UserError) as err:
        rules_or_raise(cfg)
    assert "\n" not in str(err.value) and "unknown metric" in str(err.value)


def test_rules_for_reads_a_config_duck_typed() -> None:
    class Cfg:
        windows = ("15m",)
        gap_threshold = 5
        alerts = toml('[[alerts.rules]]\nname = "x"\nmetric = "asa"\nwindow = "1h"\nwarning = 1\n')

    with pytest.raises(UserError, match="not a configured window"):
        rules_for(Cfg())
    assert len(rules_for(object())) == len(DEFAULT_RULES)


def test_every_metric_has_a_scope_and_a_direction() -> None:
    for m in METRICS.values():
        assert m.scopes and m.op in (">", "<")


def test_agent_view_filter() -> None:
    assert concerns_agent("agent:a1", "a1")
    assert concerns_agent("queue:Sales", "a1", ["Sales"])
    assert not concerns_agent("queue:Sales", "a1", ["Support"])
    assert not concerns_agent("agent:a10", "a1")
    assert not concerns_agent("overall", "a1", ["Sales"])


def test_line_of_points_at_the_rule_entry_and_key() -> None:
    from wallboard.alert_rules import line_of

    text = (
        'timezone = "UTC"\n'  # 1
        "[alerts]\n"  # 2
        "bell = true\n"  # 3
        "\n"
        "[[alerts.rules]]\n"  # 5
        'name = "a"\n'
        'metric = "nope"\n'  # 7
        "\n"
        "[[alerts.rules]]\n"  # 9
        'name = "b"\n'
        "clear = 3\n"  # 11
    )
    assert line_of(text, ("alerts", "rules", 1, "clear")) == 11
    assert line_of(text, ("alerts", "rules", 0, "metric")) == 7
    assert line_of(text, ("alerts", "rules", 1, "for")) == 9  # not written: its entry
    assert line_of(text, ("alerts", "bell")) == 3


@pytest.mark.parametrize(
    "module",
    [
        "wallboard.alert_rules",
        "wallboard.alert_eval",
        "wallboard.alert_store",
        "wallboard.cmd_alerts",
    ],
)
def test_alert_modules_are_headless(module: str) -> None:
    import subprocess
    import sys

    code = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')); "
        "sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{module} loads Textual"
