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
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..errors import CheckpointError
from . import scripts
from .calls import Call, Calls
from .layout import ThreadKeys, check_prefix, check_text, split_value, text
from .records import decode_item

__all__ = ["CheckpointSummary", "is_thread_key", "list_threads", "thread_checkpoints", "thread_messages"]

# Layout 2's two keys, and layout 1's (upgrade_threads converts them).
_KEY = re.compile(r"lgraph:\{([^{}]*)\}:(h|i|ns|i:.*|h:.*)", re.DOTALL)


def read_checkpoint(
    client: Any, keys: ThreadKeys, ns: str, checkpoint_id: str | None, serde: SerializerProtocol | None
) -> CheckpointTuple | None:
    """One checkpoint (the namespace's newest without ``checkpoint_id``) read with a sync client, no saver needed.

    Raises:
        CheckpointError: the thread is incomplete, damaged, of another type or stored in the old layout.
    """
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    check_text(ns, "checkpoint_ns")
    args = [ns, checkpoint_id or ""]
    call = Call(scripts.GET, keys, [keys.thread, keys.order], args, ns=ns, checkpoint_id=checkpoint_id)
    reply = Calls(client).read(call)
    if reply == 0:
        if client.exists(keys.legacy):
            raise call.refusal("LEGACY")
        return None
    if not reply:
        return None
    codec = serde or JsonPlusSerializer()
    return call.decoding(lambda: decode_item(codec, keys.thread_id, ns, reply))


def list_threads(client: Any, match: str = "*", *, key_prefix: str = "") -> Iterator[str]:
    """Every thread id stored under ``key_prefix`` whose id matches the glob ``match``, lazily.

    SCAN with a MATCH pattern on each thread's one ``...:ns`` key, on every primary of a cluster
    (never KEYS, no registry). Order is SCAN's.

    Args:
        client: a sync ``redis.Redis`` / ``RedisCluster`` (``decode_responses`` either way).
        match: a Redis glob on the thread id (``*``, ``user-?``, ``[ab]*``).
        key_prefix: the saver's ``key_prefix``.
    """
    for thread_id, _legacy in Calls(client).thread_ids(check_prefix(key_prefix), match):
        yield thread_id


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
    keys = ThreadKeys(thread_id, check_prefix(key_prefix))
    found = read_checkpoint(client, keys, checkpoint_ns, checkpoint_id, serde)
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
    if limit is not None and limit <= 0:
        return []
    try:
        number = "0" if checkpoint_ns == "" else client.execute_command("HGET", keys.thread, "s:" + checkpoint_ns)
        if number is None:
            return []
        n = text(number)
        members = client.execute_command(
            "ZREVRANGEBYLEX", keys.order, f"({n};", f"[{n}:", "LIMIT", 0, -1 if limit is None else limit
        )
        ids = [text(m)[len(n) + 1 :] for m in members]
        if not ids:
            return []
        fields = [f"c:{n}:{cid}" for cid in ids]
        records = client.execute_command("HMGET", keys.thread, *fields, NEVER_DECODE=True)
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
