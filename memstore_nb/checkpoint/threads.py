"""Reading LangGraph threads stored by MemorystoreSaver, for viewers and notebooks (sync clients).

>>> for thread_id in list_threads(client):  # doctest: +SKIP
...     print(thread_id, len(thread_messages(client, thread_id)))
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..errors import CheckpointError
from .calls import Calls
from .layout import ThreadKeys, check_prefix, split_value, text

__all__ = ["CheckpointSummary", "is_thread_key", "list_threads", "thread_checkpoints", "thread_messages"]

_KEY = re.compile(r"lgraph:\{([^{}]*)\}:(ns|i:.*|h:.*)", re.DOTALL)


def list_threads(client: Any, match: str = "*", *, key_prefix: str = "") -> Iterator[str]:
    """Every thread id stored under ``key_prefix`` whose id matches the glob ``match``, lazily.

    SCAN with a MATCH pattern on each thread's one ``...:ns`` key, on every primary of a cluster
    (never KEYS, no registry). Order is SCAN's.

    Args:
        client: a sync ``redis.Redis`` / ``RedisCluster`` (``decode_responses`` either way).
        match: a Redis glob on the thread id (``*``, ``user-?``, ``[ab]*``).
        key_prefix: the saver's ``key_prefix``.
    """
    yield from Calls(client).thread_ids(check_prefix(key_prefix), match)


def is_thread_key(key: bytes | str, key_prefix: str = "") -> bool:
    """Whether ``key`` is one of the keys MemorystoreSaver keeps for a thread (under ``key_prefix``)."""
    name = text(key)
    return name.startswith(key_prefix) and _KEY.fullmatch(name, len(key_prefix)) is not None


def thread_messages(
    client: Any,
    thread_id: str,
    *,
    key_prefix: str = "",
    checkpoint_ns: str = "",
    channel: str = "messages",
    serde: SerializerProtocol | None = None,
    checkpoint_id: str | None = None,
) -> list[Any]:
    """The ``messages`` channel of the thread's newest checkpoint (``[]`` for an unknown thread).

    ``checkpoint_id`` (one of :func:`thread_checkpoints`' ids) reads that checkpoint instead.

    Raises:
        CheckpointError: the thread's data is of another type or corrupt (the message names it).
    """
    from .saver import MemorystoreSaver

    saver = MemorystoreSaver(client, key_prefix=key_prefix, serde=serde)
    configurable = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    found = saver.get_tuple({"configurable": configurable})
    if found is None:
        return []
    value = found.checkpoint["channel_values"].get(channel, [])
    return list(value) if isinstance(value, (list, tuple)) else [value]


@dataclass(frozen=True)
class CheckpointSummary:
    """One checkpoint of a thread, as a history view lists it.

    Attributes:
        checkpoint_id: LangGraph's id (time-ordered).
        ts: when it was made (ISO 8601, UTC).
        parent_id: the checkpoint it follows (None for the first one of a run).
        step: LangGraph's step (-1 for an input checkpoint).
        source: ``"input"``, ``"loop"``, ``"update"`` or ``"fork"``.
        metadata: the whole metadata dict.
    """

    checkpoint_id: str
    ts: str | None
    parent_id: str | None
    step: int | None
    source: str | None
    metadata: dict[str, Any]


def thread_checkpoints(
    client: Any,
    thread_id: str,
    *,
    key_prefix: str = "",
    checkpoint_ns: str = "",
    limit: int | None = None,
    serde: SerializerProtocol | None = None,
) -> list[CheckpointSummary]:
    """The thread's checkpoints, newest first, without their channel values (two round trips).

    Raises:
        CheckpointError: a checkpoint cannot be decoded (the message names it).
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    codec = serde or JsonPlusSerializer()
    keys = ThreadKeys(thread_id, check_prefix(key_prefix))
    stop = -1 if limit is None else max(limit, 1) - 1
    try:
        ids = [text(i) for i in client.execute_command("ZREVRANGE", keys.index(checkpoint_ns), 0, stop)]
        if (limit is not None and limit <= 0) or not ids:
            return []
        fields = [f"c:{cid}" for cid in ids]
        records = client.execute_command("HMGET", keys.data(checkpoint_ns), *fields, NEVER_DECODE=True)
    except redis.exceptions.ResponseError as exc:
        raise CheckpointError(
            f"thread {thread_id!r}: a key of the thread holds another type of data ({exc}); "
            f"inspect the keys matching {keys.base}* with redis-cli",
            thread_id,
        ) from exc
    out = []
    for cid, raw in zip(ids, records, strict=True):
        if raw is None:
            continue
        try:
            header, typed = split_value(raw)
            body = codec.loads_typed(typed)
            metadata, ts = dict(body["metadata"]), body["checkpoint"].get("ts")
        except Exception as exc:
            raise CheckpointError(
                f"checkpoint {cid!r} of thread {thread_id!r} cannot be read ({type(exc).__name__}: {exc})",
                thread_id,
                cid,
            ) from exc
        step = metadata.get("step")
        out.append(
            CheckpointSummary(
                cid,
                ts,
                header.get("p"),
                step if isinstance(step, int) else None,
                metadata.get("source"),
                metadata,
            )
        )
    return out
