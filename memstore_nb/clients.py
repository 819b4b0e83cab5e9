"""The Redis clients memstore-nb takes (redis-py's sync, async and cluster clients), and what to ask of one."""

from __future__ import annotations

import codecs
from typing import Union

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

__all__ = ["AnyClient", "AsyncClient", "SyncClient", "encodes_utf8", "is_async"]

SyncClient = Union[redis.Redis, redis.cluster.RedisCluster]
AsyncClient = Union[redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster]
AnyClient = Union[SyncClient, AsyncClient]


def is_async(client: object) -> bool:
    """Whether ``client`` is a ``redis.asyncio`` client (its commands are awaited)."""
    return isinstance(client, (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster))


def encodes_utf8(client: object) -> bool:
    """Whether the client encodes text as UTF-8 (redis-py's default), so that text a write sends can go
    as bytes encoded once: redis-py's per-argument type checks and encoding cost about a microsecond
    per argument, a tenth of what the exactly-once script adds to a write."""
    try:
        return codecs.lookup(client.get_encoder().encoding).name == "utf-8"  # type: ignore[attr-defined]
    except Exception:  # a client without redis-py's encoder: let it encode as it does
        return False
