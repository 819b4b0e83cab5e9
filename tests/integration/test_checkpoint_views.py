"""What a viewer reads of a thread: checkpoint pages, message times in one pass, a diff, a checkpoint's tasks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.graphs import agent_graph, approval_graph, human

from memstore_nb.checkpoint import (
    checkpoint_tasks,
    compare_checkpoints,
    message_times,
    thread_checkpoints,
)
from memstore_nb.checkpoint.calls import Calls
from memstore_nb.checkpoint.saver import MemorystoreSaver


@pytest.fixture()
def prefix(client_factory: Callable[..., Any]) -> Iterator[str]:
    value = f"v{uuid.uuid4().hex[:10]}:"
    yield value
    admin = client_factory()
    for key in list(admin.scan_iter(match=f"{value}*", count=1000)):
        admin.delete(key)


def cfg(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the script calls the read functions make."""
    count = [0]
    original = Calls.read

    def counted(self: Calls, call: Any) -> Any:
        count[0] += 1
        return original(self, call)

    monkeypatch.setattr(Calls, "read", counted)
    return count


def test_message_times_take_one_round_trip_and_match_the_first_checkpoint_holding_each_message(
    client_factory: Callable[..., Any], prefix: str, reads: list[int]
) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    for text in ("hello", "add 2 3", "bye", "add 1 1"):
        graph.invoke(human(text), cfg("times"))
    expected: dict[str, str] = {}
    for snapshot in reversed(list(graph.get_state_history(cfg("times")))):
        for message in snapshot.values.get("messages", []):
            expected.setdefault(message.id, snapshot.created_at)
    reads[0] = 0
    got = message_times(client, "times", key_prefix=prefix)
    assert reads[0] == 1 and got == expected and len(got) == 12


def test_checkpoints_page_with_exact_times_writers_and_message_counts(
    client_factory: Callable[..., Any], prefix: str, reads: list[int]
) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("add 2 3"), cfg("page"))
    graph.invoke(human("bye"), cfg("page"))
    history = list(graph.get_state_history(cfg("page")))
    reads[0] = 0
    first = thread_checkpoints(client, "page", key_prefix=prefix, limit=4)
    rest = thread_checkpoints(client, "page", key_prefix=prefix, before=first[-1].checkpoint_id)
    assert reads[0] == 2
    summaries = first + rest
    assert [s.checkpoint_id for s in summaries] == [h.config["configurable"]["checkpoint_id"] for h in history]
    assert [s.ts for s in summaries] == [h.created_at for h in history]
    counts = [len(h.values.get("messages", [])) for h in history]
    assert [s.message_count for s in summaries] == counts
    assert [s.messages_added for s in summaries] == [a - b for a, b in zip(counts, [*counts[1:], 0], strict=True)]
    by_step = {(s.source, s.step): s.writers for s in summaries[-5:]}  # the first turn
    assert by_step == {
        ("input", -1): ("__input__",),
        ("loop", 0): ("__start__",),
        ("loop", 1): ("model",),
        ("loop", 2): ("tools",),
        ("loop", 3): ("model",),
    }


def test_compare_two_checkpoints(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("hello"), cfg("diff"))
    graph.invoke(human("add 2 3"), cfg("diff"))
    history = list(graph.get_state_history(cfg("diff")))
    newest, older = history[0], next(h for h in history if h.metadata["source"] == "input" and h.metadata["step"] == 2)
    diff = compare_checkpoints(
        client,
        "diff",
        older.config["configurable"]["checkpoint_id"],
        newest.config["configurable"]["checkpoint_id"],
        key_prefix=prefix,
    )
    assert [m.content for m in diff.added] == ["add 2 3", "", "5", "the sum is 5"] and diff.removed == []
    assert "__start__" in diff.changed and all(isinstance(v, tuple) and len(v) == 2 for v in diff.changed.values())
    back = compare_checkpoints(
        client,
        "diff",
        newest.config["configurable"]["checkpoint_id"],
        older.config["configurable"]["checkpoint_id"],
        key_prefix=prefix,
    )
    assert [m.content for m in back.removed] == ["add 2 3", "", "5", "the sum is 5"] and back.added == []


@pytest.mark.parametrize("make", [agent_graph, approval_graph])
def test_a_checkpoints_tasks_match_langgraphs_next(client_factory: Callable[..., Any], prefix: str, make: Any) -> None:
    client = client_factory()
    graph = make(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("add 2 3"), cfg("tasks"))  # the approval graph stops at its interrupt
    for snapshot in graph.get_state_history(cfg("tasks")):
        cid = snapshot.config["configurable"]["checkpoint_id"]
        tasks = checkpoint_tasks(client, "tasks", cid, key_prefix=prefix)
        assert set(tasks.next) == set(snapshot.next), (snapshot.metadata, tasks)
        assert {w.task_id for w in tasks.writes} <= {t.id for t in snapshot.tasks}
        assert all(w.node in {t.name for t in snapshot.tasks} for w in tasks.writes)
    newest = checkpoint_tasks(client, "tasks", key_prefix=prefix)
    assert newest.checkpoint_id == graph.get_state(cfg("tasks")).config["configurable"]["checkpoint_id"]
