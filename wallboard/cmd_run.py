"""`wallboard run`: the board for a real feed, or a read-only view of a database.

With ``--feed`` this process is the single writer: it ingests the feed into
the DB and shows the board. Without it, it is a viewer of a DB that another
process (``wallboard ingest`` or another ``run``) writes: any number of
viewers can share one data set.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from wallboard.board import add_board_arguments, load_board_config, make_app, show_live
from wallboard.cmd_ingest import FORMATS, make_adapter
from wallboard.config import Config
from wallboard.errors import UserError
from wallboard.feeds.lines import Feed
from wallboard.feeds.url import FEED_FORMS, open_feed
from wallboard.paths import default_db_path
from wallboard.store import Checkpoint
from wallboard.timeutil import now_us


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `wallboard run`."""
    p.add_argument(
        "--feed", default=None, help=f"{FEED_FORMS}; leave out to view a DB another process writes"
    )
    p.add_argument("--db", type=Path, default=None, help="database file (default: per-user)")
    p.add_argument("--format", choices=FORMATS, default="jsonl")
    p.add_argument("--from-end", action="store_true", help="first run: skip what a file holds")
    p.add_argument("--listen-any", action="store_true", help="allow non-loopback tcp://")
    add_board_arguments(p, default_mode="supervisor")


def run(args: argparse.Namespace) -> int:
    """Entry point."""
    config = load_board_config(args)
    db_path = args.db or default_db_path()
    if args.feed is None:
        return _view(db_path, args, config)
    return asyncio.run(_ingest_and_show(db_path, args, config))


async def _ingest_and_show(db_path: Path, args: argparse.Namespace, config: Config) -> int:
    def make_feed(resume: dict[str, Checkpoint]) -> Feed:
        return open_feed(args.feed, from_end=args.from_end, resume=resume, bind_any=args.listen_any)

    return await show_live(make_feed, db_path, args, config, adapter=make_adapter(args.format))


def _view(db_path: Path, args: argparse.Namespace, config: Config) -> int:
    from wallboard.engine.core import Engine
    from wallboard.live import ViewerSource, max_seq

    if not db_path.exists():
        raise UserError(f"no database at {db_path}: give --feed to ingest one, or --db")
    after = max_seq(db_path)
    engine = Engine.restore(db_path, now_us(), config)
    source = ViewerSource(engine, db_path, after)
    try:
        make_app(source, args, config).run()
    finally:
        source.close()
    return 0
