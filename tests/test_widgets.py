"""Unit tests of the screens' building blocks: sanitising, formatting, levels, tiles."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from wallboard.screen_agent import team_figures
from wallboard.screen_base import BoardView, History
from wallboard.source import StaticSource, build_snapshot
from wallboard.themes import THEMES, resolve_theme
from wallboard.widgets.agent_grid import TileModel, tile_model, tile_texts
from wallboard.widgets.format import (
    DASH,
    Level,
    Targets,
    TileThresholds,
    count,
    duration,
    fmt,
    formula_text,
    level_of,
    pct,
    seconds_in_state,
    short_duration,
    since_us,
    state_info,
)
from wallboard.widgets.headline import headline_value
from wallboard.widgets.sanitize import clean, fit, safe_text

T0 = 1_764_000_000_000_000


class TestSanitize:
    def test_markup_stays_literal(self) -> None:
        text = safe_text("[red]x[/red] [bold]y")
        assert text.plain == "[red]x[/red] [bold]y"
        assert not text.spans

    @pytest.mark.parametrize(
        "hostile",
        [
            "\x1b[31mred\x1b[0m",
            "\x1b]0;pwned\x07",
            "a\x9b2Jb",
            "x\x1b[2J\x1b[H",
            "tab\there",
            "new\nline",
            "del\x7f",
        ],
    )
    def test_controls_are_replaced(self, hostile: str) -> None:
        out = clean(hostile)
        assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F for ch in out)
        assert "\N{REPLACEMENT CHARACTER}" in out

    def test_bidi_overrides_are_dropped_rtl_letters_kept(self) -> None:
        out = clean("\u202eevil\u202c \u2067שלום\u2069 \u200fمرحبا")
        assert "\u202e" not in out and "\u2067" not in out and "\u200f" not in out
        assert "שלום" in out and "مرحبا" in out

    def test_long_names_are_cut(self) -> None:
        assert len(clean("x" * 1000, 50)) == 50
        assert clean("x" * 1000, 50).endswith("…")

    def test_none_and_numbers(self) -> None:
        assert clean(None) == ""
        assert clean(42) == "42"

    def test_fit_is_exact_in_cells(self) -> None:
        assert fit("日本語の名前", 7) == "日本語…"
        assert fit("ab", 4) == "ab  "
        assert fit("abc", 0) == ""


class TestFormat:
    def test_null_is_a_dash_never_zero(self) -> None:
        for key in ("service_level", "asa", "waiting", "csat", "nps", "sales_amount", "xyz"):
            assert fmt(key, None) == DASH
        assert headline_value("service_level", None) == "-"

    def test_percent_floors(self) -> None:
        assert pct(0.796) == "79%"
        assert pct(0.29) == "29%"
        assert pct(1.0, 1) == "100.0%"
        assert pct(0.0) == "0%"
        assert pct(float("nan")) == DASH
        assert pct(True) == DASH

    def test_durations(self) -> None:
        assert duration(0) == "0:00"
        assert duration(65.4) == "1:05"
        assert duration(3725) == "1:02:05"
        assert short_duration(45) == "45s"
        assert short_duration(250) == "4:10"
        assert short_duration(3725) == "1h02"
        assert count(3.0) == "3"

    def test_state_since_in_every_form(self) -> None:
        assert since_us(T0) == T0
        assert since_us("2025-11-24T16:00:00Z") == T0
        assert since_us("2025-11-24T17:00:00+01:00") == T0
        assert since_us(T0 / 1_000_000) == T0
        assert since_us("yesterday") is None
        assert since_us(None) is None
        assert seconds_in_state({"state_since": T0 - 90_000_000}, T0) == 90
        assert seconds_in_state({"state_since": "2025-11-24T15:59:30Z"}, T0) == 30
        assert seconds_in_state({}, T0) is None

    def test_levels(self) -> None:
        t = Targets()
        assert level_of("service_level", {"service_level": 0.8}, t) is Level.GOOD
        assert level_of("service_level", {"service_level": 0.77}, t) is Level.NEAR
        assert level_of("service_level", {"service_level": 0.5}, t) is Level.BAD
        assert level_of("service_level", {"service_level": None}, t) is Level.NONE
        q = {"service_level": 0.6, "sl_target": 0.5}
        assert level_of("service_level", q, t) is Level.GOOD
        assert level_of("asa", {"asa": 25}, t) is Level.NEAR
        assert level_of("longest_wait", {"longest_wait": None, "waiting": 0}, t) is Level.GOOD
        assert level_of("waiting", {"waiting": 11}, t) is Level.BAD
        assert level_of("abandonment_rate", {"abandonment_rate": 0.02}, t) is Level.GOOD
        assert {lvl.glyph for lvl in Level} == {"✓", "▲", "✗", DASH}

    def test_formula_is_named(self) -> None:
        assert "short abandons" in formula_text("default", 20)
        assert formula_text("answered", 30) == "SL = answered ≤30s / answered"
        assert formula_text("weird", 20) == "SL formula: weird"

    def test_states_have_glyph_and_word(self) -> None:
        glyphs = set()
        for state in ("available", "busy", "wrap_up", "away", "offline"):
            info = state_info(state)
            assert info.word and info.short
            glyphs.add(info.glyph)
        assert len(glyphs) == 5
        assert state_info("on_mars").glyph == "?"
        assert state_info(None).word == "UNKNOWN"


class TestTiles:
    def test_thresholds(self) -> None:
        th = TileThresholds()
        assert th.level("wrap_up", 119) == 0
        assert th.level("wrap_up", 120) == 1
        assert th.level("wrap_up", 301) == 2
        assert th.level("away", 700) == 1
        assert th.level("away", 1300) == 2
        assert th.level("busy", 99999) == 0
        assert TileThresholds(wrap_up_warn_s=10).level("wrap_up", 11) == 1

    def test_tile_shows_everything_in_exact_width(self) -> None:
        figures = {
            "name": "Alice Smith",
            "state": "wrap_up",
            "state_since": T0 - 200_000_000,
            "handled": 12,
            "asa": 8,
            "aht": 250,
            "csat": 0.92,
            "occupancy": 0.81,
            "reason": "[b]coffee[/b]",
        }
        model = tile_model("a1", figures, T0, TileThresholds())
        assert model.level == 1
        lines = tile_texts(model, 4, 24)
        assert all(len(line) == 24 for line in lines)
        joined = "\n".join(lines)
        for part in ("✎ Alice Smith", "WRAP 3:20 !", "CSAT 92%", "H 12", "ASA 8s", "AHT 4:10"):
            assert part in joined
        assert "[b]coffee[/b]" in joined

    def test_tile_nulls_are_dashes(self) -> None:
        model = tile_model("a2", {"state": "offline"}, T0, TileThresholds())
        text = "\n".join(tile_texts(model, 4, 24))
        assert "ASA –" in text and "CSAT –" in text and "H –" in text
        assert "a2" in text  # the id stands in for a missing name

    def test_models_compare_by_content(self) -> None:
        a = tile_model("a", {"state": "busy", "name": "A"}, T0, TileThresholds())
        b = tile_model("a", {"state": "busy", "name": "A"}, T0, TileThresholds())
        assert a == b and isinstance(a, TileModel)


class TestSourceAndHistory:
    def test_static_source_is_deterministic_and_varied(self) -> None:
        a = build_snapshot(T0, agents=50)
        b = build_snapshot(T0, agents=50)
        assert a == b
        states = {f["state"] for f in a.windows["15m"].agents.values()}
        assert states == {"available", "busy", "wrap_up", "away", "offline"}
        assert list(a.windows) == ["15m", "1h", "today"]
        assert a.windows["15m"].queues["Email"]["service_level"] is None

    def test_acknowledge(self) -> None:
        src = StaticSource(agents=3)
        src.snapshot(T0)
        first = src.alerts()[0]
        src.acknowledge(first.id, "sam")
        assert src.alerts()[0].acked_by == "sam"
        assert src.acks == [(first.id, "sam")]

    def test_history_samples_once_per_step(self) -> None:
        history = History(step_us=60_000_000, points=3)
        for i in range(10):
            snap = build_snapshot(T0 + i * 30_000_000, agents=4)
            history.record(BoardView(snapshot=snap, window="15m"))
        assert len(history.series("overall", "", "service_level")) == 3
        assert len(history.series("queue", "Sales", "waiting")) == 3
        assert len(history.series("agent", "a0001", "handled")) == 3
        assert history.series("agent", "a0001", "waiting") == ()
        assert history.series("queue", "nope", "waiting") == []

    def test_team_figures(self) -> None:
        agents = {
            "a": {"team": "N", "handled": 3, "asa": 10.0, "csat": 0.5},
            "b": {"team": "N", "handled": 1, "asa": 30.0, "csat": None},
            "c": {"team": "S", "handled": 9, "asa": 99.0},
        }
        figs = team_figures(agents, "N")
        assert figs["handled"] == 4
        assert figs["asa"] == pytest.approx(15.0)
        assert figs["csat"] == 0.5
        assert figs["aht"] is None
        assert team_figures(agents, None)["handled"] is None


class TestThemes:
    def test_four_themes(self) -> None:
        assert set(THEMES) == {"dark", "light", "high-contrast", "okabe-ito"}
        for theme in THEMES.values():
            assert "tile-critical" in theme.variables

    def test_resolve(self) -> None:
        assert resolve_theme(None) == "dark"
        assert resolve_theme("Colour-Blind") == "okabe-ito"
        assert resolve_theme("HC") == "high-contrast"
        assert resolve_theme("nord", extra=("nord",)) == "nord"
        with pytest.raises(ValueError, match="known: dark"):
            resolve_theme("sparkly")


def test_clock_text_uses_zone() -> None:
    from wallboard.widgets.format import clock_text

    assert clock_text(T0, ZoneInfo("UTC")) == "16:00:00"
    assert clock_text(T0, ZoneInfo("Europe/Paris")) == "17:00:00"
