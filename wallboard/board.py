"""Starting the screens over a live source: shared by `demo` and `run`.

The pipeline (feed -> store -> engine) runs as a task beside the App in one
event loop; when the App exits, what the feed had read is stored before the
process ends. This process is the single writer, so it also evaluates the
alert rules once a second and stores their transitions (docs/alerts.md), and
checkpoints its engine into the DB every few minutes and at exit (a restart
then skips replaying the day: wallboard/engine/checkpoint.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wallboard.alert_rules import alerts_section, gap_window_text, rules_for
from wallboard.config import Config, load_config
from wallboard.errors import UserError
from wallboard.feeds.lines import Feed
from wallboard.live import LiveSource
from wallboard.pipeline import Adapter, Pipeline
from wallboard.store import Checkpoint, StoreWriter, quarantined_count
from wallboard.timeutil import now_us


def add_board_arguments(p: argparse.ArgumentParser, *, default_mode: str = "tv") -> None:
    """Options of the screens."""
    p.add_argument(
        "--mode", choices=("tv", "supervisor", "agent"), default=default_mode, help="which screen"
    )
    p.add_argument("--agent", default=None, help="the agent shown by --mode agent")
    p.add_argument("--inline", action="store_true", help="agent view as a small inline panel")
    p.add_argument("--theme", default=None, help="dark, light, high-contrast, okabe-ito")
    p.add_argument("--config", type=Path, default=None, help="config file (TOML)")
    # None: the config file's [display] value (or its default) applies.
    p.add_argument("--refresh-hz", type=float, default=None, help="screen refreshes per second")
    p.add_argument("--page-seconds", type=float, default=None, help="TV page rotation period")
    p.add_argument(
        "--stale-after", type=float, default=None, help="seconds of feed silence before a banner"
    )


def load_board_config(args: argparse.Namespace) -> Config:
    """The config file named (or the per-user default, when present)."""
    return load_config(args.config)


def make_app(source: Any, args: argparse.Namespace, config: Config) -> Any:
    """The Textual App for these options (imported here: headless commands never load it).

    Command-line options win over the config file's ``[display]`` section.
    """
    from wallboard.alert_store import ack_identity
    from wallboard.app import WallboardApp
    from wallboard.widgets.format import TileThresholds

    d = config.display
    seconds = config.seconds
    bell, notify = alerts_section(config).sounds(args.mode)
    try:
        return WallboardApp(
            source,
            mode=args.mode,
            agent_id=args.agent,
            theme=args.theme or d.theme,
            refresh_hz=args.refresh_hz or d.refresh_hz,
            page_seconds=args.page_seconds or d.page_seconds,
            stale_after_s=args.stale_after or seconds(d.stale_after),
            inline=args.inline,
            tz=config.zone(),
            tile_thresholds=TileThresholds(
                wrap_up_warn_s=seconds(d.wrap_up_warn),
                wrap_up_crit_s=seconds(d.wrap_up_crit),
                away_warn_s=seconds(d.away_warn),
                away_crit_s=seconds(d.away_crit),
            ),
            keymap=d.keys,
            hide_offline=d.hide_offline,
            agent_order=d.agent_order,
            user=ack_identity(),
            alert_bell=bell,
            alert_notify=notify,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


async def show_live(
    make_feed: Callable[[dict[str, Checkpoint]], Feed],
    db_path: Path,
    args: argparse.Namespace,
    config: Config,
    *,
    adapter: Adapter | None = None,
    restore: bool = True,
) -> int:
    """Ingest a feed into ``db_path`` and show the board until the user quits.

    ``make_feed`` gets the stored feed offsets, so a file feed resumes.
    """
    from wallboard.alert_store import AlertMonitor, AlertReader, alert_loop, service_states
    from wallboard.engine.checkpoint import Checkpointer
    from wallboard.engine.core import Engine
    from wallboard.history import HistoryReader, HistoryRecorder

    rules = rules_for(config)
    store = StoreWriter(db_path)
    await store.open()
    monitor: AlertMonitor | None = None
    reader: AlertReader | None = None
    recorder: HistoryRecorder | None = None
    try:
        feed = make_feed(await store.checkpoints())
        await feed.start()
        start_seq = store.last_seq  # nothing is written before the pipeline runs
        if restore:
            engine = Engine.restore(db_path, now_us(), config)
            before = quarantined_count(db_path)
        else:
            engine, before = Engine(config), 0
        monitor = AlertMonitor(db_path, rules, gap_window=gap_window_text(config))
        reader = AlertReader(db_path)
        recorder = HistoryRecorder(db_path)
        source = LiveSource(
            engine,
            feed.description,
            quarantined_before=before,
            alerts=reader,
            history=HistoryReader(db_path),
        )
        pipeline = Pipeline(store, adapter=adapter)
        source.attach(pipeline)
        app = make_app(source, args, config)
        task = asyncio.create_task(pipeline.run(feed))
        task.add_done_callback(lambda t: _note_stop(t, source, app))
        alerts = asyncio.create_task(
            alert_loop(
                monitor,
                recorder.wrap(source.snapshot),  # also samples the sparklines' history
                source.status,
                services=lambda: service_states(engine),
                after_write=reader.invalidate,
                on_error=lambda text: _note_alert_error(app, text),
                paused=source.backlog.busy,
            )
        )
        checkpointer: Checkpointer | None = None
        saver: asyncio.Task[None] | None = None
        if restore:  # the demo's throwaway DB is never restarted from
            checkpointer = Checkpointer(
                db_path,
                engine,
                lambda: max(start_seq, pipeline.handed_seq),
                busy=source.backlog.busy,
                on_error=lambda text: _note_checkpoint_error(app, text),
            )
            saver = asyncio.create_task(checkpointer.run())
        try:
            await app.run_async()
        finally:
            for t in (saver, alerts, task):
                if t is None:
                    continue
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if checkpointer is not None:  # the pipeline has handed its last batch on
                await checkpointer.close()
    finally:
        for closing in (reader, monitor, recorder):
            if closing is not None:
                closing.close()
        await store.close()
    return 0


def _note_alert_error(app: Any, text: str) -> None:
    """An alert round that fails is shown once; the board and the next rounds go on."""
    with contextlib.suppress(Exception):
        app.log.error(text)
        app.notify(text, severity="error", timeout=30, markup=False)


def _note_checkpoint_error(app: Any, text: str) -> None:
    """A checkpoint that fails is shown once (a restart then replays the events)."""
    with contextlib.suppress(Exception):
        app.log.warning(text)
        app.notify(text, severity="warning", timeout=30, markup=False)


def _note_stop(task: asyncio.Task[None], source: LiveSource, app: Any) -> None:
    """A feed that fails mid-run is shown on the board, which keeps running."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    source.error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(Exception):
        app.notify(f"feed stopped: {source.error}", severity="error", timeout=30)
