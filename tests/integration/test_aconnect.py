"""aconnect(): the async twin of connect(), on real servers (standalone, AUTH, cluster, local)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio
import redis.asyncio.cluster
from helpers.servers import AUTH_STRING, auth_server  # noqa: F401  (fixture)
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory, aconnect
from memstore_nb.connection.retry import AsyncBoundedRetry
from memstore_nb.errors import AuthenticationFailed, ConnectionRefused
from memstore_nb.local import LocalRedis, free_port


def test_aconnect_standalone_pins_resp2_and_the_retry_policy(redis_url: str) -> None:
    async def scenario() -> None:
        client = await aconnect(redis_url, timeout=2.0)
        try:
            assert isinstance(client, redis.asyncio.Redis)
            kwargs = client.connection_pool.connection_kwargs
            assert kwargs["protocol"] == 2 and kwargs["socket_timeout"] == 2.0
            retry = kwargs.get("retry") or client.get_retry()
            assert isinstance(retry, AsyncBoundedRetry) and retry.budget == 5.0
            history = MemorystoreChatMessageHistory(client, f"aconnect-{uuid.uuid4().hex}")
            await history.aadd_messages([HumanMessage("q"), AIMessage("a")])
            assert [m.content for m in await history.aget_messages()] == ["q", "a"]
            await history.aclear()
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_aconnect_cluster(redis_cluster_url: str) -> None:
    async def scenario() -> None:
        client = await aconnect(redis_cluster_url, timeout=2.0)
        try:
            assert isinstance(client, redis.asyncio.cluster.RedisCluster)
            history = MemorystoreChatMessageHistory(client, f"aconnect-{uuid.uuid4().hex}", ttl=60)
            await history.aadd_messages([HumanMessage("on a shard")])
            assert [m.content for m in await history.aget_messages()] == ["on a shard"]
            await history.aclear()
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_aconnect_errors_are_the_same_and_secret_free(auth_server: LocalRedis) -> None:  # noqa: F811
    url = f"redis://127.0.0.1:{auth_server.port}"

    async def scenario() -> None:
        ok = await aconnect(url, password=AUTH_STRING, timeout=1.0)
        assert await ok.ping() is True
        assert AUTH_STRING not in repr(ok) and AUTH_STRING not in repr(ok.connection_pool)
        await ok.aclose()
        with pytest.raises(AuthenticationFailed) as err:
            await aconnect(url, password=AUTH_STRING + "-typo", timeout=1.0)
        assert AUTH_STRING not in str(err.value)
        with pytest.raises(ConnectionRefused):
            await aconnect(f"redis://127.0.0.1:{free_port()}", timeout=1.0)

    asyncio.run(scenario())
