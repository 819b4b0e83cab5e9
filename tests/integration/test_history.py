"""MemorystoreChatMessageHistory against a real redis-server and a real 3-shard Redis Cluster.

Every test that takes ``client``, ``text_client`` or ``session_id`` runs twice: once on the
suite's standalone server, once on its local cluster (see ``any_*`` in conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Union

import pytest
import redis
import redis.cluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.errors import ArgumentError, ClientKindError, CorruptMessageError, MemstoreError, WrongTypeError

Client = Union[redis.Redis, redis.cluster.RedisCluster]


# The foundation's fixture names, rebound to their standalone-or-cluster twins for this module.
@pytest.fixture()
def client(any_client: Client) -> Client:
    return any_client


@pytest.fixture()
def text_client(any_text_client: Client) -> Client:
    return any_text_client


@pytest.fixture()
def session_id(any_session_id: str) -> Iterator[str]:
    yield any_session_id


def every_kind() -> list[BaseMessage]:
    return [
        SystemMessage("You are a terse assistant."),
        HumanMessage(
            content=[
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
            name="alice",
            id="h-1",
        ),
        AIMessage(
            content="",
            tool_calls=[{"name": "lookup", "args": {"q": "cat", "n": 2}, "id": "call_1", "type": "tool_call"}],
            usage_metadata={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
            response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
            id="ai-1",
        ),
        ToolMessage(content='{"result": "a cat"}', tool_call_id="call_1", name="lookup", status="success"),
        FunctionMessage(content="42", name="answer"),
        ChatMessage(content="Custom role speaking.", role="critic"),
        AIMessage(content="It is a **cat**.\n\n```python\nprint('meow')\n```", additional_kwargs={"refusal": None}),
    ]


UNICODE = [
    "",
    "héllo wörld",
    "日本語のテキスト",
    "emoji 🧑‍🚀🚀 and flags 🇫🇷",
    "rtl עברית العربية",
    "zero\u200bwidth and \u0000 nul",
    "lone surrogate-free \U0010ffff max",
    "line\nbreaks\r\nand\ttabs",
    '"quotes" and \\backslashes\\',
]


def test_every_message_kind_round_trips(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    sent = every_kind()
    history.add_messages(sent)
    assert history.messages == sent
    assert [type(m) for m in history.messages] == [type(m) for m in sent]
    assert history.messages[2].tool_calls[0]["args"] == {"q": "cat", "n": 2}
    assert history.messages[5].role == "critic"


@pytest.mark.parametrize("text", UNICODE)
def test_unicode_round_trips(client: Client, session_id: str, text: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_message(HumanMessage(text))
    assert history.messages[0].content == text


def test_reads_what_upstream_wrote(client: Client, session_id: str) -> None:
    # The upstream class stores json.dumps(message_to_dict(m)), one RPUSH per message.
    sent = every_kind()
    for message in sent:
        client.rpush(session_id, json.dumps(message_to_dict(message)))
    assert MemorystoreChatMessageHistory(client, session_id).messages == sent


def test_upstream_reads_what_we_wrote(client: Client, session_id: str) -> None:
    sent = every_kind()
    MemorystoreChatMessageHistory(client, session_id).add_messages(sent)
    # The upstream read path: LRANGE 0 -1, utf-8 decode, json.loads, messages_from_dict.
    raw = client.lrange(session_id, 0, -1)
    assert messages_from_dict([json.loads(item.decode("utf-8")) for item in raw]) == sent
    assert raw[0].decode() == json.dumps(message_to_dict(sent[0]))


def test_decode_responses_client(text_client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(text_client, session_id, ttl=60)
    sent = every_kind()
    history.add_messages(sent)
    assert history.messages == sent
    assert history[1] == sent[1]
    assert history[-2:] == sent[-2:]
    assert len(history) == len(sent)


def test_key_prefix(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, "chat1", key_prefix=f"{session_id}:")
    history.add_message(HumanMessage("hi"))
    assert history.key == f"{session_id}:chat1"
    assert client.llen(f"{session_id}:chat1") == 1
    assert client.exists("chat1") == 0


# What a new connection sends first: whether the INFO after a write opens one (the write may still
# hold the connection the INFO before it used: memstore_nb.sending keeps it) is not the write's cost.
_HANDSHAKE = {"hello", "client|setinfo", "client|setname", "client", "auth", "select"}  # "client": Redis < 7


def command_calls(client: Client, key: str) -> dict[str, int]:
    """Commands run so far by the server (on a cluster: the primary) that holds ``key``, handshakes left out."""
    if isinstance(client, redis.cluster.RedisCluster):
        stats = client.info("commandstats", target_nodes=client.get_node_from_key(key))
    else:
        stats = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    return {name: count for name, count in calls.items() if name not in _HANDSHAKE}


def test_batch_of_500_with_ttl_costs_a_handful_of_commands(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id, ttl=300)
    batch = [HumanMessage(f"message {i}") if i % 2 else AIMessage(f"reply {i}") for i in range(500)]
    before = command_calls(client, session_id)
    history.add_messages(batch)
    after = command_calls(client, session_id)
    spent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    # INFO itself is counted once between the two snapshots.
    spent.pop("info", None)
    # One script call (EVAL the first time a server sees it, EVALSHA after): one SADD records the
    # write id (and tells a replay apart), one RPUSH for the batch (the first write of the body: it
    # refuses a key of another type, so no TYPE call), the EXPIRE, and the marker's PEXPIREAT,
    # only when this call created the marker (a new session id, so here it did).
    script = spent.pop("evalsha", 0) + spent.pop("eval", 0)
    assert script == 1
    assert spent == {"sadd": 1, "pexpireat": 1, "rpush": 1, "expire": 1}
    before = command_calls(client, session_id)
    history.add_messages(batch[:2])
    after = command_calls(client, session_id)
    spent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    spent.pop("info", None)
    assert spent == {"evalsha": 1, "sadd": 1, "rpush": 1, "expire": 1}  # the marker's expiry is set
    assert len(history) == 502
    assert history.messages == batch + batch[:2]


def test_batch_without_ttl_is_one_script_with_one_rpush(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    before = command_calls(client, session_id)
    history.add_messages([HumanMessage(str(i)) for i in range(100)])
    after = command_calls(client, session_id)
    assert after["rpush"] - before.get("rpush", 0) == 1
    assert after.get("evalsha", 0) + after.get("eval", 0) - before.get("evalsha", 0) - before.get("eval", 0) == 1
    assert after.get("expire", 0) == before.get("expire", 0)
    assert client.ttl(session_id) == -1


def test_sliding_ttl(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id, ttl=100)
    history.add_message(HumanMessage("first"))
    assert 95 <= client.ttl(session_id) <= 100
    client.expire(session_id, 5)  # pretend time passed
    history.add_message(AIMessage("second"))
    assert 95 <= client.ttl(session_id) <= 100
    client.expire(session_id, 5)
    history.add_messages([HumanMessage("third"), AIMessage("fourth")])
    assert 95 <= client.ttl(session_id) <= 100


def test_ttl_expires_for_real(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id, ttl=1)
    history.add_message(HumanMessage("soon gone"))
    deadline = time.monotonic() + 5
    while client.exists(session_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert history.messages == []


def test_clear(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_messages([HumanMessage("a"), AIMessage("b")])
    other = MemorystoreChatMessageHistory(client, session_id + "-other")
    other.add_message(HumanMessage("keep me"))
    history.clear()
    assert client.exists(session_id) == 0
    assert history.messages == []
    assert len(other) == 1


@pytest.fixture()
def numbered(client: Client, session_id: str) -> tuple[MemorystoreChatMessageHistory, list[BaseMessage]]:
    sent: list[BaseMessage] = [HumanMessage(f"m{i}") for i in range(7)]
    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_messages(sent)
    return history, sent


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    start=st.none() | st.integers(-12, 12),
    stop=st.none() | st.integers(-12, 12),
    step=st.none() | st.integers(-4, 4).filter(bool),
)
def test_slicing_matches_a_python_list(numbered, start, stop, step) -> None:  # type: ignore[no-untyped-def]
    history, sent = numbered
    assert history[start:stop:step] == sent[start:stop:step]


@pytest.mark.parametrize("index", [0, 3, 6, -1, -7])
def test_indexing(numbered, index: int) -> None:  # type: ignore[no-untyped-def]
    history, sent = numbered
    assert history[index] == sent[index]


@pytest.mark.parametrize("index", [7, 100, -8, -100])
def test_index_out_of_range(numbered, index: int) -> None:  # type: ignore[no-untyped-def]
    history, _ = numbered
    with pytest.raises(IndexError):
        history[index]


def test_len_and_truthiness(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    assert len(history) == 0
    assert bool(history) is True
    history.add_message(HumanMessage("x"))
    assert len(history) == 1


def test_zero_step_and_bad_index_type(numbered) -> None:  # type: ignore[no-untyped-def]
    history, _ = numbered
    with pytest.raises(ValueError):
        history[::0]
    with pytest.raises(TypeError):
        history["0"]  # type: ignore[call-overload]


@pytest.mark.parametrize("bad", ["", None, 42, b"bytes"])
def test_session_id_is_validated(client: Client, bad: object) -> None:
    with pytest.raises(ArgumentError) as info:
        MemorystoreChatMessageHistory(client, bad)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert info.value.value == bad


@pytest.mark.parametrize("bad", [0, -5, 1.5, "60", True])
def test_ttl_is_validated(client: Client, bad: object) -> None:
    with pytest.raises(ArgumentError):
        MemorystoreChatMessageHistory(client, "s", ttl=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setup", "actual"),
    [
        (lambda c, k: c.set(k, "plain string"), "string"),
        (lambda c, k: c.hset(k, "f", "v"), "hash"),
        (lambda c, k: c.sadd(k, "m"), "set"),
    ],
)
def test_wrong_type_key(client: Client, session_id: str, setup, actual: str) -> None:  # type: ignore[no-untyped-def]
    setup(client, session_id)
    before = client.dump(session_id)
    history = MemorystoreChatMessageHistory(client, session_id, ttl=60)
    for action in (
        lambda: history.messages,
        lambda: len(history),
        lambda: history[0],
        lambda: history[0:2],
        lambda: history.add_message(HumanMessage("x")),
    ):
        with pytest.raises(WrongTypeError) as info:
            action()
        assert info.value.actual_type == actual
        assert info.value.key == session_id
        assert session_id in str(info.value) and actual in str(info.value)
        assert isinstance(info.value.__cause__, redis.ResponseError)
    assert client.dump(session_id) == before  # untouched
    assert client.ttl(session_id) == -1  # and no TTL was set on it


@pytest.mark.parametrize(
    "garbage",
    [b"not json", b'{"type": "human"}', b"[1, 2]", b'{"type": "martian", "data": {"content": "x"}}', b"\xff\xfe"],
)
def test_corrupt_element(client: Client, session_id: str, garbage: bytes) -> None:
    good = json.dumps(message_to_dict(HumanMessage("fine")))
    client.rpush(session_id, good, good, garbage, good)
    history = MemorystoreChatMessageHistory(client, session_id)
    with pytest.raises(CorruptMessageError) as info:
        history.messages
    assert info.value.index == 2
    assert info.value.key == session_id
    assert "#2" in str(info.value) and session_id in str(info.value)
    with pytest.raises(CorruptMessageError) as info:
        history[-2:]
    assert info.value.index == 2
    assert history[:2] == [HumanMessage("fine")] * 2
    assert history[-1] == HumanMessage("fine")
    window = history.read_range(-4, -1)
    assert isinstance(window[2], CorruptMessageError) and window[2].index == 2
    assert window[3] == HumanMessage("fine")
    assert client.llen(session_id) == 4  # a read never drops or rewrites
    assert client.lindex(session_id, 2) == garbage


def test_add_messages_rejects_non_messages(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    with pytest.raises(TypeError):
        history.add_messages(["just a string"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        history.add_messages(HumanMessage("one"))  # type: ignore[arg-type]
    assert client.exists(session_id) == 0


def test_errors_share_one_root() -> None:
    for cls in (ArgumentError, ClientKindError, CorruptMessageError, WrongTypeError):
        assert issubclass(cls, MemstoreError)


def test_eight_threads_append_concurrently(client_factory: Callable[..., Any], session_id: str) -> None:
    pool_client = client_factory()
    history = MemorystoreChatMessageHistory(pool_client, session_id, ttl=600)
    writers, per_writer = 8, 200
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            barrier.wait()
            for i in range(0, per_writer, 4):
                if i % 8 == 0:
                    history.add_message(HumanMessage(f"{writer}:{i}"))
                    history.add_messages([HumanMessage(f"{writer}:{j}") for j in range(i + 1, i + 4)])
                else:
                    history.add_messages([HumanMessage(f"{writer}:{j}") for j in range(i, i + 4)])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    seen: dict[int, list[int]] = {w: [] for w in range(writers)}
    for message in history.messages:
        writer, number = map(int, str(message.content).split(":"))
        seen[writer].append(number)
    for writer in range(writers):
        assert seen[writer] == list(range(per_writer)), f"writer {writer} lost or reordered messages"


def test_async_methods(client_factory: Callable[..., Any], session_id: str, client: Client) -> None:
    async def scenario() -> list[BaseMessage]:
        aclient = client_factory(asyncio=True)
        history = MemorystoreChatMessageHistory(aclient, session_id, ttl=120)
        try:
            await history.aadd_messages(every_kind())
            await history.aadd_messages([])
            got = await history.aget_messages()
            with pytest.raises(ClientKindError):
                history.messages
            await history.aclear()
            assert await history.aget_messages() == []
            await history.aadd_messages([HumanMessage("after clear")])
            return got
        finally:
            await aclient.aclose()

    assert asyncio.run(scenario()) == every_kind()
    assert 110 <= client.ttl(session_id) <= 120
    assert MemorystoreChatMessageHistory(client, session_id).messages == [HumanMessage("after clear")]


def test_async_wrong_type(client_factory: Callable[..., Any], session_id: str, client: Client) -> None:
    client.set(session_id, "x")

    async def scenario() -> None:
        aclient = client_factory(asyncio=True)
        try:
            with pytest.raises(WrongTypeError, match="string"):
                await MemorystoreChatMessageHistory(aclient, session_id).aget_messages()
            with pytest.raises(WrongTypeError):
                await MemorystoreChatMessageHistory(aclient, session_id, ttl=9).aadd_messages([HumanMessage("x")])
        finally:
            await aclient.aclose()

    asyncio.run(scenario())
    assert client.get(session_id) == b"x"


def test_async_methods_with_a_sync_client(client: Client, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)

    async def scenario() -> list[BaseMessage]:
        await history.aadd_messages([HumanMessage("via thread")])
        return await history.aget_messages()

    assert asyncio.run(scenario()) == [HumanMessage("via thread")]


message_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)
json_scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | message_text
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(message_text, inner, max_size=4),
    max_leaves=10,
)
any_message = st.one_of(
    st.builds(HumanMessage, content=message_text, name=st.none() | message_text),
    st.builds(SystemMessage, content=message_text),
    st.builds(
        AIMessage,
        content=message_text,
        additional_kwargs=st.dictionaries(st.sampled_from(["a", "b", "refusal"]), json_value, max_size=3),
        tool_calls=st.lists(
            st.fixed_dictionaries(
                {
                    "name": message_text.filter(bool),
                    "args": st.dictionaries(message_text, json_value, max_size=3),
                    "id": message_text,
                    "type": st.just("tool_call"),
                }
            ),
            max_size=2,
        ),
    ),
    st.builds(ToolMessage, content=message_text, tool_call_id=message_text),
    st.builds(ChatMessage, content=message_text, role=message_text),
    st.builds(FunctionMessage, content=message_text, name=message_text),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(batch=st.lists(any_message, min_size=1, max_size=5))
def test_any_message_survives_the_round_trip(client: Client, session_id: str, batch: list[BaseMessage]) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    history.clear()
    history.add_messages(batch)
    assert history.messages == batch


def test_a_long_read_leaves_the_garbage_collector_as_it_found_it(client: Client, session_id: str) -> None:
    """Reads of 1,000+ messages pause the collector while decoding, and turn it back on (also on errors)."""
    import gc

    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_messages([HumanMessage(str(i)) for i in range(1_500)])
    assert gc.isenabled()
    assert len(history.messages) == 1_500 and gc.isenabled()
    client.rpush(session_id, b"not json")
    with pytest.raises(CorruptMessageError) as err:
        history.messages
    assert err.value.index == 1_500 and gc.isenabled()
    gc.disable()
    try:
        assert len(history[:1_500]) == 1_500
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
