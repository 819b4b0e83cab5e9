"""MemorystoreSaver's async methods: native with a ``redis.asyncio`` client, else the sync ones in a worker thread."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncIterator, Sequence
from itertools import islice
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from ..errors import CheckpointError
from ..writes import new_write_id
from . import write_scripts
from .calls import Refused
from .core import SaverCore, check_strategy, damaged, legacy_keys, run_keys
from .listing import alist_all
from .pages import PAGE, Budget

__all__ = ["AsyncMethods"]

log = logging.getLogger(__name__)


class AsyncMethods(SaverCore):
    """The ``a…`` methods of :class:`~memstore_nb.checkpoint.saver.MemorystoreSaver`."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        if not self.is_async:
            return await asyncio.to_thread(self.get_tuple, config)
        call = self._get_call(config)
        found = self._decode_get(call, await self.calls.aread(call))
        if found == 0:
            if call.keys.thread_id not in self._seen:
                client: Any = self.client
                if await client.exists(call.keys.legacy):
                    raise call.refusal("LEGACY")
                self._remember(call.keys.thread_id)
            return None
        return found  # type: ignore[return-value]

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
            async for item in self.alist_one(config, filter, before, budget):
                yield item
            return
        async for item in alist_all(self, filter, before, budget):
            yield item

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
        write_id = new_write_id()
        call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=True, write_id=write_id)
        try:
            token = await self.calls.awrite(call, write_id)
        except Refused:
            self._lists.forget(call.keys.thread_id)
            call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=False, write_id=write_id)
            token = await self.calls.awrite(call, write_id)
        self._after_put(call, staged, token)
        return self._config(config, checkpoint)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Async :meth:`put_writes`."""
        if not self.is_async:
            return await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)
        write_id = new_write_id()
        call = self._put_writes_call(config, writes, task_id, task_path, write_id)
        await self.calls.awrite(call, write_id)
        self._remember(call.keys.thread_id)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        if not self.is_async:
            return await asyncio.to_thread(self.delete_thread, thread_id)
        call = self._delete_call(thread_id)
        self._lists.forget(call.keys.thread_id)
        rest = await self.calls.aread(call)
        if rest:
            client: Any = self.client
            await client.delete(*legacy_keys(call.keys, rest))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`."""
        if not self.is_async:
            return await asyncio.to_thread(self.delete_for_runs, run_ids)
        runs = run_keys(run_ids)
        if not runs:
            return
        async for thread_id, legacy in self.calls.athread_ids(self.key_prefix):
            if legacy:
                log.warning("delete_for_runs: skipped thread %r, stored in the old layout (upgrade_threads)", thread_id)
                continue
            call = self._thread_call(write_scripts.DELETE_RUNS, thread_id, *runs)
            try:
                reply = await self.calls.awrite(call, call.args[1])
            except (CheckpointError, Refused) as exc:
                log.warning("delete_for_runs: skipped a thread that cannot be read: %s", exc)
                continue
            self._lists.forget(thread_id)
            damaged(call, reply[1] if reply else None, "delete_for_runs")

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`."""
        if not self.is_async:
            return await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)
        dump = await self.calls.aread(self._dump_call(source_thread_id))
        args = self._copy_args(dump)
        if args:
            target = self._thread_call(write_scripts.COPY_IN, target_thread_id, *args)
            self._lists.forget(target.keys.thread_id)
            await self.calls.awrite(target, target.args[1])

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async :meth:`prune`."""
        if not self.is_async:
            return await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)
        check_strategy(strategy)
        for thread_id in thread_ids:
            call = self._thread_call(write_scripts.PRUNE, thread_id, strategy)
            self._lists.forget(call.keys.thread_id)
            damaged(call, await self.calls.awrite(call, call.args[1]), "prune")
