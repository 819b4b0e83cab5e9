"""start_local_redis(): one embedded server or a small cluster, started and waited for; the per-process shared ones."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Literal, overload

from ..errors import ArgumentError, RedisStartError
from .binary import find_redis_binary
from .cluster import LocalRedisCluster, start_cluster
from .server import LocalRedis, free_port

__all__ = ["shared_local_redis", "start_local_redis"]


@overload
def start_local_redis(
    port: int | None = ...,
    *,
    cluster: Literal[False] = ...,
    shards: int = ...,
    replicas: int = ...,
    binary: str | None = ...,
    args: Sequence[str] = ...,
    tls: bool = ...,
    timeout: float = ...,
    create_with: str = ...,
) -> LocalRedis: ...


@overload
def start_local_redis(
    port: int | None = ...,
    *,
    cluster: Literal[True],
    shards: int = ...,
    replicas: int = ...,
    binary: str | None = ...,
    args: Sequence[str] = ...,
    tls: bool = ...,
    timeout: float = ...,
    create_with: str = ...,
) -> LocalRedisCluster: ...


def start_local_redis(
    port: int | None = None,
    *,
    cluster: bool = False,
    shards: int = 3,
    replicas: int = 0,
    binary: str | None = None,
    args: Sequence[str] = (),
    tls: bool = False,
    timeout: float = 15.0,
    create_with: str = "auto",
) -> LocalRedis | LocalRedisCluster:
    """Start a real ``redis-server`` (or a small Redis Cluster) on 127.0.0.1 and wait until it answers.

    Args:
        port: TCP port (of the first node, for a cluster); a free one is chosen when ``None``.
        cluster: start ``shards * (1 + replicas)`` nodes in cluster mode, create the
            cluster and wait for ``cluster_state:ok``; returns a :class:`LocalRedisCluster`.
        shards: primaries of the cluster (each serves an equal share of the 16384 slots).
        replicas: replicas per primary.
        binary: the ``redis-server`` to run; found with :func:`find_redis_binary` when ``None``.
        args: extra server arguments (for every node), e.g. ``["--requirepass", "s3cret"]``.
        tls: the ``args`` configure a ``--tls-port`` equal to ``port``; ``.url`` is ``rediss://``.
            Not available with ``cluster=True``.
        timeout: seconds to wait for the server (each node, then the cluster) to be ready.
        create_with: how a cluster is formed: ``"redis-cli"`` (``--cluster create``, with the
            ``redis-cli`` next to ``binary``), ``"commands"`` (CLUSTER ADDSLOTS / MEET / REPLICATE
            through redis-py), or ``"auto"`` (redis-cli when there is one).

    Returns:
        A running :class:`LocalRedis` or :class:`LocalRedisCluster`; use it as a context
        manager or call ``.stop()``.

    Raises:
        RedisBinaryNotFound: no binary; the message says how to install one.
        RedisStartError: a server died or did not answer; the message holds its log tail.
        ArgumentError: ``shards``/``replicas`` out of range, or ``tls`` with ``cluster``.

    Example:
        >>> with start_local_redis() as server:  # doctest: +SKIP
        ...     client = redis.Redis.from_url(server.url)
        >>> with start_local_redis(cluster=True, shards=3) as nodes:  # doctest: +SKIP
        ...     client = redis.cluster.RedisCluster.from_url(nodes.url)
    """
    exe = binary or find_redis_binary()
    if cluster:
        if tls:
            raise ArgumentError("tls=True is not available with cluster=True in the local launcher", tls)
        return start_cluster(port, exe, args, shards, replicas, timeout, create_with)
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        server = LocalRedis(port if port is not None else free_port(), exe, args, tls=tls)
        try:
            return server.start(timeout)
        except RedisStartError as exc:
            server.stop()
            # Another process may have taken the port between our probe and the bind.
            if attempt + 1 == attempts or "Address already in use" not in exc.log_tail:
                raise
    raise AssertionError("unreachable")


_shared: LocalRedis | None = None
_shared_cluster: LocalRedisCluster | None = None
_shared_lock = threading.Lock()


@overload
def shared_local_redis(cluster: Literal[False] = ...) -> LocalRedis: ...


@overload
def shared_local_redis(cluster: Literal[True]) -> LocalRedisCluster: ...


def shared_local_redis(cluster: bool = False) -> LocalRedis | LocalRedisCluster:
    """A throw-away embedded server (or, when ``cluster`` is true, the 3-shard cluster behind
    ``ENDPOINT = "local-cluster"``): started once per process, then reused, gone when it ends.
    ``ENDPOINT = "local"`` is the persistent store of :mod:`memstore_nb.local.store` instead."""
    global _shared, _shared_cluster
    with _shared_lock:
        if cluster:
            if _shared_cluster is None or not _shared_cluster.running:
                if _shared_cluster is not None:
                    _shared_cluster.stop()
                _shared_cluster = start_local_redis(cluster=True)
            return _shared_cluster
        if _shared is None or not _shared.running:
            _shared = start_local_redis()
        return _shared
