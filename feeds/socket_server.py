"""A line server for many producers at once: ``tcp://HOST:PORT`` or ``unix:PATH``.

Each connection is cut into lines on its own. When the store cannot keep
up, awaiting the sink blocks the connection's reader, the kernel buffers
fill and TCP flow control slows the producers: nothing is buffered without
bound and nothing is dropped. A producer that disconnects mid-line loses
only that unterminated fragment, which is quarantined and so counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import os
import stat
from pathlib import Path

from wallboard.errors import UserError
from wallboard.feeds.lines import DEFAULT_MAX_LINE, Chunk, LineSplitter, Sink

READ_SIZE = 1 << 16


class SocketServer:
    """Accepts newline-delimited events from any number of connections."""

    key = None  # a socket cannot be replayed: nothing to resume from

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        unix_path: Path | None = None,
        max_line: int = DEFAULT_MAX_LINE,
    ) -> None:
        self.host, self.port, self.unix_path = host, port, unix_path
        self.max_line = max_line
        self.description = f"unix:{unix_path}" if unix_path else f"tcp://{host}:{port}"
        self.connections = 0
        """Producers connected now."""
        self._server: asyncio.Server | None = None
        self._ids = itertools.count(1)
        self._sink: Sink | None = None
        self._have_sink = asyncio.Event()

    @property
    def bound_port(self) -> int | None:
        """The TCP port actually bound (useful with port 0)."""
        if self._server is None or self.unix_path:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind, turning the usual failures into one clear line.

        Connections accepted before :meth:`run` wait until it gives the sink.
        """
        if self._server is not None:
            return
        try:
            if self.unix_path is not None:
                self._prepare_unix_path(self.unix_path)
                self._server = await asyncio.start_unix_server(self._serve, path=self.unix_path)
            else:
                self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise UserError(self._bind_error(exc)) from None

    def _bind_error(self, exc: OSError) -> str:
        where = self.description
        if exc.errno == errno.EADDRINUSE:
            return f"{where} is already in use: stop the other listener or choose another port"
        if exc.errno == errno.EACCES:
            return f"not allowed to listen on {where}: use a port above 1023 or another path"
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"cannot listen on {where}: this machine has no such address"
        return f"cannot listen on {where}: {exc.strerror or exc}"

    @staticmethod
    def _prepare_unix_path(path: Path) -> None:
        if not path.parent.is_dir():
            raise UserError(f"the directory {path.parent} does not exist")
        if path.exists():
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise UserError(f"{path} exists and is not a socket: choose another path")
            os.unlink(path)  # a stale socket left by a previous run

    async def run(self, sink: Sink) -> None:
        """Serve until cancelled."""
        await self.start()
        assert self._server is not None
        self._sink = sink
        self._have_sink.set()
        try:
            async with self._server:
                await self._server.serve_forever()
        finally:
            if self.unix_path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.unix_path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ""
        n = next(self._ids)
        source = f"{self.description} conn {n}" + (f" from {peer[0]}:{peer[1]}" if peer else "")
        splitter = LineSplitter(0, self.max_line)
        self.connections += 1
        await self._have_sink.wait()
        try:
            while data := await reader.read(READ_SIZE):
                lines, rejects = splitter.feed(data)
                if lines or rejects:
                    assert self._sink is not None
                    await self._sink(Chunk(source, lines, rejects))
        except (ConnectionError, OSError):
            pass  # a producer vanishing is its own business; keep what it sent
        finally:
            self.connections -= 1
            fragment = splitter.take_fragment("the producer disconnected before its newline")
            if fragment is not None:
                with contextlib.suppress(Exception):
                    assert self._sink is not None
                    await self._sink(Chunk(source, [], [fragment]))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
