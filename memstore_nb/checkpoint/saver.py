"""MemorystoreSaver: a LangGraph checkpointer on plain Redis, Redis Cluster and Valkey (core commands only)."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from itertools import islice
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..errors import CheckpointError
from ..writes import new_write_id
from . import scripts, write_scripts
from .core import PAGE, AnyClient, Budget, SaverCore, check_strategy, select
from .listing import alist_all, list_all

__all__ = ["MemorystoreSaver"]

log = logging.getLogger(__name__)


class MemorystoreSaver(SaverCore):
    """LangGraph checkpoints in Redis / Memorystore (Redis 5.0+, Redis Cluster, Valkey), no modules needed.

    One class for both APIs: with a sync client (``connect()``'s, ``redis.Redis``, ``RedisCluster``)
    the sync methods are native and the async ones run in a worker thread; with a ``redis.asyncio``
    client the async methods are native and the sync ones raise :class:`ClientKindError`.
    Every write is one replay-safe Lua script (exactly once under retries); every read of a
    checkpoint is one round trip. The key layout is in ``docs/langgraph.md``.

    Args:
        client: a Redis client of one of the kinds above (``decode_responses=True`` works too).
        ttl: seconds (or a ``timedelta``) after the last write to a thread before the whole
            thread expires; refreshed on every write. ``None``: never expires.
        key_prefix: text in front of every key (no braces).
        serde: LangGraph serializer (default: LangGraph's ``JsonPlusSerializer``).

    Raises:
        ArgumentError: a bad ``ttl`` or ``key_prefix``.
        ClientKindError: ``client`` is not a Redis client.

    Example:
        >>> saver = MemorystoreSaver(connect("local"), ttl=86400)  # doctest: +SKIP
        >>> graph = builder.compile(checkpointer=saver)  # doctest: +SKIP
        >>> graph.invoke(inputs, {"configurable": {"thread_id": "user-1"}})  # doctest: +SKIP
    """

    def __init__(
        self,
        client: AnyClient,
        *,
        ttl: int | float | timedelta | None = None,
        key_prefix: str = "",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(client, ttl=ttl, key_prefix=key_prefix, serde=serde)

    # -- sync API --------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (the newest of the thread without ``checkpoint_id``)."""
        self._sync("get_tuple")
        call = self._get_call(config)
        return self._decode_get(call, self._calls.read(call))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of one thread (and namespace), or of every thread when ``config`` is None."""
        self._sync("list")
        budget = Budget(limit)
        if config is None:
            yield from list_all(self, filter, before, budget)
        else:
            yield from self._list_one(config, filter, before, budget)

    def _list_one(
        self,
        config: RunnableConfig,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        budget: Budget,
        cursor: str | None = None,
    ) -> Iterator[CheckpointTuple]:
        if cursor is None:
            cursor = (get_checkpoint_id(before) if before else None) or ""
        while not budget.spent:
            page = budget.page(bool(filter))
            call = self._list_call(config, cursor, page)
            items = self._decode_list(call, self._calls.read(call))
            for item in select(items, filter, before):
                yield item
                budget.take()
                if budget.spent:
                    return
            if len(items) < page or get_checkpoint_id(config):
                return
            cursor = items[-1].config["configurable"]["checkpoint_id"]

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; channel values only for ``new_versions``, list channels as deltas."""
        self._sync("put")
        call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=True)
        write_id = new_write_id()
        if not self._calls.write(call, write_id):  # a delta's base is gone: store whole values
            self._lists.forget(call.keys.thread_id)
            call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=False)
            self._calls.write(call, write_id)
        self._lists.update(staged)
        return self._config(config, checkpoint)

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Store a task's pending writes; idempotent per ``(task_id, idx)``."""
        self._sync("put_writes")
        self._calls.write(self._put_writes_call(config, writes, task_id, task_path), new_write_id())

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread (all namespaces)."""
        self._sync("delete_thread")
        self._lists.forget(str(thread_id))
        self._calls.forget(str(thread_id))
        self._calls.write(self._thread_call(write_scripts.DELETE_THREAD, thread_id), new_write_id())

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) made by these runs, in every thread (SCAN)."""
        self._sync("delete_for_runs")
        runs = [str(r) for r in run_ids]
        if not runs:
            return
        for thread_id in self._calls.thread_ids(self.key_prefix):
            try:
                self._calls.write(self._thread_call(write_scripts.DELETE_RUNS, thread_id, *runs), new_write_id())
            except CheckpointError as exc:
                log.warning("delete_for_runs: skipped a broken thread: %s", exc)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of a thread to another thread id (the target's are kept)."""
        self._sync("copy_thread")
        source = self._thread_call(scripts.DUMP, source_thread_id)
        dump = self._calls.read(source)
        args = self._copy_args(dump)
        if args:
            self._lists.forget(str(target_thread_id))
            target = self._copy_call(target_thread_id, dump, args)
            self._calls.write(target, new_write_id())

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the newest checkpoint of each namespace (``"keep_latest"``) or none (``"delete"``)."""
        self._sync("prune")
        check_strategy(strategy)
        for thread_id in thread_ids:
            self._lists.forget(str(thread_id))
            self._calls.write(self._thread_call(write_scripts.PRUNE, thread_id, strategy), new_write_id())

    # -- async API -------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        if not self.is_async:
            return await asyncio.to_thread(self.get_tuple, config)
        call = self._get_call(config)
        return self._decode_get(call, await self._calls.aread(call))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        if not self.is_async:
            it = self.list(config, filter=filter, before=before, limit=limit)
            while batch := await asyncio.to_thread(lambda: builtins.list(islice(it, PAGE))):
                for item in batch:
                    yield item
            return
        budget = Budget(limit)
        if config is not None:
            async for item in self._alist_one(config, filter, before, budget):
                yield item
            return
        async for item in alist_all(self, filter, before, budget):
            yield item

    async def _alist_one(
        self,
        config: RunnableConfig,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        budget: Budget,
        cursor: str | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if cursor is None:
            cursor = (get_checkpoint_id(before) if before else None) or ""
        while not budget.spent:
            page = budget.page(bool(filter))
            call = self._list_call(config, cursor, page)
            items = self._decode_list(call, await self._calls.aread(call))
            for item in select(items, filter, before):
                yield item
                budget.take()
                if budget.spent:
                    return
            if len(items) < page or get_checkpoint_id(config):
                return
            cursor = items[-1].config["configurable"]["checkpoint_id"]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        if not self.is_async:
            return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)
        call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=True)
        write_id = new_write_id()
        if not await self._calls.awrite(call, write_id):
            self._lists.forget(call.keys.thread_id)
            call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=False)
            await self._calls.awrite(call, write_id)
        self._lists.update(staged)
        return self._config(config, checkpoint)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Async :meth:`put_writes`."""
        if not self.is_async:
            return await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)
        await self._calls.awrite(self._put_writes_call(config, writes, task_id, task_path), new_write_id())

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        if not self.is_async:
            return await asyncio.to_thread(self.delete_thread, thread_id)
        self._lists.forget(str(thread_id))
        self._calls.forget(str(thread_id))
        await self._calls.awrite(self._thread_call(write_scripts.DELETE_THREAD, thread_id), new_write_id())

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`."""
        if not self.is_async:
            return await asyncio.to_thread(self.delete_for_runs, run_ids)
        runs = [str(r) for r in run_ids]
        if not runs:
            return
        async for thread_id in self._calls.athread_ids(self.key_prefix):
            try:
                await self._calls.awrite(self._thread_call(write_scripts.DELETE_RUNS, thread_id, *runs), new_write_id())
            except CheckpointError as exc:
                log.warning("delete_for_runs: skipped a broken thread: %s", exc)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`."""
        if not self.is_async:
            return await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)
        dump = await self._calls.aread(self._thread_call(scripts.DUMP, source_thread_id))
        args = self._copy_args(dump)
        if args:
            self._lists.forget(str(target_thread_id))
            target = self._copy_call(target_thread_id, dump, args)
            await self._calls.awrite(target, new_write_id())

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async :meth:`prune`."""
        if not self.is_async:
            return await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)
        check_strategy(strategy)
        for thread_id in thread_ids:
            self._lists.forget(str(thread_id))
            await self._calls.awrite(self._thread_call(write_scripts.PRUNE, thread_id, strategy), new_write_id())
