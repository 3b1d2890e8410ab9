"""`wallboard report`: the metrics at one instant, without a screen (SPEC section 4).

It feeds the same :class:`~wallboard.engine.Engine` the screens use, from an
events file (``jsonl`` or Asterisk ``queue_log``) or from a database, and
prints SPEC section 4's JSON object for one window, or a readable table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from wallboard.config import TODAY, load_config
from wallboard.engine import Engine, Snapshot
from wallboard.errors import UserError
from wallboard.events import Event, is_blank, parse_event
from wallboard.figure_units import SECONDS_KEYS, SHARE_KEYS
from wallboard.timeutil import (
    TimeFormatError,
    format_ts,
    load_zone,
    now_us,
    parse_duration,
    parse_instant,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of SPEC section 4."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--events", metavar="FILE", help="read events from a file (no DB needed)")
    src.add_argument("--db", metavar="PATH", help="read events from a wallboard database")
    parser.add_argument(
        "--format",
        choices=("jsonl", "queue_log"),
        default="jsonl",
        help="format of --events: canonical JSON lines (default) or Asterisk queue_log",
    )
    parser.add_argument(
        "--at", metavar="ISO8601", help="the instant to report (default: the latest event's ts)"
    )
    parser.add_argument(
        "--window",
        metavar="W",
        help="today, or a duration: 90s, 15m, 1h, 7d (default: the first configured window)",
    )
    parser.add_argument("--tz", metavar="ZONE", help="IANA zone for 'today' (default: configured)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: the user's)")
    parser.add_argument("--json", action="store_true", help="print SPEC section 4's JSON object")


def run(args: argparse.Namespace) -> int:
    """Build the engine, feed it, print one window at one instant."""
    config = load_config(args.config)
    window = args.window or config.windows[0]
    if window != TODAY:
        try:
            parse_duration(window)
        except TimeFormatError as exc:
            raise UserError(f"--window: {exc} (or 'today')") from None
    if args.tz is not None:
        try:
            load_zone(args.tz)
        except TimeFormatError as exc:
            raise UserError(f"--tz: {exc}") from None
    config = config.with_overrides(timezone=args.tz, windows=[window])
    at = _instant(args.at) if args.at else None
    engine = Engine(config)
    if args.db:
        at = _feed_db(engine, Path(args.db), at)
    else:
        at = _feed_file(engine, Path(args.events), args.format, at)
    snap = engine.snapshot(at)
    if args.json:
        sys.stdout.write(msgspec.json.encode(report_object(snap, window)).decode() + "\n")
    else:
        print_table(snap, window, engine.config)
    return 0


def _instant(text: str) -> int:
    try:
        return parse_instant(text)
    except TimeFormatError as exc:
        raise UserError(f"--at: {exc}") from None


# ------------------------------------------------------------------ sources


def _feed_db(engine: Engine, path: Path, at: int | None) -> int:
    """Load from the horizon on, as a restart does; ``--at`` defaults to the latest ts."""
    from wallboard.store import db_info, iter_events, quarantined_count

    if at is None:
        info = db_info(path)
        at = info.last_ts if info.last_ts is not None else now_us()
    engine.advance(at, final=True)
    engine.add_many(iter_events(path, since_us=engine.horizon_us(at)))
    engine.quarantined = quarantined_count(path)
    return at


def _feed_file(engine: Engine, path: Path, fmt: str, at: int | None) -> int:
    """Parse every line; refused lines count in ``quarantined``, blank lines are skipped."""
    if at is None:  # a first pass finds the latest ts
        latest: int | None = None
        for ev in _events(path, fmt, None):
            if latest is None or ev.ts > latest:
                latest = ev.ts
        at = latest if latest is not None else now_us()
    engine.advance(at, final=True)
    counter = [0]
    engine.add_many(_events(path, fmt, counter))
    engine.quarantined = counter[0]
    return at


def _events(path: Path, fmt: str, refused: list[int] | None) -> Iterator[Event]:
    """The file's events in order; ``refused[0]`` counts the lines refused."""
    adapter = None
    if fmt == "queue_log":
        from wallboard.feeds.queue_log import QueueLogAdapter

        adapter = QueueLogAdapter()
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UserError(f"no events file at {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for raw in handle:
            line = raw.rstrip(b"\r\n")
            if is_blank(line):
                continue
            if adapter is None:
                lines: list[bytes] | str = [line]
            else:
                lines = adapter.convert(line)
                if isinstance(lines, str):
                    if refused is not None:
                        refused[0] += 1
                    continue
            for one in lines:
                ev = parse_event(one)
                if isinstance(ev, Event):
                    yield ev
                elif refused is not None:
                    refused[0] += 1


# ------------------------------------------------------------------ output


def report_object(snap: Snapshot, window: str) -> dict[str, Any]:
    """SPEC section 4's object for one window; timestamps as RFC 3339 (UTC)."""
    w = snap.windows[window]

    def clean(fig: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(fig)
        if out.get("state_since") is not None:
            out["state_since"] = format_ts(out["state_since"])
        return out

    return {
        "at": format_ts(snap.at_us),
        "window": window,
        "overall": clean(w.overall),
        "queues": {q: clean(f) for q, f in sorted(w.queues.items())},
        "agents": {a: clean(f) for a, f in sorted(w.agents.items())},
        "services": {s: dict(f) for s, f in sorted(w.services.items())},
        "quarantined": snap.quarantined,
    }


_QUEUE_COLUMNS = (
    ("arrivals", "arr"),
    ("answered", "ans"),
    ("abandoned", "abd"),
    ("service_level", "SL"),
    ("asa", "ASA"),
    ("first_response_p90", "FR p90"),
    ("waiting", "wait"),
    ("longest_wait", "longest"),
    ("aht", "AHT"),
    ("art", "ART"),
    ("fcr", "FCR"),
    ("csat", "CSAT"),
    ("nps", "NPS"),
    ("escalations", "esc"),
    ("sales_amount", "sales"),
)
_AGENT_COLUMNS = (
    ("state", "state"),
    ("handled", "handled"),
    ("asa", "ASA"),
    ("aht", "AHT"),
    ("reply_speed_mean", "reply"),
    ("occupancy", "occ"),
    ("fcr", "FCR"),
    ("csat", "CSAT"),
    ("nps", "NPS"),
    ("escalations", "esc"),
    ("complaints", "compl"),
    ("sales", "sales"),
)


def cell(key: str, value: Any) -> str:
    """One figure as text: a dash for null, never 0 or 100%."""
    if value is None:
        return "–"
    if key in SHARE_KEYS:
        return f"{value:.1%}"
    if key in SECONDS_KEYS:
        return f"{value:.1f}s" if value < 600 else f"{value / 60:.1f}m"
    if key == "nps":
        return f"{value:+.0f}"
    if key == "state_since":
        return format_ts(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def print_table(snap: Snapshot, window: str, config: Any) -> None:
    """The readable form: overall figures, then queues, agents and services."""
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=200)
    w = snap.windows[window]
    title = f"{window} to {format_ts(snap.at_us)}  (SL formula: {snap.sl_formula})"
    overall = Table(title=title, show_header=False)
    overall.add_column("figure")
    overall.add_column("value", justify="right")
    for key, value in w.overall.items():
        overall.add_row(key, cell(key, value))
    overall.add_row("quarantined", str(snap.quarantined))
    console.print(overall)

    def table(title: str, rows: Mapping[str, Mapping[str, Any]], columns: Any, names: Any) -> None:
        if not rows:
            return
        t = Table(title=title)
        t.add_column(title.rstrip("s").lower())
        for _, label in columns:
            t.add_column(label, justify="right")
        for name, fig in sorted(rows.items()):
            label = names.get(name)
            t.add_row(
                f"{label} ({name})" if label else name, *(cell(k, fig.get(k)) for k, _ in columns)
            )
        console.print(t)

    table("Queues", w.queues, _QUEUE_COLUMNS, snap.queue_names)
    table("Agents", w.agents, _AGENT_COLUMNS, snap.agent_names)
    table("Services", w.services, (("uptime", "uptime"),), {})
