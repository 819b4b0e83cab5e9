"""Finding and describing sessions (memstore_nb.sources.catalog) on a real redis-server and a real cluster."""

from __future__ import annotations

import itertools
import json

import pytest
import redis
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage
from redis.cluster import RedisCluster

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.errors import MemstoreError, WrongTypeError
from memstore_nb.replies import version_tuple
from memstore_nb.sources import (
    SessionNotFound,
    find_in_session,
    list_sessions,
    session_info,
    session_stats,
    summarize_sessions,
)
from memstore_nb.sources import scan as sessions_mod


def seed(any_client: redis.Redis, key: str, *messages: object) -> None:
    MemorystoreChatMessageHistory(any_client, key).add_messages(list(messages))  # type: ignore[arg-type]


def cmdstat(client: redis.Redis | RedisCluster, name: str) -> int:
    """Calls of one command, summed over every primary of a cluster."""
    if isinstance(client, RedisCluster):
        infos = list(client.info("commandstats", target_nodes=RedisCluster.PRIMARIES).values())
    else:
        infos = [client.info("commandstats")]
    return sum(int(info.get(f"cmdstat_{name}", {}).get("calls", 0)) for info in infos)


@pytest.fixture()
def mixed(any_client: redis.Redis, any_session_id: str) -> set[str]:
    """Two sessions among keys that are not sessions; returns the session ids."""
    sid = any_session_id
    seed(any_client, f"{sid}:a", HumanMessage("hi"), AIMessage("hello"))
    seed(any_client, f"{sid}:b", SystemMessage("be brief"))
    any_client.rpush(f"{sid}:plain-list", "a", "b")
    any_client.rpush(f"{sid}:json-list", json.dumps({"x": 1}), json.dumps({"type": "human"}))
    any_client.rpush(f"{sid}:typed-no-data", json.dumps({"type": "human", "data": "hi"}))
    any_client.set(f"{sid}:string", encode_message(HumanMessage("a string, not a list")))
    any_client.hset(f"{sid}:hash", "type", "human")
    any_client.sadd(f"{sid}:set", encode_message(HumanMessage("x")))
    any_client.zadd(f"{sid}:zset", {"m": 1})
    any_client.xadd(f"{sid}:stream", {"type": "human"})
    return {f"{sid}:a", f"{sid}:b"}


def test_only_lists_of_messages_are_sessions(any_client, any_text_client, any_session_id: str, mixed):
    assert set(list_sessions(any_client, f"{any_session_id}*")) == mixed
    found = list(list_sessions(any_text_client, f"{any_session_id}*", count=2))
    assert set(found) == mixed
    assert all(isinstance(s, str) for s in found)


def test_servers_without_scan_type_get_the_same_answer(
    any_client, any_session_id: str, mixed, monkeypatch: pytest.MonkeyPatch
):
    if sessions_mod.scan_type_supported(any_client):  # Redis >= 6.0: take the Redis 5 path on purpose
        monkeypatch.setattr(sessions_mod, "scan_type_supported", lambda client: False)
    before = cmdstat(any_client, "type")
    assert set(list_sessions(any_client, f"{any_session_id}*", count=3)) == mixed
    assert cmdstat(any_client, "type") - before == 10  # one TYPE per candidate key, pipelined


def test_scan_type_detection(client: redis.Redis):
    version = version_tuple(client.info("server")["redis_version"])
    assert sessions_mod.scan_type_supported(client) is (version >= (6, 0))


def test_version_parsing():
    assert version_tuple("5.0.6") < (6, 0) <= version_tuple("6.2.14")
    assert version_tuple("7.2.4-rc1") == (7, 2, 4)


def test_match_pattern_selects_a_prefix(any_client: redis.Redis, any_session_id: str):
    seed(any_client, f"chat:{any_session_id}:1", HumanMessage("one"))
    seed(any_client, f"chat:{any_session_id}:2", HumanMessage("two"))
    seed(any_client, f"other:{any_session_id}:3", HumanMessage("three"))
    try:
        found = sorted(list_sessions(any_client, f"chat:{any_session_id}:*"))
        assert found == [f"chat:{any_session_id}:1", f"chat:{any_session_id}:2"]
        assert list(list_sessions(any_client, f"*{any_session_id}:3")) == [f"other:{any_session_id}:3"]
        assert list(list_sessions(any_client, f"nothing-{any_session_id}*")) == []
    finally:
        any_client.delete(f"chat:{any_session_id}:1", f"chat:{any_session_id}:2", f"other:{any_session_id}:3")


def test_listing_is_lazy(any_client: redis.Redis, any_session_id: str):
    pipe = any_client.pipeline(transaction=False)
    for i in range(3000):
        pipe.rpush(f"{any_session_id}:s{i}", encode_message(HumanMessage(f"m{i}")))
    pipe.execute()
    before = cmdstat(any_client, "scan")
    it = list_sessions(any_client, f"{any_session_id}:*", count=100)
    first = list(itertools.islice(it, 5))
    assert len(first) == 5
    assert cmdstat(any_client, "scan") - before <= 3  # 3,000 keys would take ~30 SCAN calls
    assert len(first) + sum(1 for _ in it) == 3000  # and the rest is still there


def test_count_must_be_positive(any_client: redis.Redis):
    with pytest.raises(ValueError):
        next(list_sessions(any_client, count=0))


def test_session_info(any_client: redis.Redis, any_session_id: str):
    key = f"{any_session_id}:info"
    MemorystoreChatMessageHistory(any_client, key, ttl=600).add_messages(
        [SystemMessage("You are terse.")] + [HumanMessage(f"question {i}") for i in range(3)] + [AIMessage("x " * 200)]
    )
    info = session_info(any_client, key, page_size=3)
    assert info.session_id == key
    assert info.length == 5
    assert 590 <= info.ttl <= 600
    assert info.memory and info.memory > 100
    assert (info.first_role, info.first_preview) == ("system", "You are terse.")
    assert info.last_role == "ai" and info.last_preview.startswith("x x") and len(info.last_preview) <= 80
    assert info.roles == {"human": 2, "ai": 1} and info.page_size == 3
    assert "length=5" in repr(info)
    any_client.persist(key)
    assert session_info(any_client, key).ttl is None


def test_session_info_escapes_html(any_client: redis.Redis, any_session_id: str):
    key = f"{any_session_id}<img src=x onerror=alert(1)>"
    boss = ChatMessage(content="custom", role="<b>boss</b>")
    seed(any_client, key, HumanMessage("<script>alert('x')</script>"), boss)
    page = session_info(any_client, key)._repr_html_()
    assert "<img" not in page and "<script" not in page and "<b>boss" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;boss&lt;/b&gt;" in page


def test_session_info_errors(any_client: redis.Redis, any_session_id: str):
    with pytest.raises(SessionNotFound) as missing:
        session_info(any_client, f"{any_session_id}:missing")
    assert isinstance(missing.value, KeyError) and isinstance(missing.value, MemstoreError)
    assert "list_sessions" in str(missing.value) and f"{any_session_id}:missing" in str(missing.value)
    any_client.set(f"{any_session_id}:str", "x")
    with pytest.raises(WrongTypeError) as wrong:
        session_info(any_client, f"{any_session_id}:str")
    assert wrong.value.actual_type == "string"
    with pytest.raises(WrongTypeError):
        session_stats(any_client, f"{any_session_id}:str")
    with pytest.raises(SessionNotFound):
        session_stats(any_client, f"{any_session_id}:missing")


def test_corrupt_elements_are_described_not_raised(any_client: redis.Redis, any_session_id: str):
    key = f"{any_session_id}:corrupt"
    any_client.rpush(key, encode_message(HumanMessage("fine")), "{not json", json.dumps({"type": "ai", "data": {}}))
    info = session_info(any_client, key)
    assert info.length == 3
    assert info.last_role == "unreadable" and "content" not in info.roles
    assert info.roles == {"human": 1, "unreadable": 2}


def test_summaries(any_client: redis.Redis, any_session_id: str):
    a, b = f"{any_session_id}:a", f"{any_session_id}:b"
    seed(any_client, a, HumanMessage("first"), AIMessage("  the\n latest   answer "))
    any_client.expire(a, 100)
    rows = summarize_sessions(any_client, [a, b])
    assert rows[0].length == 2 and rows[0].ttl and rows[0].ttl <= 100
    assert (rows[0].last_role, rows[0].last_preview) == ("ai", "the latest answer")
    assert "2 messages" in rows[0].label() and "ai: the latest answer" in rows[0].label()
    assert rows[1].length == 0 and "gone" in rows[1].label()
    assert summarize_sessions(any_client, []) == []


def test_find_in_session(any_client: redis.Redis, any_session_id: str):
    key = f"{any_session_id}:find"
    messages = [HumanMessage(f"message {i}") for i in range(25)]
    messages[3] = HumanMessage("Ünïcode NEEDLE here")
    messages[17] = AIMessage(content=[{"type": "text", "text": "a needle in a block"}, {"type": "image_url"}])
    seed(any_client, key, *messages)
    any_client.rpush(key, "corrupt needle")
    calls: list[tuple[int, int]] = []
    hits = find_in_session(any_client, key, "nEeDlE", chunk_size=10, progress=lambda d, t: calls.append((d, t)))
    assert hits == [3, 17, 25]
    assert calls == [(10, 26), (20, 26), (26, 26)]
    assert find_in_session(any_client, key, "ÜNÏCODE") == [3]
    assert find_in_session(any_client, key, "absent") == []
    assert find_in_session(any_client, key, "") == []


def test_refused_commands_degrade(client: redis.Redis, redis_url: str, session_id: str):
    """A user without MEMORY and INFO (as some managed services set up) still lists and describes sessions."""
    client.acl_setuser(
        "msnb-limited", enabled=True, passwords=["+pw-limited"], keys="*", commands=["+@all", "-memory", "-info"]
    )
    try:
        limited = redis.Redis.from_url(redis_url, protocol=2, username="msnb-limited", password="pw-limited")
        seed(limited, f"{session_id}:a", HumanMessage("hi"))
        limited.rpush(f"{session_id}:plain", "x")
        assert list(list_sessions(limited, f"{session_id}*")) == [f"{session_id}:a"]
        info = session_info(limited, f"{session_id}:a")
        assert info.length == 1 and info.memory is None
        assert "MEMORY USAGE refused" in info._repr_html_()
        assert session_stats(limited, f"{session_id}:a").memory is None
        limited.close()
    finally:
        client.acl_deluser("msnb-limited")


# -- kinds ------------------------------------------------------------------


def community_seed(any_client: redis.Redis, session: str, *messages: object) -> str:
    """Write as langchain-community's RedisChatMessageHistory does: LPUSH to message_store:<id>, newest first."""
    key = f"message_store:{session}"
    for message in messages:
        any_client.lpush(key, encode_message(message))  # type: ignore[arg-type]
    return key


def test_each_session_is_labelled_with_its_kind(any_client, any_session_id: str):
    from memstore_nb.sources import SessionId

    sid = any_session_id
    seed(any_client, f"{sid}:upstream", HumanMessage("hi"), AIMessage("hello"))
    key = community_seed(any_client, sid, HumanMessage("first"), AIMessage("second"), HumanMessage("third"))
    try:
        found = {s: s.kind for s in list_sessions(any_client, "*") if sid in s}
        assert found == {f"{sid}:upstream": "memstore", key: "community"}
        assert all(isinstance(s, SessionId) and isinstance(s, str) for s in found)
        rows = summarize_sessions(any_client, [f"{sid}:upstream", key], memory=True)
        assert [(r.kind, r.length, r.last_preview) for r in rows] == [
            ("memstore", 2, "hello"),
            ("community", 3, "third"),
        ]
        assert all(r.memory and r.memory > 0 for r in rows)
        info = session_info(any_client, key)
        assert info.kind == "community" and info.first_preview == "first" and info.last_preview == "third"
        assert "community" in info._repr_html_() and "kind='community'" in repr(info)
        assert session_info(any_client, f"{sid}:upstream").kind == "memstore"
    finally:
        any_client.delete(key)


def test_community_history_reads_in_conversation_order_and_is_never_rewritten(any_client, any_session_id: str):
    from memstore_nb.sources import open_transcript

    texts = [f"m{i}" for i in range(25)]
    key = community_seed(any_client, any_session_id, *[HumanMessage(t) for t in texts])
    try:
        before = any_client.dump(key)
        transcript = open_transcript(any_client, key)
        assert transcript.kind == "community" and not transcript.writable
        assert transcript.stats().length == 25
        assert [m.content for m in transcript.read_range(0, 24)] == texts
        assert [m.content for m in transcript.read_range(20, 24)] == texts[20:]
        assert [m.content for m in transcript.read_range(3, 5)] == texts[3:6]
        assert transcript.find("M2", chunk_size=4, progress=None) == [2, *range(20, 25)]
        assert find_in_session(any_client, key, "m24", chunk_size=7) == [24]
        with pytest.raises(MemstoreError, match="never writes"):
            transcript.history
        assert any_client.dump(key) == before
    finally:
        any_client.delete(key)


def test_a_registered_source_is_listed_and_opened(any_client, any_session_id: str):
    (
        """The plug-in point the LangGraph threads use: list, summarize and open ids of a kind of its own.

    A kind of its own name, so the real "langgraph" source (registered when langgraph is installed)
    stays as it is for the other tests.
    """
        ""
    )
    from memstore_nb import sources as kinds
    from memstore_nb.sources import SessionSummary, open_transcript

    class Threads:
        kind = "fake-threads"

        def list(self, client, match, count):
            yield f"{any_session_id}-thread-1"

        def summarize(self, client, ids):
            return [SessionSummary(i, 2, None, "ai", "done", "fake-threads") for i in ids]

        def open(self, client, session_id):
            return ("opened", session_id)

    with pytest.raises(ValueError, match="built in"):
        kinds.register_source(type("Bad", (), {"kind": "memstore"})())  # type: ignore[arg-type]
    kinds.register_source(Threads())
    try:
        found = [s for s in list_sessions(any_client, f"{any_session_id}*")]
        assert [(s, s.kind) for s in found] == [(f"{any_session_id}-thread-1", "fake-threads")]
        assert summarize_sessions(any_client, found)[0].kind == "fake-threads"
        assert open_transcript(any_client, found[0]) == ("opened", found[0])
    finally:
        kinds.unregister_source("fake-threads")
    assert list(list_sessions(any_client, f"{any_session_id}*")) == []
    with pytest.raises(MemstoreError, match="register_source"):
        open_transcript(any_client, "x", kind="fake-threads")
