"""Semantic search on a server without vector search: the same ranking as InMemoryStore.

A deterministic embedding (float32-exact components) makes the two stores' similarities equal,
so rankings, scores, filters, offsets and the fill-up with unindexed items can be compared
exactly, on a standalone server and on a cluster, with numpy (int8 bounds, then float32 rows)
and without it (every float32 row).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from helpers.longterm import WORDS, Reference, embed, prefix, same_ranking  # noqa: F401
from langgraph.store.base import PutOp, SearchOp

import memstore_nb.longterm.exact as exact_module
import memstore_nb.longterm.vectors as vectors_module
from memstore_nb.longterm import MemorystoreStore

pytestmark = pytest.mark.integration

INDEX = {"dims": 16, "embed": embed, "fields": ["text", "notes[*]"]}
NAMESPACES = [("mem", "u1"), ("mem", "u2"), ("mem", "u1", "work"), ("docs",)]


def _ops(seed: int, count: int) -> list[PutOp]:
    rng = random.Random(seed)
    ops = []
    for _ in range(count):
        namespace = rng.choice(NAMESPACES)
        key = f"k{rng.randint(0, 25)}"
        if rng.random() < 0.1:
            ops.append(PutOp(namespace, key, None))
            continue
        value = {"text": " ".join(rng.sample(WORDS, 2)), "notes": rng.sample(WORDS, 2)}
        value["n"] = rng.randint(0, 9)
        # unindexed items live under their own keys (InMemoryStore keeps stale vectors on such a re-put)
        ops.append(PutOp(namespace, "plain" + key if rng.random() < 0.15 else key, value, index=None))
    return [op._replace(index=False) if op.key.startswith("plain") else op for op in ops]


SEARCHES = [
    SearchOp(("mem",), None, 5, 0, "python redis"),
    SearchOp(("mem",), None, 10, 3, "cats jazz"),
    SearchOp((), {"n": {"$gte": 5}}, 7, 0, "coffee tea"),
    SearchOp(("mem", "u1"), {"n": {"$lt": 3}}, 4, 1, "rust maps"),
    SearchOp(("docs",), None, 100, 0, "music"),  # more than are indexed: filled with unindexed items
    SearchOp(("mem",), None, 3, 0, None),
]


def _check(store: MemorystoreStore, reference: Reference) -> None:
    for op in SEARCHES:
        same_ranking(store.batch([op])[0], reference.batch([op])[0])


@pytest.mark.parametrize("numpy", [True, False], ids=["int8-bounds", "float32-only"])
def test_ranking_equals_in_memory_store(
    any_client: Any,
    prefix: str,  # noqa: F811
    numpy: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not numpy:
        monkeypatch.setattr(exact_module, "has_numpy", lambda: False)
        monkeypatch.setattr(vectors_module, "has_numpy", lambda: False)
    store = MemorystoreStore(any_client, key_prefix=prefix, index=INDEX, vector_search="exact")
    reference = Reference(index=INDEX)
    ops = _ops(11, 160)
    for at in range(0, len(ops), 7):  # batches of puts, several to a namespace
        chunk = ops[at : at + 7]
        store.batch(chunk)
        for op in chunk:  # InMemoryStore miscounts a text shared by two items of one batch
            reference.batch([op])
    assert store.vector_search == "exact"
    _check(store, reference)
    # deletes free vector rows, later puts reuse them: the ranking still holds
    for op in _ops(12, 60):
        store.batch([op])
        reference.batch([op])
    _check(store, reference)


def test_search_reads_only_rows_that_can_rank(client: Any, prefix: str) -> None:  # noqa: F811
    """Many similar vectors: the int8 bounds leave only a few float32 rows to read, and the top 3 are right."""
    store = MemorystoreStore(client, key_prefix=prefix, index=INDEX, vector_search="exact")
    reference = Reference(index=INDEX)
    rng = random.Random(5)
    ops = [PutOp(("big",), f"k{n}", {"text": " ".join(rng.sample(WORDS, 4)), "notes": []}) for n in range(300)]
    store.batch(ops)
    for op in ops:
        reference.batch([op])
    calls: list[int] = []
    original = vectors_module.rank_bounds

    def counting(*args: Any) -> Any:
        wanted = original(*args)
        calls.append(sum(len(rows) for rows in wanted.values()))
        return wanted

    exact_module.rank_bounds = counting  # type: ignore[assignment]
    try:
        op = SearchOp(("big",), None, 3, 0, "python redis cats dogs")
        same_ranking(store.batch([op])[0], reference.batch([op])[0])
    finally:
        exact_module.rank_bounds = original  # type: ignore[assignment]
    assert calls and calls[0] < 150, calls
