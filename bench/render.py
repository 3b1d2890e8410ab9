"""Render benchmark: ms per frame and CPU seconds per minute at 50 / 200 / 1,000 / 2,000 agents.

Each size runs the real App (TV mode unless ``--mode``) in a child process
attached to a real pseudo-terminal of ``--size`` (default 300x90, a 4K TV),
fed by precomputed snapshots in which agents change state, at ``--hz``
refreshes per second for ``--seconds``. The parent drains the terminal like
a terminal emulator would. A frame is timed from the start of the refresh
(snapshot read, view built, widgets updated) until Textual has painted it
(``call_after_refresh``); snapshot building is excluded, as it is the
engine's cost, not the screen's. CPU is the child's process time over the
run, scaled to a minute.

Prints one JSON line::

    .venv/bin/python bench/render.py [--agents 50,200,1000,2000] [--seconds 10] [--hz 1]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

T0 = 1_764_000_000_000_000


def child(args: argparse.Namespace) -> None:
    """Run the App on the pty we were given and write our measurements to args.out."""
    from wallboard.app import WallboardApp
    from wallboard.engine.snapshot import Snapshot
    from wallboard.source import StaticSource, build_snapshot

    frames_wanted = int(args.seconds * args.hz) + 2
    snaps: list[Snapshot] = [
        build_snapshot(T0 + i * 1_000_000, agents=args.n, queues=8, windows=("15m",), churn_s=30.0)
        for i in range(frames_wanted)
    ]

    class Replay(StaticSource):
        def snapshot(self, now_us: int) -> Snapshot:
            self.calls += 1
            self._last_at = now_us
            return snaps[min(self.calls - 1, len(snaps) - 1)]

    tick = {"i": 0}

    def clock() -> int:
        return T0 + tick["i"] * 1_000_000

    source = Replay()
    app = WallboardApp(
        source,
        mode=args.mode,
        refresh_hz=args.hz,
        page_seconds=args.page_seconds,
        clock=clock,
        watch_terminal=False,
    )
    frames: list[float] = []
    original = app.refresh_now
    state: dict[str, float] = {}

    def timed_refresh() -> None:
        start = time.perf_counter()
        tick["i"] += 1
        original()

        def done() -> None:
            frames.append(time.perf_counter() - start)

        app.call_after_refresh(done)

    app.refresh_now = timed_refresh  # type: ignore[method-assign]

    def begin() -> None:
        state["cpu0"] = time.process_time()
        state["wall0"] = time.perf_counter()
        state["skip"] = len(frames)
        app.set_timer(args.seconds, finish)

    def finish() -> None:
        state["cpu"] = time.process_time() - state["cpu0"]
        state["wall"] = time.perf_counter() - state["wall0"]
        app.exit()

    app.call_later(lambda: app.set_timer(1.5, begin))
    app.run()
    measured = frames[int(state.get("skip", 0)) :] or frames
    ms = sorted(f * 1000 for f in measured)
    result = {
        "agents": args.n,
        "frames": len(ms),
        "ms_per_frame_mean": round(statistics.fmean(ms), 2) if ms else None,
        "ms_per_frame_p95": round(ms[max(0, int(len(ms) * 0.95) - 1)], 2) if ms else None,
        "ms_per_frame_max": round(ms[-1], 2) if ms else None,
        "cpu_s_per_min": round(state.get("cpu", 0) / max(state.get("wall", 1), 1e-9) * 60, 2),
    }
    Path(args.out).write_text(json.dumps(result))


def run_one(n: int, args: argparse.Namespace) -> dict[str, object]:
    """One size in a child on a fresh pty; drain its output until it ends."""
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    cmd = [
        sys.executable,
        __file__,
        "--child",
        str(n),
        "--out",
        out_path,
        "--seconds",
        str(args.seconds),
        "--hz",
        str(args.hz),
        "--mode",
        args.mode,
        "--page-seconds",
        str(args.page_seconds),
    ]
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    written = 0
    deadline = time.monotonic() + args.seconds + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    written += len(os.read(master, 1 << 16))
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    try:
        result = json.loads(Path(out_path).read_text() or "{}")
    except (OSError, ValueError):
        result = {"agents": n, "error": f"child exited {proc.returncode}"}
    finally:
        Path(out_path).unlink(missing_ok=True)
    result["terminal_kb_per_s"] = round(written / 1024 / max(args.seconds + 1.5, 1), 1)
    return result


def main() -> None:
    """Parse, run every size, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="50,200,1000,2000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hz", type=float, default=1.0)
    parser.add_argument("--size", default="300x90")
    parser.add_argument("--mode", default="tv", choices=("tv", "supervisor"))
    parser.add_argument("--page-seconds", type=float, default=5.0)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        args.n = args.child
        child(args)
        return
    import textual

    results = [run_one(int(n), args) for n in args.agents.split(",")]
    print(
        json.dumps(
            {
                "bench": "render",
                "mode": args.mode,
                "size": args.size,
                "hz": args.hz,
                "seconds": args.seconds,
                "page_seconds": args.page_seconds,
                "textual": textual.__version__,
                "python": sys.version.split()[0],
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
