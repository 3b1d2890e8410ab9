"""Engine checkpoints: the whole engine saved in the store, so a restart skips the replay.

This module owns the bodies of the ``engine_state`` rows (the table itself is
``wallboard/store.py``'s): how an engine is encoded, when a stored one is
trusted, and how the single writer saves one without stopping its event loop.

- **Encoding** (``FORMAT``): a pickle (protocol 5, uncompressed: decoding speed is
  what a restart pays) of the :class:`~wallboard.engine.core.Engine`, whose
  ``__getstate__`` leaves its caches out, then a trailer: ``WBES`` and the CRC-32
  of the pickle (a flipped bit inside a string would otherwise unpickle quietly).
  The config is not in it: the loader supplies its own, the fingerprint having
  checked it is the same.
- **Trust.** Viewers read the DB too, and unpickling arbitrary data runs code,
  so the unpickler resolves only an allowlist of globals (the engine's classes,
  the event, containers, ``array``, sorted lists, zones by name, fractions of
  two ints); anything else refuses the checkpoint. A row is used only if its ``fingerprint`` (the
  whole config, the effective time zone, ``FORMAT``, the Python version and a
  digest of the engine's code as loaded) matches, and its clock is not after
  the restart's instant. A refused, mismatched, corrupt or truncated body means the
  next older row, then a full rebuild from the events, with the reason logged:
  never a traceback.
- **Saving** (:class:`Checkpointer`): every ``SAVE_EVERY_S`` and at a clean
  shutdown. A forked child pickles the engine (a copy-on-write image of the
  process taken between two event-loop callbacks, so consistent with the seq it
  covers) to a file next to the DB and leaves with ``os._exit``; the parent polls
  for its end without blocking the loop and copies the file into the store from
  a worker thread. Without ``fork`` the engine is pickled inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import copyreg
import gc
import hashlib
import importlib
import io
import logging
import os
import pickle
import pkgutil
import signal
import sqlite3
import sys
import time
import types
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import msgspec

from wallboard.config import Config
from wallboard.engine.core import Engine
from wallboard.store import (
    ENGINE_STATES_KEPT,
    connect_readonly,
    engine_state_body,
    engine_states,
    put_engine_state,
)

log = logging.getLogger(__name__)

FORMAT = 1
"""How a body is encoded. Bump it when the engine's state changes shape (the source
digest in the fingerprint catches code changes too; this says so on purpose)."""

SAVE_EVERY_S = 300.0
"""How often the writer saves its engine (a restart replays at most this much)."""

DUMP_TIMEOUT_S = 120.0
"""A child still pickling after this is killed (a day of 1M events takes ~4 s)."""

_BUSY_RETRY_S = 10.0  # a save put off by a backlog being read is tried again after this
_POLL_S = 0.05  # how often the parent looks whether the pickling child has ended
_TEMP_INFIX = ".engine-state-"


# ------------------------------------------------------------ fingerprint


_STATE_MODULES = ("wallboard.events", "wallboard.config", "wallboard.timeutil")
"""Besides the engine's own modules: what its state holds or depends on."""


@cache
def _code_digest() -> bytes:
    """The code that makes and reads the engine's state, as loaded in this process.

    Not the files on disk: they may have been upgraded since this process
    imported them (a checkpoint made by old code must never meet new code).
    Byte code, names and constants of every function and class of those
    modules; line numbers and comments do not count.
    """
    import wallboard.engine as package

    names = {f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)}
    h = hashlib.sha256()
    for name in sorted(names | set(_STATE_MODULES)):
        module = importlib.import_module(name)
        h.update(f"\0module {name}\0".encode())
        for key, value in sorted(vars(module).items()):
            # Code, and constants by their NAME: a lowercase global may be runtime
            # state (a logger, a counter, the last load's figures).
            code = isinstance(value, (type, types.FunctionType))
            if code or (key.lstrip("_").isupper() and not key.startswith("__")):
                h.update(f"\0{key}=".encode())
                _digest_value(h, value, name, 0)
    return h.digest()


def _digest_value(h: Any, value: Any, module: str, depth: int) -> None:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, types.FunctionType):
        if value.__module__ == module:  # not what it imports: that module counts itself
            _digest_code(h, value.__code__)
    elif isinstance(value, property):
        for f in (value.fget, value.fset, value.fdel):
            if f is not None:
                _digest_value(h, f, module, depth)
    elif isinstance(value, type):
        if value.__module__ == module and depth < 4:
            h.update(
                f"class {value.__qualname__}{[b.__qualname__ for b in value.__mro__]}".encode()
            )
            for key, attr in sorted(vars(value).items()):
                if key not in ("__dict__", "__weakref__", "__doc__", "__module__"):
                    h.update(f"\0{key}=".encode())
                    _digest_value(h, attr, module, depth + 1)
    else:
        h.update(_stable(value).encode())


def _digest_code(h: Any, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_argcount)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _digest_code(h, const)
        else:
            h.update(_stable(const).encode())


def _stable(value: Any) -> str:
    """The same text in every process for the same value (sets are sorted: their order
    follows string hashing, which differs between processes)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return f"({','.join(_stable(v) for v in value)})"
    if isinstance(value, (set, frozenset)):
        return f"{{{','.join(sorted(_stable(v) for v in value))}}}"
    if isinstance(value, dict):
        return f"{{{','.join(f'{_stable(k)}:{_stable(v)}' for k, v in value.items())}}}"
    return f"<{type(value).__qualname__}>"  # an object's repr may hold its address


def fingerprint(config: Config) -> str:
    """What a checkpoint must have been made with to be used: everything the engine's
    state depends on besides the events."""
    h = hashlib.sha256()
    h.update(f"wallboard engine state {FORMAT} python {sys.version_info[:2]}\n".encode())
    h.update(_code_digest())
    # The zone is the machine's when the config names none: 'today' depends on it.
    h.update(f"\nzone {config.zone().key}\n".encode())
    h.update(msgspec.json.encode(config))
    return h.hexdigest()


# ----------------------------------------------------------------- encoding


def _config_placeholder() -> Config:
    """Stands for the engine's config in a body; the loader returns its own instead."""
    raise pickle.UnpicklingError("a checkpoint's config is supplied by its loader")


def _reduce_config(_config: Config) -> tuple[Callable[[], Config], tuple[()]]:
    return _config_placeholder, ()


def _reduce_zone(zone: ZoneInfo) -> tuple[type[ZoneInfo], tuple[str]]:
    # ZoneInfo's own pickling goes through builtins.getattr, which the loader refuses.
    if zone.key is None:
        raise pickle.PicklingError("a time zone read from a file has no name")
    return ZoneInfo, (zone.key,)


def _fraction(numerator: int, denominator: int) -> Fraction:
    """A sales amount back. Fraction itself would also take a string, which can be
    made to cost hours ('1e999999999'): only two ints are let through."""
    if type(numerator) is not int or type(denominator) is not int:
        raise pickle.UnpicklingError("a fraction of something else than two ints")
    return Fraction(numerator, denominator)


def _reduce_fraction(f: Fraction) -> tuple[Callable[[int, int], Fraction], tuple[int, int]]:
    return _fraction, (f.numerator, f.denominator)


class _ArrayFromBytes:
    """Makes an array from a bytearray, then empties that: the unpickler's memo holds
    every argument until it ends (for a day's arrays, some 30 MB of bytes)."""

    def __new__(cls, typecode: str, data: bytearray) -> array:  # type: ignore[misc]
        made = array(typecode)
        made.frombytes(data)
        data.clear()
        return made


def _reduce_array(a: array) -> tuple[type[_ArrayFromBytes], tuple[str, bytearray]]:
    return _ArrayFromBytes, (a.typecode, bytearray(a.tobytes()))


_DISPATCH = {
    **copyreg.dispatch_table,
    array: _reduce_array,
    Config: _reduce_config,
    ZoneInfo: _reduce_zone,
    Fraction: _reduce_fraction,
}


_TRAILER = b"WBES"


class _Summing:
    """A file that keeps the CRC-32 of what goes through it (pickle writes 64 KiB frames)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.crc = 0

    def write(self, data: Any) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.file.write(data)


def dump(engine: Engine, file: IO[bytes]) -> None:
    """Write the engine's checkpoint body to ``file``."""
    summing = _Summing(file)
    pickler = pickle.Pickler(summing, protocol=5)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(engine)
    file.write(_TRAILER + summing.crc.to_bytes(4, "big"))


def dumps(engine: Engine) -> bytes:
    """The engine's checkpoint body."""
    buf = io.BytesIO()
    dump(engine, buf)
    return buf.getvalue()


# What a body may name besides the classes of _CLASS_MODULES: containers and the
# value types the engine's state holds. No callable here reaches the file system,
# the interpreter or arbitrary attributes (builtins.getattr, eval, os... are out),
# nor takes a string it would spend unbounded time on.
_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {("builtins", n) for n in ("set", "frozenset", "list", "dict", "tuple")}
    | {("collections", n) for n in ("Counter", "OrderedDict", "deque")}
    | {
        ("array", "array"),
        ("array", "_array_reconstructor"),
        ("zoneinfo", "ZoneInfo"),  # a zone's name: looked up among the system's zones
        ("sortedcontainers.sortedlist", "SortedList"),
        ("sortedcontainers.sortedlist", "SortedKeyList"),
        # msgspec's rebuild(cls, kwargs) is cls(**kwargs): cls is resolved here too.
        ("msgspec._utils", "rebuild"),
        (__name__, "_fraction"),
    }
)
_CLASS_MODULES = ("wallboard.events", "wallboard.config")
"""Besides every ``wallboard.engine.*`` module: modules whose classes (only) may appear."""


class Refused(pickle.UnpicklingError):
    """A body names something outside the allowlist."""


def _resolve(module: str, name: str) -> Any:
    if (module, name) in _GLOBALS:
        return getattr(importlib.import_module(module), name)
    if (module in _CLASS_MODULES or module.startswith("wallboard.engine.")) and "." not in name:
        found = getattr(importlib.import_module(module), name, None)
        # Classes defined there, not functions nor names imported from elsewhere.
        if isinstance(found, type) and found.__module__ == module:
            return found
    raise Refused(f"it names {module}.{name}, which a checkpoint may not hold")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], config: Config) -> None:
        super().__init__(file)
        self._config = config

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_config_placeholder":
            config = self._config
            return lambda: config
        return _resolve(module, name)


class _Summed:
    """The first ``n`` bytes of ``raw``, as the unpickler reads them (a frame at a
    time: a body is never whole in memory), with their CRC-32 and the time spent."""

    def __init__(self, raw: Any, n: int) -> None:
        self._raw = raw
        self.left = n
        self.crc = 0
        self.read_s = 0.0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.left:
            size = self.left
        t0 = time.perf_counter()
        data: bytes = self._raw.read(size)
        self.read_s += time.perf_counter() - t0
        self.left -= len(data)
        self.crc = zlib.crc32(data, self.crc)
        return data

    def readline(self) -> bytes:  # protocol-0 opcodes only, which a body never has
        line = bytearray()
        while self.left and not line.endswith(b"\n"):
            line += self.read(1)
        return bytes(line)


def _expected_crc(tail: bytes) -> int:
    if len(tail) != len(_TRAILER) + 4 or not tail.startswith(_TRAILER):
        raise pickle.UnpicklingError("it is truncated (no trailer)")
    return int.from_bytes(tail[len(_TRAILER) :], "big")


def _load(raw: Any, size: int, config: Config) -> tuple[Engine, float]:
    """Unpickle the body of ``size`` bytes that ``raw`` reads (a file or a blob), then
    check it: the engine, and the seconds spent reading."""
    n = size - len(_TRAILER) - 4
    if n <= 0:
        raise pickle.UnpicklingError("it is truncated (no trailer)")
    raw.seek(n)
    crc = _expected_crc(raw.read(len(_TRAILER) + 4))
    raw.seek(0)
    body = _Summed(raw, n)
    gc_was_on = gc.isenabled()
    gc.disable()  # millions of new objects: no collector passes over them meanwhile
    try:
        engine = _Unpickler(body, config).load()  # type: ignore[arg-type]
        if body.left:
            raise pickle.UnpicklingError("it holds more than one pickle")
        # Checked last, so the body is read once; what a corrupt body unpickles to is
        # dropped here, and the allowlist held meanwhile.
        if body.crc != crc:
            raise pickle.UnpicklingError("its checksum does not match: it is corrupt")
        if type(engine) is not Engine:
            raise pickle.UnpicklingError(f"it holds a {type(engine).__name__}, not an engine")
        gc.freeze()  # long-lived and acyclic, as after a rebuild (Engine.load)
        return engine, body.read_s
    finally:
        if gc_was_on:
            gc.enable()


def loads(body: bytes, config: Config) -> Engine:
    """An engine from a checkpoint body, with ``config`` as its config.

    Raises:
        pickle.UnpicklingError: the body names a global outside the allowlist
            (:class:`Refused`), is not a pickle, is truncated or fails its
            checksum; other exceptions for an inconsistent body.
    """
    return _load(io.BytesIO(body), len(body), config)[0]


# ------------------------------------------------------------------ saving


def save_state(
    db: Path | str | sqlite3.Connection,
    engine: Engine,
    last_seq: int,
    *,
    keep: int = ENGINE_STATES_KEPT,
) -> int:
    """Store a checkpoint of ``engine``, which has been given every stored event up to
    ``events.seq = last_seq``, inline (it takes seconds for a big engine: the writer
    uses :class:`Checkpointer`). Returns the row id."""
    if engine.clock_us is None:
        raise ValueError("an engine never advanced has nothing worth saving")
    return put_engine_state(
        db,
        clock_us=engine.clock_us,
        last_seq=last_seq,
        fingerprint=fingerprint(engine.config),
        format=FORMAT,
        body=dumps(engine),
        keep=keep,
    )


# ----------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class LoadStats:
    """How the last :func:`load_state` went (for the bench and the tests)."""

    state_id: int | None
    """The row used; None: none was (a full rebuild follows)."""
    last_seq: int
    clock_us: int | None
    size: int
    read_s: float
    unpickle_s: float
    reason: str | None
    """Why no row was used, when none was."""


last_load: LoadStats | None = None
"""Set by every :func:`load_state`."""


def load_state(
    db: Path | str | sqlite3.Connection, now_us: int, config: Config
) -> tuple[Engine, int] | None:
    """The engine of the newest usable checkpoint and the ``events.seq`` it covers.

    None when there is none (the reason is logged): the caller rebuilds from the
    events. A missing or unreadable DB raises as :func:`~wallboard.store.iter_events`
    would (the rebuild would fail the same way).
    """
    global last_load
    own = not isinstance(db, sqlite3.Connection)
    conn = connect_readonly(db) if not isinstance(db, sqlite3.Connection) else db
    wanted = fingerprint(config)
    skipped: list[str] = []
    worrying = False  # a corrupt or refused body (logged as a warning), not a plain mismatch
    read_s = unpickle_s = 0.0
    if own:  # one snapshot of the DB for the listing and the body, however long it takes
        conn.execute("BEGIN")
    try:
        try:
            states = engine_states(conn)
        except sqlite3.Error as exc:
            states = []
            skipped.append(f"the table could not be read ({exc})")
            worrying = True
        if not states and not skipped:
            skipped.append("none stored")
        for st in states:
            label = f"checkpoint {st.id}"
            if st.format != FORMAT:
                skipped.append(f"{label} has format {st.format}, this version reads {FORMAT}")
                continue
            if st.fingerprint != wanted:
                skipped.append(f"{label} was made with another config or wallboard version")
                continue
            if st.clock_us > now_us:
                skipped.append(f"{label} is later than the instant asked")
                continue
            t0 = time.perf_counter()
            try:
                with engine_state_body(conn, st.id) as blob:
                    size = len(blob)
                    engine, read_s = _load(blob, size, config)
                if engine.clock_us != st.clock_us:
                    raise pickle.UnpicklingError("its clock differs from the row's")
            except Exception as exc:  # corrupt, truncated, refused: never a traceback
                skipped.append(f"{label} is unusable: {_short(exc)}")
                worrying = True
                continue
            unpickle_s = time.perf_counter() - t0 - read_s
            if skipped:
                log.info("engine checkpoint %d used; skipped: %s", st.id, "; ".join(skipped))
            last_load = LoadStats(st.id, st.last_seq, st.clock_us, size, read_s, unpickle_s, None)
            return engine, st.last_seq
    finally:
        if own:
            conn.close()
    reason = "; ".join(skipped)
    (log.warning if worrying else log.info)(
        "engine checkpoint not used (rebuilding from the stored events): %s", reason
    )
    last_load = LoadStats(None, 0, None, 0, read_s, unpickle_s, reason)
    return None


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


# ------------------------------------------------------- the writer's saver


class Checkpointer:
    """Saves the single writer's engine every ``every_s`` and at shutdown.

    ``covered()`` is the highest ``events.seq`` whose batch the engine has been
    given (read at the same instant as the engine: both change only in the
    event loop). A save is put off while ``busy()`` (a backlog being read) and
    skipped when no event came since the last one (a quiet night: the last
    checkpoint plus moving the clock is the same engine). A failure never stops
    the writer: it is reported once (``on_error``, else the log) until a save works.
    """

    def __init__(
        self,
        db_path: Path,
        engine: Engine,
        covered: Callable[[], int],
        *,
        every_s: float = SAVE_EVERY_S,
        busy: Callable[[], bool] | None = None,
        on_error: Callable[[str], object] | None = None,
        use_fork: bool | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.engine = engine
        self.every_s = every_s
        self.saved = 0
        """Checkpoints stored by this process."""
        self.last_error: str | None = None
        self.last_timing: tuple[float, float, int] | None = None
        """The last stored checkpoint's (pickling s, storing s, bytes)."""
        self._covered = covered
        self._busy = busy or (lambda: False)
        self._on_error = on_error
        self._fork = hasattr(os, "fork") if use_fork is None else use_fork
        self._fingerprint = fingerprint(engine.config)
        self._saved_seq: int | None = None
        self._lock = asyncio.Lock()
        self._remove_stale_temps()

    async def run(self) -> None:
        """Save every ``every_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.every_s)
            while self._busy():
                await asyncio.sleep(min(_BUSY_RETRY_S, self.every_s))
            await self.save()

    async def close(self) -> None:
        """The final save of a clean shutdown (cancel :meth:`run` first)."""
        await self.save()

    async def save(self) -> bool:
        """Store a checkpoint now; False if it failed (reported) or no event came."""
        async with self._lock:
            clock = self.engine.clock_us
            seq = self._covered()
            if clock is None or seq == self._saved_seq:
                return False
            tmp = self.db_path.with_name(f"{self.db_path.name}{_TEMP_INFIX}{os.getpid()}.tmp")
            try:
                t0 = time.perf_counter()
                if self._fork:
                    await _dump_in_child(self.engine, tmp)
                else:
                    with tmp.open("wb") as f:  # no fork here: the loop waits meanwhile
                        dump(self.engine, f)
                t1 = time.perf_counter()
                size = tmp.stat().st_size
                put = asyncio.ensure_future(
                    asyncio.to_thread(
                        put_engine_state,
                        self.db_path,
                        clock_us=clock,
                        last_seq=seq,
                        fingerprint=self._fingerprint,
                        format=FORMAT,
                        body=tmp,
                    )
                )
                try:
                    await asyncio.shield(put)
                except asyncio.CancelledError:
                    # Stopping: let the thread finish with the file before it is removed.
                    with contextlib.suppress(Exception):
                        await put
                    raise
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                return False
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
            self._saved_seq = seq
            self.saved += 1
            self.last_timing = (t1 - t0, time.perf_counter() - t1, size)
            if self.last_error is not None:
                log.info("engine checkpoints are stored again")
                self.last_error = None
            return True

    def _failed(self, exc: Exception) -> None:
        text = f"engine checkpoint not stored (a restart replays the events instead): {_short(exc)}"
        if text != self.last_error:
            if self._on_error is not None:
                self._on_error(text)
            else:
                log.warning("%s", text)
        self.last_error = text

    def _remove_stale_temps(self) -> None:
        """Files left by a child of a process that died before cleaning up."""
        with contextlib.suppress(OSError):
            for path in self.db_path.parent.glob(f"{self.db_path.name}{_TEMP_INFIX}*.tmp"):
                pid = path.name[len(self.db_path.name) + len(_TEMP_INFIX) : -len(".tmp")]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


async def _dump_in_child(engine: Engine, tmp: Path) -> None:
    """Pickle ``engine`` to ``tmp`` in a forked child; the loop goes on meanwhile.

    The parent polls for the child's end (rather than a blocking waitpid in a
    thread) so that it can give up after ``DUMP_TIMEOUT_S`` or on cancellation,
    killing the child.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        _child_dump(engine, tmp, write_fd)  # never returns
    os.close(write_fd)
    try:
        deadline = time.monotonic() + DUMP_TIMEOUT_S
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"pickling took more than {DUMP_TIMEOUT_S:.0f} s")
                await asyncio.sleep(_POLL_S)
        except BaseException:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            raise
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            why = os.read(read_fd, 4096).decode("utf-8", "replace").strip()
            raise RuntimeError(why or f"the pickling child ended with status {code}")
    finally:
        os.close(read_fd)


def _child_dump(engine: Engine, tmp: Path, write_fd: int) -> None:
    """In the forked child: pickle, report a failure on the pipe, and leave at once.

    No SQLite, no logging, no imports here: another thread may have held their
    locks at the fork. ``os._exit`` skips the parent's atexit handlers and buffers.
    """
    code = 1
    try:
        # Only possible in the main thread (where the writer's event loop runs).
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(-1)  # the parent's event loop must not see our signals
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with contextlib.suppress(OSError):
            os.nice(10)  # the board and the feed come first
        gc.disable()  # collector passes would only copy pages
        with open(tmp, "wb") as f:
            dump(engine, f)
        code = 0
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            os.write(write_fd, _short(exc).encode("utf-8", "replace")[:4000])
    finally:
        os._exit(code)
