"""The demo data: what `memstore-nb demo` seeds, written in one batch per session, never twice."""

from __future__ import annotations

import pytest
import redis
from langchain_core.messages import AIMessage, SystemMessage, ToolMessage

from memstore_nb.demo import EXPIRING_TTL, conversations, seed
from memstore_nb.history import MemorystoreChatMessageHistory

pytestmark = pytest.mark.integration


def _calls(client: redis.Redis, command: str) -> int:
    return int(client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_seed_writes_every_conversation_in_one_batch_each(client: redis.Redis, session_id: str) -> None:
    prefix = f"{session_id}:"
    seen: list[tuple[int, int]] = []
    rpush_before, script_before = _calls(client, "rpush"), _calls(client, "eval") + _calls(client, "evalsha")

    ids = seed(client, prefix=prefix, progress=lambda done, total: seen.append((done, total)))

    convs = conversations()
    assert ids == [prefix + c.name for c in convs]
    for conv in convs:
        assert client.llen(prefix + conv.name) == len(conv.messages)
    # One write script per session, pushing in chunks of 1,000 (the 3,000-message session takes three
    # RPUSHes inside its one script): no per-message writes.
    # (EVALSHA counts once more when the server first answers NOSCRIPT and the script is loaded by EVAL.)
    assert len(convs) <= _calls(client, "eval") + _calls(client, "evalsha") - script_before <= len(convs) + 1
    assert _calls(client, "rpush") - rpush_before == sum(-(-len(c.messages) // 1000) for c in convs)
    total = sum(len(c.messages) for c in convs)
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_seed_has_the_promised_shapes(client: redis.Redis, session_id: str) -> None:
    prefix = f"{session_id}:"
    seed(client, prefix=prefix)
    lengths = {c.name: client.llen(prefix + c.name) for c in conversations()}
    assert max(lengths.values()) >= 2000, "a long session of a few thousand messages"
    assert sum(n > 3 for n in lengths.values()) >= 3, "several multi-turn conversations"

    ttl = client.ttl(prefix + "temporary-chat")
    assert 0 < ttl <= EXPIRING_TTL
    assert all(client.ttl(prefix + name) == -1 for name in lengths if name != "temporary-chat")

    weather = MemorystoreChatMessageHistory(client, prefix + "weather-agent").messages
    assert isinstance(weather[0], SystemMessage)
    call_ids = {call["id"] for m in weather if isinstance(m, AIMessage) for call in m.tool_calls}
    answered = {m.tool_call_id for m in weather if isinstance(m, ToolMessage)}
    assert call_ids and call_ids == answered

    python_help = MemorystoreChatMessageHistory(client, prefix + "python-help").messages
    assert any("```python" in str(m.content) for m in python_help)

    xss = MemorystoreChatMessageHistory(client, prefix + "xss-probe")[0]
    assert "<script>alert('xss')</script>" in str(xss.content)  # stored verbatim; viewers must escape it


def test_seeding_twice_adds_nothing_and_keeps_existing_data(client: redis.Redis, session_id: str) -> None:
    prefix = f"{session_id}:"
    client.rpush(prefix + "python-help", "not touched")
    seed(client, prefix=prefix, only=["python-help", "support-refund"])
    seed(client, prefix=prefix, only=["python-help", "support-refund"])
    assert client.lrange(prefix + "python-help", 0, -1) == [b"not touched"]
    assert client.llen(prefix + "support-refund") == len(conversations()[0].messages)
    assert client.exists(prefix + "weather-agent") == 0


def test_seed_on_a_cluster(cluster_url: str) -> None:
    cluster = redis.cluster.RedisCluster.from_url(cluster_url, protocol=2)
    try:
        ids = seed(cluster, prefix="cluster-demo:")
        assert {cluster.llen(key) for key in ids} == {len(c.messages) for c in conversations()}
        assert len({cluster.keyslot(key) for key in ids}) > 1, "keys spread over several slots"
    finally:
        for key in ids:
            cluster.delete(key)
        cluster.close()
