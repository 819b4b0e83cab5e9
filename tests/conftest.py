"""Test harness: one real redis-server (and, when a test asks, one 3-shard cluster) per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any

# Before anything else runs: the suite (and every subprocess, nbval kernel and papermill run it
# starts, which inherit the environment) uses a local store of its own, never the user's.
_STORE_DIR = tempfile.mkdtemp(prefix="memstore-nb-test-store-")
os.environ["MEMSTORE_NB_DATA_DIR"] = _STORE_DIR
# Exports too big for a download link go to files: in a folder of the suite's, never the checkout.
_EXPORT_DIR = tempfile.mkdtemp(prefix="memstore-nb-test-exports-")
os.environ["MEMSTORE_NB_EXPORT_DIR"] = _EXPORT_DIR

import pytest  # noqa: E402
import redis  # noqa: E402
import redis.asyncio  # noqa: E402
import redis.asyncio.cluster  # noqa: E402
import redis.cluster  # noqa: E402

from memstore_nb.local import LocalRedis, LocalRedisCluster, start_local_redis  # noqa: E402

TOPOLOGIES = ("standalone", "cluster")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-url",
        default=None,
        help="use this Redis (e.g. redis://127.0.0.1:6380/0) instead of starting one; it must be disposable",
    )
    parser.addoption(
        "--redis-cluster-url",
        default=None,
        help="use this Redis Cluster (any node's URL) instead of starting a local one; it must be disposable",
    )
    parser.addoption(
        "--topology",
        choices=("any", *TOPOLOGIES),
        default="any",
        help="run only the tests on a standalone server, or only those on a cluster (the compatibility matrix)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the suite's local store (started by whichever test used ``local``) and delete its data."""
    from memstore_nb.local import store as local_store

    os.environ["MEMSTORE_NB_DATA_DIR"] = _STORE_DIR
    local_store.stop()
    shutil.rmtree(_STORE_DIR, ignore_errors=True)
    shutil.rmtree(_EXPORT_DIR, ignore_errors=True)


def _on_cluster(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "topology" in callspec.params:
        return bool(callspec.params["topology"] == "cluster")
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & {"redis_cluster", "redis_cluster_url", "cluster_client", "cluster_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)
    wanted = config.getoption("--topology")
    if wanted != "any":
        keep = [item for item in items if _on_cluster(item) == (wanted == "cluster")]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest) -> Iterator[LocalRedis | None]:
    """The suite's own server (None when --redis-url points at another one)."""
    if request.config.getoption("--redis-url"):
        yield None
        return
    with start_local_redis() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest, redis_server: LocalRedis | None) -> str:
    url = request.config.getoption("--redis-url")
    return url or redis_server.url  # type: ignore[union-attr]


@pytest.fixture()
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client (bytes replies, RESP2), closed after the test."""
    conn = redis.Redis.from_url(redis_url, protocol=2)
    yield conn
    conn.close()


@pytest.fixture()
def text_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client made with decode_responses=True (str replies)."""
    conn = redis.Redis.from_url(redis_url, protocol=2, decode_responses=True)
    yield conn
    conn.close()


@pytest.fixture()
def session_id(client: redis.Redis) -> Iterator[str]:
    """A session id no other test uses; every key starting with it is deleted afterwards."""
    sid = f"test-{uuid.uuid4().hex[:12]}"
    yield sid
    keys = list(client.scan_iter(match=f"*{sid}*"))
    if keys:
        client.delete(*keys)


# -- Redis Cluster ------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_cluster(request: pytest.FixtureRequest) -> Iterator[LocalRedisCluster | None]:
    """The suite's own 3-shard cluster, started on first use (None with --redis-cluster-url)."""
    if request.config.getoption("--redis-cluster-url"):
        yield None
        return
    with start_local_redis(cluster=True, shards=3) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_cluster_url(request: pytest.FixtureRequest, redis_cluster: LocalRedisCluster | None) -> str:
    url = request.config.getoption("--redis-cluster-url")
    return url or redis_cluster.url  # type: ignore[union-attr]


@pytest.fixture()
def cluster_client(redis_cluster_url: str) -> Iterator[redis.cluster.RedisCluster]:
    """A RedisCluster client (bytes replies, RESP2), closed after the test."""
    conn = redis.cluster.RedisCluster.from_url(redis_cluster_url, protocol=2)
    yield conn
    conn.close()


# -- the same test on a standalone server and on a cluster ----------------------


@pytest.fixture(params=TOPOLOGIES)
def topology(request: pytest.FixtureRequest) -> str:
    """``"standalone"`` or ``"cluster"``: a test using the ``any_*`` fixtures runs once on each."""
    return str(request.param)


@pytest.fixture()
def any_url(request: pytest.FixtureRequest, topology: str) -> str:
    # Looked up lazily, so the cluster starts only when a cluster test runs.
    return str(request.getfixturevalue("redis_url" if topology == "standalone" else "redis_cluster_url"))


@pytest.fixture()
def client_factory(topology: str, any_url: str) -> Iterator[Callable[..., Any]]:
    """``client_factory(decode_responses=False, asyncio=False)``: a new client of this test's topology.

    Sync clients are closed after the test; an asyncio client must be closed (``aclose()``) by the
    test, inside its event loop.
    """
    opened: list[Any] = []

    def make(*, decode_responses: bool = False, asyncio: bool = False) -> Any:
        if topology == "standalone":
            cls: Any = redis.asyncio.Redis if asyncio else redis.Redis
        else:
            cls = redis.asyncio.cluster.RedisCluster if asyncio else redis.cluster.RedisCluster
        conn = cls.from_url(any_url, protocol=2, decode_responses=decode_responses)
        if not asyncio:
            opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


@pytest.fixture()
def any_client(client_factory: Callable[..., Any]) -> redis.Redis | redis.cluster.RedisCluster:
    """A ``redis.Redis`` or a ``RedisCluster`` (bytes replies, RESP2), by ``topology``."""
    return client_factory()  # type: ignore[no-any-return]


@pytest.fixture()
def any_text_client(client_factory: Callable[..., Any]) -> redis.Redis | redis.cluster.RedisCluster:
    """Like ``any_client``, made with decode_responses=True."""
    return client_factory(decode_responses=True)  # type: ignore[no-any-return]


@pytest.fixture()
def any_session_id(any_client: redis.Redis | redis.cluster.RedisCluster) -> Iterator[str]:
    """A unique session id; every key containing it is deleted afterwards (on every shard of a cluster)."""
    sid = f"test-{uuid.uuid4().hex[:12]}"
    yield sid
    keys = list(any_client.scan_iter(match=f"*{sid}*"))
    if keys:
        any_client.delete(*keys)
