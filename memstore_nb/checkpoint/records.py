"""Checkpoints, channel values and writes <-> the stored values of layout.py, with the saver's ``serde``.

A list-valued channel (``messages``) whose previous stored version is a prefix of the new value is
stored as the appended items only (a *delta*) pointing at that version. A whole value is stored
only when the list does not extend the previous one (a message removed or edited), or after
:data:`MAX_CHAIN` deltas in a row (which keeps a chain below the scripts' walking bound), so the
data grows with the messages, not with copies of the list.
"""

from __future__ import annotations

import operator
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..errors import CheckpointError
from .layout import BLOB_DELTA, BLOB_EMPTY, BLOB_FULL, blob_field, join_value, split_value, text

__all__ = ["MAX_CHAIN", "ListCache", "decode_item", "encode_checkpoint", "encode_writes"]

#: Deltas in a row before a list channel is stored whole again (below scripts.MAX_WALK).
MAX_CHAIN = 10_000
# The cache keeps the last stored list of recent threads alive (references, not copies of the
# messages): bounded by entries and by list items in all, least recently used evicted first.
_CACHE_SIZE = 4096
_CACHE_ITEMS = 100_000


@dataclass(frozen=True)
class _Stored:
    field: str
    items: list[Any]
    depth: int
    token: str = ""  # the thread's edit token when it was stored: valid only while the server's is the same


class ListCache:
    """What this saver last stored for each list channel of recent threads (bounded, thread-safe).

    An entry is used only while the thread's edit token (layout.py: changed by the server whenever
    stored data is changed or removed) is the one it was stored under, never by comparing lengths.
    """

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str, str], _Stored] = OrderedDict()
        self._spaces: dict[tuple[str, str], set[str]] = {}  # (thread, ns) -> its cached channels
        self._items = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> _Stored | None:
        with self._lock:
            return self._entries.get(key)

    def known(self, thread_id: str, ns: str) -> dict[str, _Stored]:
        """The cached list values of one namespace of a thread, by blob field."""
        with self._lock:
            channels = self._spaces.get((thread_id, ns))
            if not channels:
                return {}
            found = (self._entries.get((thread_id, ns, channel)) for channel in channels)
            return {entry.field: entry for entry in found if entry is not None and entry.token}

    def update(self, entries: dict[tuple[str, str, str], _Stored], token: str) -> None:
        """Record what a put stored, under the edit token the server answered."""
        with self._lock:
            for key, staged in entries.items():
                value = _Stored(staged.field, staged.items, staged.depth, token)
                old = self._entries.pop(key, None)
                self._items += len(value.items) - (len(old.items) if old else 0)
                self._entries[key] = value
                self._spaces.setdefault((key[0], key[1]), set()).add(key[2])
            while self._entries and (len(self._entries) > _CACHE_SIZE or self._items > _CACHE_ITEMS):
                self._drop(next(iter(self._entries)))

    def forget(self, thread_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == thread_id]:
                self._drop(key)

    def _drop(self, key: tuple[str, str, str]) -> None:
        self._items -= len(self._entries.pop(key).items)
        channels = self._spaces.get((key[0], key[1]))
        if channels is not None:
            channels.discard(key[2])
            if not channels:
                del self._spaces[(key[0], key[1])]


def _same(a: Any, b: Any) -> bool:
    """Whether two list items are equal; anything whose ``==`` is not a plain bool (numpy arrays) is not."""
    if a is b:
        return True
    try:
        equal = a == b
    except Exception:
        return False
    return equal is True or (type(equal) is bool and equal)


def _extends(old: list[Any], new: list[Any]) -> bool:
    if not 0 < len(old) <= len(new):
        return False
    # Usually the very same objects (add_messages copies the list, not the messages): compare identities in C first.
    return all(map(operator.is_, old, new)) or all(map(_same, old, new))


def run_key(run_id: Any) -> str | None:
    """A run id as the text delete_for_runs matches: a UUID's canonical form, bytes as UTF-8 (else hex)."""
    if run_id is None:
        return None
    if isinstance(run_id, uuid.UUID):
        return str(run_id)
    if isinstance(run_id, (bytes, bytearray, memoryview)):
        raw = bytes(run_id)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.hex()
    text = str(run_id)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").hex()
    return text


def encode_checkpoint(
    serde: SerializerProtocol,
    cache: ListCache | None,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> tuple[bytes, list[Any], dict[tuple[str, str, str], _Stored], str]:
    """The record, the ``(field, base field, value)`` blob triples of :data:`write_scripts.PUT`, the cache
    entries to record once the write is stored (``cache=None``: no deltas), and the edit token the
    deltas were made against (``""`` when there is none).
    """
    conf = config["configurable"]
    thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
    body = dict(checkpoint)
    values: dict[str, Any] = body.pop("channel_values", {})  # type: ignore[assignment]
    full_metadata = get_checkpoint_metadata(config, metadata)
    refs = [blob_field(ch, ver) for ch, ver in checkpoint["channel_versions"].items()]
    # The header is what scripts and viewers read without the serializer: blob fields, parent, run,
    # time, and the length of each list channel.
    lengths = {ch: len(v) for ch, v in values.items() if isinstance(v, list)}
    header = {
        "b": refs,
        "p": conf.get("checkpoint_id"),
        "r": run_key(full_metadata.get("run_id")),
        "t": checkpoint.get("ts"),
        "l": lengths,
    }
    record = join_value(header, serde.dumps_typed({"checkpoint": body, "metadata": full_metadata}))
    triples: list[Any] = []
    staged: dict[tuple[str, str, str], _Stored] = {}
    against = ""
    for channel, version in new_versions.items():
        field = blob_field(channel, version)
        if channel not in values:
            triples += [field, "", join_value([BLOB_EMPTY, None], ("empty", b""))]
            continue
        value = values[channel]
        base = ""
        typed: tuple[str, bytes] | None = None
        depth = 0
        if cache is not None and isinstance(value, list) and isinstance(version, str):
            prev = cache.get((thread_id, ns, channel))
            if (
                prev is not None
                and prev.token
                and (not against or prev.token == against)
                and prev.field != field
                and prev.depth < MAX_CHAIN
                and _extends(prev.items, value)
            ):
                base, depth, against = prev.field, prev.depth + 1, prev.token
                typed = serde.dumps_typed(value[len(prev.items) :])
        if typed is None:
            typed = serde.dumps_typed(value)
        stored = join_value([BLOB_DELTA, base] if base else [BLOB_FULL, None], typed)
        if cache is not None and isinstance(value, list) and isinstance(version, str):
            staged[(thread_id, ns, channel)] = _Stored(field, list(value), depth)
        triples += [field, base, stored]
    return record, triples, staged, against


def encode_writes(
    serde: SerializerProtocol, checkpoint_id: str, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
) -> list[Any]:
    """The ``(field, overwrite, value)`` triples of :data:`write_scripts.PUT_WRITES`."""
    out: list[Any] = []
    for n, (channel, value) in enumerate(writes):
        idx = WRITES_IDX_MAP.get(channel, n)
        field = f"{task_id}#{idx}"
        out += [
            field,
            "1" if idx < 0 else "0",
            join_value([channel, task_path, task_id, idx], serde.dumps_typed(value)),
        ]
    return out


def _corrupt(thread_id: str, ns: str, cid: str, what: str, exc: BaseException) -> CheckpointError:
    where = f"thread {thread_id!r}" + (f" namespace {ns!r}" if ns else "")
    return CheckpointError(
        f"{what} of checkpoint {cid!r} in {where} cannot be read ({type(exc).__name__}: {exc}); "
        "other checkpoints and threads are unaffected; delete this thread (saver.delete_thread) "
        "or restore it from a backup",
        thread_id,
        cid,
    )


def _channel_value(serde: SerializerProtocol, pieces: list[bytes], memo: dict[bytes, Any] | None) -> tuple[bool, Any]:
    """A channel's value from its chain of stored pieces (newest first); ``(False, None)`` if none.

    ``memo`` (one list page) decodes a delta shared by several checkpoints once; each value is
    still a list of its own.
    """
    if not pieces:
        return False, None
    head, typed = split_value(pieces[-1])
    if head[0] == BLOB_EMPTY:
        return False, None
    if head[0] != BLOB_FULL:
        raise ValueError(f"the chain of list deltas ends at a missing version {head[1]!r}")
    if len(pieces) == 1:
        return True, serde.loads_typed(typed)
    value: list[Any] = []
    for piece in reversed(pieces):
        found = memo.get(piece) if memo is not None else None
        if found is None:
            found = serde.loads_typed(split_value(piece)[1])
            if memo is not None:
                memo[piece] = found
        value.extend(found)
    return True, value


def decode_item(
    serde: SerializerProtocol,
    thread_id: str,
    ns: str,
    item: list[Any],
    memo: dict[bytes, Any] | None = None,
    known: dict[str, _Stored] | None = None,
) -> CheckpointTuple:
    """A :class:`CheckpointTuple` from one item of the GET / LIST scripts.

    ``known``: the list values this saver stored, by blob field, that GET was told about; where the
    server confirms the checkpoint holds one of them (and its blob still exists) it sends ``1``
    instead of the value, and the value is a new list of the items stored (not decoded again).
    """
    cid = text(item[0])
    if isinstance(item[1], int):  # the script's answer for a checkpoint it could not read
        raise _corrupt(thread_id, ns, cid, "the data", ValueError(text(item[2])))
    try:
        header, typed = split_value(item[1])
        body = serde.loads_typed(typed)
        checkpoint, metadata = dict(body["checkpoint"]), body["metadata"]
    except Exception as exc:
        raise _corrupt(thread_id, ns, cid, "the record", exc) from exc
    values: dict[str, Any] = {}
    blobs = item[2]
    for i in range(0, len(blobs), 2):
        field = text(blobs[i])
        channel = field.rsplit("#", 1)[0]
        if isinstance(blobs[i + 1], int):
            if known is None or field not in known:
                raise _corrupt(thread_id, ns, cid, f"channel {channel!r}", KeyError(field))
            values[channel] = list(known[field].items)
            continue
        try:
            present, value = _channel_value(serde, blobs[i + 1], memo)
        except Exception as exc:
            raise _corrupt(thread_id, ns, cid, f"channel {channel!r}", exc) from exc
        if present:
            values[channel] = value
    checkpoint["channel_values"] = values
    pending: list[tuple[tuple[str, str, int], tuple[str, str, Any]]] = []
    writes = item[3]
    for i in range(0, len(writes), 2):
        try:
            (channel, task_path, task_id, idx), wtyped = split_value(writes[i + 1])
            pending.append((writes_sort_key(task_path, task_id, idx), (task_id, channel, serde.loads_typed(wtyped))))
        except Exception as exc:
            raise _corrupt(thread_id, ns, cid, f"pending write {text(writes[i])!r}", exc) from exc
    pending.sort(key=lambda entry: entry[0])
    parent = header.get("p")

    def conf(checkpoint_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}}

    return CheckpointTuple(
        config=conf(cid),
        checkpoint=checkpoint,  # type: ignore[arg-type]
        metadata=metadata,
        parent_config=conf(parent) if parent else None,
        pending_writes=[entry[1] for entry in pending],
    )
