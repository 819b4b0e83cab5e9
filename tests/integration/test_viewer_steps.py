"""Issue 20 item 21: a LangGraph thread read step by step in the viewer, against a real redis-server.

Before, the checkpoint list said "N. step S · loop · time" in whole seconds (no node, nothing of
what a step did), the header named the checkpoint by its raw UUID, only the latest 50 were listed,
and nothing compared two checkpoints or showed what a checkpoint still had to do.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import redis
from helpers.graphs import agent_graph, approval_graph, human
from langchain_core.messages import RemoveMessage

from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.viewer import ChatHistoryViewer
from memstore_nb.viewer.checkpoints import NEWEST

MS_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC"


def _text(value: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())


def _lines(viewer: ChatHistoryViewer) -> list[str]:
    return [label for label, _ in viewer._checkpoints.select.options]


@pytest.fixture()
def agent_thread(client: redis.Redis, session_id: str) -> tuple[Any, dict[str, Any]]:
    graph = agent_graph(MemorystoreSaver(client))
    config = {"configurable": {"thread_id": session_id}}
    for text in ("Hi!", "add 19 23", "thanks <img src=x onerror=alert(1)>"):
        graph.invoke(human(text), config)
    return graph, config


def test_each_step_is_one_line_with_its_node_what_it_added_and_the_exact_time(
    client: redis.Redis, session_id: str, agent_thread: Any
) -> None:
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        lines = _lines(viewer)
        assert lines[0] == "newest" and len(lines) == 12  # 3 turns: input, start, model (+ tools, model)
        steps = lines[1:]
        assert all(re.search(MS_TIME + "$", line) for line in steps), steps
        assert re.match(r'1\. step 9 · model: answer "echo thanks <img src=x onerror=alert\(1\)>', steps[0])
        assert steps[3].startswith('4. step 6 · model: answer "the sum is 42" · ')
        assert steps[4].startswith("5. step 5 · tools: add → 42 · ")
        assert steps[5].startswith("6. step 4 · model: called add · ")  # the tool call folded to its name
        assert steps[6].startswith('7. step 3 · __start__: user "add 19 23" · ')
        assert re.match(r"8\. step 2 · input · " + MS_TIME + "$", steps[7])
        assert "Steps" in viewer._checkpoints.title.value and "1–11" in viewer._checkpoints.title.value
    finally:
        viewer.close()


def test_a_picked_step_names_itself_in_the_header_and_says_what_it_changed(
    client: redis.Redis, session_id: str, agent_thread: Any
) -> None:
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        panel = viewer._checkpoints
        picked = panel.select.options[6][1]  # step 4: the model called the tool
        panel.select.value = picked
        head = _text(viewer._header.value)
        assert re.search(r"as of step 4 · model · " + MS_TIME, head) and picked not in head  # no raw UUID
        details = _text(panel.details.value)
        assert "Next: tools" in details
        assert "+ 1 message added" in details and "called add" in details
        assert viewer._controller.session.total == 4  # the thread as of that step: Hi!, echo, add 19 23, the call
        # Compared with the thread's first checkpoint instead: every message up to this step.
        first = panel.checkpoints[-1].checkpoint_id
        panel.against.value = first
        details = _text(panel.details.value)
        assert "+ 4 messages added" in details
        assert re.search(r"From step -1 · input · " + MS_TIME + r" to step 4 · model", details)
        assert 'user "Hi!"' in details and 'user "add 19 23"' in details and "called add" in details
        # Back to the newest: the header drops the label, and the last answer is shown escaped.
        panel.select.value = NEWEST
        assert "as of" not in _text(viewer._header.value)
        assert "<img" not in panel.details.value and "&lt;img src=x" in panel.details.value
    finally:
        viewer.close()


def test_checkpoints_page_older_and_newer_and_a_step_on_another_page_opens(
    client: redis.Redis, session_id: str, agent_thread: Any
) -> None:
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        panel = viewer._checkpoints
        panel.limit = 4
        panel.show(viewer._controller.session.transcript)
        assert len(panel.select.options) == 5 and not panel.older.disabled and panel.newer.disabled
        seen = [c.checkpoint_id for c in panel.checkpoints]
        panel.older.click()
        assert [label.split(".")[0] for label, _ in panel.select.options] == ["5", "6", "7", "8"]
        assert panel.select.value is None  # the newest is not on this page: nothing looks picked
        panel.older.click()
        assert [label.split(".")[0] for label, _ in panel.select.options] == ["9", "10", "11"]
        assert panel.older.disabled and "9–11" in panel.title.value
        seen += [c.checkpoint_id for c in panel.checkpoints]
        panel.select.value = panel.select.options[-1][1]  # the thread's very first checkpoint
        assert "as of step -1 · input" in _text(viewer._header.value)
        assert viewer._controller.session.total == 0  # an input checkpoint holds no messages yet
        assert "the first checkpoint of its run" in _text(panel.details.value)
        panel.newer.click()
        panel.newer.click()
        assert panel.newer.disabled and panel.select.options[0] == ("newest", NEWEST)
        assert len(set(seen)) == 7  # pages never overlap
    finally:
        viewer.close()


def test_an_interrupted_step_shows_its_next_node_and_pending_write(client: redis.Redis, session_id: str) -> None:
    graph = approval_graph(MemorystoreSaver(client))
    graph.invoke(human("mail the team"), {"configurable": {"thread_id": session_id}})
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        details = _text(viewer._checkpoints.details.value)
        assert "Next: review" in details
        assert "Pending writes (1)" in details and "review → __interrupt__" in details and "send it?" in details
    finally:
        viewer.close()


def test_a_removal_is_a_step_that_removed_and_each_branch_says_what_it_added(
    client: redis.Redis, session_id: str, agent_thread: Any
) -> None:
    graph, config = agent_thread
    history = list(graph.get_state_history(config))
    # Time travel: from the input checkpoint of the second turn, ask something else (a second branch).
    second_input = next(s for s in history if s.metadata["step"] == 2)
    graph.invoke(human("another branch"), second_input.config)
    newest = graph.get_state(config)
    graph.update_state(config, {"messages": [RemoveMessage(id=newest.values["messages"][0].id)]})
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        lines = _lines(viewer)[1:]
        assert re.match(r"1\. step \d+ · update: −1 message · ", lines[0])  # update_state
        details = _text(viewer._checkpoints.details.value)
        assert "− 1 message removed" in details and 'user "Hi!"' in details
        # Each branch's steps say what they added, though the newest messages are the other branch's
        # (and the first one is removed): read from the checkpoints that first held them.
        assert sum('user "another branch"' in line for line in lines) == 1
        assert sum('answer "echo another branch' in line for line in lines) == 1
        assert any(re.match(r'\d+\. step 6 · model: answer "the sum is 42"', line) for line in lines), lines
        assert any(re.match(r'\d+\. step 0 · __start__: user "Hi!"', line) for line in lines), lines
    finally:
        viewer.close()
