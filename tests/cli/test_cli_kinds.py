"""`memstore-nb sessions` and `show` across kinds: memstore lists, community lists, LangGraph threads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import redis
from helpers.cli import run_cli
from langchain_core.messages import AIMessage, HumanMessage, message_to_dict

from memstore_nb.checkpoint.saver import MemorystoreSaver

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from helpers.graphs import agent_graph, human

pytestmark = pytest.mark.integration


def test_sessions_show_the_kind_and_show_reads_every_kind(client: redis.Redis, redis_url: str, session_id: str) -> None:
    client.rpush(f"{session_id}:m", json.dumps(message_to_dict(HumanMessage("memstore hi"))))
    # langchain-community LPUSHes: the newest message is at index 0.
    for text in ["c0 first", "c1 second", "c2 third"]:
        client.lpush(f"message_store:{session_id}:c", json.dumps(message_to_dict(AIMessage(text))))
    graph = agent_graph(MemorystoreSaver(client))
    graph.invoke(human("add 2 2"), {"configurable": {"thread_id": f"{session_id}:t"}})
    try:
        listed = run_cli("sessions", "--endpoint", redis_url, "--match", f"*{session_id}:*")
        assert listed.returncode == 0, listed.stderr
        header, *rows = listed.stdout.splitlines()
        assert header.split()[:3] == ["SESSION", "KIND", "MESSAGES"]
        kinds = {row.split()[0]: (row.split()[1], row.split()[2]) for row in rows}
        assert kinds == {
            f"{session_id}:m": ("memstore", "1"),
            f"message_store:{session_id}:c": ("community", "3"),
            f"{session_id}:t": ("langgraph", "4"),
        }
        docs = json.loads(run_cli("sessions", "--endpoint", redis_url, "--match", f"*{session_id}:*", "--json").stdout)
        assert {d["session_id"]: d["kind"] for d in docs} == {k: v[0] for k, v in kinds.items()}
        assert all(list(d) == ["session_id", "kind", "length", "ttl", "last_role", "last_preview"] for d in docs)

        community = run_cli("show", f"message_store:{session_id}:c", "--endpoint", redis_url)
        assert community.returncode == 0, community.stderr
        assert [line.split(": ", 1)[1] for line in community.stdout.splitlines()] == [
            "c0 first",
            "c1 second",
            "c2 third",
        ]
        assert community.stdout.splitlines()[0].startswith("#0 ai")
        tail = json.loads(
            run_cli("show", f"message_store:{session_id}:c", "--tail", "1", "--json", "--endpoint", redis_url).stdout
        )
        assert [d["data"]["content"] for d in tail] == ["c2 third"]

        thread = run_cli("show", f"{session_id}:t", "--endpoint", redis_url)
        assert thread.returncode == 0, thread.stderr
        lines = thread.stdout.splitlines()
        assert [line.split()[1].rstrip(":") for line in lines] == ["human", "ai", "tool", "ai"]
        assert lines[0].endswith("add 2 2") and "the sum is 4" in lines[-1]
        as_json = json.loads(run_cli("show", f"{session_id}:t", "--json", "--endpoint", redis_url).stdout)
        assert [d["type"] for d in as_json] == ["human", "ai", "tool", "ai"]

        wrong = run_cli("show", f"{session_id}:m", "--kind", "nonsense", "--endpoint", redis_url)
        assert wrong.returncode == 2 and "nonsense" in wrong.stderr
    finally:
        for key in list(client.scan_iter(match=f"*{session_id}*")):
            client.delete(key)
