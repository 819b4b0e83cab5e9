"""MemorystoreStore under lost replies: every batch the server applied and the client never heard of.

A loopback proxy relays everything but drops a share of the replies to script calls (the store's
writes and reads alike) by resetting the client's connection after the server has run the call.
The client's retry policy and the store's exactly-once writes send the same write ids again; the
store must end exactly where ``InMemoryStore`` does after the same operations — no item twice, none
lost, the same insertion order — whether a dropped reply belonged to a single put or to a
pipelined batch of them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from helpers.longterm import Reference, shape
from langgraph.store.base import GetOp, PutOp, SearchOp

from memstore_nb import MemorystoreStore
from memstore_nb.connection import connect
from memstore_nb.errors import WriteUnconfirmed
from memstore_nb.local import LocalRedis, start_local_redis

from .faults import ReplyDroppingProxy

pytestmark = pytest.mark.reliability

NAMESPACES = [("users", "u1"), ("users", "u2"), ("docs",), ("docs", "a"), ("t",)]
KEYS = [f"k{n}" for n in range(8)]
OPS = 150
DEADLINE = 60.0  # seconds: the run is bounded in operations and in time


@pytest.fixture()
def server() -> Iterator[LocalRedis]:
    with start_local_redis() as local:
        yield local


def _batch(rng: random.Random, step: int) -> list[Any]:
    ops: list[Any] = []
    for _ in range(rng.choice((1, 1, 2, 4))):
        namespace, key = rng.choice(NAMESPACES), rng.choice(KEYS)
        roll = rng.random()
        if roll < 0.6:
            ops.append(PutOp(namespace, key, {"step": step, "n": rng.randrange(100)}))
        elif roll < 0.8:
            ops.append(PutOp(namespace, key, None))
        elif roll < 0.9:
            ops.append(GetOp(namespace, key))
        else:
            ops.append(SearchOp(namespace[:1], filter={"n": {"$gte": 50}}, limit=20))
    return ops


def _state(store: Any) -> list[Any]:
    return [shape(store.search(namespace, limit=100)) for namespace in NAMESPACES]


@pytest.mark.parametrize("make_client", ["connect", "redis-py defaults"])
def test_lost_replies_leave_the_store_where_in_memory_store_is(server: LocalRedis, make_client: str) -> None:
    rng = random.Random(19)
    reference = Reference()
    unconfirmed = 0
    started = time.monotonic()
    with ReplyDroppingProxy(server.port, drop_rate=0.15, seed=19, max_drops=200) as proxy:
        if make_client == "connect":
            client: Any = connect(proxy.url, timeout=2)
        else:
            client = redis.Redis(host="127.0.0.1", port=proxy.port, protocol=2, socket_timeout=2)
        store = MemorystoreStore(client, key_prefix="lost:")
        for step in range(OPS):
            assert time.monotonic() - started < DEADLINE, f"stopped at operation {step}: too slow"
            ops = _batch(rng, step)
            expected = reference.batch(ops)
            for _attempt in range(5):
                try:
                    got = store.batch(ops)
                    break
                except WriteUnconfirmed:
                    unconfirmed += 1  # the outcome is unknown: the same operations, sent again, settle it
            else:
                pytest.fail(f"operation {step} stayed unconfirmed after 5 sends")
            for op, mine, theirs in zip(ops, got, expected, strict=True):
                if isinstance(op, GetOp):
                    assert shape(mine) == shape(theirs), (step, op)
        client.close()
        dropped = proxy.dropped
    assert dropped >= 10, f"only {dropped} replies were dropped: the test tested little"
    direct = MemorystoreStore(redis.Redis(host="127.0.0.1", port=server.port, protocol=2), key_prefix="lost:")
    assert _state(direct) == _state(reference)
    # no write was applied twice: each namespace's order holds each live item once
    for namespace in NAMESPACES:
        items = [(tuple(item.namespace), item.key) for item in direct.search(namespace, limit=100)]
        assert len(items) == len(set(items)), namespace


@pytest.mark.parametrize("batched", [False, True])
def test_a_resent_put_never_undoes_a_later_write_by_someone_else(server: LocalRedis, batched: bool) -> None:
    """Our put is applied, its reply lost; another process then writes the same item; our client sends
    the put again (same write id): the server recognises it, and the other process's value stays."""
    other = MemorystoreStore(redis.Redis(host="127.0.0.1", port=server.port, protocol=2), key_prefix="race:")
    with ReplyDroppingProxy(server.port, on_drop=lambda: other.put(("u",), "pref", {"by": "other"})) as proxy:
        store = MemorystoreStore(connect(proxy.url, timeout=2), key_prefix="race:")
        store.batch([PutOp(("u",), "warm", {}), PutOp(("v",), "warm", {})])  # namespaces registered: the
        proxy.drop_first = 1  # next script call whose reply is dropped is the put itself
        if batched:  # a pipelined batch: the whole round trip is lost, each write is sent again alone
            store.batch([PutOp(("u",), "pref", {"by": "me"}), PutOp(("v",), "other", {"x": 1})])
        else:
            store.put(("u",), "pref", {"by": "me"})
        assert proxy.dropped == 1, "the proxy did not drop the put's reply"
        store.client.close()
    item = other.get(("u",), "pref")
    assert item is not None and item.value == {"by": "other"}
    assert [i.key for i in other.search(("u",))] == ["warm", "pref"]
