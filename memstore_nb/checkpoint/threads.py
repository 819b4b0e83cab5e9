"""Reading LangGraph threads stored by MemorystoreSaver, for viewers and notebooks (sync clients).

>>> for thread_id in list_threads(client):  # doctest: +SKIP
...     print(thread_id, len(thread_messages(client, thread_id)))
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol

from . import scripts
from .calls import Call, Calls
from .layout import ThreadKeys, check_prefix, check_text, text
from .records import decode_item
from .views import CheckpointSummary, message_times, thread_checkpoints

__all__ = [
    "CheckpointSummary",
    "is_thread_key",
    "list_threads",
    "message_times",
    "read_checkpoint",
    "thread_checkpoints",
    "thread_messages",
]

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
