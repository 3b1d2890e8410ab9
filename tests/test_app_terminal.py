"""The App in real terminals: a dropped terminal ends it; `wallboard demo` in tmux."""

from __future__ import annotations

import importlib.util
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and needle not in seen:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _wait_exit(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("ignore_sighup", [False, True], ids=["sighup", "tty-gone"])
def test_exits_when_terminal_goes_away(ignore_sighup: bool) -> None:
    """Close the terminal under a running board: the process must end, not spin.

    ``tty-gone`` ignores SIGHUP (as under nohup) and relies on the App noticing
    that its terminal hung up."""
    pid, master = pty.fork()
    if pid == 0:  # child: the App on its own terminal
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
        env.pop("NO_COLOR", None)
        if ignore_sighup:
            env["WALLBOARD_IGNORE_SIGHUP"] = "1"
        os.execve(
            sys.executable,
            [sys.executable, "-m", "wallboard.app", "--mode", "tv", "--agents", "30"],
            env,
        )
    try:
        out = _read_until(master, b"WALLBOARD", timeout=20)
        assert b"WALLBOARD" in out, out[-500:]
        os.close(master)
        status = _wait_exit(pid, timeout=10)
        assert status is not None, "the app kept running after its terminal went away"
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _demo_available() -> str | None:
    """None if `wallboard demo` can run here, else why not."""
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    if importlib.util.find_spec("wallboard.cmd_demo") is None:
        return "`wallboard demo` is not available yet (no wallboard.cmd_demo module)"
    probe = subprocess.run(
        [sys.executable, "-m", "wallboard", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        reason = (probe.stderr or probe.stdout).strip().splitlines()
        return "`wallboard demo` is not available yet: " + (reason[-1] if reason else "no output")
    return None


def test_wallboard_demo_in_tmux() -> None:
    """The real `wallboard demo` (simulator -> pipeline -> TV board) read with capture-pane."""
    why_not = _demo_available()
    if why_not:
        pytest.skip(why_not)
    session = f"wallboard-test-{uuid.uuid4().hex[:8]}"
    cmd = f"{sys.executable} -m wallboard demo"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    try:
        screen = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.5)
            result = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session],
                capture_output=True,
                text=True,
            )
            screen = result.stdout
            if "SERVICE LEVEL" in screen and "AGENTS" in screen and "QUEUES" in screen:
                break
        for words in ("WALLBOARD", "SERVICE LEVEL", "WAITING", "QUEUES", "AGENTS", "window"):
            assert words in screen, screen
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = subprocess.run(
                ["tmux", "has-session", "-t", session], capture_output=True
            ).returncode
            if alive != 0:
                break
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
