"""list(None): SCAN in batches, one pipelined round trip per batch, the same rows as a thread-by-thread walk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis.asyncio.connection
import redis.connection
from redis.cluster import RedisCluster

from memstore_nb.checkpoint import list_threads
from memstore_nb.checkpoint.listing import BATCH, FIRST_PAGE
from memstore_nb.checkpoint.saver import MemorystoreSaver

SHORT, LONG, LONG_LEN = 230, 3, FIRST_PAGE * 2 + 5


@pytest.fixture()
def stored(client_factory: Callable[..., Any]) -> Iterator[tuple[str, Any]]:
    """A key prefix holding SHORT threads of one or two checkpoints and LONG threads of LONG_LEN."""
    prefix = f"la{uuid.uuid4().hex[:10]}:"
    admin = client_factory()
    saver = MemorystoreSaver(admin, key_prefix=prefix)
    for i in range(SHORT + LONG):
        conf: dict[str, Any] = {"configurable": {"thread_id": f"t{i}", "checkpoint_ns": ""}}
        for n in range(LONG_LEN if i >= SHORT else 1 + i % 2):
            ckpt = {
                "v": 1,
                "id": f"1f0{n:05}-{i:04}-6000-8000-000000000000",
                "ts": "2026-01-01T00:00:00+00:00",
                "channel_values": {"n": n},
                "channel_versions": {"n": f"{n + 1:08}.000000"},
                "versions_seen": {},
                "updated_channels": None,
            }
            conf = saver.put(conf, ckpt, {"source": "loop", "step": n, "odd": n % 2}, {"n": f"{n + 1:08}.000000"})
    yield prefix, admin
    for key in list(admin.scan_iter(match=f"{prefix}*", count=1000)):
        admin.delete(key)


class Trips:
    """Counts the requests redis-py sends that carry a script call (a pipeline is one request per node)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        sync_send = redis.connection.AbstractConnection.send_packed_command
        async_send = redis.asyncio.connection.AbstractConnection.send_packed_command

        def scripted(command: Any) -> bool:
            parts = command if isinstance(command, (list, tuple)) else [command]
            return any(b"EVAL" in bytes(p) for p in parts)

        def counted(conn: Any, command: Any, *a: Any, **k: Any) -> Any:
            self.count += scripted(command)
            return sync_send(conn, command, *a, **k)

        async def acounted(conn: Any, command: Any, *a: Any, **k: Any) -> Any:
            self.count += scripted(command)
            return await async_send(conn, command, *a, **k)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
        monkeypatch.setattr(redis.asyncio.connection.AbstractConnection, "send_packed_command", acounted)


def rows(items: Any) -> list[tuple[str, str]]:
    return [(t.config["configurable"]["thread_id"], t.config["configurable"]["checkpoint_id"]) for t in items]


def walk(saver: MemorystoreSaver, client: Any, prefix: str, limit: int | None, **kw: Any) -> list[tuple[str, str]]:
    """The reference: every thread in SCAN order, one list() call each."""
    out: list[tuple[str, str]] = []
    for thread_id in list_threads(client, key_prefix=prefix):
        out += rows(saver.list({"configurable": {"thread_id": thread_id}}, **kw))
    return out if limit is None else out[:limit]


def nodes(client: Any) -> int:
    return len(client.get_primaries()) if isinstance(client, RedisCluster) else 1


@pytest.mark.parametrize("decode_responses", [False, True])
def test_list_all_batches_threads_and_keeps_the_walk_order(
    stored: tuple[str, Any], client_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, decode_responses: bool
) -> None:
    prefix, admin = stored
    client = client_factory(decode_responses=decode_responses)
    saver = MemorystoreSaver(client, key_prefix=prefix)
    before = {"configurable": {"checkpoint_id": f"1f0{FIRST_PAGE + 2:05}"}}
    cases: list[tuple[int | None, dict[str, Any]]] = [
        (100, {}),
        (7, {}),
        (None, {}),
        (40, {"filter": {"odd": 1}}),
        (None, {"before": before}),
    ]
    for limit, kw in cases:
        expected = walk(saver, admin, prefix, limit, **kw)
        assert len(expected) == (limit or len(expected)) and expected
        assert rows(saver.list(None, limit=limit, **kw)) == expected, (limit, kw)

    trips = Trips(monkeypatch)
    got = rows(saver.list(None, limit=100))
    assert len(got) == 100
    # One pipelined request per node per batch of up to BATCH threads, plus one per long thread continued;
    # a thread-by-thread walk makes at least one request per thread (here ~70).
    assert trips.count <= nodes(client) * 1 + LONG, trips.count
    trips.count = 0
    everything = rows(saver.list(None))
    assert len(everything) == SHORT * 3 // 2 + LONG * LONG_LEN
    batches = -(-(SHORT + LONG) // BATCH)
    assert trips.count <= nodes(client) * batches + LONG, trips.count


def test_alist_all_batches_threads_on_an_asyncio_client(
    stored: tuple[str, Any], client_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, admin = stored
    reference = MemorystoreSaver(admin, key_prefix=prefix)
    expected = {limit: walk(reference, admin, prefix, limit) for limit in (100, None)}
    filtered = walk(reference, admin, prefix, 30, filter={"odd": 1})

    async def scenario() -> tuple[dict[int | None, list[tuple[str, str]]], list[tuple[str, str]], int]:
        client = client_factory(asyncio=True)
        try:
            saver = MemorystoreSaver(client, key_prefix=prefix)
            got_filtered = rows([t async for t in saver.alist(None, limit=30, filter={"odd": 1})])
            trips = Trips(monkeypatch)
            got: dict[int | None, list[tuple[str, str]]] = {}
            for limit in (100, None):
                got[limit] = rows([t async for t in saver.alist(None, limit=limit)])
            return got, got_filtered, trips.count
        finally:
            await client.aclose()

    got, got_filtered, count = asyncio.run(scenario())
    assert got == expected and got_filtered == filtered
    batches = -(-(SHORT + LONG) // BATCH)
    assert count <= nodes(admin) * (1 + batches) + 2 * LONG, count


def test_list_all_loads_its_script_when_the_servers_forgot_it(
    stored: tuple[str, Any], client_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, admin = stored
    saver = MemorystoreSaver(client_factory(), key_prefix=prefix)
    expected = walk(saver, admin, prefix, 100)

    def flush() -> None:
        if isinstance(admin, RedisCluster):
            for node in admin.get_primaries():
                admin.get_redis_connection(node).script_flush()
        else:
            admin.script_flush()

    flush()
    trips = Trips(monkeypatch)
    assert rows(saver.list(None, limit=100)) == expected
    # The EVALSHA pipeline, then one EVAL pipeline for the calls that met NOSCRIPT (per primary).
    assert trips.count <= 2 * nodes(admin) + LONG, trips.count
    flush()

    async def scenario() -> list[tuple[str, str]]:
        client = client_factory(asyncio=True)
        try:
            return rows([t async for t in MemorystoreSaver(client, key_prefix=prefix).alist(None, limit=100)])
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == expected
