"""No stored state can break MemorystoreSaver (issue 19, part 2): each test is one numbered item of the issue.

The damage is done to whatever keys the thread has (found by SCAN on its hash tag), so the same test
shows the defect on the earlier layout and holds on this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from helpers.graphs import ArrayLike, agent_graph, human, parent_with_subgraph
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.errors import ArgumentError, CheckpointError
from memstore_nb.local import start_local_redis


@pytest.fixture()
def prefix(client_factory: Callable[..., Any]) -> Iterator[str]:
    value = f"h{uuid.uuid4().hex[:10]}:"
    yield value
    admin = client_factory()
    for key in list(admin.scan_iter(match=f"{value}*", count=1000)):
        admin.delete(key)


def cfg(thread_id: str, ns: str | None = "", **extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id, **extra}
    if ns is not None:
        conf["checkpoint_ns"] = ns
    return {"configurable": conf}


def ckpt(n: int, values: dict[str, Any], versions: dict[str, str]) -> dict[str, Any]:
    return {
        "v": 1,
        "id": f"1f0{n:05}-0000-6000-8000-000000000000",
        "ts": f"2026-01-01T00:00:{n % 60:02}+00:00",
        "channel_values": values,
        "channel_versions": versions,
        "versions_seen": {},
        "updated_channels": None,
    }


def thread_keys(client: Any, prefix: str, thread_id: str) -> list[bytes]:
    return sorted(k for k in client.scan_iter(match=f"{prefix}lgraph:{{{thread_id}}}*", count=1000))


def hash_fields(client: Any, prefix: str, thread_id: str) -> list[tuple[bytes, bytes]]:
    """(hash key, field) of every field of the thread's hashes."""
    out = []
    for key in thread_keys(client, prefix, thread_id):
        if client.type(key) == b"hash":
            out += [(key, f) for f in client.hkeys(key)]
    return out


def field(client: Any, prefix: str, thread_id: str, kind: str, ends: str) -> tuple[bytes, bytes]:
    """The (hash, field) of kind ``c``/``b``/``x``/``w`` whose name ends with ``ends``."""
    found = [
        (k, f)
        for k, f in hash_fields(client, prefix, thread_id)
        if f.startswith(kind.encode()) and f.endswith(ends.encode())
    ]
    assert found, (kind, ends, hash_fields(client, prefix, thread_id))
    return found[0]


def edited(client: Any, key: bytes) -> None:
    """Tell running savers that the thread was changed by hand (docs/langgraph.md): a new edit token."""
    client.hset(key, "e", uuid.uuid4().hex)


# -- 1. chains that cannot loop ---------------------------------------------------------------------


def test_1_a_reused_version_that_would_close_a_loop_is_refused_and_no_chain_hangs_the_server() -> None:
    a, b, c = HumanMessage("a", id="a"), AIMessage("b", id="b"), HumanMessage("c", id="c")
    with start_local_redis() as server:
        client = redis.Redis.from_url(server.url, protocol=2, socket_timeout=3)
        saver = MemorystoreSaver(client)
        c1 = saver.put(cfg("loop"), ckpt(1, {"messages": [a]}, {"messages": "1"}), {}, {"messages": "1"})
        saver.put(c1, ckpt(2, {"messages": [a, b]}, {"messages": "2"}), {}, {"messages": "2"})

        def markers() -> dict[bytes, set[bytes]]:
            return {key: client.smembers(key) for key in client.scan_iter(match="*memstore-nb:wid:*")}

        before = markers()
        with pytest.raises(CheckpointError, match="loop"):
            saver.put(c1, ckpt(3, {"messages": [a, b, c]}, {"messages": "1"}), {}, {"messages": "1"})
        assert markers() == before and before  # the refused write took its id back
        found = saver.get_tuple(cfg("loop"))
        assert found is not None and found.checkpoint["channel_values"]["messages"] == [a, b]
        # A blob damaged by hand to extend itself: an error for that checkpoint, and the server stays free.
        key, blob = field(client, "", "loop", "b", "messages#2")
        raw = client.hget(key, blob)
        client.hset(key, blob, b'["d","messages#2"]' + raw[raw.index(b"\n") :])
        edited(client, key)
        with pytest.raises(CheckpointError, match="loop"):
            MemorystoreSaver(client).get_tuple(cfg("loop"))
        assert client.ping() and client.info("memory")["used_memory"] < 50_000_000
        client.close()


# -- 2. every decode failure is a CheckpointError; listings skip and go on --------------------------

DAMAGE = {
    "no newline": b"garbage without a newline",
    "header not JSON": b"{not json\nmsgpack\n\x90",
    "header {}": b"{}\nmsgpack\n\x90",
    "garbage blob": b'["f",null]\nmsgpack\n\xc1\xc1',
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_2_a_damaged_value_is_a_checkpoint_error_and_listings_go_on(
    client_factory: Callable[..., Any], prefix: str, damage: str
) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix)
    graph = agent_graph(saver)
    for thread_id in ("t0", "bad", "t2"):
        graph.invoke(human("hello"), cfg(thread_id, None), durability="sync")
    newest = saver.get_tuple(cfg("bad"))
    assert newest is not None
    version = newest.checkpoint["channel_versions"]["messages"]
    for kind, ends in (("b", f"messages#{version}"), ("c", newest.checkpoint["id"])):
        key, name = field(client, prefix, "bad", kind, ends)
        client.hset(key, name, DAMAGE[damage])
    edited(client, key)
    with pytest.raises(CheckpointError, match="'bad'"):
        MemorystoreSaver(client, key_prefix=prefix).get_tuple(cfg("bad"))
    listed = {t.config["configurable"]["thread_id"] for t in MemorystoreSaver(client, key_prefix=prefix).list(None)}
    assert {"t0", "t2"} <= listed
    run = newest.metadata.get("run_id")
    saver.delete_for_runs([run] if run else ["no-such-run"])
    saver.prune(["bad", "t0"])  # the damaged thread is left as it is, the other one pruned
    assert len(list(saver.list(cfg("t0")))) == 1


def test_2_a_damaged_list_of_pending_writes_is_a_checkpoint_error(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix)
    stored = saver.put(cfg("w"), ckpt(1, {}, {}), {}, {})
    saver.put_writes(stored, [("ch", "v")], "task")
    key, name = field(client, prefix, "w", "x", ckpt(1, {}, {})["id"])
    client.hset(key, name, b"[not json")
    with pytest.raises(CheckpointError, match="'w'"):
        saver.get_tuple(stored)
    with pytest.raises(CheckpointError, match="'w'"):
        saver.put_writes(stored, [("ch", "v2")], "task2")


def test_2_delete_for_runs_goes_on_past_a_damaged_thread(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix)
    for i in range(20):
        saver.put(cfg(f"r{i}"), ckpt(1, {}, {}), {"run_id": "run-x"}, {})
    key, name = field(client, prefix, "r7", "c", ckpt(1, {}, {})["id"])
    client.hset(key, name, b"no header at all")
    saver.delete_for_runs(["run-x"])
    left = [t for t in (f"r{i}" for i in range(20)) if thread_keys(client, prefix, t)]
    assert left == ["r7"]


# -- 3, 4, 6, 10: a thread acts as a whole ----------------------------------------------------------


def test_3_6_losing_any_one_key_reads_as_an_error_and_delete_thread_removes_the_rest(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    graph = parent_with_subgraph(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("go"), cfg("whole", None))
    names = thread_keys(client, prefix, "whole")
    for i, lost in enumerate(names):
        thread = f"whole{i}"
        graph.invoke(human("go"), cfg(thread, None))
        client.delete(lost.replace(b"{whole}", f"{{{thread}}}".encode()))
        fresh = MemorystoreSaver(client, key_prefix=prefix)
        with pytest.raises(CheckpointError, match=r"incomplete|evicted"):
            fresh.get_tuple(cfg(thread))  # never None: the graph would start over
        fresh.delete_thread(thread)
        assert thread_keys(client, prefix, thread) == [] and fresh.get_tuple(cfg(thread)) is None


def test_4_10_mixed_ttl_savers_and_subgraphs_keep_one_expiry_and_two_keys(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    with_ttl = parent_with_subgraph(MemorystoreSaver(client, key_prefix=prefix, ttl=300))
    without = parent_with_subgraph(MemorystoreSaver(client_factory(), key_prefix=prefix))
    for turn in range(4):
        graph = with_ttl if turn % 2 == 0 else without
        graph.invoke(human(f"go {turn}"), cfg("mixed", None))
        graph.invoke(Command(resume="ok"), cfg("mixed", None))
    keys = thread_keys(client, prefix, "mixed")
    assert len(keys) == 2  # 4 turns, 4 subgraph namespaces: still the thread's two keys
    assert all(0 < client.pttl(k) <= 300_000 for k in keys)  # one expiry, nothing left without one
    pruner = MemorystoreSaver(client, key_prefix=prefix, ttl=300)
    for k in keys:
        client.pexpire(k, 5_000)
    pruner.prune(["mixed"])
    assert all(client.pttl(k) > 200_000 for k in thread_keys(client, prefix, "mixed"))  # prune refreshes it
    MemorystoreSaver(client, key_prefix=prefix).delete_thread("mixed")
    assert thread_keys(client, prefix, "mixed") == []


def test_10_a_long_list_is_stored_as_deltas_without_whole_copies(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix)
    messages: list[Any] = []
    config = cfg("long")
    for n in range(1, 131):
        messages = [*messages, HumanMessage(f"m{n}", id=f"m{n}")]
        config = saver.put(
            config, ckpt(n, {"messages": messages}, {"messages": f"{n:08}.a"}), {}, {"messages": f"{n:08}.a"}
        )
    pieces = [client.hget(k, f) for k, f in hash_fields(client, prefix, "long") if b"messages#" in f]
    assert len(pieces) == 130 and sum(p.startswith(b'["f"') for p in pieces) == 1
    found = MemorystoreSaver(client, key_prefix=prefix).get_tuple(cfg("long"))
    assert found is not None and found.checkpoint["channel_values"]["messages"] == messages


# -- 5. a cache that sees changes --------------------------------------------------------------------


def test_5_a_change_stored_by_another_saver_or_by_hand_is_seen_by_the_saver_that_cached(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    writer, other = MemorystoreSaver(client, key_prefix=prefix), MemorystoreSaver(client_factory(), key_prefix=prefix)
    first = [HumanMessage("secret", id="1")]
    c1 = writer.put(cfg("c"), ckpt(1, {"messages": first}, {"messages": "v1"}), {}, {"messages": "v1"})
    assert writer.get_tuple(c1) is not None
    # Another process stores version v1 again with a value of the same length: the writer sees it.
    same_length = [HumanMessage("redact", id="1")]
    other.put(cfg("c"), ckpt(2, {"messages": same_length}, {"messages": "v1"}), {}, {"messages": "v1"})
    found = writer.get_tuple(c1)
    assert found is not None and found.checkpoint["channel_values"]["messages"] == same_length
    # Below the newest piece of a chain: a redaction made in Redis (with the edit token changed) is seen.
    secret = [HumanMessage("secret", id="s1")]
    c1 = writer.put(cfg("d"), ckpt(1, {"messages": secret}, {"messages": "v1"}), {}, {"messages": "v1"})
    longer = [*secret, AIMessage("answer", id="s2")]
    c2 = writer.put(c1, ckpt(2, {"messages": longer}, {"messages": "v2"}), {}, {"messages": "v2"})
    assert writer.get_tuple(c2) is not None
    key, base = field(client, prefix, "d", "b", "messages#v1")
    raw = client.hget(key, base)
    assert client.hget(key, field(client, prefix, "d", "b", "messages#v2")[1]).startswith(b'["d"')
    client.hset(key, base, raw.replace(b"secret", b"XXXXXX"))
    edited(client, key)
    found = writer.get_tuple(c2)
    assert found is not None
    assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == ["XXXXXX", "answer"]


# -- 7. list() across namespaces at a page boundary ---------------------------------------------------


def test_7_list_across_namespaces_keeps_rows_that_share_an_id_at_a_page_boundary(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    saver = MemorystoreSaver(client_factory(), key_prefix=prefix)
    # Root has one newer checkpoint, so row 100 is (id 80, root) and row 101 (id 80, child:a).
    for ns, count in (("", 131), ("child:a", 130)):
        for n in range(count):
            saver.put(cfg("p", ns), ckpt(n, {}, {}), {"step": n}, {})
    rows = [(t.config["configurable"]["checkpoint_ns"], t.checkpoint["id"]) for t in saver.list(cfg("p", None))]
    assert len(rows) == 261 and len(set(rows)) == 261
    assert [cid for _, cid in rows] == sorted((cid for _, cid in rows), reverse=True)
    assert len(list(saver.list(cfg("p", None), limit=150))) == 150


# -- 8. numpy arrays in a list channel ----------------------------------------------------------------


def test_8_array_like_items_in_a_list_channel_from_two_savers_and_time_travel(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    """Items whose ``==`` is elementwise (numpy arrays; ArrayLike here) in a list channel."""
    client = client_factory()
    one, two = MemorystoreSaver(client, key_prefix=prefix), MemorystoreSaver(client_factory(), key_prefix=prefix)
    values: list[Any] = []
    config = cfg("np")
    for n in range(1, 6):  # the two processes take turns; each puts what it read from the other
        saver = one if n % 2 else two
        before = saver.get_tuple(cfg("np"))
        values = [*(before.checkpoint["channel_values"]["vals"] if before else []), ArrayLike(tuple(range(n)))]
        config = saver.put(config, ckpt(n, {"vals": values}, {"vals": f"{n:08}.b"}), {}, {"vals": f"{n:08}.b"})
    found = one.get_tuple(cfg("np"))
    assert found is not None
    assert [list(x.values) for x in found.checkpoint["channel_values"]["vals"]] == [list(x.values) for x in values]
    # Time travel: a new branch from checkpoint 2, its items equal (not identical) to the stored ones.
    old = one.get_tuple(cfg("np", checkpoint_id=ckpt(2, {}, {})["id"]))
    assert old is not None
    branch = [*(ArrayLike(x.values) for x in old.checkpoint["channel_values"]["vals"]), ArrayLike((7,))]
    one.put(old.config, ckpt(9, {"vals": branch}, {"vals": "00000009.c"}), {}, {"vals": "00000009.c"})
    again = two.get_tuple(cfg("np"))
    assert again is not None and [list(x.values) for x in again.checkpoint["channel_values"]["vals"]] == [
        [0],
        [0, 1],
        [7],
    ]


# -- 9. metadata, thread ids, ttl bounds ----------------------------------------------------------------


def test_9_run_ids_as_uuid_or_bytes_are_stored_like_in_memory_and_deleted_by_run(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    saver, ref = MemorystoreSaver(client_factory(), key_prefix=prefix), InMemorySaver()
    run = uuid.uuid4()
    for n, run_id in enumerate([run, b"bytes-run", "text-run"]):
        for s in (saver, ref):
            s.put(cfg(f"m{n}"), ckpt(n, {}, {}), {"run_id": run_id, "source": "loop"}, {})
        mine, theirs = saver.get_tuple(cfg(f"m{n}")), ref.get_tuple(cfg(f"m{n}"))
        assert mine is not None and theirs is not None and mine.metadata == theirs.metadata
    saver.delete_for_runs([run, b"bytes-run"])
    assert saver.get_tuple(cfg("m0")) is None and saver.get_tuple(cfg("m1")) is None
    assert saver.get_tuple(cfg("m2")) is not None


def test_9_unusable_thread_ids_are_refused_before_anything_is_sent(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix)
    with pytest.raises(ArgumentError, match="surrogate"):
        saver.put(cfg("bad\udc80id"), ckpt(1, {}, {}), {}, {})
    with pytest.raises(ArgumentError, match="thread_id is None"):
        saver.put(cfg(None), ckpt(1, {}, {}), {}, {})  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="thread_id is None"):
        saver.get_tuple(cfg(None))  # type: ignore[arg-type]
    assert list(client.scan_iter(match=f"{prefix}*")) == []


def test_9_a_ttl_up_to_the_servers_limit_is_applied_and_one_beyond_refused_up_front(
    client_factory: Callable[..., Any], prefix: str
) -> None:
    client = client_factory()
    saver = MemorystoreSaver(client, key_prefix=prefix, ttl=10**14)
    saver.put(cfg("long-ttl"), ckpt(1, {"messages": ["a"]}, {"messages": "1"}), {}, {"messages": "1"})
    keys = thread_keys(client, prefix, "long-ttl")
    assert keys and all(client.pttl(k) > 10**16 for k in keys)
    with pytest.raises(ArgumentError, match="ttl"):
        MemorystoreSaver(client, key_prefix=prefix, ttl=10**17)
