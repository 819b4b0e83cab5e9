"""One batch of LangGraph store operations, as a flow: checks, embeddings, reads, then writes.

As in ``InMemoryStore``, every read of a batch sees the store as it was before the batch's writes,
and the writes are applied after the reads. Reads of different operations share round trips;
a batch that only writes takes one round trip (two when it puts into a namespace this process
has not registered in the last few minutes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    SearchOp,
)

from .calls import Embed, Flow, lockstep
from .exact import exact_flow
from .filters import check_filter
from .knn import knn_flow
from .layout import from_micros
from .listing import list_flow, unregister_call
from .puts import assign_vectors, prepare, write_flow
from .search import decode, fail, fetch_calls, namespaces_flow, plain_flow, records
from .settings import INDEXED, NO_VECTORS, Settings

__all__ = ["batch_flow", "check_namespace"]


def check_namespace(namespace: Any, *, put: bool = False) -> None:
    """LangGraph's namespace rules (the same ``InvalidNamespaceError``); a put's namespace must not be empty."""
    if not isinstance(namespace, tuple):
        raise InvalidNamespaceError(f"Namespace must be a tuple of str, got {type(namespace).__name__}: {namespace!r}")
    if put and not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels must be strings, "
                f"but got {type(label).__name__}."
            )
        if "." in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. "
                "Namespace labels cannot contain periods ('.')."
            )
        if "\x00" in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels cannot contain NUL bytes."
            )
        if not label:
            raise InvalidNamespaceError(f"Namespace labels cannot be empty strings. Got {label} in {namespace}")


def _check(op: Op) -> None:
    if isinstance(op, (GetOp, PutOp)):
        check_namespace(op.namespace, put=isinstance(op, PutOp))
        if not isinstance(op.key, str):
            raise InvalidNamespaceError(f"An item key must be a str, got {type(op.key).__name__}: {op.key!r}")
    elif isinstance(op, SearchOp):
        check_namespace(op.namespace_prefix)
        check_filter(op.filter)
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            check_namespace(tuple(condition.path))
    else:
        raise ValueError(f"Unknown operation type: {type(op)}")


def _get_flow(settings: Settings, op: GetOp) -> Flow:
    (reply,) = yield fetch_calls(settings, {op.namespace: [op.key]}, op.refresh_ttl, "k")
    fail(reply)
    (record,) = records(reply)
    if record is None:
        return None
    found = decode(op.namespace, record)
    return Item(
        value=found.value,
        key=found.key,
        namespace=found.namespace,
        created_at=from_micros(found.created),
        updated_at=from_micros(found.updated),
    )


def _search_flow(settings: Settings, op: SearchOp, query: Sequence[float] | None, dead: list[str]) -> Flow:
    if query is not None and settings.kind == INDEXED:  # the index knows the namespaces
        return (yield from knn_flow(settings, op, query, dead))
    namespaces = yield from namespaces_flow(settings, op.namespace_prefix)
    if not namespaces:
        return []
    if query is None or settings.kind == NO_VECTORS:
        return (yield from plain_flow(settings, op, namespaces, dead))
    return (yield from exact_flow(settings, op, query, namespaces, dead))


def batch_flow(settings: Settings, ops: Iterable[Op], now_us: int) -> Flow:
    """The results of ``ops``, in order (``None`` for puts)."""
    ops = list(ops)
    for op in ops:
        _check(op)
    puts = prepare([op for op in ops if isinstance(op, PutOp)], settings)
    queries: dict[str, Any] = {}
    if settings.kind != NO_VECTORS:
        queries = dict.fromkeys(op.query for op in ops if isinstance(op, SearchOp) and op.query)
        if queries:
            vectors = yield Embed(list(queries), query=True)
            queries = dict(zip(queries, vectors, strict=True))
        unique = {text: n for n, text in enumerate(dict.fromkeys(t for w in puts for t in w.texts))}
        if unique:
            assign_vectors(puts, (yield Embed(list(unique))), unique)
    dead: list[str] = []
    flows: list[Flow] = []
    places: list[int] = []
    for n, op in enumerate(ops):
        if isinstance(op, GetOp):
            flows.append(_get_flow(settings, op))
        elif isinstance(op, SearchOp):
            flows.append(_search_flow(settings, op, queries.get(op.query) if op.query else None, dead))
        elif isinstance(op, ListNamespacesOp):
            flows.append(list_flow(settings, op, dead))
        else:
            continue
        places.append(n)
    results: list[Any] = [None] * len(ops)
    if flows:
        for n, result in zip(places, (yield from lockstep(flows)), strict=True):
            results[n] = result
    if puts:
        yield from write_flow(puts, settings, now_us)
    if dead:
        # tidying only: a failure here changes no result
        (reply,) = yield [unregister_call(settings, dead)]
        if isinstance(reply, BaseException) and not isinstance(reply, Exception):
            raise reply
    return results
