"""`wallboard ingest`: follow a feed into the database, headless.

Shows live counters with rich on a terminal and plain log lines otherwise.
Ctrl-C and SIGTERM store what was read, then exit cleanly.

Being the single writer, a following ingest also evaluates the alert rules:
its engine is restored from the DB at start and fed every stored batch, and
once a second the rules run against a snapshot and their transitions are
stored (docs/alerts.md). It also checkpoints that engine into the DB every few
minutes and at a clean stop, so the next start skips replaying the day
(wallboard/engine/checkpoint.py). ``--once`` only stores events: a single
evaluation could not honour any rule's ``for``, and an import should stay fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from wallboard.errors import UserError
from wallboard.feeds.url import FEED_FORMS, open_feed
from wallboard.paths import default_db_path
from wallboard.pipeline import Adapter, Counters, Pipeline
from wallboard.safe_text import printable
from wallboard.store import StoreWriter

FORMATS = ("jsonl", "queue_log")
"""What ``--format`` accepts: canonical JSON lines, or Asterisk's queue_log."""


def add_feed_arguments(p: argparse.ArgumentParser) -> None:
    """The feed options shared by `ingest` and `run`."""
    p.add_argument("--feed", required=True, help=f"where events come from: {FEED_FORMS}")
    p.add_argument("--db", type=Path, default=None, help="database file (default: per-user)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="jsonl",
        help="jsonl: SPEC events, one per line; queue_log: Asterisk's queue_log",
    )
    p.add_argument(
        "--from-end",
        action="store_true",
        help="first run on a file: skip what it already holds (later runs resume)",
    )
    p.add_argument(
        "--listen-any",
        action="store_true",
        help="allow tcp:// on a non-loopback address (events are not authenticated)",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `wallboard ingest`."""
    add_feed_arguments(p)
    p.add_argument(
        "--once",
        action="store_true",
        help="read what the feed holds now (a file: to its current end) and exit",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument("--config", type=Path, default=None, help="config file (TOML): alert rules")
    p.add_argument(
        "--no-alerts",
        action="store_true",
        help="do not evaluate the alert rules (they are evaluated by default, except --once)",
    )


def make_adapter(fmt: str) -> Adapter | None:
    """The format adapter for ``--format``."""
    if fmt == "queue_log":
        from wallboard.feeds.queue_log import QueueLogAdapter

        return QueueLogAdapter().convert
    return None


def run(args: argparse.Namespace) -> int:
    """Entry point."""
    db_path = args.db or default_db_path()
    if args.once and args.feed.startswith(("tcp://", "unix:")):
        raise UserError("--once reads a file or stdin to its end; a socket has no end")
    config = None
    if not args.once and not getattr(args, "no_alerts", False):
        from wallboard.alert_rules import rules_for
        from wallboard.config import load_config

        config = load_config(getattr(args, "config", None))
        rules_for(config)  # a mistake in the rules is reported before anything starts
    return asyncio.run(_ingest(args, db_path, config))


async def _ingest(args: argparse.Namespace, db_path: Path, config: Any = None) -> int:
    store = StoreWriter(db_path)
    await store.open()
    monitor = recorder = checkpointer = None
    try:
        feed = open_feed(
            args.feed,
            once=args.once,
            from_end=args.from_end,
            resume=await store.checkpoints(),
            bind_any=args.listen_any,
        )
        pipeline = Pipeline(store, adapter=make_adapter(args.format))
        alerts: asyncio.Task[None] | None = None
        saver: asyncio.Task[None] | None = None
        if config is not None:
            monitor, alerts, recorder, checkpointer = _start_alerts(
                db_path, config, pipeline, args.quiet
            )
            saver = asyncio.create_task(checkpointer.run())
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        reporter = asyncio.create_task(_report(pipeline.counters, args.quiet, feed.description))
        interrupted = False
        try:
            await pipeline.run(feed)
        except asyncio.CancelledError:
            interrupted = True
        finally:
            for t in (reporter, alerts, saver):
                if t is not None:
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        if checkpointer is not None:
            await checkpointer.close()  # every stored batch has reached the engine by now
        for note in getattr(feed, "notes", []):
            print(f"note: {note}", file=sys.stderr)
        partial = getattr(feed, "partial_at_end", 0)
        if partial:
            print(
                f"note: the last {partial} bytes of {feed.description} have no newline yet; "
                "they will be read once the line is complete",
                file=sys.stderr,
            )
        if args.once and not args.quiet and not getattr(args, "no_alerts", False):
            print(
                "note: --once stores events only; alert rules are evaluated by a following "
                "`wallboard ingest` (without --once) or `wallboard run --feed`",
                file=sys.stderr,
            )
        print(_summary(pipeline.counters, interrupted), file=sys.stderr)
    finally:
        for closing in (monitor, recorder):
            if closing is not None:
                closing.close()
        await store.close()
    return 0


def _start_alerts(
    db_path: Path, config: Any, pipeline: Pipeline, quiet: bool
) -> tuple[Any, Any, Any, Any]:
    """The engine (restored from the DB, then fed every stored batch), the 1 Hz
    evaluation task and the engine's checkpointer, before the feed starts so that
    no stored batch is missed."""
    from wallboard.alert_rules import gap_window_text, rules_for
    from wallboard.alert_store import (
        AlertMonitor,
        Backlog,
        alert_loop,
        describe_transition,
        service_states,
    )
    from wallboard.engine.checkpoint import Checkpointer
    from wallboard.engine.core import Engine
    from wallboard.history import HistoryRecorder
    from wallboard.source import FeedStatus
    from wallboard.store import quarantined_count
    from wallboard.timeutil import now_us

    start_seq = pipeline.store.last_seq  # nothing is written before the feed starts
    engine = Engine.restore(db_path, now_us(), config)
    recorder = HistoryRecorder(db_path)
    before = quarantined_count(db_path)
    backlog = Backlog()

    def take(events: list[Any]) -> None:
        backlog.note(len(events))
        engine.add_many(events)

    pipeline.on_events = take
    monitor = AlertMonitor(db_path, rules_for(config), gap_window=gap_window_text(config))
    counters = pipeline.counters

    def snapshot(now: int) -> Any:
        engine.quarantined = before + counters.quarantined
        return engine.snapshot(now)

    def status() -> FeedStatus:
        return FeedStatus(
            last_event_received_us=counters.last_event_us,
            events=counters.events,
            quarantined=before + counters.quarantined,
        )

    def show(transitions: list[Any]) -> None:
        if not quiet:
            for t in transitions:
                print(printable(describe_transition(t)), file=sys.stderr, flush=True)

    def error(text: str) -> None:
        print(printable(text), file=sys.stderr, flush=True)

    task = asyncio.create_task(
        alert_loop(
            monitor,
            recorder.wrap(snapshot),  # the same 1 Hz snapshots feed the sparklines' history
            status,
            services=lambda: service_states(engine),
            on_transitions=show,
            on_error=error,
            paused=backlog.busy,
        )
    )
    checkpointer = Checkpointer(
        db_path,
        engine,
        lambda: max(start_seq, pipeline.handed_seq),
        busy=backlog.busy,
        on_error=error,
    )
    return monitor, task, recorder, checkpointer


def _summary(c: Counters, interrupted: bool) -> str:
    elapsed = max(1e-9, time.time() - c.started_us / 1e6)
    head = "stopped" if interrupted else "done"
    return (
        f"{head}: {c.events} events stored, {c.duplicates} already stored, "
        f"{c.quarantined} quarantined, from {c.lines} lines in {elapsed:.1f} s "
        f"({c.events / elapsed:,.0f} events/s)"
    )


async def _report(c: Counters, quiet: bool, source: str) -> None:
    if quiet:
        return
    if sys.stderr.isatty():
        await _report_live(c, source)
    else:
        await _report_plain(c, source)


async def _report_live(c: Counters, source: str) -> None:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    last, last_t = c.events, time.monotonic()
    rate = 0.0
    with Live(console=Console(stderr=True), refresh_per_second=4, transient=True) as live:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            rate = (c.events - last) / (now - last_t)
            last, last_t = c.events, now
            live.update(
                Text.assemble(
                    ("ingesting ", "bold"),
                    (source, "cyan"),
                    f"  events {c.events:,}  quarantined {c.quarantined:,}  "
                    f"duplicates {c.duplicates:,}  {rate:,.0f} events/s",
                )
            )


async def _report_plain(c: Counters, source: str) -> None:
    last, last_t = c.events, time.monotonic()
    while True:
        await asyncio.sleep(10)
        now = time.monotonic()
        rate = (c.events - last) / (now - last_t)
        last, last_t = c.events, now
        print(
            f"ingest {source}: events={c.events} quarantined={c.quarantined} "
            f"duplicates={c.duplicates} rate={rate:.0f}/s",
            file=sys.stderr,
            flush=True,
        )
