"""``MemorystoreStore``: LangGraph long-term memory (a ``BaseStore``) on plain Redis, Redis Cluster and Valkey."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from typing import Any, Literal

import redis.asyncio
import redis.asyncio.cluster
from langgraph.store.base import BaseStore, IndexConfig, Op, Result, TTLConfig, ensure_embeddings

from ..errors import ArgumentError, ClientKindError
from .engine import batch_flow
from .front import AsyncRunner, Runner
from .index import setup_flow
from .layout import check_prefix
from .settings import EXACT, INDEXED, NO_VECTORS, Settings
from .vectors import tokenized

__all__ = ["MemorystoreStore"]

_ASYNC = (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster)
_SYNC = (redis.Redis, redis.cluster.RedisCluster)


class MemorystoreStore(BaseStore):
    """LangGraph's long-term memory in Redis / Memorystore: namespaces of JSON items, TTLs, semantic search.

    Works on any Redis >= 5.0 (standalone or cluster) and Valkey, with no module. With an
    ``index``, ``search(query=...)`` ranks items by cosine similarity: through the server's
    vector search where it has one (Memorystore for Valkey and for Redis Cluster: an
    ``FT.CREATE`` index, FLAT or HNSW), otherwise exactly, by the client, reading only the items
    under the searched prefix. Every write is applied exactly once, even when a reply is lost.

    With a sync client (``redis.Redis``, ``RedisCluster``) the sync methods are native and the
    async ones run in a worker thread; with a ``redis.asyncio`` client the async methods are
    native and the sync ones raise :class:`~memstore_nb.errors.ClientKindError`.

    Args:
        client: a redis-py client (any of the four kinds; ``decode_responses`` on or off).
        key_prefix: text in front of every key (no braces); stores with different prefixes are apart.
        index: LangGraph's ``{"dims": ..., "embed": ..., "fields": [...]}`` for semantic search.
        ttl: LangGraph's ``{"default_ttl": minutes, "refresh_on_read": bool}``.
        vector_search: ``"auto"`` (the server's vector search if it has one, else exact search),
            ``"index"`` (the server's, or an error) or ``"exact"``. Keep one choice per key prefix.
        algorithm: ``"FLAT"`` (exact) or ``"HNSW"`` (approximate, faster on large indexes).
        hnsw: HNSW parameters, e.g. ``{"M": 16, "EF_CONSTRUCTION": 200}``.

    Raises:
        ClientKindError: ``client`` is not a redis-py client.
        ArgumentError: a bad ``key_prefix``, ``index``, ``vector_search`` or ``algorithm``.

    Example:
        >>> store = MemorystoreStore(connect("local"))  # doctest: +SKIP
        >>> store.put(("users", "42"), "prefs", {"theme": "dark"})  # doctest: +SKIP
        >>> store.get(("users", "42"), "prefs").value  # doctest: +SKIP
        {'theme': 'dark'}
    """

    supports_ttl = True

    def __init__(
        self,
        client: Any,
        *,
        key_prefix: str = "",
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        vector_search: Literal["auto", "index", "exact"] = "auto",
        algorithm: Literal["FLAT", "HNSW"] = "FLAT",
        hnsw: dict[str, int] | None = None,
    ) -> None:
        if not isinstance(client, (*_SYNC, *_ASYNC)):
            raise ClientKindError(
                f"MemorystoreStore needs a redis-py client (redis.Redis, RedisCluster, or a redis.asyncio one), "
                f"got {type(client).__name__}"
            )
        if vector_search not in ("auto", "index", "exact"):
            raise ArgumentError(
                f"vector_search must be 'auto', 'index' or 'exact', got {vector_search!r}", vector_search
            )
        if algorithm not in ("FLAT", "HNSW"):
            raise ArgumentError(f"algorithm must be 'FLAT' or 'HNSW', got {algorithm!r}", algorithm)
        self.client = client
        self.is_async = isinstance(client, _ASYNC)
        self.ttl_config = ttl
        self.index_config = index
        self.embeddings = None
        self.settings = Settings(key_prefix=check_prefix(key_prefix))
        self._vector_search = vector_search
        self._algorithm = algorithm
        self._hnsw = dict(hnsw or {})
        self._ready = index is None
        self._lock = threading.Lock()
        self._runner: Runner | None = None
        if index is not None:
            dims = index.get("dims")
            if isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
                raise ArgumentError(f"index['dims'] must be a positive int, got {dims!r}", dims)
            self.embeddings = ensure_embeddings(index.get("embed"))
            self.settings.kind = EXACT
            self.settings.dims = dims
            self.settings.paths = tokenized(index.get("fields") or ["$"])
            self.settings.index_name = self.settings.key_prefix + "ltmv:idx"

    def __repr__(self) -> str:
        kind = {EXACT: "exact", INDEXED: "index", NO_VECTORS: "none"}[self.settings.kind]
        return (
            f"<MemorystoreStore key_prefix={self.settings.key_prefix!r} vector_search={kind} "
            f"dims={self.settings.dims} {'async' if self.is_async else 'sync'}>"
        )

    @property
    def vector_search(self) -> str:
        """``"index"`` (the server's vector search), ``"exact"`` or ``"none"`` (no index); known after :meth:`setup`."""
        return {EXACT: "exact", INDEXED: "index", NO_VECTORS: "none"}[self.settings.kind]

    # -- set-up: where the server has vector search, the index is made on first use ---------------

    def _decide(self, found: bool) -> None:
        if found:
            self.settings.kind = INDEXED
        elif self._vector_search == "index":
            raise ArgumentError(
                "vector_search='index' but the server has no vector search (FT.CREATE); use Memorystore for "
                "Valkey or for Redis Cluster with vector search, or vector_search='auto' for exact search",
                self._vector_search,
            )
        self._ready = True

    def setup(self) -> None:
        """Find out whether the server has vector search and create the index (once; also done on first use)."""
        if self._ready:
            return
        self._need_sync("setup")
        with self._lock:
            if not self._ready:
                found = False
                if self._vector_search != "exact":
                    found = Runner(self.client).run(setup_flow(self.settings, self._algorithm, "COSINE", self._hnsw))
                self._decide(found)

    async def asetup(self) -> None:
        """:meth:`setup` for ``redis.asyncio`` clients."""
        if self._ready:
            return
        if not self.is_async:
            await asyncio.to_thread(self.setup)
            return
        found = False
        if self._vector_search != "exact":
            flow = setup_flow(self.settings, self._algorithm, "COSINE", self._hnsw)
            found = await AsyncRunner(self.client).run(flow)
        self._decide(found)

    def _need_sync(self, method: str) -> None:
        if self.is_async:
            raise ClientKindError(
                f"this MemorystoreStore holds a redis.asyncio client, so {method}() cannot run synchronously: "
                "use the async methods (aget, aput, asearch, adelete, alist_namespaces, abatch), or give the store a "
                "redis.Redis / RedisCluster client"
            )

    # -- BaseStore ---------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run LangGraph store operations; their results in order (see ``BaseStore.batch``)."""
        self._need_sync("batch")
        self.setup()
        flow = batch_flow(self.settings, ops, time.time_ns() // 1000)
        runner = self._runner
        if runner is None or runner.client is not self.client or runner.embeddings is not self.embeddings:
            runner = self._runner = Runner(self.client, self.embeddings)  # made once: a put is ~100 us
        return runner.run(flow)  # type: ignore[no-any-return]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch` for asyncio; native with a ``redis.asyncio`` client, in a worker thread otherwise."""
        if not self.is_async:
            ops = list(ops)
            return await asyncio.to_thread(self.batch, ops)
        await self.asetup()
        flow = batch_flow(self.settings, ops, time.time_ns() // 1000)
        return await AsyncRunner(self.client, self.embeddings).run(flow)  # type: ignore[no-any-return]
