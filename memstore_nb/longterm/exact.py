"""Semantic search on a server without vector search: an exact ranking, computed by the client.

The namespaces' int8 rows bound each item's similarity; the float32 rows of the items that
could be in the result are read and scored exactly (``InMemoryStore``'s formula, max over an
item's vectors); then the results are read (and refreshed) by their place. An item that expired
meanwhile is forgotten by the read and the search is run again (at most three times).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.store.base import SearchOp

from .calls import Call, Flow
from .filters import compile_filter
from .layout import namespace_text
from .scripts import NSREAD, ROWS, VSCAN
from .search import Found, fail, fetch_calls, read_namespaces, readable, records, refresh_flow, to_search_item
from .settings import Settings
from .vectors import Candidate, exact_scores, has_numpy, owners_of, rank_bounds

__all__ = ["exact_flow"]

_ATTEMPTS = 3


def exact_flow(
    settings: Settings, op: SearchOp, query: Sequence[float], namespaces: list[Any], dead: list[str]
) -> Flow:
    """One semantic SearchOp on the exact path: its result list."""
    result: list[Any] = []
    for _attempt in range(_ATTEMPTS):
        result, complete = yield from _attempt_flow(settings, op, query, namespaces, dead)
        if complete:
            break
    return result


def _attempt_flow(
    settings: Settings, op: SearchOp, query: Sequence[float], namespaces: list[Any], dead: list[str]
) -> Flow:
    quantized = has_numpy()
    calls = []
    for namespace in namespaces:
        keys = settings.keys(namespace)
        calls.append(Call.read(VSCAN, [keys.order], [keys.base, keys.vbase, "q" if quantized else "f"]))
    if op.filter:
        for namespace in namespaces:
            keys = settings.keys(namespace)
            calls.append(Call.read(NSREAD, [keys.order], [keys.base, keys.vbase, 0]))
    replies = yield calls
    scans = replies[: len(namespaces)]
    live = []
    for namespace, reply in zip(namespaces, scans, strict=True):
        fail(reply)
        if reply:
            live.append((int(reply[0]), namespace, reply[1], b"".join(reply[2:])))
        else:
            dead.append(namespace_text(namespace))
    live.sort(key=lambda entry: (entry[0], entry[1]))
    rank_of = {namespace: rank for rank, (_born, namespace, _o, _r) in enumerate(live)}
    items: list[Found] | None = None
    if op.filter:
        items = []
        for namespace, reply in zip(namespaces, replies[len(namespaces) :], strict=True):
            fail(reply)
            if reply and namespace in rank_of:
                for record in records(reply[1]):
                    item = readable(namespace, record)
                    if item is not None:
                        item.rank = rank_of[namespace]
                        items.append(item)
        items.sort(key=lambda item: (item.rank, item.place))
        test = compile_filter(op.filter)
        items = [item for item in items if test(item.value)]
    allowed = None if items is None else {(item.rank, item.place) for item in items}
    need = op.offset + op.limit
    cands = [Candidate(rank_of[ns], born, owners, rows) for born, ns, owners, rows in live]
    scores = yield from _scores(settings, cands, live, query, allowed, max(need, 0), quantized)
    ranked = sorted(scores.items(), key=lambda entry: (-entry[1], entry[0]))
    kept = [(ident, score) for n, (ident, score) in enumerate(ranked) if op.offset <= n < need]
    # InMemoryStore's corner case: too few scored items, the rest filled with unscored ones (no offset)
    filler: list[Found] = []
    if len(kept) < op.limit:
        if items is None:
            items = yield from read_namespaces(settings, [ns for _b, ns, _o, _r in live], 0, [])
            for item in items:
                item.rank = rank_of.get(item.namespace, item.rank)
        owned = {ident for cand in cands for ident in ((cand.index, seq) for seq in owners_of(cand.owners)) if ident[1]}
        filler = [item for item in items if (item.rank, item.place) not in owned][: op.limit - len(kept)]
    by_rank = {rank: ns for ns, rank in rank_of.items()}
    wanted: dict[tuple[str, ...], list[str]] = {}
    for (rank, seq), _score in kept:
        wanted.setdefault(by_rank[rank], []).append(str(seq))
    found: dict[tuple[int, int], Found] = {}
    complete = True
    if wanted:
        replies = yield fetch_calls(settings, wanted, op.refresh_ttl, "s")
        for call, reply in zip(fetch_calls(settings, wanted, False, "s"), replies, strict=True):
            fail(reply)
            namespace = call.note
            for record in records(reply):
                if record is None:
                    complete = False  # it expired since the scan: forgotten now, so search again
                    continue
                item = readable(namespace, record)
                if item is not None:
                    found[(rank_of[namespace], item.place)] = item
    if op.refresh_ttl and filler:
        yield from refresh_flow(settings, filler)
    result = [to_search_item(found[ident], score) for ident, score in kept if ident in found]
    result += [to_search_item(item) for item in filler]
    return result, complete


def _scores(
    settings: Settings,
    cands: list[Candidate],
    live: list[Any],
    query: Sequence[float],
    allowed: Any,
    need: int,
    quantized: bool,
) -> Flow:
    """Each item's similarity (``{(namespace rank, place): score}``), for every item that could be in the top
    ``need``."""
    per_rank = {cand.index: cand for cand in cands}
    if quantized:
        test = None if allowed is None else (lambda rank, seq: (rank, seq) in allowed)
        wanted = rank_bounds(cands, query, settings.dims, test, need)
        calls = []
        for rank, rows in wanted.items():
            keys = settings.keys(live[rank][1])
            calls.append(Call.read(ROWS, [keys.order], [keys.base, keys.vbase, settings.dims * 4, *rows]))
        replies = yield calls
        blobs: list[bytes] = []
        owners: list[tuple[int, int]] = []
        for (rank, rows), reply in zip(wanted.items(), replies, strict=True):
            fail(reply)
            table = owners_of(per_rank[rank].owners)
            for row, blob in zip(rows, reply, strict=True):
                blobs.append(blob)
                owners.append((rank, table[row]))
    else:
        blobs, owners = [], []
        size = settings.dims * 4
        for cand in cands:
            for row, seq in enumerate(owners_of(cand.owners)):
                if seq and (allowed is None or (cand.index, seq) in allowed):
                    blobs.append(cand.rows[row * size : (row + 1) * size])
                    owners.append((cand.index, seq))
    best: dict[tuple[int, int], float] = {}
    for ident, score in zip(owners, exact_scores(blobs, query), strict=True):
        if ident not in best or score > best[ident]:
            best[ident] = score
    return best
