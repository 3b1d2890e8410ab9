"""`wallboard simulate`: play the simulator against a clock into a file or a socket.

Owns the pacing (real time, accelerated, or as fast as possible), the
outputs (stdout, a file appended as a live log, ``tcp://``, ``unix:``) and
the command's flags; the contact centre itself is ``wallboard.simulate``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from wallboard.errors import UserError
from wallboard.simulate import SimOptions, Simulator
from wallboard.timeutil import US, TimeFormatError, load_zone, parse_instant


def pace(
    sim: Simulator,
    write: Callable[[list[bytes]], None],
    speed: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    tick_s: float = 0.25,
) -> None:
    """Play ``sim`` against a clock: simulated time runs ``speed`` times as fast as ``clock``.

    ``clock`` and ``sleep`` are injectable so tests never sleep for real.
    """
    wall0 = clock()
    sim0 = sim.clock_us
    while not sim.done:
        target = sim0 + int((clock() - wall0) * speed * US)
        batch = sim.until(target)
        if batch:
            write(batch)
        if sim.done:
            return
        due = sim.next_due_us
        wait = tick_s if due is None else min(tick_s, max(0.0, (due - target) / speed / US))
        sleep(wait)


class Sink:
    """Where lines go: writes whole lines only, flushes every batch as a live log would."""

    def __init__(self, label: str, write: Callable[[bytes], None], close: Callable[[], None]):
        self.label = label
        self._write = write
        self._close = close

    def write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        lines.append(b"")
        try:
            self._write(b"\n".join(lines))
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _ReaderGone(f"{self.label} closed the connection ({exc.strerror})") from None
        finally:
            lines.pop()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._close()


class _ReaderGone(UserError):
    """The other end stopped reading."""


def open_sink(out: str) -> Sink:
    """``-`` (stdout), ``tcp://HOST:PORT``, ``unix:PATH``, or a file path to append to.

    Raises:
        UserError: an unknown scheme, a bad address, nobody listening, a file that
        cannot be opened.
    """
    if out == "-":
        stream = sys.stdout.buffer

        def write_stdout(data: bytes) -> None:
            stream.write(data)
            stream.flush()

        return Sink("stdout", write_stdout, lambda: None)
    if out.startswith("tcp://"):
        return _tcp_sink(out)
    if out.startswith("unix:"):
        return _unix_sink(out)
    if "://" in out:
        raise UserError(
            f"cannot write to {out!r}: use -, a file path, tcp://HOST:PORT or unix:PATH"
        )
    try:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UserError(f"cannot open {out!r} for appending: {exc.strerror}") from None

    def write_file(data: bytes) -> None:
        # One os.write per batch of whole lines: a tail never sees half a batch
        # buffered; loop in case the kernel takes less.
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return Sink(out, write_file, lambda: os.close(fd))


def _tcp_sink(out: str) -> Sink:
    try:
        parts = urlsplit(out)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise UserError(f"bad address {out!r}: {exc}") from None
    if not host or port is None or parts.path not in ("", "/") or parts.query:
        raise UserError(f"bad address {out!r}: write it as tcp://HOST:PORT")
    try:
        sock = socket.create_connection((host, port), timeout=10)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(
            f"cannot connect to {out}: {reason} (is anything listening there?)"
        ) from None
    sock.settimeout(None)
    return Sink(out, sock.sendall, sock.close)


def _unix_sink(out: str) -> Sink:
    path = out.removeprefix("unix:")
    if path.startswith("//"):
        path = path[2:]
    if not path:
        raise UserError(f"bad address {out!r}: write it as unix:PATH")
    if not hasattr(socket, "AF_UNIX"):
        raise UserError("unix sockets are not available on this system")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise UserError(
            f"cannot connect to {out}: {reason} (is anything listening there?)"
        ) from None
    return Sink(out, sock.sendall, sock.close)


# --------------------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `wallboard simulate` flags."""
    add = parser.add_argument
    add("--agents", type=int, default=20, metavar="N", help="agents on the roster (default 20)")
    add("--queues", type=int, default=4, metavar="N", help="queues (default 4)")
    add(
        "--rate",
        type=float,
        default=None,
        metavar="R",
        help="contacts per hour at the daily peak (default: what the agents can serve)",
    )
    add(
        "--speed",
        default="1",
        metavar="X",
        help="1 = real time, 60 = a minute per second, max = as fast as possible (default 1)",
    )
    add(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="same seed and flags => same output (default: random)",
    )
    add(
        "--duration",
        default=None,
        metavar="D",
        help="simulated time: 90s, 15m, 1h, 1d (default: endless)",
    )
    add("--start", default=None, metavar="ISO8601", help="simulated start instant (default now)")
    add("--ids", choices=("seq", "uuid"), default="seq", help="event ids (default seq)")
    add("--events", type=int, default=None, metavar="N", help="stop after N lines")
    add("--staffing-dip", action="store_true", help="most agents go away for 30 min")
    add("--outage", action="store_true", help="force a service outage")
    add("--late", type=float, default=0.0, metavar="P", help="fraction of events 1-8 s late")
    add("--bad", type=float, default=0.0, metavar="P", help="fraction of malformed lines")
    add("--tz", default=None, metavar="ZONE", help="zone of the daily curve (default: local)")
    add(
        "--out",
        default="-",
        metavar="TARGET",
        help="- (stdout), a file to append to, tcp://HOST:PORT or unix:PATH",
    )


def options_from_args(args: argparse.Namespace) -> SimOptions:
    """Command-line flags to :class:`SimOptions` (UserError for a bad value)."""
    start_us = None
    if args.start is not None:
        try:
            start_us = parse_instant(args.start)
        except TimeFormatError as exc:
            raise UserError(f"--start: {exc}") from None
    seed = args.seed
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")  # fresh every run unless asked
    return SimOptions(
        agents=args.agents,
        queues=args.queues,
        rate=args.rate,
        speed=args.speed,
        seed=seed,
        duration=args.duration,
        start_us=start_us,
        ids=args.ids,
        events=args.events,
        staffing_dip=args.staffing_dip,
        outage=args.outage,
        late=args.late,
        bad=args.bad,
        tz=args.tz,
        out=args.out,
    )


def run(
    args: argparse.Namespace,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """`wallboard simulate`: write the events to the chosen output."""
    options = options_from_args(args)
    if options.tz:
        try:
            load_zone(options.tz)
        except TimeFormatError as exc:
            raise UserError(f"--tz: {exc}") from None
    sink = open_sink(options.out)
    sim = Simulator(options)
    speed = options.speed_factor
    try:
        if speed is None:
            while not sim.done:
                sink.write(sim.until(sim.clock_us + 600 * US))
        else:
            pace(sim, sink.write, speed, clock=clock, sleep=sleep)
    except _ReaderGone:
        if options.out != "-":
            raise
        # `simulate | head`: the reader left; stop quietly, like any Unix filter.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    finally:
        sink.close()
    return 0
