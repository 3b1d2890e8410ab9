"""The socket server on real loopback sockets: many producers, limits, back-pressure."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest

from tests.conftest import event_line, wait_until
from wallboard.errors import UserError
from wallboard.events import Event
from wallboard.feeds.socket_server import SocketServer
from wallboard.feeds.url import open_feed
from wallboard.pipeline import Pipeline
from wallboard.store import StoreWriter, WriteBatch, db_info, quarantine_rows


class Served:
    def __init__(self, store: StoreWriter, server: SocketServer, **kw: object) -> None:
        self.ids: list[str] = []
        self.pipeline = Pipeline(store, on_events=self._got, **kw)  # type: ignore[arg-type]
        self.task = asyncio.create_task(self.pipeline.run(server))

    def _got(self, events: list[Event]) -> None:
        self.ids.extend(e.id for e in events)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def start(tmp_path: Path, **kw: object) -> tuple[StoreWriter, SocketServer]:
    store = StoreWriter(tmp_path / "w.db")
    await store.open()
    server = SocketServer(host="127.0.0.1", port=0, **kw)  # type: ignore[arg-type]
    await server.start()
    return store, server


async def send(port: int, data: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_many_producers_at_once(tmp_path: Path) -> None:
    store, server = await start(tmp_path)
    served = Served(store, server)
    port = server.bound_port
    assert port
    producers, per = 20, 250
    await asyncio.gather(
        *(
            send(port, b"".join(event_line(f"p{p}-{i}") for i in range(per)))
            for p in range(producers)
        )
    )
    await wait_until(lambda: len(served.ids) == producers * per, what="all events")
    await served.stop()
    await store.close()
    assert len(set(served.ids)) == producers * per
    assert db_info(tmp_path / "w.db").events == producers * per


async def test_over_long_line_is_quarantined_and_the_connection_survives(
    tmp_path: Path,
) -> None:
    store, server = await start(tmp_path, max_line=1000)
    served = Served(store, server)
    assert server.bound_port
    await send(server.bound_port, event_line(1) + b"x" * 5000 + b"\n" + event_line(2))
    await wait_until(lambda: len(served.ids) == 2, what="both events")
    await served.stop()
    await store.close()
    [q] = quarantine_rows(tmp_path / "w.db")
    assert "longer than 1000 bytes (5000 bytes)" in q.reason
    assert q.position == len(event_line(1))


async def test_disconnect_mid_line_loses_only_the_fragment_and_counts_it(tmp_path: Path) -> None:
    store, server = await start(tmp_path)
    served = Served(store, server)
    assert server.bound_port
    await send(server.bound_port, event_line(1) + event_line(2)[:25])
    await wait_until(lambda: served.pipeline.counters.quarantined == 1, what="the fragment")
    await served.stop()
    await store.close()
    assert served.ids == ["1"]
    [q] = quarantine_rows(tmp_path / "w.db")
    assert "disconnected" in q.reason and q.raw == event_line(2)[:25]


async def test_slow_store_pushes_back_on_the_producer(tmp_path: Path) -> None:
    store, server = await start(tmp_path)
    gate = asyncio.Event()
    real_write = store.write

    async def slow_write(batch: WriteBatch) -> int:
        await gate.wait()
        return await real_write(batch)

    store.write = slow_write  # type: ignore[method-assign]
    served = Served(store, server, queue_chunks=2)
    assert server.bound_port
    loop = asyncio.get_running_loop()
    sock = socket.create_connection(("127.0.0.1", server.bound_port))
    sock.setblocking(False)
    last, rest = -1, b""
    try:
        # Send until the kernel refuses more for a while: the server stopped reading.
        for i in range(500_000):
            data = event_line(f"bp{i}")
            try:
                sent = sock.send(data)
            except BlockingIOError:
                await asyncio.sleep(0.05)
                try:
                    sent = sock.send(data)
                except BlockingIOError:
                    last, rest = i, data
                    break
            if sent < len(data):
                last, rest = i, data[sent:]
                break
            if i % 500 == 0:
                await asyncio.sleep(0)
        else:
            raise AssertionError("the producer was never slowed down")
        assert served.pipeline._queue.qsize() <= 2  # bounded, however much was sent
        assert served.ids == []
        gate.set()
        await loop.sock_sendall(sock, rest + event_line("last"))
        sock.close()
        await wait_until(lambda: "last" in served.ids, timeout=30, what="the last event")
    finally:
        gate.set()
        await served.stop()
        await store.close()
    ids = set(served.ids)
    assert len(ids) == len(served.ids)
    assert last > 0 and all(f"bp{i}" in ids for i in range(last + 1))


async def test_unix_socket(tmp_path: Path) -> None:
    store = StoreWriter(tmp_path / "w.db")
    await store.open()
    path = tmp_path / "wb.sock"
    server = SocketServer(unix_path=path)
    await server.start()
    served = Served(store, server)
    _, writer = await asyncio.open_unix_connection(str(path))
    writer.write(event_line(1) + event_line(2))
    await writer.drain()
    writer.close()
    await wait_until(lambda: len(served.ids) == 2, what="two events")
    await served.stop()
    await store.close()
    assert not path.exists()  # the server removes its socket file


async def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        with pytest.raises(UserError, match="already in use"):
            await SocketServer(host="127.0.0.1", port=port).start()
    finally:
        blocker.close()


async def test_unix_path_that_is_a_regular_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "not-a-socket"
    f.write_text("precious")
    with pytest.raises(UserError, match="not a socket"):
        await SocketServer(unix_path=f).start()
    assert f.read_text() == "precious"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tcp://127.0.0.1", "tcp://HOST:PORT"),
        ("tcp://127.0.0.1:notaport", "tcp://HOST:PORT"),
        ("tcp://0.0.0.0:7000", "--listen-any"),
        ("http://example/x", "unknown scheme"),
        ("unix:", "socket path"),
        ("file:", "needs a path"),
    ],
)
def test_bad_feed_urls(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        open_feed(spec)
