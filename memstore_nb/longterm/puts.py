"""Puts and deletes: checked before anything is sent, then one exactly-once script per item.

A batch keeps one operation per ``(namespace, key)``: the last one, at the place of the first,
as ``InMemoryStore`` does. Values must be mappings that JSON can hold; TTLs are minutes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.exceptions
from langgraph.store.base import PutOp

from ..writes import new_write_id
from .calls import Call, Flow
from .errors import StoreDataError, StoreValueError
from .layout import namespace_text, prefix_digests, ttl_millis
from .scripts import FORGET, REGISTER, WRITE
from .settings import EXACT, INDEXED, NO_VECTORS, Settings
from .vectors import float32, pack, texts_of, tokenized

__all__ = ["Pending", "assign_vectors", "prepare", "write_call", "write_flow"]

_NEEDKEYS = "NEEDKEYS "


@dataclass
class Pending:
    """One item write of a batch, checked and encoded."""

    op: PutOp
    value: bytes = b""  # the JSON value; empty for a delete
    ttl_ms: int | None = None
    texts: list[str] = field(default_factory=list)
    vectors: list[Sequence[float]] = field(default_factory=list)

    @property
    def delete(self) -> bool:
        return self.op.value is None


def _value(op: PutOp) -> bytes:
    try:
        value = dict(op.value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise StoreValueError(
            f"the value of item {op.key!r} in {op.namespace} must be a dict (a mapping with str keys), "
            f"got {type(op.value).__name__}: {exc}"
        ) from exc
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise StoreValueError(
            f"the value of item {op.key!r} in {op.namespace} cannot be stored as JSON ({exc}); "
            "keep to str keys and JSON values (str, numbers, bools, None, lists, dicts)"
        ) from exc


def _ttl(op: PutOp) -> int | None:
    if op.ttl is None or op.value is None:
        return None
    if isinstance(op.ttl, float) and math.isinf(op.ttl):
        return None
    return ttl_millis(op.ttl)


def prepare(ops: Sequence[PutOp], settings: Settings) -> list[Pending]:
    """The batch's writes, one per item, every value and TTL checked (nothing is sent on a refusal)."""
    last: dict[tuple[tuple[str, ...], str], PutOp] = {}
    for op in ops:
        last[(op.namespace, op.key)] = op
    pending = []
    for op in last.values():
        write = Pending(op, b"" if op.value is None else _value(op), _ttl(op))
        if settings.kind != NO_VECTORS and op.value is not None and op.index is not False:
            paths = settings.paths if op.index is None else tokenized(op.index)
            write.texts = texts_of(op.value, paths)
        pending.append(write)
    return pending


def write_call(write: Pending, settings: Settings, now_us: int, extra_docs: int = 0) -> Call:
    op = write.op
    keys = settings.keys(op.namespace)
    redis_keys = [keys.item(op.key), *keys.all()]
    vector_args: list[Any] = []
    kind = settings.kind if write.vectors else NO_VECTORS
    if kind == EXACT:
        for vector in write.vectors:
            packed = pack(vector, settings.dims)
            vector_args += [packed.f32, packed.i8, packed.meta]
    elif kind == INDEXED:
        vector_args = [float32(vector, settings.dims) for vector in write.vectors]
    docs = max(len(write.vectors) if kind == INDEXED else 0, extra_docs)
    redis_keys += [keys.vector(n, op.key) for n in range(docs)]
    ttl = "" if write.ttl_ms is None else str(write.ttl_ms)
    args = [
        "d" if write.delete else "p",
        op.key,
        write.value,
        now_us,
        ttl,
        repr(op.ttl) if ttl else "",
        settings.born(),
        kind,
    ]
    if kind:  # a write without vectors sends none of what follows (the script finds the prefix itself)
        args += [
            f"{settings.dims}{kind}",
            prefix_digests(op.namespace) if kind == INDEXED else "",
            keys.vbase,
            *vector_args,
        ]
    return Call.write(WRITE, redis_keys, args, new_write_id(), note=write)


def write_flow(pending: Sequence[Pending], settings: Settings, now_us: int) -> Flow:
    """Register new namespaces, then write every item (one round trip each step)."""
    moment, names = settings.to_register([namespace_text(w.op.namespace) for w in pending if not w.delete])
    if names:
        replies = yield [Call.read(REGISTER, [settings.registry.names, settings.registry.seen], [moment, *names])]
        if isinstance(replies[0], Exception):
            settings.unregistered(names)
            raise replies[0]
    calls = [write_call(w, settings, now_us) for w in pending]
    emptied: list[str] = []
    for _attempt in range(3):
        replies = yield calls
        again = []
        for call, reply in zip(calls, replies, strict=True):
            if reply == 2:  # a delete emptied the namespace
                emptied.append(namespace_text(call.note.op.namespace))
            elif isinstance(reply, redis.exceptions.ResponseError) and str(reply).startswith(_NEEDKEYS):
                docs = int(str(reply)[len(_NEEDKEYS) :])
                again.append(write_call(call.note, settings, now_us, docs))  # refused before writing
            elif isinstance(reply, Exception):
                raise _failure(call, reply)
        if not again:
            break
        calls = again
    else:
        raise StoreDataError("an item's vector documents kept changing while it was written; try again")
    forget = settings.registered_at(emptied)
    if forget:
        # tidying only: an entry left behind is removed by a later listing
        yield [Call.read(FORGET, [settings.registry.names, settings.registry.seen], forget)]
    return None


def _failure(call: Call, reply: Exception) -> Exception:
    message = str(reply)
    if isinstance(reply, redis.exceptions.ResponseError) and message.startswith(("WRONGTYPE", "DIMS")):
        write: Pending = call.note
        what = (
            f"vectors of {message[5:]} (size and kind) are stored there, this store has another index"
            if message.startswith("DIMS")
            else message
        )
        return StoreDataError(
            f"cannot write item {write.op.key!r} of namespace {write.op.namespace}: {what}; nothing was "
            "written. Use another key_prefix, or inspect the namespace's keys with redis-cli",
            call.route,
        )
    return reply


def assign_vectors(pending: Sequence[Pending], vectors: Sequence[Sequence[float]], unique: Mapping[str, int]) -> None:
    """Give each write the embeddings of its texts (``unique`` maps a text to its place in ``vectors``)."""
    for write in pending:
        write.vectors = [vectors[unique[text]] for text in write.texts]
