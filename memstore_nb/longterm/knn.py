"""Semantic search on a server with vector search: ``FT.SEARCH`` KNN over the vector documents.

Only what Memorystore's vector search accepts is used: a HASH index with a VECTOR and a TAG field,
``FT.SEARCH idx "(@p:{prefix})=>[KNN k @vec $B]" PARAMS 2 B <vector> RETURN 1 __vec_score LIMIT
0 k DIALECT 2``. The nearest vectors come back with their distances; an item's score is its best
vector's (max pooling, as ``InMemoryStore``). A ``filter`` is applied to the values read back, and
``k`` grows until enough items pass or the index has no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.store.base import SearchOp

from .calls import ANY, Call, Flow
from .filters import compile_filter
from .layout import digest, parse_vector_key, text
from .search import (
    Found,
    fail,
    fetch_calls,
    namespaces_flow,
    read_namespaces,
    readable,
    records,
    refresh_flow,
    to_search_item,
)
from .settings import Settings
from .vectors import float32

__all__ = ["knn_flow", "knn_query"]

_ROUNDS = 8


def knn_query(settings: Settings, prefix: tuple[str, ...], vector: Sequence[float], k: int) -> Call:
    """The FT.SEARCH of the ``k`` nearest vectors under ``prefix``."""
    where = f"(@p:{{{digest(prefix)}}})" if prefix else "*"
    args = (
        "FT.SEARCH",
        settings.index_name,
        f"{where}=>[KNN {k} @vec $B]",
        "PARAMS",
        "2",
        "B",
        float32(vector, settings.dims),
        "RETURN",
        "1",
        "__vec_score",
        "LIMIT",
        "0",
        str(k),
        "DIALECT",
        "2",
    )
    return Call(route=ANY, args=args)


def _hits(settings: Settings, reply: Any) -> tuple[int, list[tuple[float, tuple[str, ...], str]]]:
    """(total, [(score, namespace, key), ...]) from one or several FT.SEARCH replies."""
    fail(reply)
    replies = reply if isinstance(reply, list) and reply and isinstance(reply[0], list) else [reply]
    total = 0
    hits = []
    for one in replies:
        fail(one)
        total += int(one[0])
        for at in range(1, len(one) - 1, 2):
            where = parse_vector_key(one[at], settings.key_prefix)
            fields = one[at + 1]
            distance = next(
                (float(fields[i + 1]) for i in range(0, len(fields) - 1, 2) if text(fields[i]) == "__vec_score"), None
            )
            if where is None or distance is None:
                continue
            hits.append((1.0 - distance, where[0], where[1]))
    return total, hits


def knn_flow(settings: Settings, op: SearchOp, query: Sequence[float], dead: list[str]) -> Flow:
    """One semantic SearchOp on a vector index: its result list."""
    need = max(op.offset + op.limit, 0)
    k = max(2 * need, 16) if op.filter else max(need, 1)
    items: dict[tuple[tuple[str, ...], str], Found] = {}
    scores: dict[tuple[tuple[str, ...], str], float] = {}
    total = 0
    test = compile_filter(op.filter)
    for _round in range(_ROUNDS):
        (reply,) = yield [knn_query(settings, op.namespace_prefix, query, k)]
        total, hits = _hits(settings, reply)
        wanted: dict[tuple[str, ...], list[str]] = {}
        for score, namespace, key in hits:
            ident = (namespace, key)
            if score > scores.get(ident, -2.0):
                scores[ident] = score
            if ident not in items and key not in wanted.get(namespace, ()):
                wanted.setdefault(namespace, []).append(key)
        if wanted:
            calls = fetch_calls(settings, wanted, False, "k")
            replies = yield calls
            for call, answer in zip(calls, replies, strict=True):
                fail(answer)
                for record in records(answer):
                    item = readable(call.note, record)
                    if item is not None:
                        items[(item.namespace, item.key)] = item
        passing = [ident for ident in scores if ident in items and test(items[ident].value)]
        if len(passing) >= need or k >= total:
            break
        k *= 4
    ranked = sorted(passing, key=lambda ident: (-scores[ident], ident[0], items[ident].place))
    kept = ranked[op.offset : need] if need > op.offset else []
    filler: list[Found] = []
    if len(kept) < op.limit:
        # InMemoryStore fills with items that have no vector, unranked (the index had no more)
        namespaces = yield from namespaces_flow(settings, op.namespace_prefix)
        every = yield from read_namespaces(settings, namespaces, 0, dead)
        filler = [item for item in every if (item.namespace, item.key) not in scores and test(item.value)][
            : op.limit - len(kept)
        ]
    chosen = [items[ident] for ident in kept]
    if op.refresh_ttl:
        yield from refresh_flow(settings, [*chosen, *filler])
    return [to_search_item(items[ident], scores[ident]) for ident in kept] + [to_search_item(i) for i in filler]
