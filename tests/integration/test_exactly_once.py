"""The exactly-once write path (memstore_nb.writes) and what the history builds on it, on real servers.

The fault-injection side (dropped replies, kills, pauses) lives in tests/reliability/; here: replays
are no-ops, markers share the key's slot and never look like sessions, validation happens before
any write, and foreign data is never touched.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import redis
import redis.cluster
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from redis.cluster import key_slot

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.errors import ArgumentError, MemstoreError, WriteUnconfirmed, WrongTypeError
from memstore_nb.sources import list_sessions
from memstore_nb.writes import MARKER_TTL_SECONDS, MAX_TTL_SECONDS, OnceScript, marker_key, new_write_id, slot_tag

Client = redis.Redis | redis.cluster.RedisCluster

_PUSH = OnceScript("return redis.call('RPUSH', KEYS[2], ARGV[1])")
_CHECKED_PUSH = OnceScript("return redis.call('RPUSH', KEYS[2], ARGV[1])", check="")
# record_first: a check that reads (here: refuses a key that is not a list) after the id is recorded
_RECORDED_PUSH = OnceScript(
    "return redis.call('RPUSH', KEYS[2], ARGV[1])",
    check=(
        "local t = redis.call('TYPE', KEYS[2])['ok'] "
        "if t ~= 'none' and t ~= 'list' then return refuse('WRONGTYPE ' .. t) end"
    ),
    record_first=True,
)


def _copies(client: Client, key: str) -> list[bytes]:
    return list(client.lrange(key, 0, -1))  # type: ignore[arg-type]


# -- slots -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["plain", "{user1}:chat", "a{b", "a}b", "}{", "a{}b", "{}x", "x{y}z{w}", "é{}}", "}", "{", "{{a}}"],
)
def test_marker_shares_the_keys_slot(key: str) -> None:
    marker = marker_key(key, new_write_id())
    assert key_slot(marker.encode()) == key_slot(key.encode()), (key, marker)
    assert ":memstore-nb:wid:" in marker


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=24))
def test_marker_shares_the_slot_of_any_key(key: str) -> None:
    encoded = key.encode("utf-8", "surrogatepass")
    tag = slot_tag(key)
    assert key_slot(("{" + tag + "}").encode("utf-8", "surrogatepass")) == key_slot(encoded)


def test_write_ids_are_unique_and_url_safe() -> None:
    ids = {new_write_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.replace("-", "").replace("_", "").replace(".", "").isalnum() for i in ids)
    generation = int(time.time()) // MARKER_TTL_SECONDS
    assert {int(i.partition(".")[0], 16) for i in ids} <= {generation, generation + 1}
    with pytest.raises(ValueError):
        marker_key("k", "not-a-write-id")


# -- replays -----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["general", "checked", "recorded"])
def test_a_replayed_write_is_a_no_op(any_client: Client, any_session_id: str, form: str) -> None:
    script = {"general": _PUSH, "checked": _CHECKED_PUSH, "recorded": _RECORDED_PUSH}[form]
    write_id = new_write_id()
    first = script.run(any_client, any_session_id, [any_session_id], ["once"], write_id=write_id)
    again = script.run(any_client, any_session_id, [any_session_id], ["once"], write_id=write_id)
    other = script.run(any_client, any_session_id, [any_session_id], ["twice"], write_id=new_write_id())
    assert (first.applied, again.applied, other.applied) == (True, False, True)
    assert first.result == 1 and other.result == 2
    assert _copies(any_client, any_session_id) == [b"once", b"twice"]


@pytest.mark.parametrize("marker_is_new", [True, False])
def test_a_refusal_after_the_id_is_recorded_takes_it_back(any_client: Client, marker_is_new: bool) -> None:
    """record_first: the check refuses after the id was recorded; the marker ends exactly as it was."""
    tag = uuid.uuid4().hex[:8]
    listed, hashed = f"{{{tag}}}:list", f"{{{tag}}}:hash"
    if not marker_is_new:
        _RECORDED_PUSH.run(any_client, listed, [listed], ["x"], write_id=new_write_id())
    any_client.hset(hashed, "name", "Ada")
    write_id = new_write_id()
    marker = marker_key(hashed, write_id)
    before = any_client.smembers(marker)
    assert bool(before) is not marker_is_new
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE hash"):
        _RECORDED_PUSH.run(any_client, hashed, [hashed], ["y"], write_id=write_id)
    assert any_client.smembers(marker) == before
    assert any_client.hgetall(hashed) == {b"name": b"Ada"}
    # the same id may be sent again once the key can take it: it is a new write, applied once
    any_client.delete(hashed)
    outcomes = [_RECORDED_PUSH.run(any_client, hashed, [hashed], ["y"], write_id=write_id) for _ in range(2)]
    assert [o.applied for o in outcomes] == [True, False] and _copies(any_client, hashed) == [b"y"]
    assert 0 < any_client.pttl(marker) <= 2 * MARKER_TTL_SECONDS * 1000  # type: ignore[operator]
    any_client.delete(listed, hashed)


def test_marker_expires_and_is_never_a_session(any_client: Client, any_session_id: str) -> None:
    write_id = new_write_id()
    _PUSH.run(
        any_client, any_session_id, [any_session_id], ['{"type":"human","data":{"content":"x"}}'], write_id=write_id
    )
    marker = marker_key(any_session_id, write_id)
    assert any_client.type(marker) == b"set"
    assert any_client.smembers(marker) == {write_id.encode()}
    # It expires two windows after its generation began: between one and two windows from now.
    assert MARKER_TTL_SECONDS - 5 <= any_client.ttl(marker) <= 2 * MARKER_TTL_SECONDS  # type: ignore[operator]
    assert list(list_sessions(any_client, f"*{any_session_id}*")) == [any_session_id]


def test_the_same_messages_again_after_an_unconfirmed_write_reuse_its_id(client: Client, session_id: str) -> None:
    """The id of a write whose outcome was unknown is kept, so a caller's retry is recognised.

    A fault that loses the reply is in tests/reliability; here the pending id is seeded the way
    an unconfirmed write leaves it, then the write is applied and "retried" by the caller.
    """
    from memstore_nb.history import scripts as history_scripts

    history = MemorystoreChatMessageHistory(client, session_id)
    batch = [HumanMessage("q"), AIMessage("a")]
    encoded = history._encode(batch)
    write_id = new_write_id()
    history._unconfirmed(None, encoded, write_id)  # what add_messages keeps after WriteUnconfirmed
    history_scripts.APPEND.run(client, history.key, [history.key], [*encoded, "0"], write_id=write_id)  # applied
    history.add_messages(batch)  # the caller calls again with the same messages
    assert [m.content for m in history.messages] == ["q", "a"]
    history.add_messages(batch)  # settled: a new call is a new write
    assert len(history) == 4


# -- validation before writing -------------------------------------------------------------------


def test_a_ttl_no_server_accepts_is_refused_before_anything_is_written(client: Client, session_id: str) -> None:
    with pytest.raises(ArgumentError, match="at most"):
        MemorystoreChatMessageHistory(client, session_id, ttl=10**16)
    assert client.exists(session_id) == 0
    # A history whose ttl was changed afterwards refuses before sending anything.
    history = MemorystoreChatMessageHistory(client, session_id, ttl=60)
    for bad in (MAX_TTL_SECONDS * 4, 0, -5, 1.5, "60", True):
        history.ttl = bad  # type: ignore[assignment]
        client.config_resetstat()
        with pytest.raises(ArgumentError):
            history.add_message(HumanMessage("never stored"))
        sent = client.info("commandstats")
        assert not any(name in sent for name in ("cmdstat_evalsha", "cmdstat_eval")), (bad, sent)
    assert client.exists(session_id) == 0
    history.ttl = timedelta(seconds=90)  # type: ignore[assignment]
    history.add_message(HumanMessage("a timedelta set afterwards works"))
    assert 60 < client.ttl(session_id) <= 90  # type: ignore[operator]
    client.delete(session_id)
    history.ttl = MAX_TTL_SECONDS
    history.add_message(HumanMessage("the largest ttl works"))
    assert client.ttl(session_id) > 10**12  # type: ignore[operator]


def test_the_append_script_refuses_a_bad_ttl_before_it_writes(client: Client, session_id: str) -> None:
    """The script checks the ttl too (defence in depth: Python validates it before sending)."""
    from memstore_nb.history import scripts as history_scripts

    write_id = new_write_id()
    for bad in (MAX_TTL_SECONDS * 4, -1, "x", 1.5, "", "nan", "inf", "1e400"):
        with pytest.raises(redis.ResponseError, match="ttl out of range"):
            history_scripts.APPEND.run(client, session_id, [session_id], ["m", bad], write_id=write_id)
    with pytest.raises(redis.ResponseError, match="ttl out of range"):  # no message: refused too
        history_scripts.APPEND.run(client, session_id, [session_id], ["60"], write_id=write_id)
    assert client.exists(session_id, marker_key(session_id, write_id)) == 0  # nothing written, no marker


@pytest.mark.parametrize(
    "setup, actual",
    [
        (lambda c, k: c.hset(k, "name", "Ada"), "hash"),
        (lambda c, k: c.set(k, "v"), "string"),
        (lambda c, k: c.sadd(k, "m"), "set"),
        (lambda c, k: c.zadd(k, {"m": 1}), "zset"),
    ],
)
def test_clear_refuses_a_key_of_another_type(
    any_client: Client, any_session_id: str, setup: Callable[[Any, str], Any], actual: str
) -> None:
    setup(any_client, any_session_id)
    dumped = any_client.dump(any_session_id)
    history = MemorystoreChatMessageHistory(any_client, any_session_id)
    with pytest.raises(WrongTypeError) as err:
        history.clear()
    assert err.value.actual_type == actual
    assert any_client.dump(any_session_id) == dumped  # untouched


def test_clear_deletes_a_list_and_tolerates_no_key(any_client: Client, any_session_id: str) -> None:
    history = MemorystoreChatMessageHistory(any_client, any_session_id, ttl=60)
    history.clear()
    history.add_message(HumanMessage("x"))
    history.clear()
    assert any_client.exists(any_session_id) == 0


def test_wrong_type_error_is_also_what_upstream_code_catches(any_client: Client, any_session_id: str) -> None:
    any_client.hset(any_session_id, "name", "Ada")
    history = MemorystoreChatMessageHistory(any_client, any_session_id, ttl=30)
    for action in (lambda: history.add_message(HumanMessage("x")), history.clear, lambda: history.messages):
        with pytest.raises(redis.ResponseError) as err:
            action()
        assert isinstance(err.value, (WrongTypeError, MemstoreError, TypeError))
        assert isinstance(err.value, WrongTypeError)
    assert any_client.ttl(any_session_id) == -1  # no TTL on data that is not ours
    assert any_client.hgetall(any_session_id) == {b"name": b"Ada"}


@pytest.mark.parametrize("count", [1, 2_500])  # 2,500: the push goes in chunks of 1,000
@pytest.mark.parametrize(
    "setup",
    [
        lambda c, k: c.hset(k, "name", "Ada"),
        lambda c, k: c.set(k, "v"),
        lambda c, k: c.sadd(k, "m"),
        lambda c, k: c.zadd(k, {"m": 1}),
    ],
)
def test_an_append_to_a_key_of_another_type_writes_nothing_and_leaves_no_marker(
    any_client: Client, any_session_id: str, setup: Callable[[Any, str], Any], count: int
) -> None:
    setup(any_client, any_session_id)
    dumped = any_client.dump(any_session_id)
    history = MemorystoreChatMessageHistory(any_client, any_session_id, ttl=60)
    write_id = new_write_id()
    history._unconfirmed(None, history._encode([HumanMessage(str(i)) for i in range(count)]), write_id)
    with pytest.raises(WrongTypeError):
        history.add_messages([HumanMessage(str(i)) for i in range(count)])  # sent with write_id
    assert any_client.dump(any_session_id) == dumped and any_client.ttl(any_session_id) == -1
    assert any_client.exists(marker_key(any_session_id, write_id)) == 0  # this session's marker: none


@pytest.mark.parametrize("marker_made_by", ["append", "another script"])
def test_a_refused_append_leaves_a_shared_marker_exactly_as_it_was(any_client: Client, marker_made_by: str) -> None:
    """Keys with one hash tag share a marker: a refused append takes its id back and nothing else."""
    tag = uuid.uuid4().hex[:8]
    listed, hashed = f"{{{tag}}}:chat", f"{{{tag}}}:profile"
    if marker_made_by == "append":  # the marker has the member that says its expiry is set
        MemorystoreChatMessageHistory(any_client, listed).add_message(HumanMessage("x"))
    else:  # a marker made by another form of script (the LangGraph saver's), without that member
        _PUSH.run(any_client, listed, [listed], ["x"], write_id=new_write_id())
    any_client.hset(hashed, "name", "Ada")
    write_id = new_write_id()
    marker = marker_key(hashed, write_id)
    assert marker == marker_key(listed, write_id)
    fields, ttl = any_client.smembers(marker), any_client.pttl(marker)
    history = MemorystoreChatMessageHistory(any_client, hashed)
    history._unconfirmed(None, history._encode([HumanMessage("y")]), write_id)
    with pytest.raises(WrongTypeError):
        history.add_message(HumanMessage("y"))
    assert any_client.smembers(marker) == fields
    assert ttl - 2000 <= any_client.pttl(marker) <= ttl  # type: ignore[operator]
    assert any_client.hgetall(hashed) == {b"name": b"Ada"}
    any_client.delete(listed, hashed)


def test_an_append_refused_for_memory_writes_nothing_and_leaves_no_marker(client: Client, session_id: str) -> None:
    """OOM: Redis checks memory before a script's first write only, and the push is that write."""
    history = MemorystoreChatMessageHistory(client, session_id, ttl=60)
    history.add_message(HumanMessage("before"))
    write_id = new_write_id()
    history._unconfirmed(None, history._encode([HumanMessage("refused")]), write_id)
    old = client.config_get("maxmemory")["maxmemory"]
    client.config_set("maxmemory", 1)
    try:
        with pytest.raises(redis.ResponseError, match="maxmemory"):  # OOM
            history.add_message(HumanMessage("refused"))
    finally:
        client.config_set("maxmemory", old)
    assert [m.content for m in history.messages] == ["before"]
    assert not client.sismember(marker_key(session_id, write_id), write_id)
    history.add_message(HumanMessage("refused"))  # the same write, sent again, now goes through once
    assert [m.content for m in history.messages] == ["before", "refused"]


def test_add_message_loads_the_script_again_after_script_flush(client: Client, session_id: str) -> None:
    """The one-message append sends its first EVALSHA itself; a server without the script (restarted,
    SCRIPT FLUSH) gets it loaded, and the message is stored once."""
    history = MemorystoreChatMessageHistory(client, session_id, ttl=60)
    assert history._direct  # a sync UTF-8 client: add_message takes its one-frame path
    history.add_message(HumanMessage("before"))
    client.script_flush()
    history.add_message(HumanMessage("after"))
    assert [m.content for m in history.messages] == ["before", "after"]
    assert 0 < client.ttl(session_id) <= 60  # type: ignore[operator]


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_the_append_sends_what_the_clients_own_encoding_makes(
    topology: str, any_url: str, any_session_id: str, encoding: str
) -> None:
    """A UTF-8 client gets bytes the history encoded once; any other encoding is left to the client:
    the key, its marker (same slot) and the messages land as that client itself would write them."""
    cls: Any = redis.Redis if topology == "standalone" else redis.cluster.RedisCluster
    sid = f"café-{any_session_id}"
    own = cls.from_url(any_url, protocol=2, encoding=encoding)
    try:
        history = MemorystoreChatMessageHistory(own, sid, ttl=60)
        history.add_message(HumanMessage("naïve"))
        history.add_messages([AIMessage("ça va"), HumanMessage("ok")])
        stored = own.lrange(sid.encode(encoding), 0, -1)
        assert [m.content for m in history.messages] == ["naïve", "ça va", "ok"]
        assert len(stored) == 3 and all(item.isascii() for item in stored)  # JSON with ensure_ascii
        assert 0 < own.ttl(sid.encode(encoding)) <= 60
        assert own.exists(sid.encode("latin-1" if encoding == "utf-8" else "utf-8")) == 0
    finally:
        own.close()


@pytest.mark.parametrize("count", [1, 2_500])
def test_a_replayed_append_is_a_no_op(any_client: Client, any_session_id: str, count: int) -> None:
    """The append pushes first and records its id after: a replay still finds the id, and does nothing."""
    from memstore_nb.history import scripts as history_scripts

    history = MemorystoreChatMessageHistory(any_client, any_session_id, ttl=120)
    encoded = history._encode([HumanMessage(f"m{i}") for i in range(count)])
    write_id = new_write_id()
    sent = [*encoded, "120"]  # the messages, then the ttl
    first = history_scripts.APPEND.run(any_client, any_session_id, [any_session_id], sent, write_id=write_id)
    any_client.expire(any_session_id, 30)
    again = history_scripts.APPEND.run(any_client, any_session_id, [any_session_id], sent, write_id=write_id)
    assert (first.applied, first.result, again.applied) == (True, count, False)
    assert len(history) == count
    assert any_client.ttl(any_session_id) <= 30  # the replay did not even refresh the TTL
    assert any_client.sismember(marker_key(any_session_id, write_id), write_id)


def test_write_unconfirmed_is_a_memstore_and_a_redis_connection_error() -> None:
    exc = WriteUnconfirmed("k", "id1", 4, redis.ConnectionError("reset"))
    assert isinstance(exc, MemstoreError) and isinstance(exc, redis.ConnectionError)
    assert "at most once" in str(exc) and "same messages" in str(exc)
    assert exc.write_id == "id1" and exc.attempts == 4


# -- async ---------------------------------------------------------------------------------------


def test_async_replay_and_clear(client_factory: Callable[..., Any], any_session_id: str, any_client: Client) -> None:
    async def scenario() -> None:
        conn = client_factory(asyncio=True)
        try:
            write_id = new_write_id()
            assert (await _PUSH.arun(conn, any_session_id, [any_session_id], ["a"], write_id=write_id)).applied
            assert not (await _PUSH.arun(conn, any_session_id, [any_session_id], ["a"], write_id=write_id)).applied
            history = MemorystoreChatMessageHistory(conn, any_session_id)
            await history.aclear()
            await history.aadd_messages([HumanMessage("x")])
            assert [m.content for m in await history.aget_messages()] == ["x"]
            await history.aclear()
            any_client.hset(any_session_id, "f", "v")
            with pytest.raises(WrongTypeError):
                await history.aclear()
            with pytest.raises(WrongTypeError):
                await history.aadd_messages([HumanMessage("y")])
        finally:
            await conn.aclose()

    asyncio.run(scenario())
    assert any_client.hgetall(any_session_id) == {b"f": b"v"}


def test_every_kind_of_client_gets_one_copy(client_factory: Callable[..., Any], any_session_id: str) -> None:
    token = uuid.uuid4().hex
    sync_plain = client_factory()
    sync_text = client_factory(decode_responses=True)
    MemorystoreChatMessageHistory(sync_plain, any_session_id).add_message(HumanMessage(f"{token}-1"))
    MemorystoreChatMessageHistory(sync_text, any_session_id).add_message(HumanMessage(f"{token}-2"))

    async def scenario() -> None:
        conn = client_factory(asyncio=True)
        try:
            await MemorystoreChatMessageHistory(conn, any_session_id).aadd_messages([HumanMessage(f"{token}-3")])
        finally:
            await conn.aclose()

    asyncio.run(scenario())
    contents = [m.content for m in MemorystoreChatMessageHistory(sync_plain, any_session_id).messages]
    assert contents == [f"{token}-1", f"{token}-2", f"{token}-3"]


def test_writes_go_on_while_the_sessions_slot_migrates(redis_cluster_url: str) -> None:
    """During a slot migration a multi-key script runs only where all its keys exist: the marker
    must exist beside a live session and move with it, or every write would get TRYAGAIN."""
    from memstore_nb.connection import connect

    client = connect(redis_cluster_url, cluster=True)
    assert isinstance(client, redis.cluster.RedisCluster)
    key = f"migrating-{uuid.uuid4().hex[:8]}"
    history = MemorystoreChatMessageHistory(client, key, ttl=600)
    history.add_message(HumanMessage("before"))
    slot = client.keyslot(key)
    source = client.get_node_from_key(key)
    target = next(n for n in client.get_primaries() if n.name != source.name)
    src = redis.Redis(host=source.host, port=source.port, protocol=2)
    dst = redis.Redis(host=target.host, port=target.port, protocol=2)
    source_id, target_id = src.execute_command("CLUSTER", "MYID"), dst.execute_command("CLUSTER", "MYID")
    try:
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        history.add_message(HumanMessage("while migrating, on the source"))
        while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
        history.add_message(HumanMessage("while migrating, on the target (ASK)"))
    finally:
        for node in client.get_primaries():
            with redis.Redis(host=node.host, port=node.port, protocol=2) as conn:
                conn.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        src.close()
        dst.close()
    history.add_message(HumanMessage("after"))
    assert [m.content for m in history.messages] == [
        "before",
        "while migrating, on the source",
        "while migrating, on the target (ASK)",
        "after",
    ]
    history.clear()
    client.close()
