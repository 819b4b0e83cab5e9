"""MemorystoreStore against InMemoryStore: seeded random sequences of every operation, same results.

Each sequence mixes puts, deletes, gets, filtered and paginated searches and namespace listings
(prefix and suffix conditions with wildcards, max_depth, offset and limit), alone and in batches,
on a standalone server and on a cluster, with bytes and with decoded replies. Results are compared
without timestamps. The reference drops namespaces left without items (see ``Reference``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest
from helpers.longterm import KEYS, LABELS, WORDS, Reference, prefix, shape  # noqa: F401
from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, Op, PutOp, SearchOp

from memstore_nb.longterm import MemorystoreStore

pytestmark = pytest.mark.integration


def _namespace(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.choice(LABELS) for _ in range(rng.randint(1, 3)))


def _value(rng: random.Random) -> dict[str, Any]:
    value: dict[str, Any] = {"n": rng.randint(0, 9), "tag": rng.choice(("red", "blue", "green"))}
    if rng.random() < 0.5:
        value["text"] = " ".join(rng.sample(WORDS, 3))
    if rng.random() < 0.3:
        value["meta"] = {"level": rng.randint(1, 3), "tags": rng.sample(["x", "y", "z"], 2)}
    return value


def _filter(rng: random.Random) -> dict[str, Any] | None:
    return rng.choice(
        [
            None,
            {"tag": "red"},
            {"n": {"$gt": 4}},
            {"n": {"$gte": 2, "$lt": 7}, "tag": {"$ne": "blue"}},
            {"n": {"$lte": 3}},
            {"n": {"$eq": 5}},
            {"meta": {"level": 2}},
        ]
    )


def _path(rng: random.Random) -> tuple[str, ...]:
    return tuple(rng.choice((*LABELS, "*")) for _ in range(rng.randint(1, 2)))


def _read(rng: random.Random) -> Op:
    kind = rng.random()
    if kind < 0.3:
        return GetOp(_namespace(rng), rng.choice(KEYS))
    if kind < 0.7:
        prefix = _namespace(rng)[: rng.randint(0, 2)]
        return SearchOp(prefix, _filter(rng), rng.choice((1, 3, 10, 100)), rng.choice((0, 0, 1, 4)))
    conditions = []
    if rng.random() < 0.5:
        conditions.append(MatchCondition("prefix", _path(rng)))
    if rng.random() < 0.4:
        conditions.append(MatchCondition("suffix", _path(rng)))
    depth = rng.choice((None, None, 1, 2))
    return ListNamespacesOp(tuple(conditions), depth, rng.choice((2, 5, 100)), rng.choice((0, 0, 1, 3)))


def _write(rng: random.Random) -> Op:
    namespace, key = _namespace(rng), rng.choice(KEYS)
    if rng.random() < 0.25:
        return PutOp(namespace, key, None)
    return PutOp(namespace, key, _value(rng))


def _batches(seed: int, count: int) -> list[list[Op]]:
    rng = random.Random(seed)
    batches = []
    for _ in range(count):
        size = 1 if rng.random() < 0.7 else rng.randint(2, 5)
        # a batch reads or writes: InMemoryStore's get creates the namespace it reads mid-batch,
        # which would decide the order of a namespace the same batch then creates
        make = _write if rng.random() < 0.55 else _read
        batches.append([make(rng) for _ in range(size)])
    return batches


def _compare(store: Any, run: Callable[[list[Op]], list[Any]], seed: int, count: int) -> None:
    reference = Reference()
    for n, ops in enumerate(_batches(seed, count)):
        expected = shape(reference.batch(ops))
        assert shape(run(ops)) == expected, f"seed {seed}, batch {n}: {ops}"
    # and the whole store at the end, through the public methods
    assert shape(store.search((), limit=1000)) == shape(reference.search((), limit=1000))
    assert store.list_namespaces(limit=1000) == reference.list_namespaces(limit=1000)


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_random_sequences_match_in_memory_store(client_factory: Any, prefix: str, decode: bool) -> None:  # noqa: F811
    store = MemorystoreStore(client_factory(decode_responses=decode), key_prefix=prefix)
    for seed in (1, 2) if not decode else (3,):
        _compare(store, store.batch, seed, 220)
        for op in [SearchOp((), None, 1000), ListNamespacesOp(None, None, 1000)]:
            store.batch([op])  # settle (nothing left behind between seeds)
        for item in store.search((), limit=1000):
            store.delete(item.namespace, item.key)


def test_async_client_sequences_match(client_factory: Any, prefix: str) -> None:  # noqa: F811
    async def main() -> None:
        client = client_factory(asyncio=True)
        store = MemorystoreStore(client, key_prefix=prefix)
        reference = Reference()
        try:
            for n, ops in enumerate(_batches(7, 120)):
                assert shape(await store.abatch(ops)) == shape(reference.batch(ops)), f"batch {n}: {ops}"
            assert shape(await store.asearch((), limit=1000)) == shape(reference.search((), limit=1000))
            for item in await store.asearch((), limit=1000):
                await store.adelete(item.namespace, item.key)
        finally:
            await client.aclose()

    asyncio.run(main())
