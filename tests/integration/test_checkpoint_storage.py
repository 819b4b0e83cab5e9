"""MemorystoreSaver's storage: list deltas, memory, TTL, hash slots, exactly-once writes, broken data."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.graphs import REPLY_PAD, agent_graph, human
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import ERROR
from langgraph.checkpoint.memory import InMemorySaver
from redis.cluster import key_slot

from memstore_nb.checkpoint import list_threads, thread_checkpoints, thread_messages
from memstore_nb.checkpoint.layout import ThreadKeys, split_value
from memstore_nb.checkpoint.records import MAX_CHAIN
from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.errors import CheckpointError
from memstore_nb.writes import new_write_id


@pytest.fixture()
def prefix(client_factory: Callable[..., Any]) -> Iterator[str]:
    value = f"s{uuid.uuid4().hex[:10]}:"
    yield value
    admin = client_factory()
    for key in list(admin.scan_iter(match=f"{value}*", count=1000)):
        admin.delete(key)


def cfg(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": "", **extra}}


def checkpoint(n: int, messages: list[Any], version: str) -> dict[str, Any]:
    return {
        "v": 1,
        "id": f"1f0{n:05}-0000-6000-8000-000000000000",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"messages": messages},
        "channel_versions": {"messages": version},
        "versions_seen": {},
        "updated_channels": None,
    }


def shape(values: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """Messages without their random ids."""
    return [(m.type, str(m.content), [c["args"] for c in getattr(m, "tool_calls", [])]) for m in values["messages"]]


def blob_kinds(client: Any, keys: ThreadKeys, channel: str) -> list[str]:
    fields = client.hgetall(keys.thread)
    return [split_value(v)[0][0] for f, v in fields.items() if f.startswith(f"b:0:{channel}#".encode())]


def test_messages_are_stored_as_deltas_and_read_back_whole(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    ours, ref = agent_graph(MemorystoreSaver(client, key_prefix=prefix)), agent_graph(InMemorySaver())
    for i in range(60):
        text = f"add {i} 1" if i % 10 == 0 else f"turn {i}"
        mine = ours.invoke(human(text), cfg("long"))
        theirs = ref.invoke(human(text), cfg("long"))
    assert shape(mine) == shape(theirs) and len(mine["messages"]) == 60 * 2 + 6 * 2
    kinds = blob_kinds(client, ThreadKeys("long", prefix), "messages")
    versions = len(kinds)
    assert kinds.count("f") <= versions // MAX_CHAIN + 1 and kinds.count("d") >= versions - kinds.count("f")
    # Any earlier checkpoint reads back as InMemorySaver has it (time travel over deltas).
    for mine_state, ref_state in zip(
        list(ours.get_state_history(cfg("long")))[::17], list(ref.get_state_history(cfg("long")))[::17], strict=True
    ):
        assert shape(mine_state.values) == shape(ref_state.values) and mine_state.next == ref_state.next
    # A new saver (no cache) appends to the same chain, or starts a full value: both read back.
    again = agent_graph(MemorystoreSaver(client_factory(), key_prefix=prefix))
    assert shape(again.invoke(human("more"), cfg("long"))) == shape(ref.invoke(human("more"), cfg("long")))


def test_memory_per_checkpoint_after_50_turns_stays_near_2_kb(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    for i in range(50):
        graph.invoke(human(f"question {i} {REPLY_PAD}"), cfg("mem"))
    keys = ThreadKeys("mem", prefix)
    used = 0
    for key in (keys.thread, keys.order):
        # On a cluster, ask the key's node: redis-py cannot route MEMORY USAGE on Redis 5.0.
        target = {"target_nodes": client.get_node_from_key(key)} if hasattr(client, "get_node_from_key") else {}
        used += int(client.execute_command("MEMORY USAGE", key, "SAMPLES", 0, **target) or 0)
    count = client.zcard(keys.order)
    assert count == 150
    # The whole conversation is ~50 KB of messages; storing it again per checkpoint would be ~20x this.
    assert used / count < 2300, used / count


def test_a_delta_whose_base_was_deleted_is_sent_whole(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    writer, other = MemorystoreSaver(client, key_prefix=prefix), MemorystoreSaver(client, key_prefix=prefix)
    m1, m2 = HumanMessage("one", id="1"), AIMessage("two", id="2")
    first = writer.put(cfg("gone"), checkpoint(1, [m1], "00000001.aaaaaa"), {}, {"messages": "00000001.aaaaaa"})
    other.delete_thread("gone")  # the writer's cache still names version 1 as the base
    stored = writer.put(first, checkpoint(2, [m1, m2], "00000002.bbbbbb"), {}, {"messages": "00000002.bbbbbb"})
    found = writer.get_tuple(stored)
    assert found is not None and found.checkpoint["channel_values"]["messages"] == [m1, m2]
    assert blob_kinds(client, ThreadKeys("gone", prefix), "messages") == ["f"]


def test_ttl_slides_over_every_key_of_the_thread(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix, ttl=100))
    graph.invoke(human("hello"), cfg("ttl"))
    keys = ThreadKeys("ttl", prefix)
    for key in (keys.thread, keys.order):
        assert 90_000 < client.pttl(key) <= 100_000
    client.pexpire(keys.thread, 5_000)
    graph.invoke(human("again"), cfg("ttl"))
    assert client.pttl(keys.thread) > 90_000
    agent_graph(MemorystoreSaver(client, key_prefix=prefix)).invoke(human("hi"), cfg("forever"))
    assert client.pttl(ThreadKeys("forever", prefix).thread) == -1


@pytest.mark.parametrize("thread_id", ["plain", "with{braces}", "}{", "", "{x}", "100%{", "tab\tand\u00e9"])
def test_every_key_of_a_thread_shares_one_slot(client_factory: Callable[..., Any], prefix: str, thread_id: str) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("add 1 2"), cfg(thread_id))
    keys = [k for k in client.scan_iter(match=f"{prefix}*") if b":memstore-nb:wid:" not in k]
    assert len(keys) == 2 and len({key_slot(k) for k in keys}) == 1
    assert list(list_threads(client, key_prefix=prefix)) == [thread_id]
    assert graph.get_state(cfg(thread_id)).values["messages"][-1].content == "the sum is 3"


def test_a_replayed_write_is_applied_once(client_factory: Callable[..., Any], prefix: str) -> None:
    saver = MemorystoreSaver(client_factory(), key_prefix=prefix)
    stored = saver.put(cfg("once"), checkpoint(1, [], "00000001.aaaaaa"), {}, {})
    # The same write id sent twice (a retry after a lost reply): the second send changes nothing.
    write_id = new_write_id()
    first = saver._put_writes_call(stored, [("ch", "first")], "task", "", write_id)
    assert saver.calls.write(first, write_id) == 1
    replay = saver._put_writes_call(stored, [("ch", "second"), ("ch2", "extra")], "task", "", write_id)
    assert saver.calls.write(replay, write_id) is None  # recognised: nothing applied
    found = saver.get_tuple(stored)
    assert found is not None and found.pending_writes == [("task", "ch", "first")]
    # put_writes itself: a regular (task, idx) is kept, a special channel is overwritten.
    saver.put_writes(stored, [("ch", "third")], "task")
    saver.put_writes(stored, [(ERROR, "boom")], "task")
    saver.put_writes(stored, [(ERROR, "boom again")], "task")
    found = saver.get_tuple(stored)
    # In writes_sort_key order: the special write's index (-1) comes first.
    assert found is not None and found.pending_writes == [("task", ERROR, "boom again"), ("task", "ch", "first")]


def test_wrong_type_and_corrupt_data_name_the_thread_and_spare_the_others(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix)
    graph = agent_graph(saver)
    for thread_id in ("good", "corrupt", "typed"):
        graph.invoke(human("hello"), cfg(thread_id))
    latest = saver.get_tuple(cfg("corrupt"))
    assert latest is not None
    # The value the newest checkpoint names (the saver holds it in memory, and sees that it changed).
    field = "b:0:messages#" + str(latest.checkpoint["channel_versions"]["messages"])
    keys = ThreadKeys("corrupt", prefix)
    client.hset(keys.thread, mapping={field: b'["f",null]\nmsgpack\n\xc1garbage', "e": "edited by hand"})
    typed = ThreadKeys("typed", prefix)
    client.delete(typed.thread)
    client.rpush(typed.thread, "not a hash")

    with pytest.raises(CheckpointError, match="'corrupt'") as info:
        saver.get_tuple(cfg("corrupt"))
    assert info.value.thread_id == "corrupt" and info.value.checkpoint_id in str(info.value)
    with pytest.raises(CheckpointError, match=r"'typed'.*another type"):
        saver.get_tuple(cfg("typed"))
    with pytest.raises(CheckpointError, match="'typed'"):
        graph.invoke(human("again"), cfg("typed"))
    assert client.lrange(typed.thread, 0, -1) == [b"not a hash"]  # nothing written over it
    with pytest.raises(CheckpointError, match="'typed'"):
        thread_checkpoints(client, "typed", key_prefix=prefix)
    with pytest.raises(CheckpointError, match="'corrupt'"):
        thread_messages(client, "corrupt", key_prefix=prefix)
    # Listing every thread skips the thread of another type and the damaged checkpoint, and shows the rest.
    listed = [(t.config["configurable"]["thread_id"], t.checkpoint["id"]) for t in saver.list(None)]
    assert {t for t, _ in listed} == {"good", "corrupt"} and ("corrupt", latest.checkpoint["id"]) not in listed
    assert len([1 for t, _ in listed if t == "corrupt"]) == len(list(saver.list(cfg("corrupt"))))
    assert graph.invoke(human("again"), cfg("good"))["messages"][-1].content.startswith("echo again")


def test_get_tuple_takes_the_list_it_stored_itself_from_memory_only_while_the_server_holds_it(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    saver, fresh = MemorystoreSaver(client, key_prefix=prefix), MemorystoreSaver(client_factory(), key_prefix=prefix)
    messages = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]
    saver.put(cfg("cached"), checkpoint(1, messages, "00000001.000001"), {}, {"messages": "00000001.000001"})
    got, other = saver.get_tuple(cfg("cached")), fresh.get_tuple(cfg("cached"))
    assert got is not None and other is not None
    mine = got.checkpoint["channel_values"]["messages"]
    assert mine == other.checkpoint["channel_values"]["messages"] == messages
    assert mine is not messages and mine[0] is messages[0]  # a new list of the stored messages, not decoded again
    # Another process replaces the blob: the server no longer confirms what we hold, so it is read from Redis.
    keys = ThreadKeys("cached", prefix)
    replaced = [HumanMessage("changed", id="1")]
    fresh.put(cfg("cached"), checkpoint(2, replaced, "00000002.000002"), {}, {"messages": "00000002.000002"})
    newest = saver.get_tuple(cfg("cached"))
    assert newest is not None and newest.checkpoint["channel_values"]["messages"] == replaced
    # A change made by hand (the blob we cached deleted under the checkpoint that names it) is seen once
    # the thread's edit token is changed with it, as docs/langgraph.md says to.
    client.hdel(keys.thread, "b:0:messages#00000001.000001")
    client.hset(keys.thread, "e", "edited by hand")
    old = saver.get_tuple(cfg("cached", checkpoint_id=checkpoint(1, [], "")["id"]))
    assert old is not None and "messages" not in old.checkpoint["channel_values"]


def test_deltas_of_a_channel_whose_name_needs_json_escapes(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    saver, fresh = MemorystoreSaver(client, key_prefix=prefix), MemorystoreSaver(client_factory(), key_prefix=prefix)
    channel = 'quote"and\\ü'
    items: list[str] = []
    config = cfg("esc")
    for n in range(1, 4):
        items = [*items, f"item {n}"]
        base = checkpoint(n, [], f"0000000{n}.0")
        base["channel_values"], base["channel_versions"] = {channel: items}, {channel: f"0000000{n}.0"}
        config = saver.put(config, base, {}, {channel: f"0000000{n}.0"})
    pieces = [
        split_value(v)[0][0] for f, v in client.hgetall(ThreadKeys("esc", prefix).thread).items() if f.startswith(b"b:")
    ]
    assert sorted(pieces) == ["d", "d", "f"]
    found = fresh.get_tuple(cfg("esc"))
    assert found is not None and found.checkpoint["channel_values"][channel] == items
