"""Shared test helpers: the shared data folder, async waiting, CLI runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data folder is not beside this checkout")
    return path


async def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll a condition on real I/O (feeds, sockets) until true or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)


def run_cli(
    *args: str, input: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m wallboard ...` in a subprocess, as a user would."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "wallboard", *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def event_line(i: int | str, ts: str | float = "2026-01-01T10:00:00Z", **fields: object) -> bytes:
    """One canonical contact.queued line (or another type through ``type=``)."""
    import json

    body = {"id": str(i), "ts": ts, "type": "contact.queued", "contact": f"c{i}", "queue": "q1"}
    body.update(fields)
    return json.dumps(body).encode() + b"\n"


async def within(coro: Awaitable[T], timeout: float = 20.0, what: str = "") -> T:
    """Await ``coro``; if it takes longer, print every task's stack and fail.

    Shutting a feed down must never hang; when it does, the stacks say where.
    """
    try:
        return await asyncio.wait_for(coro, timeout)
    except TimeoutError:
        for task in asyncio.all_tasks():
            task.print_stack(file=sys.stderr)
        raise AssertionError(f"{what or coro} took more than {timeout} s") from None
