"""`wallboard alerts`: the alert history of a database, as a table or JSON lines.

    wallboard alerts --db PATH [--json] [--since ISO|DURATION] [--active] [--limit N]

One row (one JSON object per line with ``--json``) per alert, oldest first:
``rule``, ``scope``, ``severity`` (the highest reached), ``raised_at``,
``cleared_at``, ``acked_at``, ``acked_by``, ``value`` (the worst seen while in
force), ``threshold`` (the level of that severity), plus ``id``, ``message``
and ``unit``. ``--since`` keeps the alerts in force at or after that instant
(raised, cleared or still in force since then).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from wallboard.alert_eval import format_value
from wallboard.alert_store import AlertRecord, history
from wallboard.errors import UserError
from wallboard.paths import default_db_path
from wallboard.safe_text import printable
from wallboard.store import connect_readonly
from wallboard.timeutil import (
    TimeFormatError,
    format_ts,
    load_zone,
    now_us,
    parse_duration,
    parse_instant,
    to_datetime,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `wallboard alerts`."""
    p.add_argument("--db", type=Path, default=None, help="database file (default: per-user)")
    p.add_argument("--json", action="store_true", help="one JSON object per alert and line")
    p.add_argument(
        "--since",
        default=None,
        help="only alerts in force at or after this instant (RFC 3339) or this long ago (2h)",
    )
    p.add_argument("--active", action="store_true", help="only the alerts in force now")
    p.add_argument("--limit", type=int, default=None, help="at most the last N alerts")
    p.add_argument("--tz", default=None, help="time zone of the table (default: the machine's)")


def parse_since(text: str, now: int) -> int:
    """``--since``: an instant (RFC 3339 or Unix seconds) or a duration back from now."""
    try:
        return now - parse_duration(text)
    except TimeFormatError:
        pass
    try:
        return parse_instant(text)
    except TimeFormatError:
        raise UserError(
            f"--since: not an instant or a duration: {text!r} "
            "(write 2026-01-05T09:00:00Z, or 2h for the last two hours)"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Entry point."""
    db_path = args.db or default_db_path()
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    since = parse_since(args.since, now_us()) if args.since else None
    try:
        zone = load_zone(args.tz)
    except TimeFormatError as exc:
        raise UserError(f"--tz: {exc}") from None
    conn = connect_readonly(db_path)
    try:
        rows = history(conn, since, active_only=args.active, limit=args.limit)
    finally:
        conn.close()
    if args.json:
        for r in rows:
            print(json.dumps(r.to_json(format_ts), ensure_ascii=False))
        return 0
    _table(rows, zone)
    return 0


def _when(us: int | None, zone: ZoneInfo, *, since: int | None = None) -> str:
    """``2026-01-05 09:00:00``; only the time when on the same day as ``since``."""
    if us is None:
        return "-"
    dt = to_datetime(us, zone)
    if since is not None and to_datetime(since, zone).date() == dt.date():
        return dt.strftime("%H:%M:%S")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: list[AlertRecord], zone: ZoneInfo) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # A terminal gets its own width; a pipe or a file gets long lines, not folded ones.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    if not rows:
        console.print(Text("no alerts"))
        return
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("raised / cleared", min_width=19)
    table.add_column("severity", min_width=10)
    table.add_column("value", min_width=9)
    table.add_column("acked by", overflow="fold", max_width=24)
    table.add_column("alert", overflow="fold", ratio=1)
    for r in rows:
        critical = r.severity == "critical"
        severity = Text(
            "✗ critical" if critical else "▲ warning", style="bold red" if critical else "yellow"
        )
        until = (
            "in force"
            if r.cleared_at_us is None
            else "→ " + _when(r.cleared_at_us, zone, since=r.raised_at_us)
        )
        acked = Text("-")
        if r.acked_by is not None:
            acked = Text(printable(r.acked_by))
            acked.append("\n" + _when(r.acked_at_us, zone, since=r.raised_at_us))
        # Rule, scope, message and who acknowledged come from events or users: plain Text
        # through printable(), never markup.
        alert = Text(printable(r.rule), style="bold")
        alert.append(" " + printable(r.scope), style="")
        alert.append("\n" + printable(r.message), style="")
        value = f"{format_value(r.value, r.unit)}\nlimit {format_value(r.threshold, r.unit)}"
        table.add_row(
            str(r.id), f"{_when(r.raised_at_us, zone)}\n{until}", severity, value, acked, alert
        )
    console.print(table)
