"""Fixtures for the notebook, demo and command-line tests: a cluster, a clean database, background commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from nbtest_helpers import Background, db_url

from memstore_nb.local import start_local_redis


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A real 3-shard Redis Cluster for the tests that need one (Method 2 of the walkthrough)."""
    with start_local_redis(cluster=True) as cluster:
        yield cluster.url


@pytest.fixture()
def fresh_db(redis_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, redis.Redis]]:
    """A database of the suite's Redis that only this test uses, empty before and after: (url, client)."""
    db = 10 + sum(map(ord, request.node.name)) % 6  # 10..15: away from db 0 that the other tests share
    url = db_url(redis_url, db)
    client = redis.Redis.from_url(url, protocol=2, decode_responses=True)
    client.flushdb()
    yield url, client
    client.flushdb()
    client.close()


@pytest.fixture()
def spawn() -> Iterator[Callable[..., Background]]:
    """``spawn(*args)`` starts a long-running command; whatever is left of it is killed after the test."""
    started: list[Background] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Background:
        started.append(Background(*args, env=env))
        return started[-1]

    yield start
    for command in started:
        command.stop()
