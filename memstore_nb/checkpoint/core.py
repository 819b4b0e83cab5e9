"""What every MemorystoreSaver method sends (one script call) and how its reply is decoded."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, Union

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

from ..errors import ArgumentError, ClientKindError
from ..writes import MAX_TTL_SECONDS
from . import scripts, write_scripts
from .calls import Call, Calls
from .layout import ThreadKeys, check_prefix, text
from .records import ListCache, decode_item, encode_checkpoint, encode_writes

__all__ = ["PAGE", "AnyClient", "Budget", "SaverCore", "check_strategy", "select"]

log = logging.getLogger(__name__)

PAGE = 100
_SYNC_CLIENTS = (redis.Redis, redis.cluster.RedisCluster)
_ASYNC_CLIENTS = (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster)
AnyClient = Union[redis.Redis, redis.cluster.RedisCluster, redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster]


def _ttl_ms(ttl: int | float | timedelta | None) -> int:
    if ttl is None:
        return 0
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= MAX_TTL_SECONDS:
        raise ArgumentError(f"ttl must be None or a positive number of seconds, got {ttl!r}", ttl)
    return max(1, int(seconds * 1000))


class SaverCore(BaseCheckpointSaver[str]):
    """The storage side shared by the sync and async fronts of :class:`MemorystoreSaver`."""

    def __init__(
        self,
        client: AnyClient,
        *,
        ttl: int | float | timedelta | None = None,
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
        self.key_prefix = check_prefix(key_prefix)
        self._lists = ListCache()
        self._calls = Calls(client)

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "sync"
        client = type(self.client).__name__
        return f"MemorystoreSaver({client}, {kind}, ttl_ms={self.ttl_ms}, key_prefix={self.key_prefix!r})"

    def _keys(self, config_or_id: RunnableConfig | str) -> ThreadKeys:
        if isinstance(config_or_id, dict):
            return ThreadKeys(config_or_id["configurable"]["thread_id"], self.key_prefix)
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
        ns = config["configurable"].get("checkpoint_ns", "")
        cid = get_checkpoint_id(config) or ""
        # The list values this saver stored last for the namespace: the server says whether the
        # checkpoint still holds them, and sends 1 instead of a value that need not be decoded again.
        known = self._lists.known(keys.thread_id, ns)
        args: list[Any] = [cid]
        for field, entry in known.items():
            args += [field, entry.size]
        index_and_data = [keys.index(ns), keys.data(ns)]
        return Call(scripts.GET, keys, index_and_data, args, ns=ns, checkpoint_id=cid or None, known=known)

    def _decode_get(self, call: Call, reply: Any) -> CheckpointTuple | None:
        if not reply:
            return None
        return call.decoding(lambda: decode_item(self.serde, call.keys.thread_id, call.ns, reply, known=call.known))

    def _spaced(self, keys: ThreadKeys, spaces: Sequence[str]) -> list[str]:
        """The thread key, then the (index, hash) keys of each namespace: a script's KEYS."""
        out = [keys.thread]
        for ns in spaces:
            out += [keys.index(ns), keys.data(ns)]
        return out

    def _all_spaces(self, keys: ThreadKeys, first: str | None = None) -> list[str]:
        """``first``, then every other namespace of the thread this saver knows of."""
        known = self._calls.spaces(keys.thread_id)
        return known if first is None else [first, *(ns for ns in known if ns != first)]

    def _list_call(self, config: RunnableConfig, before: str, count: int) -> Call:
        keys = self._keys(config)
        conf = config["configurable"]
        ns = conf.get("checkpoint_ns")
        exact = get_checkpoint_id(config) or ""
        args = [keys.base, ns or "", "1" if ns is None else "0", before, count, exact]
        spaces = self._all_spaces(keys) if ns is None else [ns]
        return Call(scripts.LIST, keys, self._spaced(keys, spaces), args, ns=ns or "")

    def _decode_list(self, call: Call, reply: Any) -> list[CheckpointTuple]:
        out = []
        memo: dict[bytes, Any] = {}
        for i in range(0, len(reply or ()), 2):
            ns, item = text(reply[i]), reply[i + 1]

            def one(ns: str = ns, item: Any = item) -> CheckpointTuple:
                return decode_item(self.serde, call.keys.thread_id, ns, item, memo)

            out.append(call.decoding(one))
        return out

    def _put_call(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        *,
        deltas: bool,
    ) -> tuple[Call, dict[Any, Any]]:
        keys = self._keys(config)
        ns = config["configurable"].get("checkpoint_ns", "")
        record, triples, staged = encode_checkpoint(
            self.serde, self._lists if deltas else None, config, checkpoint, metadata, new_versions
        )
        args = [keys.base, self.ttl_ms, ns, checkpoint["id"], record, *triples]
        call = Call(
            write_scripts.PUT,
            keys,
            self._spaced(keys, self._written_spaces(keys, ns)),
            args,
            ns=ns,
            checkpoint_id=checkpoint["id"],
        )
        return call, staged

    def _put_writes_call(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
    ) -> Call:
        keys = self._keys(config)
        conf = config["configurable"]
        ns, cid = conf.get("checkpoint_ns", ""), conf["checkpoint_id"]
        args = [keys.base, self.ttl_ms, ns, cid, *encode_writes(self.serde, cid, writes, task_id, task_path)]
        redis_keys = self._spaced(keys, self._written_spaces(keys, ns))
        return Call(write_scripts.PUT_WRITES, keys, redis_keys, args, ns=ns, checkpoint_id=cid)

    def _written_spaces(self, keys: ThreadKeys, ns: str) -> list[str]:
        """A write's namespaces: the one written, and with a TTL every one (all are touched)."""
        self._calls.learn(keys.thread_id, [ns])
        return self._all_spaces(keys, ns) if self.ttl_ms else [ns]

    def _thread_call(self, script: Any, thread_id: str, *extra: Any, spaces: Sequence[str] = ()) -> Call:
        keys = self._keys(str(thread_id))
        redis_keys = self._spaced(keys, list(dict.fromkeys([*self._all_spaces(keys), *spaces])))
        return Call(script, keys, redis_keys, [keys.base, *extra])

    def _copy_call(self, target_thread_id: str, dump: Any, args: list[Any]) -> Call:
        """COPY_IN of ``args`` (from a DUMP reply): declares the target's namespaces and the copied ones."""
        copied = [text(dump[i]) for i in range(0, len(dump or ()), 3)]
        return self._thread_call(write_scripts.COPY_IN, target_thread_id, self.ttl_ms, *args, spaces=copied)

    @staticmethod
    def _copy_args(dump: Any) -> list[Any]:
        args: list[Any] = []
        for i in range(0, len(dump or ()), 3):
            ids, fields = dump[i + 1], dump[i + 2]
            args += [dump[i], len(ids), len(fields) // 2, *ids, *fields]
        return args

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


def check_strategy(strategy: str) -> None:
    if strategy not in ("keep_latest", "delete"):
        raise ArgumentError(f"strategy must be 'keep_latest' or 'delete', got {strategy!r}", strategy)


def select(
    items: list[CheckpointTuple], filter: dict[str, Any] | None, before: RunnableConfig | None
) -> Iterator[CheckpointTuple]:
    limit_id = get_checkpoint_id(before) if before else None
    for item in items:
        if limit_id and item.config["configurable"]["checkpoint_id"] >= limit_id:
            continue
        if filter and not all(item.metadata.get(k) == v for k, v in filter.items()):
            continue
        yield item


class Budget:
    """How many more checkpoints a list() call may yield (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def take(self) -> None:
        if self.left is not None:
            self.left -= 1

    def page(self, filtered: bool) -> int:
        return PAGE if filtered or self.left is None else min(PAGE, self.left)
