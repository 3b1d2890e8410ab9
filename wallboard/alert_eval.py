"""Evaluating alert rules against snapshots: ``for`` durations, two levels, hysteresis.

:class:`AlertEvaluator` is pure: no I/O, no Textual, no clock of its own. The
single writer calls :meth:`AlertEvaluator.evaluate` about once a second with a
:class:`~wallboard.engine.snapshot.Snapshot`, the instant and the feed's
health, and gets the :class:`Transition` list (raised, escalated,
deescalated, cleared) that :mod:`wallboard.alert_store` records.

Per (rule, scope) it keeps when the condition started to hold (for ``for``)
and the severity in force. The decisions (docs/alerts.md):

- An alert is **raised** once the warning (or critical) condition has held
  for ``for``; it is raised critical at once when the critical condition
  itself has held that long.
- It **escalates** once the critical condition has held for ``for``.
- It **clears** as soon as the value no longer passes ``clear`` (compared
  with the rule's op); a value between ``clear`` and ``warning`` keeps it as
  it is, so a figure hovering at the boundary does not flap.
- A critical alert **deescalates** to a warning once the value no longer
  passes ``critical`` moved by the same band (``critical + clear - warning``).
- A **null** figure (an empty denominator) neither fires nor clears: it
  holds the state, and restarts any ``for`` count. A figure from fewer than
  ``min_contacts`` contacts counts as null.
- A scope that leaves the snapshot (a queue or agent forgotten by the
  engine, a service no longer reported) clears its alert.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from wallboard.alert_rules import AlertsConfig, Rule, Unit, resolve
from wallboard.engine.snapshot import Snapshot, WindowFigures
from wallboard.source import FeedStatus, Severity
from wallboard.timeutil import US

TransitionKind = Literal["raised", "escalated", "deescalated", "cleared"]


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of an alert's state."""

    kind: TransitionKind
    rule: str
    scope: str
    """``overall``, ``queue:Sales``, ``agent:a17``, ``service:CRM``, ``category:refunds``."""
    severity: Severity
    """The severity after the change (for ``cleared``: the one it had)."""
    at_us: int
    value: float | None
    threshold: float | None
    """The level of ``severity`` (resolved for the scope)."""
    message: str
    unit: Unit
    worst: float | None = None
    """The worst value seen while in force (max, or min when lower is worse)."""


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """An alert in force, with its current value."""

    rule: str
    scope: str
    severity: Severity
    raised_at_us: int
    value: float | None
    threshold: float | None
    message: str
    unit: Unit
    worst_value: float | None
    """The worst value seen since it was raised (max, or min when lower is worse)."""
    peak_severity: Severity
    """The highest severity it has reached."""
    peak_threshold: float | None


@dataclass(frozen=True, slots=True)
class _Levels:
    warning: float | None
    critical: float | None
    clear: float
    crit_clear: float | None


@dataclass(slots=True)
class _State:
    pending_since: int | None = None
    crit_since: int | None = None
    severity: Severity | None = None
    raised_at_us: int = 0
    value: float | None = None
    threshold: float | None = None
    message: str = ""
    worst: float | None = None
    peak: Severity | None = None
    peak_threshold: float | None = None
    adopted: bool = False


_GONE = object()
"""A scope that is no longer in the snapshot."""


def _breach(value: float, level: float, op: str) -> bool:
    if op == ">":
        return value > level
    if op == ">=":
        return value >= level
    if op == "<":
        return value < level
    return value <= level


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class AlertEvaluator:
    """Evaluates rules on successive snapshots; keeps per-(rule, scope) state in memory.

    Args:
        rules: Resolved rules, an ``[alerts]`` config, or None for the defaults.
        gap_window: The engine's ``gap_window`` as text (``"1h"``), for messages.
    """

    def __init__(
        self,
        rules: Iterable[Rule] | AlertsConfig | None = None,
        *,
        gap_window: str | None = None,
    ) -> None:
        if rules is None or isinstance(rules, AlertsConfig):
            resolved, problems = resolve(rules)
            if problems:
                raise ValueError("; ".join(p.message for p in problems))
            rules = resolved
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_name = {r.name: r for r in self.rules}
        self.gap_window = gap_window
        self._states: dict[str, dict[str, _State]] = {r.name: {} for r in self.rules}
        self._match: dict[str, dict[str, bool]] = {r.name: {} for r in self.rules}
        self._started_us: int | None = None
        self._quarantine: deque[tuple[int, int]] = deque()
        self.problems: set[str] = set()
        """Rules that could not be evaluated (a window the snapshot lacks...)."""

    # ------------------------------------------------------------ state

    def adopt(
        self,
        rule: str,
        scope: str,
        severity: Severity,
        raised_at_us: int,
        *,
        value: float | None = None,
        threshold: float | None = None,
        message: str = "",
        worst: float | None = None,
        peak: Severity | None = None,
        peak_threshold: float | None = None,
    ) -> bool:
        """Take over an alert in force (from the store, after a restart).

        Returns False when no rule of that name is in force (the caller clears it).
        """
        states = self._states.get(rule)
        if states is None:
            return False
        states[scope] = _State(
            severity=severity,
            raised_at_us=raised_at_us,
            value=value,
            threshold=threshold,
            message=message,
            worst=worst if worst is not None else value,
            peak=peak or severity,
            peak_threshold=peak_threshold if peak_threshold is not None else threshold,
            adopted=True,
        )
        return True

    def active(self) -> list[ActiveAlert]:
        """The alerts in force, newest first."""
        out = []
        for rule in self.rules:
            for scope, s in self._states[rule.name].items():
                if s.severity is None:
                    continue
                out.append(
                    ActiveAlert(
                        rule=rule.name,
                        scope=scope,
                        severity=s.severity,
                        raised_at_us=s.raised_at_us,
                        value=s.value,
                        threshold=s.threshold,
                        message=s.message,
                        unit=rule.info.unit,
                        worst_value=s.worst,
                        peak_severity=s.peak or s.severity,
                        peak_threshold=s.peak_threshold,
                    )
                )
        out.sort(key=lambda a: (-a.raised_at_us, a.rule, a.scope))
        return out

    # ------------------------------------------------------------ evaluation

    def evaluate(
        self,
        snapshot: Snapshot,
        now_us: int,
        feed: FeedStatus | None = None,
        *,
        services: Mapping[str, tuple[bool, int]] | None = None,
    ) -> list[Transition]:
        """Evaluate every rule at ``now_us``; returns the transitions, in rule order.

        Args:
            snapshot: The engine's figures (its ``at_us`` times agent states).
            now_us: The instant: ``for`` durations and feed silence count to it.
            feed: The feed's health (None: the feed rules are skipped).
            services: Service -> (up, since) for a snapshot without
                ``services_now`` (the engine's snapshots carry it).
        """
        if self._started_us is None:
            self._started_us = now_us
        self._sample_quarantine(snapshot.quarantined, now_us)
        out: list[Transition] = []
        for rule in self.rules:
            states = self._states[rule.name]
            seen: set[str] = set()
            for key, label, value, levels in self._readings(rule, snapshot, now_us, feed, services):
                seen.add(key)
                if levels is None:  # a queue without SL settings yet: hold
                    continue
                s = states.get(key)
                if s is None:
                    s = states[key] = _State()
                t = self._step(rule, key, label, s, value, levels, now_us)
                if t is not None:
                    out.append(t)
                if s.severity is None and s.pending_since is None:
                    del states[key]
            for key in [k for k in states if k not in seen]:
                s = states.pop(key)
                if s.severity is not None:
                    out.append(self._gone(rule, key, s, now_us))
        return out

    def _step(
        self,
        rule: Rule,
        key: str,
        label: str,
        s: _State,
        value: float | None,
        lv: _Levels,
        now: int,
    ) -> Transition | None:
        op = rule.op
        if value is None:
            s.crit_since = None
            if s.severity is None:
                s.pending_since = None
            return None
        w_hit = lv.warning is not None and _breach(value, lv.warning, op)
        c_hit = lv.critical is not None and _breach(value, lv.critical, op)
        if c_hit:
            if s.crit_since is None:
                s.crit_since = now
        else:
            s.crit_since = None
        held = rule.for_us
        if s.severity is None:
            if not (w_hit or c_hit):
                s.pending_since = None
                return None
            if s.pending_since is None:
                s.pending_since = now
            if c_hit and now - s.crit_since >= held:  # type: ignore[operator]
                severity: Severity = "critical"
            elif lv.warning is not None and now - s.pending_since >= held:
                severity = "warning"
            else:
                return None
            threshold = lv.critical if severity == "critical" else lv.warning
            s.severity = s.peak = severity
            s.raised_at_us = now
            s.pending_since = None
            s.adopted = False
            s.worst = value
            s.peak_threshold = threshold
            return self._record(rule, "raised", key, label, s, value, threshold, now)
        if not _breach(value, lv.clear, op):
            # The message stays the last one in force: it says what the alert was about.
            t = self._transition(
                rule, "cleared", key, s.severity, value, s.threshold, s.message, now, s.worst
            )
            s.severity = None
            s.pending_since = s.crit_since = None
            return t
        self._worsen(rule, s, value)
        kind: TransitionKind | None = None
        if s.severity == "warning" and c_hit and now - s.crit_since >= held:  # type: ignore[operator]
            kind, s.severity = "escalated", "critical"
            if s.peak != "critical":
                s.peak, s.peak_threshold = "critical", lv.critical
        elif (
            s.severity == "critical"
            and lv.warning is not None
            and lv.crit_clear is not None
            and not _breach(value, lv.crit_clear, op)
        ):
            kind, s.severity = "deescalated", "warning"
        threshold = lv.critical if s.severity == "critical" else lv.warning
        if kind is None:
            s.value, s.threshold = value, threshold
            s.message = self._message(rule, label, value, threshold, s.severity)
            return None
        return self._record(rule, kind, key, label, s, value, threshold, now)

    def _worsen(self, rule: Rule, s: _State, value: float) -> None:
        if s.worst is None or (value > s.worst if rule.above else value < s.worst):
            s.worst = value

    def _record(
        self,
        rule: Rule,
        kind: TransitionKind,
        key: str,
        label: str,
        s: _State,
        value: float,
        threshold: float | None,
        now: int,
    ) -> Transition:
        assert s.severity is not None
        s.value, s.threshold = value, threshold
        s.message = self._message(rule, label, value, threshold, s.severity)
        return self._transition(
            rule, kind, key, s.severity, value, threshold, s.message, now, s.worst
        )

    @staticmethod
    def _transition(
        rule: Rule,
        kind: TransitionKind,
        key: str,
        severity: Severity,
        value: float | None,
        threshold: float | None,
        message: str,
        now: int,
        worst: float | None,
    ) -> Transition:
        return Transition(
            kind, rule.name, key, severity, now, value, threshold, message, rule.info.unit, worst
        )

    def _gone(self, rule: Rule, key: str, s: _State, now: int) -> Transition:
        assert s.severity is not None
        message = f"{s.message} (no longer reported)" if s.message else "no longer reported"
        return self._transition(
            rule, "cleared", key, s.severity, None, s.threshold, message, now, s.worst
        )

    # ------------------------------------------------------------ readings

    def _readings(
        self,
        rule: Rule,
        snap: Snapshot,
        now: int,
        feed: FeedStatus | None,
        services: Mapping[str, tuple[bool, int]] | None,
    ) -> Iterator[tuple[str, str, float | None, _Levels | None]]:
        """(scope key, label, value, levels) for each scope the rule covers now."""
        kind = rule.info.kind
        # Relative levels are per queue (below); the rest are the rule's own.
        levels = self._levels(rule, None) if rule.relative_to is None else None
        if kind == "feed":
            if feed is None:
                return
            yield "overall", "", self._silence(rule, feed, now), levels
            return
        if kind == "quarantine":
            yield "overall", "", self._growth(rule, snap.quarantined, now), levels
            return
        if kind == "gap":
            states = self._states[rule.name]
            cats = {c for c in snap.gaps if self._covers(rule, c)}
            cats.update(k.removeprefix("category:") for k in states)
            for cat in sorted(cats):
                n = snap.gaps.get(cat)
                yield f"category:{cat}", cat, float(n) if n is not None else 0.0, levels
            return
        wf = self._window(rule, snap)
        if wf is None:
            return
        if kind == "service":
            services_now: Mapping[str, Mapping[str, Any]] = getattr(snap, "services_now", {})
            for name, figs in wf.services.items():
                if self._covers(rule, name):
                    value = self._down_for(services_now.get(name, figs), name, now, services)
                    yield f"service:{name}", name, value, levels
            return
        if rule.scope == "overall":
            yield "overall", "all queues", self._figure(rule, wf.overall), levels
        elif rule.scope == "queue":
            for q, figs in wf.queues.items():
                if not self._covers(rule, q):
                    continue
                label = snap.queue_names.get(q) or q
                lv = (
                    levels if rule.relative_to is None else self._levels(rule, snap.queue_sl.get(q))
                )
                yield f"queue:{q}", label, self._figure(rule, figs), lv
        elif rule.scope == "agent":
            at = snap.at_us
            for a, figs in wf.agents.items():
                if not self._covers(rule, a):
                    continue
                name = snap.agent_names.get(a)
                label = f"{name} ({a})" if name and name != a else a
                if kind == "state":
                    state = rule.metric.removesuffix("_time")
                    since = figs.get("state_since")
                    value = (
                        (at - since) / US
                        if figs.get("state") == state and isinstance(since, int)
                        else 0.0
                    )
                else:
                    value = self._figure(rule, figs)
                yield f"agent:{a}", label, value, levels

    def _covers(self, rule: Rule, key: str) -> bool:
        cache = self._match[rule.name]
        hit = cache.get(key)
        if hit is None:
            if len(cache) > 100_000:  # ids churn over weeks: keep the cache bounded
                cache.clear()
            hit = cache[key] = rule.matches(key)
        return hit

    def _window(self, rule: Rule, snap: Snapshot) -> WindowFigures | None:
        if not snap.windows:
            return None
        if rule.window is None or not rule.info.windowed:
            return next(iter(snap.windows.values()))
        wf = snap.windows.get(rule.window)
        if wf is None:
            self.problems.add(
                f"rule {rule.name!r}: the window {rule.window!r} is not configured; it is skipped"
            )
        return wf

    def _levels(self, rule: Rule, sl: Any) -> _Levels | None:
        """The levels in force; relative ones need the queue's SL settings (None: unknown)."""
        warning, critical, clear = rule.warning, rule.critical, rule.clear
        if rule.relative_to is not None:
            if sl is None:
                return None
            if rule.relative_to == "sl_target":

                def shift(x: float | None) -> float | None:
                    return None if x is None else round(sl.sl_target + x, 9)
            else:

                def shift(x: float | None) -> float | None:
                    return None if x is None else round(sl.sl_threshold_s * x, 9)

            warning, critical, clear = shift(warning), shift(critical), shift(clear)
        first = warning if warning is not None else critical
        assert first is not None
        clear_at = clear if clear is not None else first
        crit_clear = None
        if warning is not None and critical is not None:
            crit_clear = round(critical + (clear_at - warning), 9)
        return _Levels(warning, critical, clear_at, crit_clear)

    def _figure(self, rule: Rule, figs: Mapping[str, Any]) -> float | None:
        value = _num(figs.get(rule.metric))
        if value is None:
            return rule.info.null_as
        if rule.min_contacts:
            n = (_num(figs.get("answered")) or 0) + (_num(figs.get("abandoned")) or 0)
            if n < rule.min_contacts:
                return None
        return value

    @staticmethod
    def _down_for(
        figs: Mapping[str, Any],
        name: str,
        now: int,
        services: Mapping[str, tuple[bool, int]] | None,
    ) -> float | None:
        status = figs.get("status")
        since = figs.get("status_since")
        if status is None and services is not None and name in services:
            up, since = services[name]
            status = "up" if up else "down"
        if status is None:
            return None
        if status == "up":
            return 0.0
        return max(now - since, 0) / US if isinstance(since, int) else None

    def _silence(self, rule: Rule, feed: FeedStatus, now: int) -> float | None:
        last = feed.last_event_received_us
        if last is None:
            s = self._states[rule.name].get("overall")
            if s is not None and s.adopted:
                return None  # silent before a restart too: hold until something arrives
            last = self._started_us
        assert last is not None
        return max(now - last, 0) / US

    def _sample_quarantine(self, count: int, now: int) -> None:
        samples = self._quarantine
        if samples and count < samples[-1][1]:
            samples.clear()  # the count went down: another database, start again
        if not samples or samples[-1][1] != count:
            samples.append((now, count))
        longest = max(
            (r.window_us or 0 for r in self.rules if r.info.kind == "quarantine"), default=0
        )
        # Keep one sample at or before the longest window's start: the baseline.
        while len(samples) > 1 and samples[1][0] <= now - longest:
            samples.popleft()

    def _growth(self, rule: Rule, count: int, now: int) -> float:
        start = now - (rule.window_us or 0)
        base = self._quarantine[0][1] if self._quarantine else count
        for t, c in self._quarantine:
            if t > start:
                break
            base = c
        return float(count - base)

    # ------------------------------------------------------------ messages

    def _message(
        self,
        rule: Rule,
        label: str,
        value: float,
        threshold: float | None,
        severity: Severity,
    ) -> str:
        info = rule.info
        unit = info.unit
        limit = format_value(threshold, unit) if threshold is not None else "-"
        v = format_value(value, unit)
        kind = info.kind
        if kind == "gap":
            within = f" within {self.gap_window}" if self.gap_window else ""
            return f"Product gap: {v} escalations about '{label}'{within}"
        if kind == "service":
            return f"Service {label} down for {v}" if value > 0 else f"Service {label} up"
        if kind == "feed":
            return f"Feed silent for {v} (limit {limit})"
        if kind == "quarantine":
            return f"Quarantine grew by {v} line(s) in {rule.window} (limit {limit})"
        if kind == "state":
            return f"{label}: {info.label} for {v} (limit {limit})"
        side = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}[rule.op]
        window = f" ({rule.window})" if rule.window and info.windowed else ""
        head = f"{label}: " if label else ""
        return f"{head}{info.label} {v} {side} {limit}{window}"


def format_value(value: float | None, unit: str) -> str:
    """A value for people: ``62%``, ``2:10``, ``7``; a dash for None."""
    if value is None:
        return "-"
    if unit == "share":
        return f"{value * 100:.0f}%"
    if unit == "seconds":
        total = round(value)
        sign = "-" if total < 0 else ""
        h, rest = divmod(abs(total), 3600)
        m, s = divmod(rest, 60)
        return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"
    if unit == "count":
        return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"
    return f"{value:g}"
