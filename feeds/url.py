"""Turns a ``--feed`` argument into a feed: a path, ``file:``, ``tcp://``, ``unix:``, ``-``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from wallboard.errors import UserError
from wallboard.feeds.lines import Feed
from wallboard.store import Checkpoint

FEED_FORMS = "a file path, file:PATH, tcp://HOST:PORT, unix:PATH or - for stdin"


def open_feed(
    spec: str,
    *,
    once: bool = False,
    from_end: bool = False,
    resume: dict[str, Checkpoint] | None = None,
    bind_any: bool = False,
) -> Feed:
    """Build the feed a ``--feed`` value names (without starting it).

    Raises:
        UserError: the value is not one of the accepted forms.
    """
    from wallboard.feeds.file_tail import FileTail

    resume = resume or {}
    if spec == "-":
        from wallboard.feeds.stdin import StdinFeed

        return StdinFeed()
    if spec.startswith("tcp://"):
        host, port = _host_port(spec)
        if not bind_any and host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            raise UserError(
                f"refusing to listen on {host} without --listen-any: events from other "
                "machines would be accepted unauthenticated"
            )
        from wallboard.feeds.socket_server import SocketServer

        return SocketServer(host=host.strip("[]"), port=port)
    if spec.startswith("unix:"):
        path = spec.removeprefix("unix:").removeprefix("//")
        if not path:
            raise UserError(
                f"bad feed {spec!r}: unix: needs a socket path, as in unix:/tmp/wb.sock"
            )
        from wallboard.feeds.socket_server import SocketServer

        return SocketServer(unix_path=Path(path))
    if spec.startswith("file:"):
        spec = spec.removeprefix("file:").removeprefix("//")
        if not spec:
            raise UserError("bad feed 'file:': it needs a path, as in file:/var/log/events.jsonl")
    elif "://" in spec:
        raise UserError(f"bad feed {spec!r}: unknown scheme; use {FEED_FORMS}")
    path = Path(spec).expanduser()
    feed = FileTail(path, once=once, from_end=from_end)
    feed.resume = resume.get(feed.key)
    return feed


def _host_port(spec: str) -> tuple[str, int]:
    parts = urlsplit(spec)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise UserError(f"bad feed {spec!r}: write tcp://HOST:PORT, as in tcp://127.0.0.1:7070")
    return parts.hostname, port
