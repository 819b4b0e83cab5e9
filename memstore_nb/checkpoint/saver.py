"""MemorystoreSaver: a LangGraph checkpointer on plain Redis, Redis Cluster and Valkey (core commands only)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..clients import AnyClient
from ..errors import CheckpointError
from ..writes import new_write_id
from . import write_scripts
from .aio import AsyncMethods
from .calls import Refused
from .core import check_strategy, damaged, legacy_keys, run_keys
from .listing import list_all
from .pages import Budget

__all__ = ["MemorystoreSaver"]

log = logging.getLogger(__name__)


class MemorystoreSaver(AsyncMethods):
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
        ttl: int | timedelta | None = None,
        key_prefix: str = "",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(client, ttl=ttl, key_prefix=key_prefix, serde=serde)

    # -- sync API --------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (the newest of the thread without ``checkpoint_id``)."""
        self._sync("get_tuple")
        call = self._get_call(config)
        found = self._decode_get(call, self.calls.read(call))
        if found == 0:  # no such thread: unless it is stored in the old layout (asked once per thread)
            if call.keys.thread_id not in self._seen:
                if self.client.exists(call.keys.legacy):
                    raise call.refusal("LEGACY")
                self._remember(call.keys.thread_id)
            return None
        return found  # type: ignore[return-value]

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of one thread (and namespace), or of every thread when ``config`` is None.

        A checkpoint that cannot be read is logged and skipped (``get_tuple`` of it raises
        ``CheckpointError``); with ``config=None`` so is a thread that cannot be read.
        """
        self._sync("list")
        budget = Budget(limit)
        if config is None:
            yield from list_all(self, filter, before, budget)
        else:
            yield from self.list_one(config, filter, before, budget)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; channel values only for ``new_versions``, list channels as deltas.

        Raises:
            CheckpointError: the thread is incomplete or damaged, stored in the old layout, or a
                version of a channel is reused with another value in a way that would change
                another checkpoint or close a loop (nothing is written).
        """
        self._sync("put")
        write_id = new_write_id()
        call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=True, write_id=write_id)
        try:
            token = self.calls.write(call, write_id)
        except Refused:  # a delta's base is gone or was changed: store whole values
            self._lists.forget(call.keys.thread_id)
            call, staged = self._put_call(config, checkpoint, metadata, new_versions, deltas=False, write_id=write_id)
            token = self.calls.write(call, write_id)
        self._after_put(call, staged, token)
        return self._config(config, checkpoint)

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Store a task's pending writes; idempotent per ``(task_id, idx)``."""
        self._sync("put_writes")
        write_id = new_write_id()
        call = self._put_writes_call(config, writes, task_id, task_path, write_id)
        self.calls.write(call, write_id)
        self._remember(call.keys.thread_id)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread (all namespaces): both its keys, in one script."""
        self._sync("delete_thread")
        call = self._delete_call(thread_id)
        self._lists.forget(call.keys.thread_id)
        rest = self.calls.read(call)
        if rest:  # namespaces of a thread stored in the old layout
            self.client.delete(*legacy_keys(call.keys, rest))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes) made by these runs, in every thread (SCAN).

        A thread that cannot be read, or stored in the old layout, is logged and skipped.
        """
        self._sync("delete_for_runs")
        runs = run_keys(run_ids)
        if not runs:
            return
        for thread_id, legacy in self.calls.thread_ids(self.key_prefix):
            if legacy:
                log.warning("delete_for_runs: skipped thread %r, stored in the old layout (upgrade_threads)", thread_id)
                continue
            call = self._thread_call(write_scripts.DELETE_RUNS, thread_id, *runs)
            try:
                reply = self.calls.write(call, call.args[1])
            except (CheckpointError, Refused) as exc:
                log.warning("delete_for_runs: skipped a thread that cannot be read: %s", exc)
                continue
            self._lists.forget(thread_id)
            damaged(call, reply[1] if reply else None, "delete_for_runs")

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of a thread to another thread id (added to the target's own)."""
        self._sync("copy_thread")
        dump = self.calls.read(self._dump_call(source_thread_id))
        args = self._copy_args(dump)
        if args:
            target = self._thread_call(write_scripts.COPY_IN, target_thread_id, *args)
            self._lists.forget(target.keys.thread_id)
            self.calls.write(target, target.args[1])

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the newest checkpoint of each namespace (``"keep_latest"``) or none (``"delete"``).

        With a ``ttl`` the thread's expiry is refreshed, as by any write; a checkpoint kept that cannot be
        read keeps every value of its namespace, and is logged.
        """
        self._sync("prune")
        check_strategy(strategy)
        for thread_id in thread_ids:
            call = self._thread_call(write_scripts.PRUNE, thread_id, strategy)
            self._lists.forget(call.keys.thread_id)
            damaged(call, self.calls.write(call, call.args[1]), "prune")
