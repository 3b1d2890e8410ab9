"""Alert rules: the metrics they watch, the default set, and the ``[alerts]`` config section.

A rule watches one metric in one kind of scope (``overall``, every ``queue``,
``agent``, ``service`` or escalation ``category`` whose id matches its glob
patterns), compares it with two levels (``warning``, ``critical``), must see
the condition hold for ``for`` before it fires, and clears only once the
value is back past ``clear`` (hysteresis). :data:`DEFAULT_RULES` works with
no config at all; ``[[alerts.rules]]`` entries add rules, or change a
default rule by naming it (only the keys given change).

This module only describes and checks rules; :mod:`wallboard.alert_eval`
evaluates them. It must not import :mod:`wallboard.config` (which imports
it), nor Textual.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any, Final, Literal

import msgspec
from msgspec import UNSET, UnsetType

from wallboard.errors import UserError
from wallboard.timeutil import US, TimeFormatError, format_duration, parse_duration

Scope = Literal["overall", "queue", "agent", "service", "category"]
Op = Literal[">", ">=", "<", "<="]
Unit = Literal["share", "seconds", "count", "number"]
Kind = Literal["figure", "now", "state", "gap", "service", "feed", "quarantine"]

SCOPES: Final = ("overall", "queue", "agent", "service", "category")
OPS: Final = (">", ">=", "<", "<=")
RELATIVE: Final = ("sl_target", "sl_threshold")

Duration = str | int | float
"""A duration as written in the file: ``"90s"``, ``"15m"``, ``"1h"`` or a number of seconds."""
Level = float | int | str
"""A level: a number, a duration for a metric in seconds (``"2m"``), a share as ``"80%"``."""


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class Metric:
    """What a rule may watch."""

    name: str
    label: str
    """For people, in messages: ``service level``, ``longest wait``..."""
    kind: Kind
    """Where the value comes from (see :mod:`wallboard.alert_eval`)."""
    scopes: tuple[Scope, ...]
    unit: Unit
    op: Op
    """The usual direction: ``<`` when lower is worse (service level), else ``>``."""
    null_as: float | None = None
    """What a null figure means for this metric (``longest_wait``: nobody waits = 0)."""

    @property
    def windowed(self) -> bool:
        """Whether the metric is counted over a window (else it is a "now" value)."""
        return self.kind in ("figure", "quarantine")


_Q: Final[tuple[Scope, ...]] = ("overall", "queue")
_QA: Final[tuple[Scope, ...]] = ("overall", "queue", "agent")
_A: Final[tuple[Scope, ...]] = ("agent",)
_OA: Final[tuple[Scope, ...]] = ("overall", "agent")

# SPEC section 3 figures: (name, label, scopes, unit, usual direction).
_FIGURES: Final[tuple[tuple[str, str, tuple[Scope, ...], Unit, Op], ...]] = (
    ("arrivals", "arrivals", _Q, "count", ">"),
    ("answered", "answered", _QA, "count", "<"),
    ("abandoned", "abandoned", _Q, "count", ">"),
    ("short_abandoned", "short abandons", _Q, "count", ">"),
    ("answered_within", "answered within target", _QA, "count", "<"),
    ("service_level", "service level", _Q, "share", "<"),
    ("asa", "ASA", _QA, "seconds", ">"),
    ("first_response_p50", "first response p50", _QA, "seconds", ">"),
    ("first_response_p90", "first response p90", _QA, "seconds", ">"),
    ("reply_speed_mean", "reply speed", _QA, "seconds", ">"),
    ("reply_speed_p90", "reply speed p90", _QA, "seconds", ">"),
    ("abandonment_rate", "abandonment rate", _Q, "share", ">"),
    ("handled", "handled", _QA, "count", "<"),
    ("aht", "AHT", _QA, "seconds", ">"),
    ("art", "resolution time", _QA, "seconds", ">"),
    ("resolution_rate", "resolution rate", _Q, "share", "<"),
    ("fcr", "FCR", _QA, "share", "<"),
    ("escalations", "escalations", _QA, "count", ">"),
    ("escalation_rate", "escalation rate", _QA, "share", ">"),
    ("complaints", "complaints", _QA, "count", ">"),
    ("csat", "CSAT", _QA, "share", "<"),
    ("nps", "NPS", _QA, "number", "<"),
    ("sales", "sales", _QA, "count", "<"),
    ("sales_amount", "sales amount", _QA, "number", "<"),
    ("sales_conversion", "sales conversion", _QA, "share", "<"),
    ("occupancy", "occupancy", _OA, "share", ">"),
)

METRICS: Final[dict[str, Metric]] = {
    **{n: Metric(n, label, "figure", sc, unit, op) for n, label, sc, unit, op in _FIGURES},
    "waiting": Metric("waiting", "waiting", "now", _Q, "count", ">"),
    "longest_wait": Metric("longest_wait", "longest wait", "now", _Q, "seconds", ">", 0.0),
    **{
        f"{state}_time": Metric(f"{state}_time", label, "state", _A, "seconds", ">")
        for state, label in (
            ("wrap_up", "in wrap-up"),
            ("away", "away"),
            ("busy", "busy"),
            ("available", "available"),
        )
    },
    "product_gap": Metric("product_gap", "escalations", "gap", ("category",), "count", ">", 0.0),
    "service_down": Metric("service_down", "down", "service", ("service",), "seconds", ">"),
    "feed_silence": Metric("feed_silence", "feed silent", "feed", ("overall",), "seconds", ">"),
    "quarantine_growth": Metric(
        "quarantine_growth", "quarantined", "quarantine", ("overall",), "count", ">"
    ),
}
"""Every metric a rule may name."""


# ---------------------------------------------------------------- resolved rules


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule, resolved and checked: what the evaluator runs."""

    name: str
    """Unique; shown as the alert's ``rule`` (``service_level_below``...)."""
    metric: str
    scope: Scope
    match: tuple[str, ...] = ("*",)
    """Glob patterns (case-sensitive) on the queue / agent / service / category id."""
    exclude: tuple[str, ...] = ()
    window: str | None = None
    """Engine window name for figures (None: the first configured window, the board's
    default); a duration for ``quarantine_growth``; None for "now" metrics."""
    op: Op = ">"
    warning: float | None = None
    critical: float | None = None
    clear: float | None = None
    """Hysteresis: an alert clears once the value no longer passes this level (compared
    with ``op``); None = the lowest level given (no hysteresis)."""
    for_us: int = 0
    """How long the condition must hold before the alert fires (or escalates)."""
    relative_to: Literal["sl_target", "sl_threshold"] | None = None
    """Levels per queue: ``sl_target`` adds them to the queue's SL target; ``sl_threshold``
    multiplies the queue's SL threshold (seconds) by them."""
    min_contacts: int = 0
    """Figures from fewer than this many answered + abandoned contacts are ignored."""

    @property
    def info(self) -> Metric:
        """The metric's description."""
        return METRICS[self.metric]

    @property
    def above(self) -> bool:
        """Whether higher values are worse (``>`` or ``>=``)."""
        return self.op in (">", ">=")

    @property
    def window_us(self) -> int | None:
        """The window as a duration, for ``quarantine_growth``."""
        return None if self.window is None else parse_duration(self.window)

    def matches(self, key: str) -> bool:
        """Whether a scope id is covered by ``match`` and not by ``exclude``."""
        return any(fnmatchcase(key, p) for p in self.match) and not any(
            fnmatchcase(key, p) for p in self.exclude
        )

    def describe(self) -> str:
        """One line for ``config check`` and the docs."""
        info = self.info
        scope = self.scope if self.match == ("*",) else f"{self.scope} {','.join(self.match)}"
        if self.exclude:
            scope += f" except {','.join(self.exclude)}"
        levels = []
        for name, level in (("warning", self.warning), ("critical", self.critical)):
            if level is not None:
                levels.append(f"{name} {self.op} {_level_text(level, info.unit, self)}")
        if self.clear is not None:
            levels.append(f"clear past {_level_text(self.clear, info.unit, self)}")
        when = f" for {format_duration(self.for_us)}" if self.for_us else ""
        window = f" in {self.window}" if self.window else ""
        extra = f", from {self.min_contacts} contacts" if self.min_contacts else ""
        return f"{self.name}: {info.name} ({scope}{window}) {', '.join(levels)}{when}{extra}"


def _level_text(level: float, unit: Unit, rule: Rule) -> str:
    if rule.relative_to == "sl_target":
        return f"target{level:+.0%}" if level else "target"
    if rule.relative_to == "sl_threshold":
        return f"{level:g}x SL threshold"
    if unit == "share":
        return f"{level:.0%}"
    if unit == "seconds":
        return format_duration(round(level * US)) if level > 0 else "0s"
    return f"{level:g}"


DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "service_level_below", "service_level", "queue", op="<",
        warning=0.0, critical=-0.20, clear=0.03, for_us=120 * US,
        relative_to="sl_target", min_contacts=5,
    ),
    Rule(
        "longest_wait_above", "longest_wait", "queue", op=">",
        warning=3.0, critical=9.0, clear=1.0, relative_to="sl_threshold",
    ),
    Rule("waiting_above", "waiting", "queue", op=">=", warning=5, critical=10, clear=3,
         for_us=60 * US),
    Rule(
        "abandonment_rate_above", "abandonment_rate", "queue", op=">",
        warning=0.10, critical=0.20, clear=0.07, for_us=120 * US, min_contacts=10,
    ),
    Rule("wrap_up_too_long", "wrap_up_time", "agent", op=">", warning=120.0, critical=300.0,
         clear=60.0),
    Rule("away_too_long", "away_time", "agent", op=">", warning=1800.0, critical=3600.0,
         clear=60.0),
    Rule("product_gap", "product_gap", "category", op=">=", warning=5, critical=10),
    Rule("agent_complaints", "complaints", "agent", window="today", op=">=", warning=2,
         critical=3),
    Rule("service_down", "service_down", "service", op=">", warning=0.0, critical=120.0),
    Rule("feed_silent", "feed_silence", "overall", op=">", warning=120.0, critical=600.0,
         clear=60.0),
    Rule("quarantine_growing", "quarantine_growth", "overall", window="15m", op=">",
         warning=0, critical=100),
)  # fmt: skip
"""The rules in force with no config (``[alerts] defaults = false`` drops them)."""


# ---------------------------------------------------------------- the config section


class AlertRuleConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One ``[[alerts.rules]]`` entry. Naming a default rule changes only the keys given."""

    name: str
    metric: str | UnsetType = UNSET
    scope: Scope | UnsetType = UNSET
    match: str | list[str] | UnsetType = UNSET
    exclude: str | list[str] | UnsetType = UNSET
    window: str | UnsetType = UNSET
    op: Op | UnsetType = UNSET
    warning: Level | UnsetType = UNSET
    critical: Level | UnsetType = UNSET
    clear: Level | UnsetType = UNSET
    for_: Duration | UnsetType = msgspec.field(default=UNSET, name="for")
    relative_to: Literal["sl_target", "sl_threshold", "none"] | UnsetType = UNSET
    min_contacts: int | UnsetType = UNSET
    enabled: bool = True


class AlertsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``[alerts]`` section. Every key has a default: no section = the default rules."""

    defaults: bool = True
    """Start from :data:`DEFAULT_RULES` (false: only the rules written here)."""
    bell: bool = True
    """Ring the terminal bell when a critical alert is raised (or escalated)."""
    notify: bool = True
    """Show a notification when a critical alert is raised (or escalated)."""
    tv_silent: bool = True
    """The TV neither rings nor notifies (it has the ticker)."""
    rules: list[AlertRuleConfig] = msgspec.field(default_factory=list)

    def sounds(self, mode: str) -> tuple[bool, bool]:
        """``(bell, notify)`` for a screen mode (``tv``, ``supervisor``, ``agent``)."""
        if mode == "tv" and self.tv_silent:
            return False, False
        return self.bell, self.notify


@dataclass(frozen=True, slots=True)
class AlertProblem:
    """One mistake in the ``[alerts]`` section."""

    path: tuple[str | int, ...]
    """Where: ``("alerts", "rules", 2, "clear")``; list indexes count from 0."""
    message: str

    def __str__(self) -> str:
        return self.message


def _where(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def decode_alerts(data: Mapping[str, Any]) -> tuple[AlertsConfig | None, list[AlertProblem]]:
    """The ``[alerts]`` table as parsed from TOML (a dict) -> the config and every mistake.

    Each rule is decoded on its own, so one pass reports every broken rule.
    """
    problems: list[AlertProblem] = []
    base = {k: v for k, v in data.items() if k != "rules"}
    try:
        cfg = msgspec.convert(base, AlertsConfig, strict=True)
    except msgspec.ValidationError as exc:
        problems.append(_validation_problem(("alerts",), exc, AlertsConfig))
        cfg = AlertsConfig()
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        problems.append(
            AlertProblem(("alerts", "rules"), "alerts.rules: write each rule as [[alerts.rules]]")
        )
        raw_rules = []
    rules: list[AlertRuleConfig] = []
    for i, raw in enumerate(raw_rules):
        path: tuple[str | int, ...] = ("alerts", "rules", i)
        if not isinstance(raw, dict):
            problems.append(AlertProblem(path, f"{_where(path)}: expected a table"))
            continue
        try:
            rules.append(msgspec.convert(raw, AlertRuleConfig, strict=True))
        except msgspec.ValidationError as exc:
            name = raw.get("name")
            problems.append(_validation_problem(path, exc, AlertRuleConfig, name))
    if problems:
        return None, problems
    cfg = msgspec.structs.replace(cfg, rules=rules)
    return cfg, []


_AT = re.compile(r" - at `\$\.([A-Za-z_]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")


def _validation_problem(
    path: tuple[str | int, ...], exc: msgspec.ValidationError, struct: type, name: Any = None
) -> AlertProblem:
    text = str(exc)
    fields = [
        "for" if f == "for_" else f
        for f in struct.__struct_fields__  # type: ignore[attr-defined]
    ]
    label = _where(path) + (f" ({name!r})" if isinstance(name, str) else "")
    m = _UNKNOWN.search(text)
    if m:
        key = m.group(1)
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return AlertProblem(
            (*path, key), f"{label}: unknown key {key!r}{hint}; known: {', '.join(fields)}"
        )
    m = _MISSING.search(text)
    if m:
        return AlertProblem(path, f"{label}: missing key {m.group(1)!r}")
    at = _AT.search(text)
    key = at.group(1) if at else None
    detail = _AT.sub("", text).replace("`", "")
    if key is not None:
        key = "for" if key == "for_" else key
        return AlertProblem((*path, key), f"{label}: {key}: {_explain(key, detail)}")
    return AlertProblem(path, f"{label}: {detail}")


def _explain(key: str, detail: str) -> str:
    hints = {
        "op": 'expected one of ">", ">=", "<", "<="',
        "scope": "expected one of " + ", ".join(f'"{s}"' for s in SCOPES),
        "relative_to": 'expected "sl_target", "sl_threshold" or "none"',
        "match": "expected a glob pattern or a list of them",
        "exclude": "expected a glob pattern or a list of them",
        "for": 'expected a duration ("90s", "2m") or a number of seconds',
        "warning": 'expected a number, a duration ("2m") or a share ("80%")',
        "critical": 'expected a number, a duration ("2m") or a share ("80%")',
        "clear": 'expected a number, a duration ("2m") or a share ("80%")',
    }
    return hints.get(key, detail[0].lower() + detail[1:] if detail else "wrong type")


def resolve(
    cfg: AlertsConfig | None = None,
    *,
    windows: Sequence[str] | None = None,
    gap_threshold: int | None = None,
) -> tuple[list[Rule], list[AlertProblem]]:
    """The rules in force for a config, and every mistake found on the way.

    Args:
        cfg: The ``[alerts]`` section (None: the defaults).
        windows: The engine's configured windows, when known: a figure rule's
            ``window`` must be one of them.
        gap_threshold: The engine's ``gap_threshold``, when known: a
            ``product_gap`` level below it could never be seen.
    """
    cfg = cfg if cfg is not None else AlertsConfig()
    problems: list[AlertProblem] = []
    defaults = {r.name: _fit_window(r, windows) for r in DEFAULT_RULES} if cfg.defaults else {}
    rules: dict[str, Rule | None] = dict(defaults)
    seen: set[str] = set()
    for i, rc in enumerate(cfg.rules):
        path: tuple[str | int, ...] = ("alerts", "rules", i)
        label = f"{_where(path)} ({rc.name!r})"
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", rc.name):
            problems.append(
                AlertProblem(
                    (*path, "name"),
                    f"{label}: name: use 1-64 letters, digits, '_', '-' or '.'",
                )
            )
            continue
        if rc.name in seen:
            problems.append(
                AlertProblem((*path, "name"), f"{label}: a rule named {rc.name!r} is given twice")
            )
            continue
        seen.add(rc.name)
        if not rc.enabled:
            rules[rc.name] = None
            continue
        rule, found = _build(rc, defaults.get(rc.name), path, label, windows, gap_threshold)
        problems.extend(found)
        rules[rc.name] = rule
    if problems:
        return [], problems
    return [r for r in rules.values() if r is not None], []


def _fit_window(rule: Rule, windows: Sequence[str] | None) -> Rule:
    """A default rule whose window is not configured watches the first window instead."""
    if (
        windows is not None
        and rule.window is not None
        and rule.info.kind == "figure"
        and rule.window not in windows
    ):
        return replace(rule, window=None)
    return rule


def default_rules() -> list[Rule]:
    """The default rule set."""
    return list(DEFAULT_RULES)


def rules_or_raise(
    cfg: AlertsConfig | None = None,
    *,
    windows: Sequence[str] | None = None,
    gap_threshold: int | None = None,
) -> list[Rule]:
    """:func:`resolve`, raising one :class:`UserError` that lists every mistake."""
    rules, problems = resolve(cfg, windows=windows, gap_threshold=gap_threshold)
    if problems:
        listed = "; ".join(p.message for p in problems)
        raise UserError(f"alert rules: {len(problems)} mistake(s): {listed}")
    return rules


def validate_alerts(
    cfg: AlertsConfig,
    *,
    windows: Sequence[str] | None = None,
    gap_threshold: int | None = None,
) -> list[str]:
    """Every mistake in a decoded ``[alerts]`` section, one line each (empty: valid)."""
    return [p.message for p in resolve(cfg, windows=windows, gap_threshold=gap_threshold)[1]]


def _build(
    rc: AlertRuleConfig,
    base: Rule | None,
    path: tuple[str | int, ...],
    label: str,
    windows: Sequence[str] | None,
    gap_threshold: int | None,
) -> tuple[Rule | None, list[AlertProblem]]:
    """A rule from an entry (over the default of the same name, when there is one)."""
    problems: list[AlertProblem] = []

    def bad(key: str, message: str) -> None:
        problems.append(AlertProblem((*path, key), f"{label}: {key}: {message}"))

    metric_name = rc.metric if rc.metric is not UNSET else (base.metric if base else None)
    if metric_name is None:
        bad("metric", "missing (a new rule names the metric it watches)")
        return None, problems
    info = METRICS.get(metric_name)
    if info is None:
        close = difflib.get_close_matches(metric_name, METRICS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        bad("metric", f"unknown metric {metric_name!r}{hint}; known: {', '.join(METRICS)}")
        return None, problems
    if base is not None and base.metric != metric_name:
        base = None  # a different metric: the default's levels mean nothing here
    start = base or Rule(rc.name, metric_name, info.scopes[0], op=info.op)
    changes: dict[str, Any] = {"name": rc.name, "metric": metric_name}
    if rc.scope is not UNSET:
        changes["scope"] = rc.scope
    for key in ("match", "exclude"):
        value = getattr(rc, key)
        if value is not UNSET:
            patterns = (value,) if isinstance(value, str) else tuple(value)
            if any(not p for p in patterns) or (key == "match" and not patterns):
                bad(key, 'give non-empty glob patterns, e.g. "sales-*"')
            changes[key] = patterns
    if rc.window is not UNSET:
        changes["window"] = rc.window
    if rc.op is not UNSET:
        changes["op"] = rc.op
    if rc.relative_to is not UNSET:
        changes["relative_to"] = None if rc.relative_to == "none" else rc.relative_to
    if rc.min_contacts is not UNSET:
        changes["min_contacts"] = rc.min_contacts
    if rc.for_ is not UNSET:
        try:
            changes["for_us"] = duration_us(rc.for_)
        except TimeFormatError as exc:
            bad("for", str(exc))
    relative = changes.get("relative_to", start.relative_to)
    for key in ("warning", "critical", "clear"):
        value = getattr(rc, key)
        if value is UNSET:
            continue
        try:
            changes[key] = level_value(value, info.unit, relative)
        except ValueError as exc:
            bad(key, str(exc))
    if problems:
        return None, problems
    rule = replace(start, **changes)
    problems.extend(_check(rule, path, label, windows, gap_threshold))
    return (None if problems else rule), problems


def _check(
    rule: Rule,
    path: tuple[str | int, ...],
    label: str,
    windows: Sequence[str] | None,
    gap_threshold: int | None,
) -> list[AlertProblem]:
    """Semantic checks of a resolved rule."""
    problems: list[AlertProblem] = []
    info = rule.info

    def bad(key: str, message: str) -> None:
        problems.append(AlertProblem((*path, key), f"{label}: {key}: {message}"))

    if rule.scope not in info.scopes:
        bad("scope", f"{info.name} is counted per {' / '.join(info.scopes)}, not {rule.scope}")
    if rule.scope == "overall" and (rule.match != ("*",) or rule.exclude):
        bad("match", "the overall scope has no ids to match")
    if info.kind == "figure":
        if rule.window is not None and windows is not None and rule.window not in windows:
            bad(
                "window",
                f"{rule.window!r} is not a configured window ({', '.join(windows)});"
                " add it to `windows` or leave `window` out (the first window)",
            )
        elif rule.window is not None and windows is None and rule.window != "today":
            try:
                parse_duration(rule.window)
            except TimeFormatError as exc:
                bad("window", f"{exc} (or 'today')")
    elif info.kind == "quarantine":
        try:
            parse_duration(rule.window or "")
        except TimeFormatError as exc:
            bad("window", f"{exc}: the span over which the quarantine's growth is counted")
    elif rule.window is not None:
        what = "the engine's gap_window" if info.kind == "gap" else "the value now"
        bad("window", f"{info.name} has no window (it is {what}); leave `window` out")
    if rule.warning is None and rule.critical is None:
        bad("warning", "give a warning level, a critical level, or both")
    above = rule.above
    warn, crit = rule.warning, rule.critical
    if warn is not None and crit is not None and (crit < warn if above else crit > warn):
        side = "above" if above else "below"
        bad("critical", f"must be at or {side} warning for op {rule.op!r}")
    first = rule.warning if rule.warning is not None else rule.critical
    if (
        rule.clear is not None
        and first is not None
        and (rule.clear > first if above else rule.clear < first)
    ):
        side = "at or below" if above else "at or above"
        which = "warning" if rule.warning is not None else "critical"
        bad(
            "clear",
            f"must be {side} the {which} level for op {rule.op!r} (it is where the "
            "alert goes back to normal)",
        )
    if rule.for_us < 0:
        bad("for", "must be zero or more")
    if rule.min_contacts < 0:
        bad("min_contacts", "must be zero or more")
    if rule.min_contacts and info.kind != "figure":
        bad("min_contacts", f"only for window figures, not {info.name}")
    if rule.relative_to is not None:
        if rule.scope != "queue":
            bad("relative_to", 'levels relative to a queue\'s SL settings need scope = "queue"')
        if rule.relative_to == "sl_target" and info.unit != "share":
            bad("relative_to", f"sl_target offsets only suit a share, not {info.name}")
        if rule.relative_to == "sl_threshold":
            if info.unit != "seconds":
                bad("relative_to", f"sl_threshold multiples only suit seconds, not {info.name}")
            for key in ("warning", "critical", "clear"):
                level = getattr(rule, key)
                if level is not None and level < 0:
                    bad(key, "a multiple of the SL threshold must be zero or more")
    if (
        info.kind == "gap"
        and gap_threshold is not None
        and first is not None
        and first < gap_threshold
    ):
        bad(
            "warning",
            f"{first:g} is below gap_threshold ({gap_threshold}): the engine names a "
            "category from gap_threshold escalations on; lower gap_threshold instead",
        )
    return problems


# ---------------------------------------------------------------- values


_ZERO = re.compile(r"\s*0+(\.0*)?\s*[a-z]*\s*")


def duration_us(value: Duration) -> int:
    """A duration (``"90s"``, ``"2m"``, seconds, or zero) in microseconds."""
    if isinstance(value, bool):
        raise TimeFormatError(f"not a duration: {value!r}")
    if isinstance(value, str):
        if _ZERO.fullmatch(value):
            return 0
        return parse_duration(value)
    if value < 0:
        raise TimeFormatError(f"a duration must be zero or more: {value!r}")
    return round(value * US)


def level_value(value: Level, unit: Unit, relative: str | None = None) -> float:
    """A level as written -> a number in the metric's unit (seconds, share...).

    Raises:
        ValueError: a duration for a metric not in seconds, a bad share or duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {value!r}")
    if not isinstance(value, str):
        return float(value)
    text = value.strip()
    if text.endswith("%"):
        if unit != "share" or relative == "sl_threshold":
            raise ValueError(f"{value!r}: a percentage suits a share metric only")
        try:
            return float(text[:-1]) / 100
        except ValueError:
            raise ValueError(f"not a percentage: {value!r}") from None
    if unit != "seconds" or relative == "sl_threshold":
        raise ValueError(f"{value!r}: write a number (a duration suits a metric in seconds)")
    try:
        return duration_us(text) / US
    except TimeFormatError as exc:
        raise ValueError(str(exc)) from None


# ---------------------------------------------------------------- helpers for the screens


def scope_key(scope: str, key: str | None = None) -> str:
    """The alert scope text: ``overall``, ``queue:Sales``, ``agent:a17``..."""
    return scope if key is None or scope == "overall" else f"{scope}:{key}"


def concerns_agent(scope: str, agent: str, queues: Iterable[str] = ()) -> bool:
    """Whether an alert's scope is about this agent or one of their queues (agent view)."""
    if scope == f"agent:{agent}":
        return True
    return any(scope == f"queue:{q}" for q in queues)


def summary(cfg: AlertsConfig | None = None, rules: Sequence[Rule] | None = None) -> list[str]:
    """What the alert section amounts to, for ``wallboard config check``."""
    cfg = cfg if cfg is not None else AlertsConfig()
    rules = rules if rules is not None else resolve(cfg)[0]
    sound = f"bell {'on' if cfg.bell else 'off'}, notifications {'on' if cfg.notify else 'off'}"
    if cfg.tv_silent:
        sound += " (the TV stays silent)"
    out = [f"alerts: {len(rules)} rule(s); {sound}"]
    out.extend(f"  {r.describe()}" for r in rules)
    return out


def alerts_section(config: Any) -> AlertsConfig:
    """The ``[alerts]`` section of a :class:`~wallboard.config.Config` (the defaults until
    the config has one)."""
    section = getattr(config, "alerts", None)
    return section if isinstance(section, AlertsConfig) else AlertsConfig()


def rules_for(config: Any) -> list[Rule]:
    """The rules in force for a whole config, checked against its windows and gap settings.

    Raises:
        UserError: the ``[alerts]`` section has mistakes (each one listed).
    """
    windows = getattr(config, "windows", None)
    gap = getattr(config, "gap_threshold", None)
    return rules_or_raise(
        alerts_section(config),
        windows=list(windows) if windows is not None else None,
        gap_threshold=gap if isinstance(gap, int) else None,
    )


def gap_window_text(config: Any) -> str | None:
    """The config's ``gap_window`` as text for messages (``"1h"``)."""
    value = getattr(config, "gap_window", None)
    if value is None:
        return None
    try:
        return format_duration(duration_us(value))
    except (TimeFormatError, TypeError):
        return None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The line of the TOML text where ``path`` (an :class:`AlertProblem` path) is written.

    Understands ``[alerts]`` and the ``[[alerts.rules]]`` entries, counted
    from 0, with their keys; falls back to the nearest enclosing line found.
    """
    where: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    rules = -1
    for number, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            name = tuple(part.strip().strip("\"'") for part in m.group(2).split("."))
            if m.group(1) == "[[" and name == ("alerts", "rules"):
                rules += 1
                table = ("alerts", "rules", rules)
            else:
                table = name
            where.setdefault(table, number)
            continue
        m = _KEY.match(line)
        if m and table:
            where.setdefault((*table, m.group(1)), number)
    for n in range(len(path), 0, -1):
        if path[:n] in where:
            return where[path[:n]]
    return None
