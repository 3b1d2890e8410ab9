"""`wallboard db info` and `wallboard db quarantine`: what a database holds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wallboard.errors import UserError
from wallboard.safe_text import printable, printable_bytes
from wallboard.store import db_info, quarantine_rows
from wallboard.timeutil import format_ts


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `wallboard db`."""
    sub = p.add_subparsers(dest="db_command", metavar="WHAT", required=True)
    info = sub.add_parser("info", help="counts, time span, feed offsets, schema version")
    quar = sub.add_parser("quarantine", help="the refused lines with reason and position")
    for q in (info, quar):
        q.add_argument("--db", type=Path, required=True, help="database file")
        q.add_argument("--json", action="store_true", help="machine-readable output")
    quar.add_argument("--limit", type=int, default=None, help="show at most this many")


def run(args: argparse.Namespace) -> int:
    """Entry point."""
    if args.db_command == "info":
        return _info(args)
    if args.db_command == "quarantine":
        return _quarantine(args)
    raise UserError(f"unknown db command {args.db_command!r}")


def _ts(us: int | None) -> str | None:
    return None if us is None else format_ts(us)


def _info(args: argparse.Namespace) -> int:
    info = db_info(args.db)
    data = {
        "events": info.events,
        "quarantined": info.quarantined,
        "first_ts": _ts(info.first_ts),
        "last_ts": _ts(info.last_ts),
        "feeds": [{"feed": f.feed, "offset": f.offset} for f in info.feeds],
        "schema": info.schema,
    }
    if args.json:
        print(json.dumps(data))
        return 0
    print(f"database     {args.db}")
    print(f"schema       {info.schema}")
    print(f"events       {info.events:,}")
    print(f"quarantined  {info.quarantined:,}")
    print(f"first event  {data['first_ts'] or '-'}")
    print(f"last event   {data['last_ts'] or '-'}")
    for f in info.feeds:
        print(f"feed         {f.feed} at byte {f.offset:,}")
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    rows = quarantine_rows(args.db, args.limit)
    if args.json:
        for r in rows:
            print(
                json.dumps(
                    {
                        "source": r.source,
                        "position": r.position,
                        "reason": r.reason,
                        "received_at": _ts(r.received_us),
                        "raw": r.raw.decode("utf-8", errors="backslashreplace"),
                    }
                )
            )
        return 0
    if not rows:
        print("the quarantine is empty")
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(rows)} quarantined lines", expand=False)
    for col in ("source", "position", "reason", "line"):
        table.add_column(col, overflow="fold")
    for r in rows:
        raw = printable_bytes(r.raw)
        shown = raw if len(raw) <= 120 else raw[:117] + "..."
        position = "-" if r.position is None else str(r.position)
        table.add_row(Text(printable(r.source)), position, Text(printable(r.reason)), Text(shown))
    Console().print(table)
    return 0
