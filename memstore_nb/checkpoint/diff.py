"""Two checkpoints of a thread side by side, and what a checkpoint still has to do (for history viewers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..errors import CheckpointError
from . import scripts
from .calls import Call, Calls
from .layout import ThreadKeys, check_prefix, check_text, split_value, text
from .records import decode_item
from .views import node_of

__all__ = ["CheckpointDiff", "CheckpointTasks", "PendingWrite", "checkpoint_tasks", "compare_checkpoints", "short"]

_SHORT = 80


def short(value: Any, width: int = _SHORT) -> str:
    """A one-line description of a channel value: a list's length and last item, else its repr, cut to ``width``."""
    if isinstance(value, (list, tuple)):
        last = f", last: {_one(value[-1])}" if value else ""
        text_ = f"{len(value)} item{'s' if len(value) != 1 else ''}{last}"
    else:
        text_ = _one(value)
    return text_ if len(text_) <= width else text_[: width - 1] + "…"


def _one(value: Any) -> str:
    content = getattr(value, "content", None)
    if isinstance(content, str):
        return f"{getattr(value, 'type', type(value).__name__)}: {content!r}"
    return repr(value)


def _read(client: Any, keys: ThreadKeys, ns: str, checkpoint_id: str | None, serde: SerializerProtocol | None) -> Any:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    check_text(ns, "checkpoint_ns")
    call = Call(
        scripts.GET, keys, [keys.thread, keys.order], [ns, checkpoint_id or ""], ns=ns, checkpoint_id=checkpoint_id
    )
    reply = Calls(client).read(call)
    if not reply:
        raise CheckpointError(
            f"thread {keys.thread_id!r} has no checkpoint {checkpoint_id or '(newest)'}"
            + (f" in namespace {ns!r}" if ns else ""),
            keys.thread_id,
            checkpoint_id,
        )
    codec = serde or JsonPlusSerializer()
    return reply, codec, call.decoding(lambda: decode_item(codec, keys.thread_id, ns, reply))


@dataclass(frozen=True)
class CheckpointDiff:
    """What changed from one checkpoint to another.

    Attributes:
        added: messages the newer one holds and the older one does not (by message id).
        removed: messages the older one holds and the newer one does not.
        changed: every other channel whose version differs: name -> (older, newer) as :func:`short` text.
    """

    added: list[Any]
    removed: list[Any]
    changed: dict[str, tuple[str, str]]


def _key(message: Any) -> Any:
    ident = getattr(message, "id", None) or (message.get("id") if isinstance(message, dict) else None)
    return ident if isinstance(ident, str) else repr(message)


def compare_checkpoints(
    client: Any,
    thread_id: str,
    older_id: str,
    newer_id: str,
    *,
    key_prefix: str = "",
    checkpoint_ns: str = "",
    channel: str = "messages",
    serde: SerializerProtocol | None = None,
) -> CheckpointDiff:
    """Messages added and removed between two checkpoints, and the other channels that changed.

    Raises:
        CheckpointError: either checkpoint is missing or cannot be read.
    """
    keys = ThreadKeys(thread_id, check_prefix(key_prefix))
    old = _read(client, keys, checkpoint_ns, older_id, serde)[2].checkpoint
    new = _read(client, keys, checkpoint_ns, newer_id, serde)[2].checkpoint
    before = list(old["channel_values"].get(channel) or [])
    after = list(new["channel_values"].get(channel) or [])
    had, has = {_key(m) for m in before}, {_key(m) for m in after}
    changed = {}
    for name in dict.fromkeys([*old["channel_versions"], *new["channel_versions"]]):
        if name == channel or old["channel_versions"].get(name) == new["channel_versions"].get(name):
            continue
        missing = "(no value)"
        was = short(old["channel_values"][name]) if name in old["channel_values"] else missing
        now = short(new["channel_values"][name]) if name in new["channel_values"] else missing
        changed[name] = (was, now)
    return CheckpointDiff([m for m in after if _key(m) not in had], [m for m in before if _key(m) not in has], changed)


@dataclass(frozen=True)
class PendingWrite:
    """A write a task made after a checkpoint, not yet folded into a newer one.

    Attributes:
        task_id: the task.
        node: the node the task ran (None when its path does not say).
        channel: the channel written.
        value: the value, as :func:`short` text.
    """

    task_id: str
    node: str | None
    channel: str
    value: str


@dataclass(frozen=True)
class CheckpointTasks:
    """What a checkpoint still has to do.

    Attributes:
        checkpoint_id: the checkpoint.
        next: the nodes it triggers, as ``graph.get_state_history`` gives them (``StateSnapshot.next``): a
            node whose writes are stored already still counts (its writes say it ran).
        writes: the pending writes stored with it (a task's writes, its error or its interrupt).
    """

    checkpoint_id: str
    next: tuple[str, ...]
    writes: list[PendingWrite]


def _next_nodes(checkpoint: Any) -> tuple[str, ...]:
    versions, seen = checkpoint["channel_versions"], checkpoint.get("versions_seen") or {}
    out = []
    for name, version in versions.items():
        if name == "__start__":
            node = "__start__"
        elif name.startswith("branch:to:"):
            node = name[len("branch:to:") :]
        else:
            continue
        # LangGraph's trigger: the channel holds a value it has not seen (a consumed one keeps its new version)
        last = (seen.get(node) or {}).get(name)
        fresh = version is not None and (last is None or str(version) > str(last))
        if fresh and name in checkpoint["channel_values"]:
            out.append(node)
    return tuple(dict.fromkeys(out))


def checkpoint_tasks(
    client: Any,
    thread_id: str,
    checkpoint_id: str | None = None,
    *,
    key_prefix: str = "",
    checkpoint_ns: str = "",
    serde: SerializerProtocol | None = None,
) -> CheckpointTasks:
    """The pending writes of a checkpoint (the newest without ``checkpoint_id``) and the nodes that run next.

    Raises:
        CheckpointError: the checkpoint is missing or cannot be read.
    """
    keys = ThreadKeys(thread_id, check_prefix(key_prefix))
    reply, codec, found = _read(client, keys, checkpoint_ns, checkpoint_id, serde)
    writes = []
    for i in range(0, len(reply[3]), 2):
        (channel, path, task_id, _idx), typed = split_value(reply[3][i + 1])
        writes.append(PendingWrite(str(task_id), node_of(path), str(channel), short(codec.loads_typed(typed))))
    return CheckpointTasks(text(reply[0]), _next_nodes(found.checkpoint), writes)
