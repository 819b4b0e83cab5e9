"""Search: the namespaces under a prefix (from the registry), then their items, in ``InMemoryStore``'s order.

Namespaces come in the order they last became non-empty, items in the order they were first
put; a ``filter`` is applied to the values; ``offset`` and ``limit`` slice what is left. A search
with a ``query`` ranks by cosine similarity (see :mod:`~memstore_nb.longterm.exact` and
:mod:`~memstore_nb.longterm.knn`). Returned items with a TTL are refreshed when asked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis.exceptions
from langgraph.store.base import SearchItem, SearchOp

from .calls import Call, Flow
from .errors import StoreDataError
from .filters import compile_filter
from .layout import from_micros, namespace_text, text
from .scripts import FETCH, NSREAD
from .settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "Found",
    "fetch_calls",
    "namespaces_flow",
    "plain_flow",
    "read_namespaces",
    "readable",
    "records",
    "to_search_item",
]


@dataclass
class Found:
    """An item as a script returned it."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]
    created: int
    updated: int
    ttl: str
    place: int
    rank: int = 0  # the namespace's place in the search's order


def fail(reply: Any) -> None:
    """Raise a reply that is an error, in the store's terms when it is about our data."""
    if isinstance(reply, redis.exceptions.ResponseError) and "WRONGTYPE" in str(reply):
        raise StoreDataError(
            f"a key of the store holds another type of data ({reply}); use another key_prefix, or inspect "
            "the keys starting with it with redis-cli"
        ) from reply
    if isinstance(reply, BaseException):
        raise reply


Record = tuple[bytes, bytes, int, int, int, str]


def records(blob: bytes) -> list[Record | None]:
    """The items of a script's reply: ``(key, value, created, updated, place, ttl)``, None for one that is gone.

    A record is ``"<key length> <value length> <created> <updated> <place> <ttl>\\n<key><value>"``.
    """
    out: list[Record | None] = []
    at, size = 0, len(blob)
    while at < size:
        end = blob.index(b"\n", at)
        klen, vlen, created, updated, place, ttl = blob[at:end].split(b" ")
        at = end + 1
        if klen == b"-1":
            out.append(None)
            continue
        k, v = int(klen), int(vlen)
        out.append((blob[at : at + k], blob[at + k : at + k + v], int(created), int(updated), int(place), ttl.decode()))
        at += k + v
    return out


def decode(namespace: tuple[str, ...], record: Record) -> Found:
    """One record as an item; a value that is not a JSON object raises :class:`StoreDataError`."""
    key = text(record[0])
    try:
        value = orjson.loads(record[1])
        if not isinstance(value, dict):
            raise ValueError(f"a {type(value).__name__}, not an object")
    except ValueError as exc:
        raise StoreDataError(
            f"item {key!r} of namespace {namespace} holds a damaged value ({exc}); delete it or put it again"
        ) from exc
    return Found(namespace, key, value, record[2], record[3], record[5], record[4])


def readable(namespace: tuple[str, ...], record: Record | None) -> Found | None:
    """:func:`decode` for searches: a gone item is None, a damaged one is logged and left out (None)."""
    if record is None:
        return None
    try:
        return decode(namespace, record)
    except StoreDataError as exc:
        log.warning("%s (left out of the search)", exc)
        return None


def to_search_item(found: Found, score: float | None = None) -> SearchItem:
    return SearchItem(
        namespace=found.namespace,
        key=found.key,
        value=found.value,
        created_at=from_micros(found.created),
        updated_at=from_micros(found.updated),
        score=score,
    )


def namespaces_flow(settings: Settings, prefix: tuple[str, ...]) -> Flow:
    """The registered namespaces equal to or under ``prefix`` (some may be empty: the caller checks)."""
    registry = settings.registry
    calls = [Call.command(registry.names, "ZRANGEBYLEX", registry.names, lo, hi) for lo, hi in registry.ranges(prefix)]
    replies = yield calls
    names: set[str] = set()
    for reply in replies:
        fail(reply)
        names.update(text(name) for name in reply)
    return [tuple(name.split(".")) for name in sorted(names)]


def read_namespaces(settings: Settings, namespaces: Sequence[tuple[str, ...]], stop: int, dead: list[str]) -> Flow:
    """Every live item of these namespaces (the first ``stop`` of each, 0: all), in search order."""
    calls = []
    for namespace in namespaces:
        keys = settings.keys(namespace)
        calls.append(Call.read(NSREAD, [keys.order], [keys.base, keys.vbase, stop]))
    replies = yield calls
    per_namespace = []
    for namespace, reply in zip(namespaces, replies, strict=True):
        fail(reply)
        if not reply:
            dead.append(namespace_text(namespace))
            continue
        items = [item for record in records(reply[1]) if (item := readable(namespace, record))]
        per_namespace.append((int(reply[0]), namespace, items))
    per_namespace.sort(key=lambda entry: (entry[0], entry[1]))
    found = []
    for rank, (_born, _namespace, items) in enumerate(per_namespace):
        for item in items:
            item.rank = rank
            found.append(item)
    return found


def fetch_calls(settings: Settings, wanted: dict[tuple[str, ...], list[str]], refresh: bool, by: str) -> list[Call]:
    """FETCH per namespace: items by key (``by='k'``) or by place (``'s'``), refreshed when asked."""
    calls = []
    for namespace, members in wanted.items():
        keys = settings.keys(namespace)
        args = [keys.base, keys.vbase, "1" if refresh else "0", by, *members]
        calls.append(Call.read(FETCH, [keys.order], args, note=namespace))
    return calls


def refresh_flow(settings: Settings, items: Sequence[Found]) -> Flow:
    """Refresh the TTL of the returned items that have one (one round trip, only if there are any)."""
    wanted: dict[tuple[str, ...], list[str]] = {}
    for item in items:
        if item.ttl:
            wanted.setdefault(item.namespace, []).append(item.key)
    if wanted:
        for reply in (yield fetch_calls(settings, wanted, True, "k")):
            fail(reply)
    return None


def plain_flow(settings: Settings, op: SearchOp, namespaces: list[Any], dead: list[str]) -> Flow:
    """One SearchOp without a query (or on a store without an index): its result list."""
    unbounded = op.filter or min(op.offset, op.limit) < 0
    if not unbounded and op.offset + op.limit <= 0:
        return []
    found = yield from read_namespaces(settings, namespaces, 0 if unbounded else op.offset + op.limit, dead)
    if op.filter:
        test = compile_filter(op.filter)
        found = [item for item in found if test(item.value)]
    window = found[op.offset : op.offset + op.limit]
    if op.refresh_ttl:
        yield from refresh_flow(settings, window)
    return [to_search_item(item) for item in window]
