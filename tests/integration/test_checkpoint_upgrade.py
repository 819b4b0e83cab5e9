"""Threads stored in the layout before layout 2 are refused with a clear error, and upgrade_threads converts them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.graphs import contents, human, parent_with_subgraph
from langgraph.types import Command

from memstore_nb.checkpoint import upgrade_threads
from memstore_nb.checkpoint.layout import ThreadKeys
from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.errors import CheckpointError


@pytest.fixture()
def prefix(client_factory: Callable[..., Any]) -> Iterator[str]:
    value = f"u{uuid.uuid4().hex[:10]}:"
    yield value
    admin = client_factory()
    for key in list(admin.scan_iter(match=f"{value}*", count=1000)):
        admin.delete(key)


def to_old_layout(client: Any, keys: ThreadKeys, ttl_ms: int | None = None) -> None:
    """Rewrite a thread as memstore-nb stored it before layout 2: a namespace set, then an index and a hash
    per namespace, fields without the namespace number (the values' format is the same)."""
    fields = client.hgetall(keys.thread)
    names = {b"0": b""}
    names.update({k[2:]: v for k, v in fields.items() if k.startswith(b"S:")})
    for member in client.zrange(keys.order, 0, -1):
        n, _, cid = member.partition(b":")
        client.zadd(keys.legacy_index(names[n].decode()), {cid: 0})
    for name, value in fields.items():
        kind, _, rest = name.partition(b":")
        if kind in (b"c", b"b", b"w", b"x"):
            n, _, tail = rest.partition(b":")
            client.hset(keys.legacy_data(names[n].decode()), kind + b":" + tail, value)
    client.sadd(keys.legacy, *names.values())
    client.delete(keys.thread, keys.order)
    if ttl_ms:
        for key in (keys.legacy, *(keys.legacy_index(n.decode()) for n in names.values())):
            client.pexpire(key, ttl_ms)


def history(graph: Any, config: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(checkpoint id, message texts) of every state of the thread, newest first."""
    return [
        (s.config["configurable"]["checkpoint_id"], contents(s.values["messages"]))
        for s in graph.get_state_history(config)
    ]


def test_an_old_thread_is_refused_clearly_then_upgraded_and_continues(
    client_factory: Callable[..., Any], prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_factory()
    graph = parent_with_subgraph(MemorystoreSaver(client, key_prefix=prefix))
    config = {"configurable": {"thread_id": "old"}}
    graph.invoke(human("go"), config)
    graph.invoke(Command(resume="ok"), config)
    before = history(graph, config)
    graph.invoke(human("again"), {"configurable": {"thread_id": "new"}})
    keys = ThreadKeys("old", prefix)
    stored = client.zcard(keys.order)
    to_old_layout(client, keys, ttl_ms=600_000)

    fresh = MemorystoreSaver(client_factory(), key_prefix=prefix)
    with pytest.raises(CheckpointError, match="upgrade_threads"):
        fresh.get_tuple(config)
    with pytest.raises(CheckpointError, match="upgrade_threads"):  # a write does not start a thread beside it
        parent_with_subgraph(MemorystoreSaver(client_factory(), key_prefix=prefix)).invoke(human("x"), config)
    with caplog.at_level(logging.WARNING):
        listed = {t.config["configurable"]["thread_id"] for t in fresh.list(None)}
    assert listed == {"new"} and "old layout" in caplog.text

    report = upgrade_threads(client, key_prefix=prefix)
    assert report.threads == ["old"] and report.namespaces == 2 and report.checkpoints == stored
    assert "1 threads" in repr(report)
    assert sorted(client.scan_iter(match=f"{prefix}lgraph:{{old}}*")) == sorted(
        [keys.thread.encode(), keys.order.encode()]
    )
    assert all(0 < client.pttl(k) <= 600_000 for k in (keys.thread, keys.order))  # the expiry came along
    assert history(graph, config) == before
    done = parent_with_subgraph(MemorystoreSaver(client_factory(), key_prefix=prefix)).invoke(human("more"), config)
    assert contents(done["messages"])[-2:] == ["inner b ok", "more"] and len(history(graph, config)) > len(before)
    assert upgrade_threads(client, key_prefix=prefix).threads == []  # nothing left to do


def test_delete_thread_removes_an_old_threads_keys(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    graph = parent_with_subgraph(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("go"), {"configurable": {"thread_id": "gone"}})
    to_old_layout(client, ThreadKeys("gone", prefix))
    assert len(list(client.scan_iter(match=f"{prefix}lgraph:{{gone}}*"))) == 5
    MemorystoreSaver(client, key_prefix=prefix).delete_thread("gone")
    assert list(client.scan_iter(match=f"{prefix}lgraph:{{gone}}*")) == []
