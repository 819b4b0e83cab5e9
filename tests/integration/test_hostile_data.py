"""Data upstream's reader accepts reads here; an element nothing can read is one CorruptMessageError.

Everywhere: the history, session listing and description, the viewer, and the command line.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
import redis
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.errors import CorruptMessageError
from memstore_nb.sources import list_sessions, session_info

GOOD = '{"type":"human","data":{"content":"hello"}}'
MALFORMED = [
    '{"type":"ai","data":{"content":"x","additional_kwargs":"oops"}}',
    '{"type":"ai","data":{"content":"x","tool_calls":"abc"}}',
    '{"type":"ai","data":{"content":"x","additional_kwargs":[1]}}',
    '{"type":"AIMessageChunk","data":{"content":"x","additional_kwargs":"oops"}}',
]


def test_values_json_allows_read_back_as_written(client: redis.Redis, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_messages(
        [
            AIMessage("x", additional_kwargs={"score": float("nan"), "up": float("inf"), "down": float("-inf")}),
            HumanMessage("truncated emoji \ud83d"),
            AIMessage("big", response_metadata={"a": 2**64, "b": -(2**63) - 1}),
        ]
    )
    nan, surrogate, big = history.messages
    assert math.isnan(nan.additional_kwargs["score"]) and nan.additional_kwargs["down"] == float("-inf")
    assert surrogate.content == "truncated emoji \ud83d"
    assert big.response_metadata == {"a": 2**64, "b": -(2**63) - 1}
    assert isinstance(big.response_metadata["a"], int)
    assert history[0:1][0].content == "x" and history[-1].content == "big"
    assert list(list_sessions(client, session_id)) == [session_id]  # NaN in the first element
    info = session_info(client, session_id)
    assert info.length == 3 and info.first_preview == "x"


@pytest.mark.parametrize("bad", MALFORMED)
def test_a_malformed_element_is_one_unreadable_element(client: redis.Redis, session_id: str, bad: str) -> None:
    client.rpush(session_id, GOOD, bad, encode_message(AIMessage("after")))
    history = MemorystoreChatMessageHistory(client, session_id)
    with pytest.raises(CorruptMessageError) as err:
        history.messages
    assert err.value.index == 1 and err.value.key == session_id
    items = history.read_range(0, -1)
    assert [type(i).__name__ for i in items] == ["HumanMessage", "CorruptMessageError", "AIMessage"]
    assert isinstance(items[1], CorruptMessageError) and items[1].index == 1
    info = session_info(client, session_id)
    assert info.length == 3 and info.last_preview == "after"
    assert list(list_sessions(client, session_id)) == [session_id]
    assert client.lrange(session_id, 1, 1) == [bad.encode()]  # never rewritten


def test_the_viewer_shows_one_unreadable_element(client: redis.Redis, session_id: str) -> None:
    from memstore_nb import ChatHistoryViewer

    client.rpush(session_id, GOOD, *MALFORMED)
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        kinds = [type(item).__name__ for _i, item in viewer.items]
        assert kinds == ["HumanMessage"] + ["CorruptMessageError"] * len(MALFORMED)
        text = json.dumps(viewer.get_state(), default=str)
        assert "Unexpected error" not in text and "AttributeError" not in text
    finally:
        viewer.close()


def test_the_command_line_shows_one_unreadable_element(redis_url: str, client: redis.Redis, session_id: str) -> None:
    client.rpush(session_id, GOOD, MALFORMED[0], encode_message(AIMessage("after")))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "memstore_nb.cli", *args, "--endpoint", redis_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    shown = cli("show", session_id)
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("#0 human: hello") and "unreadable" in lines[1] and lines[2].startswith("#2 ai: after")
    as_json = cli("show", session_id, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert [("error" in doc) for doc in json.loads(as_json.stdout)] == [False, True, False]
    listed = cli("sessions", "--match", session_id)
    assert listed.returncode == 0 and session_id in listed.stdout, listed.stderr


def test_a_message_too_deep_to_read_back_is_refused_and_nothing_is_written(
    client: redis.Redis, session_id: str
) -> None:
    # Before: a raw RecursionError (1,000+ levels, Python 3.10-3.12), or a message stored that no reader
    # could read back (257-990 levels). Now ArgumentError before anything is sent, the batch included.
    from memstore_nb.errors import ArgumentError

    deep: Any = "x"
    for _ in range(1_000):
        deep = [deep]
    history = MemorystoreChatMessageHistory(client, session_id)
    with pytest.raises(ArgumentError, match="levels deep"):
        history.add_message(AIMessage("", additional_kwargs={"a": deep}))
    with pytest.raises(ArgumentError, match="levels deep"):
        history.add_messages([AIMessage("fine"), AIMessage("", additional_kwargs={"a": deep})])
    assert client.exists(session_id) == 0


@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_a_deeply_nested_element_is_one_unreadable_element_everywhere(
    redis_url: str, client: redis.Redis, session_id: str, depth: int
) -> None:
    # 1,000 levels of tool-call arguments: orjson decoded them, then the CLI's summary, --json and
    # the renderer raised RecursionError (Python 3.10-3.12); 5,000 decoded on 3.13. Now one bound.
    from memstore_nb.render import render_message

    deep = "[" * depth + "]" * depth
    bad = '{"type": "ai", "data": {"content": "", "type": "ai", "tool_calls": [{"name": "f", "id": "c1", "args": {"a": '
    client.rpush(session_id, GOOD, bad + deep + "}}]}}", encode_message(AIMessage("after")))
    history = MemorystoreChatMessageHistory(client, session_id)
    items = history.read_range(0, -1)
    assert [type(i).__name__ for i in items] == ["HumanMessage", "CorruptMessageError", "AIMessage"]
    assert "nested more than 256 levels" in str(items[1])
    assert "unreadable" in render_message(items[1], 1)
    assert session_info(client, session_id).roles == {"human": 1, "unreadable": 1, "ai": 1}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "memstore_nb.cli", *args, "--endpoint", redis_url]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    shown = cli("show", session_id)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert "#1 !! unreadable entry" in shown.stdout and "#2 ai: after" in shown.stdout
    as_json = cli("show", session_id, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert [("error" in doc) for doc in json.loads(as_json.stdout)] == [False, True, False]
