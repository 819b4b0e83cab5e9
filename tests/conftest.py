"""Test harness: one real redis-server per test session, started on a free loopback port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from memstore_nb.local import LocalRedis, start_local_redis


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-url",
        default=None,
        help="use this Redis (e.g. redis://127.0.0.1:6380/0) instead of starting one; it must be disposable",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


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
