"""More callers than a client has connections: every write waits for one and lands once, or fails as "not sent".

redis-py 8 caps a pool at 100 connections and raises ``MaxConnectionsError`` for the next caller
before anything is sent. Before, the write path took that for a connection lost after the send and
raised ``WriteUnconfirmed`` ("may or may not have been stored"); 200 async sessions ended 100 short.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio
from langchain_core.messages import HumanMessage

from memstore_nb import MemorystoreChatMessageHistory, aconnect, connect
from memstore_nb.connection.pool import waiting_pool
from memstore_nb.errors import ArgumentError, MemstoreError, NotSent, PoolExhausted, WriteUnconfirmed
from memstore_nb.writes import once

SESSIONS = 200
PER_SESSION = 3


def _sessions_complete(client: Any, prefix: str, sessions: int, per_session: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(sessions):
        pipe.lrange(f"{prefix}{i}", 0, -1)
    stored = pipe.execute()
    expected = [f"m{j}".encode() for j in range(per_session)]
    assert [[raw.split(b'"content": "')[1].split(b'"')[0] for raw in s] for s in stored] == [expected] * sessions


async def _chat(client: Any, prefix: str, sessions: int, read: bool) -> None:
    async def session(i: int) -> None:
        history = MemorystoreChatMessageHistory(client, f"{prefix}{i}")
        for j in range(PER_SESSION):
            await history.aadd_messages([HumanMessage(f"m{j}")])
            if read:
                assert len(await history.aget_messages()) == j + 1

    await asyncio.gather(*(session(i) for i in range(sessions)))


def test_200_async_sessions_on_one_aconnect_client_all_complete(
    any_url: str, any_client: Any, any_session_id: str
) -> None:
    # aconnect's client waits for a connection (reads too); a small pool makes the wait certain.
    async def scenario() -> None:
        client = await aconnect(any_url, max_connections=8)
        try:
            await _chat(client, f"{any_session_id}:", SESSIONS, read=True)
        finally:
            await client.aclose()

    asyncio.run(scenario())
    _sessions_complete(any_client, f"{any_session_id}:", SESSIONS, PER_SESSION)


def test_writes_on_a_plain_async_client_wait_for_its_pool(redis_url: str, client: redis.Redis, session_id: str) -> None:
    # A client the caller made (redis-py's own pool, which raises MaxConnectionsError when full):
    # the writes wait for a connection; nothing is lost, nothing is unconfirmed.
    async def scenario() -> None:
        plain = redis.asyncio.Redis.from_url(redis_url, protocol=2, max_connections=5)
        try:
            await _chat(plain, f"{session_id}:", SESSIONS, read=False)
        finally:
            await plain.aclose()

    asyncio.run(scenario())
    _sessions_complete(client, f"{session_id}:", SESSIONS, PER_SESSION)


def test_more_threads_than_connections_all_write_once(redis_url: str, client: redis.Redis, session_id: str) -> None:
    for label, made in (
        ("connect", connect(redis_url, max_connections=3)),
        ("plain", redis.Redis.from_url(redis_url, protocol=2, max_connections=3)),
    ):
        failures: list[BaseException] = []

        def work(i: int, made: Any = made, label: str = label, failures: list[BaseException] = failures) -> None:
            history = MemorystoreChatMessageHistory(made, f"{session_id}:{label}:{i}")
            try:
                for j in range(PER_SESSION):
                    history.add_message(HumanMessage(f"m{j}"))
            except BaseException as exc:  # collected: the assertion below names it
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        made.close()
        assert failures == []
        _sessions_complete(client, f"{session_id}:{label}:", 24, PER_SESSION)


def _held(pool: Any) -> Callable[[], None]:
    """Take the pool's only connection; returns what gives it back."""
    taken = pool.get_connection()
    return lambda: pool.release(taken)


def test_a_write_that_never_gets_a_connection_is_not_sent(
    redis_url: str, client: redis.Redis, session_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(once, "_POOL_WAIT", 0.3)  # seconds: the test's size, not the library's 10
    plain = redis.Redis.from_url(redis_url, protocol=2, max_connections=1)
    give_back = _held(plain.connection_pool)
    history = MemorystoreChatMessageHistory(plain, session_id)
    for write in (lambda: history.add_message(HumanMessage("a")), lambda: history.add_messages([HumanMessage("b")])):
        with pytest.raises(PoolExhausted) as caught:
            write()
        assert not isinstance(caught.value, WriteUnconfirmed)
        assert isinstance(caught.value, redis.exceptions.ConnectionError) and isinstance(caught.value, MemstoreError)
        assert "was not sent" in str(caught.value) and "max_connections" in str(caught.value)
    assert client.exists(session_id) == 0
    give_back()
    history.add_messages([HumanMessage("c")])  # the same history writes once a connection is free
    assert [m.content for m in MemorystoreChatMessageHistory(client, session_id).messages] == ["c"]
    plain.close()


def test_an_async_write_that_never_gets_a_connection_is_not_sent(
    redis_url: str, client: redis.Redis, session_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(once, "_POOL_WAIT", 0.3)

    async def scenario() -> None:
        plain = redis.asyncio.Redis.from_url(redis_url, protocol=2, max_connections=1)
        taken = await plain.connection_pool.get_connection()
        history = MemorystoreChatMessageHistory(plain, session_id)
        with pytest.raises(PoolExhausted, match="was not sent"):
            await history.aadd_messages([HumanMessage("a")])
        await plain.connection_pool.release(taken)
        await history.aadd_messages([HumanMessage("b")])
        await plain.aclose()

    asyncio.run(scenario())
    assert [m.content for m in MemorystoreChatMessageHistory(client, session_id).messages] == ["b"]


def test_connects_waiting_pool_gives_up_as_not_sent(redis_url: str, client: redis.Redis, session_id: str) -> None:
    # What connect() builds, with a test-sized wait: reads and writes alike say "not sent".
    waiting = waiting_pool(redis.Redis.from_url(redis_url, protocol=2), 1, 0.3)
    give_back = _held(waiting.connection_pool)
    with pytest.raises(PoolExhausted, match="max_connections=1"):
        waiting.ping()
    with pytest.raises(PoolExhausted, match="not sent"):
        MemorystoreChatMessageHistory(waiting, session_id).add_message(HumanMessage("x"))
    give_back()
    assert waiting.ping() is True
    waiting.close()
    assert client.exists(session_id) == 0


def test_max_connections_is_checked() -> None:
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ArgumentError, match="max_connections"):
            connect("redis://127.0.0.1:1", max_connections=bad)  # type: ignore[arg-type]


def test_pool_exhausted_is_picklable_and_says_what_to_do() -> None:
    import pickle

    error = PoolExhausted(f"no connection ({uuid.uuid4().hex})", 1.5, 100)
    assert isinstance(error, NotSent) and isinstance(error, redis.exceptions.MaxConnectionsError)
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.waited, again.limit) == (str(error), 1.5, 100)
