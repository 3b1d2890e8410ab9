"""The configuration file: its types, defaults, loading and `wallboard config check`.

Everything has a default, so the board starts without a file. A file is TOML;
every mistake in it (unknown key, wrong type, bad zone or duration) is found
in one pass and reported with its line, and a bad file never starts a
half-working board: :func:`load_config` raises :class:`UserError` listing them.

Adding a section (``[alerts]``, ``[display]``, ``[theme]``...) is one field on
:class:`Config` whose type is a ``msgspec.Struct`` with defaults; the checker
walks it like the others.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

import msgspec

from wallboard.alert_rules import AlertsConfig, decode_alerts, line_of, resolve, rules_for
from wallboard.alert_rules import summary as alerts_summary
from wallboard.errors import UserError
from wallboard.paths import default_config_path
from wallboard.timeutil import US, TimeFormatError, format_duration, load_zone, parse_duration

SlFormula = Literal["default", "answered", "abandons_good", "abandons_ignored"]
SL_FORMULAS: Final[dict[str, str]] = {
    "default": "answered_within / (answered + abandoned - short_abandoned)",
    "answered": "answered_within / answered",
    "abandons_good": "(answered_within + abandoned_within) / (answered + abandoned)",
    "abandons_ignored": "answered_within / (answered + abandoned - abandoned_within)",
}
"""Service-level formula name -> what it divides (SPEC section 3, ``sl_formula``)."""

Duration = str | int | float
"""A duration as written in the file: ``"90s"``, ``"15m"``, ``"1h"``, ``"7d"`` or seconds."""

TODAY: Final = "today"


class QueueConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[queues.ID]``: display name and per-queue service-level settings."""

    name: str | None = None
    sl_threshold: Duration | None = None
    sl_target: float | None = None
    short_abandon: Duration | None = None
    sl_formula: SlFormula | None = None


class AgentConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[agents.ID]``: how an agent is shown."""

    name: str | None = None


class TeamConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[teams.ID]``: a named group of agents, optionally serving some queues."""

    name: str | None = None
    agents: list[str] = msgspec.field(default_factory=list)
    queues: list[str] = msgspec.field(default_factory=list)


class DisplayConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[display]``: how the screens look and behave (command-line options win)."""

    theme: str = "dark"
    refresh_hz: float = 2.0
    """Screen refreshes per second (1-4 is sensible over SSH)."""
    page_seconds: float = 10
    """Seconds between TV page turns when queues or agents do not fit."""
    stale_after: Duration = 30
    """Feed silence after which the board shows a "feed stale" banner."""
    hide_offline: bool = False
    """Leave offline agents off the TV grid."""
    agent_order: Literal["name", "state"] = "name"
    wrap_up_warn: Duration = "2m"
    wrap_up_crit: Duration = "5m"
    away_warn: Duration = "10m"
    away_crit: Duration = "20m"
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    """Binding id -> keys, e.g. ``"app.pause" = "space"`` (ids in docs/screens.md)."""


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole file. Field defaults are the SPEC's defaults."""

    timezone: str | None = None
    """IANA zone for ``today``; None = the machine's zone."""
    windows: list[str] = msgspec.field(default_factory=lambda: ["15m", "1h", TODAY])
    sl_threshold: Duration = 20
    sl_target: float = 0.80
    short_abandon: Duration = 5
    sl_formula: SlFormula = "default"
    fcr_days: float = 7
    lookback: Duration = "7d"
    """How long before the earliest window a contact is remembered (docs/metrics.md)."""
    gap_threshold: int = 5
    gap_window: Duration = "1h"
    queues: dict[str, QueueConfig] = msgspec.field(default_factory=dict)
    agents: dict[str, AgentConfig] = msgspec.field(default_factory=dict)
    teams: dict[str, TeamConfig] = msgspec.field(default_factory=dict)
    display: DisplayConfig = msgspec.field(default_factory=DisplayConfig)
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
    """``[alerts]``: rules, sounds (wallboard/alert_rules.py, docs/alerts.md)."""

    # ------------------------------------------------------------ resolved views

    def zone(self) -> ZoneInfo:
        """The configured zone (the machine's when none is set)."""
        return load_zone(self.timezone)

    def window_specs(self) -> list[tuple[str, int | None]]:
        """``(name, length in microseconds)``; ``today`` has length None."""
        return [(w, None if w == TODAY else parse_duration(w)) for w in self.windows]

    def targets(self, queue: str | None = None) -> Targets:
        """Service-level settings for a queue (the global ones for None or an unknown queue)."""
        q = self.queues.get(queue) if queue is not None else None
        return Targets(
            sl_threshold_us=_duration_us(
                q.sl_threshold if q and q.sl_threshold is not None else self.sl_threshold
            ),
            sl_target=q.sl_target if q and q.sl_target is not None else self.sl_target,
            short_abandon_us=_duration_us(
                q.short_abandon if q and q.short_abandon is not None else self.short_abandon
            ),
            sl_formula=q.sl_formula if q and q.sl_formula is not None else self.sl_formula,
        )

    @staticmethod
    def seconds(value: Duration) -> float:
        """A checked duration from the file, in seconds."""
        return _duration_us(value) / US

    def fcr_us(self) -> int:
        """``fcr_days`` in microseconds."""
        return round(self.fcr_days * 86400 * US)

    def lookback_us(self) -> int:
        """``lookback`` in microseconds."""
        return _duration_us(self.lookback)

    def gap_window_us(self) -> int:
        """``gap_window`` in microseconds."""
        return _duration_us(self.gap_window)

    def team_queues(self) -> dict[str, set[str]]:
        """Queue -> agents of the teams that serve it (from ``[teams]``)."""
        out: dict[str, set[str]] = {}
        for team in self.teams.values():
            for q in team.queues:
                out.setdefault(q, set()).update(team.agents)
        return out

    def with_overrides(
        self, *, timezone: str | None = None, windows: list[str] | None = None
    ) -> Config:
        """A copy with the zone and/or windows replaced (command-line options)."""
        changes: dict[str, Any] = {}
        if timezone is not None:
            changes["timezone"] = timezone
        if windows is not None:
            changes["windows"] = windows
        return msgspec.structs.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Targets:
    """Service-level settings in force for one queue, durations in microseconds."""

    sl_threshold_us: int
    sl_target: float
    short_abandon_us: int
    sl_formula: str


def _duration_us(value: Duration) -> int:
    """A checked duration to microseconds (0 allowed: it disables ``short_abandon``)."""
    if isinstance(value, str):
        if re.fullmatch(r"\s*0+(\.0*)?\s*[a-z]*\s*", value):
            return 0
        return parse_duration(value)
    return round(value * US)


# ---------------------------------------------------------------- loading


def _read(path: Path) -> str:
    """A config file's text, or one clear error."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no config file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read config {path}: {exc}") from None


def load_config(path: str | Path | None = None) -> Config:
    """Read and check a config file; the default path may be absent (defaults apply).

    Raises:
        UserError: the file is missing (when named), unreadable, or has mistakes;
            the message lists every mistake with its line.
    """
    if path is None:
        path = default_config_path()
        if not path.exists():
            return Config()
    path = Path(path)
    config, problems = check_text(_read(path))
    if problems:
        listed = "; ".join(str(p) for p in problems)
        raise UserError(f"{path}: {len(problems)} mistake(s): {listed}")
    assert config is not None
    return config


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a config file."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def check_text(text: str) -> tuple[Config | None, list[Problem]]:
    """Check a config file's text: the config (when valid) and every mistake found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, [Problem(int(m.group(1)) if m else None, f"not valid TOML: {message}")]
    lines = _KeyLines(text)
    problems: list[Problem] = []
    alerts_data = data.pop("alerts", {})
    _check_struct(Config, data, (), lines, problems)
    if not problems:
        _check_values(data, lines, problems)
    alerts = _check_alerts(text, data, alerts_data, problems)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        return None, problems
    config = msgspec.convert(data, Config)
    return msgspec.structs.replace(config, alerts=alerts), []


def _check_alerts(
    text: str, data: dict[str, Any], section: Any, problems: list[Problem]
) -> AlertsConfig:
    """The ``[alerts]`` section, checked against the windows and gap settings in force."""
    if not isinstance(section, dict):
        problems.append(Problem(line_of(text, ("alerts",)), "alerts: expected a table"))
        return AlertsConfig()
    alerts, found = decode_alerts(section)
    if alerts is not None:
        windows = data.get("windows") or Config().windows
        gap = data.get("gap_threshold", Config().gap_threshold)
        found = resolve(
            alerts,
            windows=windows if isinstance(windows, list) else None,
            gap_threshold=gap if isinstance(gap, int) else None,
        )[1]
    problems.extend(Problem(line_of(text, p.path), p.message) for p in found)
    return alerts or AlertsConfig()


def _check_struct(
    struct: type[msgspec.Struct],
    data: dict[str, Any],
    path: tuple[str, ...],
    lines: _KeyLines,
    problems: list[Problem],
) -> None:
    """Unknown keys and wrong types, recursively, collecting every one."""
    hints = typing.get_type_hints(struct)
    fields = struct.__struct_fields__
    where = f" in [{'.'.join(path)}]" if path else ""
    for key, value in data.items():
        key_path = (*path, key)
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(fields)
            problems.append(
                Problem(lines.find(key_path), f"unknown key {key!r}{where}{hint}; known: {known}")
            )
            continue
        typ = hints[key]
        if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
            if isinstance(value, dict):
                _check_struct(typ, value, key_path, lines, problems)
            else:
                problems.append(_wrong(key_path, "a table", value, lines))
            continue
        if get_origin(typ) is dict:
            inner = get_args(typ)[1]
            if not isinstance(value, dict):
                problems.append(_wrong(key_path, "a table", value, lines))
                continue
            for sub, sub_value in value.items():
                if not (isinstance(inner, type) and issubclass(inner, msgspec.Struct)):
                    try:
                        msgspec.convert(sub_value, inner, strict=True)
                    except msgspec.ValidationError:
                        sub_path = (*key_path, sub)
                        problems.append(_wrong(sub_path, _describe(inner), sub_value, lines))
                elif isinstance(sub_value, dict):
                    _check_struct(inner, sub_value, (*key_path, sub), lines, problems)
                else:
                    problems.append(_wrong((*key_path, sub), "a table", sub_value, lines))
            continue
        try:
            msgspec.convert(value, typ, strict=True)
        except msgspec.ValidationError:
            problems.append(_wrong(key_path, _describe(typ), value, lines))


def _wrong(path: tuple[str, ...], expected: str, value: Any, lines: _KeyLines) -> Problem:
    got = type(value).__name__
    got = {
        "dict": "a table",
        "list": "a list",
        "str": "a string",
        "bool": "true/false",
        "int": "a whole number",
        "float": "a number",
    }.get(got, f"a {got}")
    return Problem(lines.find(path), f"{'.'.join(path)}: expected {expected}, got {got}")


def _describe(typ: Any) -> str:
    """A reader's name for a type: 'a string', 'one of "a", "b"'..."""
    origin = get_origin(typ)
    if origin is Literal:
        return "one of " + ", ".join(f'"{a}"' for a in get_args(typ))
    if origin in (Union, types.UnionType):
        parts = [_describe(a) for a in get_args(typ) if a is not type(None)]
        if set(parts) >= {"a string", "a number"} and typ in (Duration, Duration | None):
            return 'a duration ("90s", "15m", "1h", "7d") or a number of seconds'
        return " or ".join(dict.fromkeys(parts))
    if origin is list:
        return f"a list of {_describe(get_args(typ)[0]).removeprefix('a ')}s"
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true/false"}
    return names.get(typ, getattr(typ, "__name__", str(typ)))


def _check_values(data: dict[str, Any], lines: _KeyLines, problems: list[Problem]) -> None:
    """Checks beyond types: zone names, durations, ranges, duplicates."""

    def bad(path: tuple[str, ...], message: str) -> None:
        problems.append(Problem(lines.find(path), message))

    if data.get("timezone") is not None:
        try:
            load_zone(data["timezone"])
        except TimeFormatError as exc:
            bad(("timezone",), f"timezone: {exc}")
    windows = data.get("windows")
    if windows is not None:
        if not windows:
            bad(("windows",), "windows: give at least one window")
        seen: set[int | None] = set()
        for w in windows:
            try:
                length = None if w == TODAY else parse_duration(w)
            except TimeFormatError as exc:
                bad(("windows",), f"windows: {exc} (or 'today')")
                continue
            if length in seen:
                bad(("windows",), f"windows: {w!r} is listed twice")
            seen.add(length)

    def duration(path: tuple[str, ...], value: Any, allow_zero: bool) -> None:
        if value is None:
            return
        try:
            us = _duration_us(value)
        except TimeFormatError as exc:
            bad(path, f"{'.'.join(path)}: {exc}")
            return
        if us < 0 or (us == 0 and not allow_zero):
            bad(path, f"{'.'.join(path)}: must be more than zero")

    def fraction(path: tuple[str, ...], value: Any) -> None:
        if value is not None and not 0 < value <= 1:
            bad(path, f"{'.'.join(path)}: must be a share between 0 and 1 (e.g. 0.8), not {value}")

    for prefix, table in [((), data)] + [
        (("queues", q), t) for q, t in data.get("queues", {}).items()
    ]:
        duration((*prefix, "sl_threshold"), table.get("sl_threshold"), allow_zero=True)
        duration((*prefix, "short_abandon"), table.get("short_abandon"), allow_zero=True)
        fraction((*prefix, "sl_target"), table.get("sl_target"))
    display = data.get("display", {})
    for key in ("stale_after", "wrap_up_warn", "wrap_up_crit", "away_warn", "away_crit"):
        duration(("display", key), display.get(key), allow_zero=False)
    hz = display.get("refresh_hz")
    if hz is not None and not 0.2 <= hz <= 10:
        bad(("display", "refresh_hz"), f"display.refresh_hz: between 0.2 and 10, not {hz}")
    pages = display.get("page_seconds")
    if pages is not None and pages <= 0:
        bad(("display", "page_seconds"), "display.page_seconds: must be more than zero")
    duration(("lookback",), data.get("lookback"), allow_zero=False)
    duration(("gap_window",), data.get("gap_window"), allow_zero=False)
    fcr = data.get("fcr_days")
    if fcr is not None and (fcr < 0 or not math.isfinite(fcr)):
        bad(("fcr_days",), f"fcr_days: must be zero or more days, not {fcr}")
    gap = data.get("gap_threshold")
    if gap is not None and gap < 1:
        bad(("gap_threshold",), f"gap_threshold: must be at least 1, not {gap}")


class _KeyLines:
    """Finds the line where a dotted key is written, by reading the TOML text.

    tomllib keeps no positions, so this follows table headers and ``key =``
    lines (dotted keys included); good enough to point at a mistake.
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(
        r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
    )

    def __init__(self, text: str) -> None:
        self._where: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            m = self._HEADER.match(line)
            if m:
                table = self._split(m.group(1))
                self._where.setdefault(table, number)
                continue
            m = self._KEY.match(line)
            if m:
                self._where.setdefault((*table, *self._split(m.group(1))), number)

    @staticmethod
    def _split(dotted: str) -> tuple[str, ...]:
        parts = re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", dotted)
        return tuple(p[1:-1] if p[0] in "\"'" else p for p in parts)

    def find(self, path: tuple[str, ...]) -> int | None:
        """The line of ``path``, else of its nearest enclosing table that is written."""
        for n in range(len(path), 0, -1):
            if path[:n] in self._where:
                return self._where[path[:n]]
        return None


# ---------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``wallboard config check FILE``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a config file and explain each mistake")
    check.add_argument("file", nargs="?", help="the file (default: the user's config file)")


def run(args: argparse.Namespace) -> int:
    """Check the file: print "ok" and a summary, or each mistake with its line (exit 1)."""
    path = Path(args.file) if args.file else default_config_path()
    config, problems = check_text(_read(path))
    if problems:
        for p in problems:
            print(f"{path}:{p.line}: {p.message}" if p.line else f"{path}: {p.message}")
        return 1
    assert config is not None
    print(f"ok: {path}")
    for line in summary(config):
        print(f"  {line}")
    return 0


def summary(config: Config) -> list[str]:
    """What a config amounts to, one line per setting group."""
    t = config.targets()
    zone = config.timezone or f"{config.zone().key} (the machine's)"
    out = [
        f"time zone: {zone}",
        f"windows: {', '.join(config.windows)}",
        f"service level: {t.sl_target:.0%} within {format_duration(t.sl_threshold_us)}"
        f" ({t.sl_formula}: {SL_FORMULAS[t.sl_formula]}),"
        f" short abandon {format_duration(t.short_abandon_us) if t.short_abandon_us else 'off'}",
        f"fcr: {config.fcr_days:g} days; lookback {format_duration(config.lookback_us())}",
        f"product gap: {config.gap_threshold} escalations of a category"
        f" within {format_duration(config.gap_window_us())}",
    ]
    for q, qc in sorted(config.queues.items()):
        qt = config.targets(q)
        label = f"{q} ({qc.name})" if qc.name else q
        out.append(
            f"queue {label}: {qt.sl_target:.0%} within {format_duration(qt.sl_threshold_us)},"
            f" {qt.sl_formula}"
        )
    if config.agents:
        out.append(f"agents named: {len(config.agents)}")
    for team_id, team in sorted(config.teams.items()):
        serves = f", serving {', '.join(team.queues)}" if team.queues else ""
        out.append(f"team {team.name or team_id}: {len(team.agents)} agent(s){serves}")
    d = config.display
    out.append(
        f"display: theme {d.theme}, {d.refresh_hz:g} Hz, pages every {d.page_seconds:g} s,"
        f" stale after {format_duration(_duration_us(d.stale_after))}"
        + (f", {len(d.keys)} key(s) remapped" if d.keys else "")
    )
    out.extend(alerts_summary(config.alerts, rules_for(config)))
    return out
