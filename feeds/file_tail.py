"""Follows a growing log file as ``tail -F`` does, resuming where it stopped.

- Resumes from the stored offset when the file is still the same one
  (device and inode) and at least that long; else starts over (re-reading
  is safe: the store ignores events it already holds).
- Wakes on change through watchfiles (50 ms debounce instead of its 1.6 s),
  and polls as a fallback where watching is not possible.
- Holds back a partial last line until its newline arrives.
- Truncation (``copytruncate``): starts over from the beginning.
- Rotation by rename + create: finishes the old file, then follows the new.
- Waits for a file that does not exist yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import zlib
from pathlib import Path
from typing import BinaryIO

from wallboard.errors import UserError
from wallboard.feeds.lines import DEFAULT_MAX_LINE, Chunk, LineSplitter, Reject, Sink
from wallboard.store import Checkpoint

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 18


FINGERPRINT = 256  # bytes at the head of a file that tell it from a new one


def file_id(fd: int, upto: int) -> str:
    """What tells one file from another at the same path.

    Device and inode, plus a checksum of the first bytes (at most 256, and
    no more than ``upto``), since a deleted file's inode is soon reused.
    """
    st = os.fstat(fd)
    n = min(FINGERPRINT, upto, st.st_size)
    return f"{st.st_dev}:{st.st_ino}:{n}:{zlib.crc32(os.pread(fd, n, 0)):08x}"


def same_file(fd: int, stored: str | None) -> bool:
    """Whether the open file is the one a stored :func:`file_id` describes."""
    try:
        _dev, _ino, n, _crc = (stored or "").split(":")
        return file_id(fd, int(n)) == stored
    except ValueError:
        return False


class FileTail:
    """A resumable feed over one file path."""

    def __init__(
        self,
        path: Path,
        *,
        once: bool = False,
        from_end: bool = False,
        resume: Checkpoint | None = None,
        poll_interval: float = 1.0,
        debounce_ms: int = 50,
        max_line: int = DEFAULT_MAX_LINE,
        watch: bool = True,
    ) -> None:
        self.path = path.absolute()
        self.key = f"file:{self.path}"
        self.description = str(path)
        self.once = once
        self.from_end = from_end
        self.resume = resume
        self.poll_interval = poll_interval
        self.debounce_ms = debounce_ms
        self.max_line = max_line
        self.watch = watch
        self.notes: list[str] = []
        """Things an operator should hear of (start-over, rotation...)."""
        self.partial_at_end = 0
        self.position: int | None = None
        """Where reading started in the file, once it is open."""
        """With ``once``: bytes of an unterminated last line left for next time."""
        self._wake = asyncio.Event()

    async def start(self) -> None:
        """Refuse paths that can never work."""
        if self.path.is_dir():
            raise UserError(f"{self.description} is a directory: give the path of a log file")
        if not self.path.parent.is_dir():
            raise UserError(f"the directory {self.path.parent} does not exist")
        if self.once and not self.path.exists():
            raise UserError(f"no such file: {self.description}")

    async def run(self, sink: Sink) -> None:
        """Deliver the file's lines; return at its end with ``once``, else follow it."""
        watcher = None
        stop = asyncio.Event()
        if self.watch and not self.once:
            watcher = asyncio.create_task(self._watch(stop))
        try:
            await self._follow(sink)
        finally:
            stop.set()
            if watcher is not None:
                watcher.cancel()
                # The watcher's thread ends within a step once `stop` is set;
                # never let a stuck watcher hold up shutdown.
                await asyncio.wait({watcher}, timeout=2)

    async def _follow(self, sink: Sink) -> None:
        fh = await self._open_when_exists()
        pos = self.position = self._initial_position(fh)
        splitter = LineSplitter(pos, self.max_line)
        fh.seek(pos)
        try:
            while True:
                self._wake.clear()
                data = fh.read(CHUNK_SIZE)
                if data:
                    lines, rejects = splitter.feed(data)
                    if lines or rejects:
                        await sink(self._chunk(fh, lines, rejects, splitter.consumed))
                    continue
                if self.once:
                    self.partial_at_end = splitter.pending
                    return
                st = _stat(self.path)
                fst = os.fstat(fh.fileno())
                if st is not None and (st.st_dev, st.st_ino) != (fst.st_dev, fst.st_ino):
                    # Rotated: finish the old file (it may have grown since the
                    # read above, before the rename), then follow the new one.
                    while data := fh.read(CHUNK_SIZE):
                        lines, rejects = splitter.feed(data)
                        if lines or rejects:
                            await sink(self._chunk(fh, lines, rejects, splitter.consumed))
                    fragment = splitter.take_fragment("the file was rotated before its newline")
                    fh.close()
                    fh = open(self.path, "rb")  # noqa: SIM115 - kept open across the loop
                    splitter.reset(0)
                    self.notes.append(f"{self.description} was rotated: following the new file")
                    await sink(self._chunk(fh, [], [fragment] if fragment else [], 0))
                    continue
                if st is not None and st.st_size < fh.tell():
                    splitter.reset(0)
                    fh.seek(0)
                    self.notes.append(f"{self.description} was truncated: reading from the start")
                    await sink(self._chunk(fh, [], [], 0))
                    continue
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a
                # cancellation that lands as it times out, and the tail never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
        finally:
            fh.close()

    def _chunk(
        self, fh: BinaryIO, lines: list[tuple[int, bytes]], rejects: list[Reject], offset: int
    ) -> Chunk:
        fid = file_id(fh.fileno(), offset)
        return Chunk(self.description, lines, rejects, self.key, offset, fid)

    def _initial_position(self, fh: BinaryIO) -> int:
        size = os.fstat(fh.fileno()).st_size
        r = self.resume
        if r is not None:
            same = same_file(fh.fileno(), r.file_id)
            if same and r.offset <= size:
                return r.offset
            why = "is a different file" if not same else "is shorter (truncated)"
            self.notes.append(f"{self.description} {why} than when last read: reading from start")
            return 0
        if self.from_end and size:
            # Start at the last line still being written, so none is cut in two.
            fh.seek(max(0, size - CHUNK_SIZE))
            tail = fh.read()
            nl = tail.rfind(b"\n")
            return size - len(tail) + nl + 1 if nl >= 0 else max(0, size - len(tail))
        return 0

    async def _open_when_exists(self) -> BinaryIO:
        announced = False
        while True:
            try:
                return open(self.path, "rb")
            except FileNotFoundError:
                if self.once:
                    raise UserError(f"no such file: {self.description}") from None
                if not announced:
                    self.notes.append(f"waiting for {self.description} to appear")
                    announced = True
            except IsADirectoryError:
                raise UserError(f"{self.description} is a directory") from None
            except PermissionError:
                raise UserError(f"cannot read {self.description}: permission denied") from None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):  # not wait_for: see _follow()
                    await self._wake.wait()

    async def _watch(self, stop: asyncio.Event) -> None:
        try:
            from watchfiles import awatch

            async for _changes in awatch(
                self.path.parent,
                debounce=self.debounce_ms,
                step=10,
                recursive=False,
                watch_filter=None,
                stop_event=stop,
            ):
                self._wake.set()
        except Exception as exc:  # watching is an optimisation: polling still works
            log.info("watching %s failed (%s); polling instead", self.path.parent, exc)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
