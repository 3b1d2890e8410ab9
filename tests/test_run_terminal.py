"""`wallboard run` in tmux: one writer ingesting a file, one read-only viewer of its DB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wallboard.simulate import SimOptions, Simulator
from wallboard.store import db_info
from wallboard.timeutil import US, now_us

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@contextmanager
def tmux(cmd: str, size: tuple[int, int] = (160, 45)) -> Iterator[Callable[[], str]]:
    session = f"wb-run-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), cmd],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )

    def screen() -> str:
        r = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        )
        return r.stdout

    try:
        yield screen
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if subprocess.run(["tmux", "has-session", "-t", session]).returncode != 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the board did not quit on q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def wait_for(screen: Callable[[], str], *words: str, timeout: float = 40) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen()
        if all(w in text for w in words):
            return text
        time.sleep(0.3)
    raise AssertionError(f"{words} not on screen:\n{text}")


def test_writer_and_viewer_share_one_database(tmp_path: Path) -> None:
    start = now_us() - 1800 * US
    sim = Simulator(SimOptions(agents=15, queues=3, seed=5, start_us=start, speed=1))
    lines = sim.until(now_us())
    log, db = tmp_path / "events.jsonl", tmp_path / "board.db"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    queues = {json.loads(x)["queue"] for x in lines if b'"contact.queued"' in x}
    wb = f"{sys.executable} -m wallboard run"
    with tmux(f"{wb} --feed {log} --db {db} --mode supervisor") as writer:
        text = wait_for(writer, "SUPERVISOR", *sorted(queues))
        assert "QUEUES" in text and "AGENTS" in text
        deadline = time.monotonic() + 30
        while db_info(db).events < len(lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert db_info(db).events == len(lines)
        with tmux(f"{wb} --db {db} --mode tv") as viewer:
            wait_for(viewer, "WALLBOARD", "SERVICE LEVEL", *sorted(queues))
            more = sim.until(now_us() + 120 * US)
            with open(log, "ab") as f:
                f.write(b"".join(line + b"\n" for line in more))
            deadline = time.monotonic() + 30
            while db_info(db).events < len(lines) + len(more) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert db_info(db).events == len(lines) + len(more)
