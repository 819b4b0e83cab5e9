"""What every MemorystoreSaver method sends (one script call) and how its reply is decoded."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..clients import AnyClient
from ..errors import ArgumentError, CheckpointError, ClientKindError
from ..writes import new_write_id, ttl_seconds
from . import scripts, write_scripts
from .calls import Call, Calls
from .layout import ThreadKeys, check_prefix, check_text, text
from .pages import Budget, Page, next_cursor, select
from .records import ListCache, decode_item, encode_checkpoint, encode_writes, run_key

__all__ = ["SaverCore", "check_strategy", "damaged", "legacy_keys", "run_keys"]

log = logging.getLogger(__name__)

_SYNC_CLIENTS = (redis.Redis, redis.cluster.RedisCluster)
_ASYNC_CLIENTS = (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster)


_SEEN = 65536  # threads this saver knows are not stored in the old layout


def _ttl_ms(ttl: int | timedelta | None) -> int:
    """The ttl in milliseconds (0: none), by memstore-nb's one TTL rule (whole seconds, as the history takes it)."""
    return (ttl_seconds(ttl) or 0) * 1000


def _namespace(config: RunnableConfig) -> str:
    return check_text(config["configurable"].get("checkpoint_ns", "") or "", "checkpoint_ns")


class SaverCore(BaseCheckpointSaver[str]):
    """The storage side shared by the sync and async fronts of :class:`MemorystoreSaver`."""

    def __init__(
        self,
        client: AnyClient,
        *,
        ttl: int | timedelta | None = None,
        key_prefix: str = "",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if not isinstance(client, _SYNC_CLIENTS + _ASYNC_CLIENTS):
            raise ClientKindError(
                f"MemorystoreSaver needs a redis-py client (memstore_nb.connect(), redis.Redis, RedisCluster "
                f"or a redis.asyncio one), got {type(client).__name__}"
            )
        self.client = client
        self.is_async = isinstance(client, _ASYNC_CLIENTS)
        self.ttl_ms = _ttl_ms(ttl)
        # Sent as text and passed to PEXPIRE untouched (a Lua number would be formatted as 1e+17).
        self.ttl_arg = str(self.ttl_ms)
        self.key_prefix = check_prefix(key_prefix)
        self._lists = ListCache()
        self.calls = Calls(client)  # the round trips (sync and async), shared with checkpoint.listing
        self._seen: set[str] = set()

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "sync"
        client = type(self.client).__name__
        return f"MemorystoreSaver({client}, {kind}, ttl_ms={self.ttl_ms}, key_prefix={self.key_prefix!r})"

    def _keys(self, config_or_id: RunnableConfig | str) -> ThreadKeys:
        if isinstance(config_or_id, dict):
            conf = config_or_id.get("configurable") or {}
            if "thread_id" not in conf:
                raise ArgumentError(
                    'the config has no thread_id: pass {"configurable": {"thread_id": "..."}} (nothing was read or '
                    "written)",
                    config_or_id,
                )
            return ThreadKeys(conf["thread_id"], self.key_prefix)
        return ThreadKeys(config_or_id, self.key_prefix)

    def _sync(self, method: str) -> None:
        if self.is_async:
            raise ClientKindError(
                f"this MemorystoreSaver holds a redis.asyncio client, so {method}() cannot run synchronously: "
                f"call `await saver.a{method}(...)` (with a graph: `await graph.ainvoke(...)` / `graph.astream`), "
                "or give the saver a sync client (memstore_nb.connect())"
            )

    # -- the calls each method makes (one round trip each), shared by the sync and async fronts --

    def _get_call(self, config: RunnableConfig) -> Call:
        keys = self._keys(config)
        ns = _namespace(config)
        cid = get_checkpoint_id(config) or ""
        # The list values this saver stored last for the namespace: the server says whether the
        # checkpoint still names them under the same edit token, and sends 1 instead of a value
        # that need not be decoded again.
        known = self._lists.known(keys.thread_id, ns)
        args: list[Any] = [ns, cid]
        for field, entry in known.items():
            args += [field, entry.token]
        return Call(scripts.GET, keys, [keys.thread, keys.order], args, ns=ns, checkpoint_id=cid or None, known=known)

    def _decode_get(self, call: Call, reply: Any) -> CheckpointTuple | int | None:
        """The checkpoint; None when there is none; 0 when the thread does not exist in this layout."""
        if reply == 0:
            return 0
        if not reply:
            return None
        return call.decoding(lambda: decode_item(self.serde, call.keys.thread_id, call.ns, reply, known=call.known))

    def list_call(self, config: RunnableConfig, before: str, count: int, after_ns: str | None = None) -> Call:
        """A LIST page. ``after_ns``: paging through every namespace, the namespace of the row ``before`` names."""
        keys = self._keys(config)
        conf = config["configurable"]
        ns = conf.get("checkpoint_ns")
        if ns is not None:
            check_text(ns, "checkpoint_ns")
        exact = get_checkpoint_id(config) or ""
        cursor_ns = "" if after_ns is None else "=" + after_ns
        args = [ns or "", "1" if ns is None else "0", before, cursor_ns, count, exact]
        return Call(scripts.LIST, keys, [keys.thread, keys.order], args, ns=ns or "")

    def decode_list(self, call: Call, reply: Any) -> Page:
        """The page's checkpoints; one that cannot be read is logged and left out (it still moves the cursor)."""
        page = Page([], 0, None)
        memo: dict[bytes, Any] = {}
        for i in range(0, len(reply or ()), 2):
            ns, item = text(reply[i]), reply[i + 1]
            page.rows += 1
            page.last = (text(item[0]), ns)
            try:
                page.items.append(decode_item(self.serde, call.keys.thread_id, ns, item, memo))
            except CheckpointError as exc:
                log.warning("list: skipped a checkpoint that cannot be read: %s", exc)
        return page

    def list_one(
        self,
        config: RunnableConfig,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        budget: Budget,
        cursor: tuple[str, str | None] | None = None,
    ) -> Iterator[CheckpointTuple]:
        """One thread's checkpoints page by page (``list`` of one thread; ``list(None)`` continues a thread with it)."""
        cursor = cursor or ((get_checkpoint_id(before) if before else None) or "", None)
        while not budget.spent:
            size = budget.page(bool(filter))
            call = self.list_call(config, cursor[0], size, cursor[1])
            page = self.decode_list(call, self.calls.read(call))
            for item in select(page.items, filter, before):
                yield item
                budget.take()
                if budget.spent:
                    return
            if page.rows < size or page.last is None or get_checkpoint_id(config):
                return
            cursor = next_cursor(config, page.last)

    async def alist_one(
        self,
        config: RunnableConfig,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        budget: Budget,
        cursor: tuple[str, str | None] | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """:meth:`list_one` on a redis.asyncio client."""
        cursor = cursor or ((get_checkpoint_id(before) if before else None) or "", None)
        while not budget.spent:
            size = budget.page(bool(filter))
            call = self.list_call(config, cursor[0], size, cursor[1])
            page = self.decode_list(call, await self.calls.aread(call))
            for item in select(page.items, filter, before):
                yield item
                budget.take()
                if budget.spent:
                    return
            if page.rows < size or page.last is None or get_checkpoint_id(config):
                return
            cursor = next_cursor(config, page.last)

    def _put_call(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        *,
        deltas: bool,
        write_id: str,
    ) -> tuple[Call, dict[Any, Any]]:
        keys = self._keys(config)
        ns = _namespace(config)
        record, triples, staged, against = encode_checkpoint(
            self.serde, self._lists if deltas else None, config, checkpoint, metadata, new_versions
        )
        args = [self.ttl_arg, write_id, ns, checkpoint["id"], record, against, *triples]
        call = Call(write_scripts.PUT, keys, self._write_keys(keys), args, ns=ns, checkpoint_id=checkpoint["id"])
        return call, staged

    def _put_writes_call(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str, write_id: str
    ) -> Call:
        keys = self._keys(config)
        ns, cid = _namespace(config), config["configurable"]["checkpoint_id"]
        args = [self.ttl_arg, write_id, ns, cid, *encode_writes(self.serde, cid, writes, task_id, task_path)]
        return Call(write_scripts.PUT_WRITES, keys, self._write_keys(keys), args, ns=ns, checkpoint_id=cid)

    def _write_keys(self, keys: ThreadKeys) -> list[str]:
        """A write's keys: the thread's two, and the old layout's thread key the first time this saver writes the
        thread (a write never starts a thread beside one stored in the old layout)."""
        if keys.thread_id in self._seen:
            return [keys.thread, keys.order]
        return [keys.thread, keys.order, keys.legacy]

    def _thread_call(self, script: Any, thread_id: str, *extra: Any) -> Call:
        keys = self._keys(str(thread_id))
        return Call(script, keys, [keys.thread, keys.order], [self.ttl_arg, new_write_id(), *extra])

    def _delete_call(self, thread_id: str) -> Call:
        keys = self._keys(str(thread_id))
        redis_keys = [keys.thread, keys.order, keys.legacy, keys.legacy_index(""), keys.legacy_data("")]
        return Call(scripts.DELETE_THREAD, keys, redis_keys, [])

    def _dump_call(self, thread_id: str) -> Call:
        keys = self._keys(str(thread_id))
        return Call(scripts.DUMP, keys, [keys.thread, keys.order], [])

    @staticmethod
    def _copy_args(dump: Any) -> list[Any]:
        """COPY_IN's arguments from a DUMP reply (empty when the source has no checkpoints)."""
        if not dump or not dump[1]:
            return []
        names, members, fields = dump
        return [len(names) // 2, *names, len(members), *members, *fields]

    def _after_put(self, call: Call, staged: dict[Any, Any], token: Any) -> None:
        """Remember the thread, and the lists a put stored under the edit token it answered."""
        self._remember(call.keys.thread_id)
        if token is None:  # a replay of a write applied before: the token it answered is not known here
            self._lists.forget(call.keys.thread_id)
        elif staged:
            self._lists.update(staged, text(token))

    def _remember(self, thread_id: str) -> None:
        """This saver now knows the thread is not stored in the old layout."""
        if thread_id not in self._seen:
            if len(self._seen) >= _SEEN:
                self._seen.clear()
            self._seen.add(thread_id)

    def get_next_version(self, current: str | int | float | None, channel: None = None) -> str:
        """A version string greater than ``current``: a zero-padded counter and a random tie-breaker (short: versions
        are stored in every checkpoint)."""
        if current is None:
            number = 0
        elif isinstance(current, (int, float)):
            number = int(current)
        else:
            number = int(str(current).split(".", 1)[0])
        return f"{number + 1:08}.{random.getrandbits(24):06x}"

    def _config(self, config: RunnableConfig, checkpoint: Checkpoint) -> RunnableConfig:
        conf = config["configurable"]
        return {
            "configurable": {
                "thread_id": conf["thread_id"],
                "checkpoint_ns": conf.get("checkpoint_ns", ""),
                "checkpoint_id": checkpoint["id"],
            }
        }


def run_keys(run_ids: Sequence[Any]) -> list[str]:
    """The run ids as stored in checkpoint headers (records.run_key)."""
    return [key for key in (run_key(r) for r in run_ids) if key is not None]


def legacy_keys(keys: ThreadKeys, spaces: Sequence[Any]) -> list[str]:
    """The old layout's keys of these namespaces of a thread."""
    return [key for ns in spaces for key in (keys.legacy_index(text(ns)), keys.legacy_data(text(ns)))]


def damaged(call: Call, bad: Any, what: str) -> None:
    """Log the checkpoints (``<n>:<id>`` index entries) a thread-wide write found unreadable and left alone."""
    if bad:
        ids = ", ".join(repr(text(b).partition(":")[2]) for b in bad)
        log.warning("%s: %s: left alone checkpoints that cannot be read: %s", what, call.where(), ids)


def check_strategy(strategy: str) -> None:
    if strategy not in ("keep_latest", "delete"):
        raise ArgumentError(f"strategy must be 'keep_latest' or 'delete', got {strategy!r}", strategy)
