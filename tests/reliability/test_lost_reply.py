"""The defect quoted in issue 9: the server applied a write, the reply was lost, the client sent it again.

Redis on one port, a proxy on another that forwards the write and then resets the client instead of
relaying the reply. Before the exactly-once write path the retry stored the message twice.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
import redis.asyncio
from langchain_core.messages import HumanMessage
from redis.backoff import NoBackoff
from redis.retry import Retry

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.endpoint import connect
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
    # No client retry, so each send costs one drop: the first send is applied (reply lost), the
    # three resends are recognised (replies lost too), then the outcome is unknown.
    with ReplyDroppingProxy(server.port, drop_first=4, max_drops=4) as proxy:
        client = redis.Redis(host="127.0.0.1", port=proxy.port, protocol=2, retry=Retry(NoBackoff(), 0))
        h = MemorystoreChatMessageHistory(client, "s")
        message = HumanMessage("maybe")
        with pytest.raises(redis.ConnectionError) as raised:
            h.add_message(message)
        assert type(raised.value).__name__ == "WriteUnconfirmed"
        assert raised.value.attempts == 4  # type: ignore[attr-defined]
        assert proxy.dropped == 4
        assert contents(server, "s") == ["maybe"]  # stored at most once: here, once
        h.add_message(message)  # the same call again: recognised, not stored twice
        h.add_message(HumanMessage("next"))
        client.close()
    assert contents(server, "s") == ["maybe", "next"]
