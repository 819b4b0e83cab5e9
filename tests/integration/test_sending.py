"""sending.command: the same reply and the same errors as ``execute_command``, on redis-py's own connections."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.cluster
import redis.connection
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from memstore_nb import sending
from memstore_nb.connection import connect
from memstore_nb.sending import command, is_direct

pytestmark = pytest.mark.integration
keeping = pytest.mark.skipif(not sending.KEEPS, reason="redis-py 5: sending keeps no connections (documented)")

_ECHO = "return {ARGV[1], tonumber(ARGV[2]) + 1, KEYS[1]}"


@pytest.fixture()
def small_pool_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, max_connections=1)
    yield client
    client.close()


def test_a_plain_client_is_sent_on_directly(client: redis.Redis, text_client: redis.Redis) -> None:
    assert is_direct(client) and is_direct(text_client)


def test_clients_it_cannot_stand_in_for_get_execute_command(redis_url: str, redis_cluster_url: str) -> None:
    class Traced(redis.Redis):
        def execute_command(self, *args: Any, **options: Any) -> Any:
            return super().execute_command(*args, **options)

    patched = redis.Redis.from_url(redis_url)
    seen: list[tuple[Any, ...]] = []
    original = patched.execute_command
    patched.execute_command = lambda *a, **k: seen.append(a) or original(*a, **k)  # type: ignore[method-assign]
    single = redis.Redis.from_url(redis_url, single_connection_client=True)
    cluster = redis.cluster.RedisCluster.from_url(redis_cluster_url)
    asynchronous = redis.asyncio.Redis.from_url(redis_url)
    try:
        for client in (Traced.from_url(redis_url), patched, single, cluster, asynchronous):
            assert not is_direct(client), type(client)
        assert command(patched, "EVAL", _ECHO, 1, "k", "a", 1) == [b"a", 2, b"k"]
        assert seen == [("EVAL", _ECHO, 1, "k", "a", 1)]  # tracing still sees the command
        assert command(single, "EVAL", _ECHO, 1, "k", "a", 1, never_decode=True) == [b"a", 2, b"k"]
        assert command(cluster, "EVAL", _ECHO, 1, "{x}k", "a", 1) == [b"a", 2, b"{x}k"]
    finally:
        for closing in (patched, single, cluster):
            closing.close()


@pytest.mark.parametrize("never_decode", [False, True])
def test_the_reply_is_what_execute_command_gives(
    client: redis.Redis, text_client: redis.Redis, never_decode: bool
) -> None:
    for each in (client, text_client):
        options = {"NEVER_DECODE": True} if never_decode else {}
        expected = each.execute_command("EVAL", _ECHO, 1, "kéy", "välue", 41, **options)
        assert command(each, "EVAL", _ECHO, 1, "kéy", "välue", 41, never_decode=never_decode) == expected
    assert command(text_client, "EVAL", _ECHO, 1, "k", "v", 1) == ["v", 2, "k"]
    assert command(text_client, "EVAL", _ECHO, 1, "k", "v", 1, never_decode=True) == [b"v", 2, b"k"]


def test_errors_are_the_same_and_the_connection_goes_back_to_the_pool(small_pool_client: redis.Redis) -> None:
    client = small_pool_client  # one connection: a connection kept by any call would fail the next
    with pytest.raises(redis.exceptions.NoScriptError):
        command(client, "EVALSHA", "0" * 40, 0)
    with pytest.raises(redis.exceptions.ResponseError, match="boom"):
        command(client, "EVAL", "return redis.error_reply('boom')", 0)
    for n in range(50):
        assert command(client, "EVAL", "return ARGV[1]", 0, n) == str(n).encode()
    assert client.ping()


def test_a_dropped_connection_is_met_as_execute_command_meets_it(redis_url: str, client: redis.Redis) -> None:
    """redis-py's retry (the connection's own policy) reconnects, or the error is the same."""
    outcomes = []
    for send in (
        lambda c: c.execute_command("EVAL", "return 7", 0),
        lambda c: command(c, "EVAL", "return 7", 0),
    ):
        sender = redis.Redis.from_url(redis_url, client_name="sending-dropped")
        sender.ping()
        client.client_kill_filter(_type="normal", skipme=True)
        try:
            outcomes.append(send(sender))
        except redis.exceptions.ConnectionError as exc:
            outcomes.append(type(exc))
        finally:
            sender.close()
    assert outcomes[0] == outcomes[1]


def test_connect_clients_keep_their_retry_policy(redis_url: str, client: redis.Redis) -> None:
    sender = connect(redis_url)
    try:
        assert is_direct(sender)
        sender.ping()
        client.client_kill_filter(_type="normal", skipme=True)
        assert command(sender, "EVAL", "return 7", 0) == 7  # reconnected by connect()'s patient retry
    finally:
        sender.close()


def test_a_reply_cut_off_by_a_timeout_is_never_read_as_the_next_reply(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=0.1, max_connections=1)
    try:
        busy = (
            "local t = redis.call('TIME') local s = t[1] + t[2] / 1e6 "
            "repeat t = redis.call('TIME') until t[1] + t[2] / 1e6 > s + 0.4 return 'late'"
        )
        with pytest.raises(redis.exceptions.TimeoutError):
            command(client, "EVAL", busy, 0)  # sent again by redis-py's retry, each time cut off
        with redis.Redis.from_url(redis_url, socket_timeout=10) as waiter:
            waiter.ping()  # answered once the server has run every busy script it was sent
        assert command(client, "EVAL", "return 'next'", 0) == b"next"
    finally:
        client.close()


@pytest.fixture()
def checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a pool checked a connection it lends for unread data (redis-py's ``can_read``)."""
    counted = [0]
    original = redis.connection.AbstractConnection.can_read

    def counting(self: Any, timeout: float = 0) -> bool:
        counted[0] += 1
        return bool(original(self, timeout))

    monkeypatch.setattr(redis.connection.AbstractConnection, "can_read", counting)
    return counted


def _kept(client: redis.Redis) -> sending.Kept:
    kept = getattr(client.connection_pool, sending.KEPT)
    assert isinstance(kept, sending.Kept)
    return kept


@keeping
def test_a_connection_that_read_its_whole_reply_is_used_again_unchecked(redis_url: str, checks: list[int]) -> None:
    """The pool's check costs three system calls that each let go of the GIL: a kept connection skips it."""
    client = redis.Redis.from_url(redis_url)
    try:
        for n in range(30):
            assert command(client, "EVAL", "return ARGV[1]", 0, n) == str(n).encode()
        with pytest.raises(redis.exceptions.ResponseError, match="boom"):
            command(client, "EVAL", "return redis.error_reply('boom')", 0)  # read whole: still in step
        assert command(client, "EVAL", "return 'after'", 0) == b"after"
        assert checks[0] == 1  # the first connection the pool lent; every command after it used that one
        assert len(_kept(client).idle) == 1
    finally:
        client.close()


def test_a_connection_idle_too_long_goes_back_through_the_pools_check(
    redis_url: str, checks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending, "FRESH", 0.0)
    client = redis.Redis.from_url(redis_url)
    try:
        for n in range(5):
            assert command(client, "EVAL", "return ARGV[1]", 0, n) == str(n).encode()
        assert checks[0] == 5
    finally:
        client.close()


def test_small_or_blocking_pools_never_lose_a_connection_to_keeping(redis_url: str, checks: list[int]) -> None:
    small = redis.Redis.from_url(redis_url, max_connections=sending.KEEP * 8 - 1)
    blocking = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(redis_url, max_connections=50))
    try:
        for client in (small, blocking):
            for n in range(3):
                assert command(client, "EVAL", "return ARGV[1]", 0, n) == str(n).encode()
            assert not _kept(client).allowed and not _kept(client).idle
        assert checks[0] == 6
    finally:
        small.close()
        blocking.close()


@keeping
def test_a_kept_connection_the_server_closed_meets_the_retry_policy(
    redis_url: str, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket the server closed while kept: connect()'s retry reconnects unseen; past FRESH the pool's check
    replaces it; within FRESH a client without retries gets the ConnectionError, as for a close during a command."""
    monkeypatch.setattr(sending, "FRESH", 30.0)
    patient = connect(redis_url)
    bare = redis.Redis.from_url(redis_url, retry=Retry(NoBackoff(), 0))
    try:
        for sender in (patient, bare):
            assert command(sender, "EVAL", "return 1", 0) == 1
        client.client_kill_filter(_type="normal", skipme=True)
        assert command(patient, "EVAL", "return 2", 0) == 2
        with pytest.raises(redis.exceptions.ConnectionError):
            command(bare, "EVAL", "return 2", 0)
        assert command(bare, "EVAL", "return 3", 0) == 3  # the closed one was not kept
        monkeypatch.setattr(sending, "FRESH", 0.0)
        client.client_kill_filter(_type="normal", skipme=True)
        assert command(bare, "EVAL", "return 4", 0) == 4
    finally:
        patient.close()
        bare.close()


@keeping
def test_close_closes_the_kept_connections(redis_url: str, client: redis.Redis) -> None:
    name = "sending-kept-close"
    sender = redis.Redis.from_url(redis_url, client_name=name)
    assert command(sender, "EVAL", "return 1", 0) == 1
    assert len(_kept(sender).idle) == 1
    assert [c for c in client.client_list() if c["name"] == name]
    sender.close()
    deadline = time.monotonic() + 5
    while [c for c in client.client_list() if c["name"] == name] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [c for c in client.client_list() if c["name"] == name]


def _lend(pool: Any) -> Any:
    try:
        return pool.get_connection()
    except TypeError:  # redis-py 5 wants the command's name
        return pool.get_connection("EVAL")


@keeping
def test_a_full_waiting_pool_takes_the_kept_connections_back(redis_url: str) -> None:
    sender = connect(redis_url, max_connections=sending.KEEP * 8)
    pool = sender.connection_pool
    lent = []
    try:
        assert command(sender, "EVAL", "return 1", 0) == 1
        assert len(_kept(sender).idle) == 1
        lent = [_lend(pool) for _ in range(pool.max_connections - 1)]
        started = time.monotonic()
        lent.append(_lend(pool))  # the kept one: no wait for the pool's timeout
        assert time.monotonic() - started < 1.0
        assert not _kept(sender).idle
    finally:
        for conn in lent:
            pool.release(conn)
        sender.close()


def test_threads_share_kept_connections_without_crossing_replies(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    wrong: list[tuple[int, int, Any]] = []

    def run(worker: int) -> None:
        for n in range(150):
            reply = command(client, "EVAL", "return ARGV[1]", 0, f"{worker}:{n}")
            if reply != f"{worker}:{n}".encode():
                wrong.append((worker, n, reply))

    threads = [threading.Thread(target=run, args=(w,)) for w in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not wrong
        assert len(_kept(client).idle) <= sending.KEEP + len(threads)
    finally:
        client.close()


def _child_commands(url: str, out: Any) -> None:
    client = _FORKED[0]
    replies = [command(client, "EVAL", "return ARGV[1]", 0, f"child:{n}") for n in range(100)]
    out.put(all(r == f"child:{n}".encode() for n, r in enumerate(replies)))


_FORKED: list[redis.Redis] = []


@keeping
def test_a_forked_process_never_uses_its_parents_kept_connection(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    _FORKED[:] = [client]
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    try:
        assert command(client, "EVAL", "return 1", 0) == 1
        assert len(_kept(client).idle) == 1
        child = context.Process(target=_child_commands, args=(redis_url, out))
        child.start()
        mine = [command(client, "EVAL", "return ARGV[1]", 0, f"parent:{n}") for n in range(100)]
        assert out.get(timeout=30) is True
        child.join(timeout=30)
        assert child.exitcode == 0
        assert mine == [f"parent:{n}".encode() for n in range(100)]
    finally:
        _FORKED.clear()
        client.close()
