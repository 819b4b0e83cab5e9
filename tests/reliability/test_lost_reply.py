"""The defect quoted in issue 9: the server applied a write, the reply was lost, the client sent it again.

Redis on one port, a proxy on another that forwards the write and then resets the client instead of
relaying the reply. Before the exactly-once write path the retry stored the message twice.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
import redis
import redis.asyncio
from langchain_core.messages import HumanMessage
from redis.backoff import NoBackoff
from redis.retry import Retry

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.connection import connect
from memstore_nb.errors import WriteUnconfirmed
from memstore_nb.local import LocalRedis, start_local_redis

from .faults import ReplyDroppingProxy, admin

pytestmark = pytest.mark.reliability


@pytest.fixture()
def server() -> LocalRedis:
    with start_local_redis() as local:
        yield local


def contents(server: LocalRedis, key: str) -> list[str]:
    with admin(server.port) as conn:
        return [json.loads(raw)["data"]["content"] for raw in conn.lrange(key, 0, -1)]


def test_quoted_defect_connect_client_stores_the_one_once(server: LocalRedis) -> None:
    with ReplyDroppingProxy(server.port, drop_first=1) as proxy:
        h = MemorystoreChatMessageHistory(connect(f"redis://127.0.0.1:{proxy.port}", timeout=2), "s")
        h.add_message(HumanMessage("the-one"))  # returns normally
        assert proxy.dropped == 1, "the proxy did not drop the write's reply"
    assert contents(server, "s") == ["the-one"]


def test_plain_redis_py_client_with_its_default_retry_stores_once(server: LocalRedis) -> None:
    with ReplyDroppingProxy(server.port, drop_first=1) as proxy:
        client = redis.Redis(host="127.0.0.1", port=proxy.port, protocol=2, socket_timeout=2)
        MemorystoreChatMessageHistory(client, "s").add_messages([HumanMessage("a"), HumanMessage("b")])
        client.close()
        assert proxy.dropped == 1
    assert contents(server, "s") == ["a", "b"]


def test_asyncio_client_with_its_default_retry_stores_once(server: LocalRedis) -> None:
    async def main(port: int) -> None:
        client = redis.asyncio.Redis(host="127.0.0.1", port=port, protocol=2, socket_timeout=2)
        try:
            await MemorystoreChatMessageHistory(client, "s").aadd_messages([HumanMessage("the-one")])
        finally:
            await client.aclose()

    with ReplyDroppingProxy(server.port, drop_first=1) as proxy:
        asyncio.run(main(proxy.port))
        assert proxy.dropped == 1
    assert contents(server, "s") == ["the-one"]


def test_write_unconfirmed_then_the_same_call_again_stores_once(server: LocalRedis) -> None:
    # No client retry, so each send costs one drop: the first send is applied (reply lost), every
    # resend is recognised (reply lost too), then the outcome is unknown.
    with ReplyDroppingProxy(server.port, drop_first=100) as proxy:
        client = redis.Redis(host="127.0.0.1", port=proxy.port, protocol=2, retry=Retry(NoBackoff(), 0))
        h = MemorystoreChatMessageHistory(client, "s")
        message = HumanMessage("maybe")
        with pytest.raises(redis.ConnectionError) as raised:
            h.add_message(message)
        proxy.drop_first = 0  # the connection heals
        assert type(raised.value).__name__ == "WriteUnconfirmed"
        assert raised.value.attempts == proxy.dropped >= 2  # type: ignore[attr-defined]
        assert contents(server, "s") == ["maybe"]  # stored at most once: here, once
        h.add_message(message)  # the same call again: recognised, not stored twice
        h.add_message(HumanMessage("next"))
        client.close()
    assert contents(server, "s") == ["maybe", "next"]


# A Lua script that keeps the server busy for about a second (read-only, so it ends by itself).
_BUSY_SCRIPT = b"local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2]; local n = s; " + (
    b"while n - s < 1000000 do t = redis.call('TIME'); n = t[1] * 1000000 + t[2] end; return 1"
)


def _start_busy_script(port: int, opened: list[socket.socket]) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    opened.append(sock)
    sock.sendall(b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(_BUSY_SCRIPT), _BUSY_SCRIPT))
    time.sleep(0.2)  # past lua-time-limit: from now on every other client gets -BUSY


def test_an_error_after_a_lost_reply_says_write_unconfirmed_and_the_same_call_stores_once() -> None:
    # The first send is applied and its reply lost; the resend meets a server busy with another
    # client's script (-BUSY, a plain ResponseError). The outcome of the call is still unknown: the
    # first send was applied. The error must say so, and the same call again must not store it twice.
    opened: list[socket.socket] = []
    with start_local_redis(args=["--lua-time-limit", "50"]) as server:
        with ReplyDroppingProxy(
            server.port, drop_first=1, on_drop=lambda: _start_busy_script(server.port, opened)
        ) as proxy:
            client = redis.Redis(host="127.0.0.1", port=proxy.port, protocol=2, retry=Retry(NoBackoff(), 0))
            h = MemorystoreChatMessageHistory(client, "s")
            message = HumanMessage("applied-then-busy")
            with pytest.raises(redis.RedisError) as raised:
                h.add_message(message)
            assert "BUSY" in str(raised.value)
            assert isinstance(raised.value, WriteUnconfirmed), repr(raised.value)
            time.sleep(1.2)  # the busy script ends
            assert contents(server, "s") == ["applied-then-busy"]  # the first send was applied
            h.add_message(message)
            client.close()
        for sock in opened:
            sock.close()
        assert contents(server, "s") == ["applied-then-busy"]
