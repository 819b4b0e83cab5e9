"""Finding out whether the server has vector search, and creating the store's index where it does.

Memorystore for Valkey and for Redis Cluster keep an index for the whole cluster: made on one
node, it exists on all, and a search on any node covers every shard. After ``FT.CREATE`` every
primary is asked with ``FT._LIST``; where one lacks the index (open-source RediSearch on a cluster
keeps an index on the node of its name's slot, covering that node's keys only) the server's
search would miss items, so the store ranks exactly instead, and says so in the log.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions

from .calls import ALL, ANY, Call, Flow
from .errors import StoreDataError
from .layout import text
from .settings import Settings

log = logging.getLogger(__name__)

__all__ = ["create_args", "setup_flow"]


def create_args(settings: Settings, algorithm: str, metric: str, hnsw: dict[str, int]) -> tuple[Any, ...]:
    """``FT.CREATE`` of the store's index: HASH documents, a VECTOR and a TAG field (what Memorystore accepts)."""
    params: list[Any] = ["TYPE", "FLOAT32", "DIM", settings.dims, "DISTANCE_METRIC", metric]
    if algorithm == "HNSW":
        for name, value in hnsw.items():
            params += [name, value]
    return (
        "FT.CREATE",
        settings.index_name,
        "ON",
        "HASH",
        "PREFIX",
        "1",
        settings.key_prefix + "ltmv:",
        "SCHEMA",
        "vec",
        "VECTOR",
        algorithm,
        len(params),
        *params,
        "p",
        "TAG",
    )


def _names(reply: Any) -> list[set[str]]:
    """The index names each node listed (``FT._LIST`` on every primary)."""
    return [{text(name) for name in one} for one in reply]


def _unknown(exc: BaseException) -> bool:
    message = str(exc).lower()
    return isinstance(exc, redis.exceptions.ResponseError) and (
        "unknown command" in message or "unknown subcommand" in message
    )


def _dims(info: Any) -> int | None:
    """The vector field's dimensions in an ``FT.INFO`` reply (RediSearch and valkey-search shape it differently)."""
    stack = [info]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for at, value in enumerate(node[:-1]):
                if isinstance(value, (bytes, str)) and text(value).lower() in ("dim", "dimensions"):
                    try:
                        return int(node[at + 1])
                    except (TypeError, ValueError):
                        pass
            stack.extend(node)
    return None


def setup_flow(settings: Settings, algorithm: str, metric: str, hnsw: dict[str, int]) -> Flow:
    """Whether the server has a vector search the store can use; if so the index exists afterwards."""
    (listed,) = yield [Call(route=ALL, args=("FT._LIST",))]
    if isinstance(listed, Exception) or any(isinstance(one, Exception) for one in listed):
        failure = listed if isinstance(listed, Exception) else next(one for one in listed if isinstance(one, Exception))
        if _unknown(failure):
            return False
        raise failure
    name = settings.index_name
    if not any(name in names for names in _names(listed)):
        (made,) = yield [Call(route=ANY, args=create_args(settings, algorithm, metric, hnsw))]
        if isinstance(made, Exception) and "exist" not in str(made).lower():
            raise made
        (listed,) = yield [Call(route=ALL, args=("FT._LIST",))]
        if isinstance(listed, Exception):
            raise listed
    if not all(name in names for names in _names(listed)):
        log.warning(
            "the vector index %r is not on every primary (not a cluster-level index, as Memorystore's is): "
            "semantic search ranks exactly on the client instead",
            name,
        )
        return False
    (info,) = yield [Call(route=ANY, args=("FT.INFO", name))]
    dims = None if isinstance(info, Exception) else _dims(info)
    if dims is not None and dims != settings.dims:
        raise StoreDataError(
            f"the vector index {name!r} holds vectors of {dims} dimensions, this store's index says dims="
            f"{settings.dims}; use another key_prefix (each prefix has its own index), or drop the index with "
            f"FT.DROPINDEX {name}",
            name,
        )
    return True
