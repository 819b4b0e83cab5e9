"""sending.command: the same reply and the same errors as ``execute_command``, on redis-py's own connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.cluster
import redis.exceptions

from memstore_nb.connection import connect
from memstore_nb.sending import command, is_direct

pytestmark = pytest.mark.integration

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
