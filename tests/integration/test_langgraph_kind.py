"""LangGraph threads in the one session list (kind "langgraph"), read-only, standalone and cluster."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.graphs import agent_graph, human
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb.checkpoint import thread_checkpoints, thread_messages
from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.history import MemorystoreChatMessageHistory
from memstore_nb.sources import (
    LANGGRAPH,
    SessionNotFound,
    list_sessions,
    open_transcript,
    register_source,
    source_for,
    summarize_sessions,
)
from memstore_nb.sources.langgraph import LangGraphThreads, ThreadTranscript


@pytest.fixture(autouse=True)
def default_source() -> Iterator[None]:
    """The automatic "langgraph" source is there (another test may have replaced it), and stays after."""
    if not isinstance(source_for(LANGGRAPH), LangGraphThreads) or source_for(LANGGRAPH).key_prefix:  # type: ignore[union-attr]
        register_source(LangGraphThreads())
    yield
    register_source(LangGraphThreads())


@pytest.fixture()
def tag() -> str:
    return f"lg{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def cleanup(client_factory: Callable[..., Any], tag: str) -> Iterator[None]:
    yield
    admin = client_factory()
    for key in list(admin.scan_iter(match=f"*{tag}*", count=1000)):
        admin.delete(key)


def cfg(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def test_threads_are_listed_once_as_langgraph_and_no_saver_key_is_another_kind(
    client_factory: Callable[..., Any], tag: str, cleanup: None
) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client))
    graph.invoke(human("hello"), cfg(f"{tag}-t1"))
    graph.invoke(human("add 2 3"), cfg(f"{tag}-t1"))
    history = MemorystoreChatMessageHistory(client, f"{tag}-chat")
    history.add_messages([HumanMessage("hi"), AIMessage("hello")])
    keys = [k.decode() for k in client.scan_iter(match=f"*{tag}*", count=1000)]
    assert any(":memstore-nb:wid:" in k for k in keys) and any(k.startswith("lgraph:{") for k in keys)
    found = [(str(s), s.kind) for s in list_sessions(client, f"{tag}*")]
    assert sorted(found) == [(f"{tag}-chat", "memstore"), (f"{tag}-t1", LANGGRAPH)]
    # The markers and the saver's own keys are never sessions, whatever the glob.
    everything = {str(s): s.kind for s in list_sessions(client, f"*{tag}*")}
    assert everything == {f"{tag}-chat": "memstore", f"{tag}-t1": LANGGRAPH}
    rows = summarize_sessions(client, list(list_sessions(client, f"{tag}*")))
    by_id = {r.session_id: r for r in rows}
    thread = by_id[f"{tag}-t1"]
    assert thread.kind == LANGGRAPH and thread.length == len(thread_messages(client, f"{tag}-t1"))
    assert thread.last_role == "ai" and "the sum is 5" in thread.last_preview


def test_a_thread_opens_as_its_newest_checkpoints_messages_read_only(
    client_factory: Callable[..., Any], tag: str, cleanup: None
) -> None:
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client))
    graph.invoke(human("first"), cfg(f"{tag}-t"))
    graph.invoke(human("add 1 1"), cfg(f"{tag}-t"))
    sid = next(iter(list_sessions(client, f"{tag}-t")))
    transcript = open_transcript(client, sid)
    assert isinstance(transcript, ThreadTranscript) and transcript.writable is False
    stats = transcript.stats()
    assert stats.kind == LANGGRAPH and stats.length == 6 and stats.ttl is None
    messages = transcript.read_range(0, stats.length - 1)
    assert [m.type for m in messages] == ["human", "ai", "human", "ai", "tool", "ai"]
    assert transcript.read_range(4, 4)[0].type == "tool" and transcript.read_range(5, 4) == []
    assert transcript.find("SUM IS", chunk_size=10, progress=None) == [5]
    # An earlier checkpoint reads back as that checkpoint had it.
    history = thread_checkpoints(client, f"{tag}-t")
    assert history[0].step is not None and history[0].step > history[-1].step
    first_turn = next(c for c in history if c.source == "loop" and c.step == 1)
    older = source_for(LANGGRAPH).open(client, f"{tag}-t", checkpoint_id=first_turn.checkpoint_id)
    assert [m.type for m in older.read_range(0, 10)] == ["human", "ai"]
    # Gone: the viewer's stats say so.
    for key in list(client.scan_iter(match=f"lgraph:{{{tag}-t}}*")):
        client.delete(key)
    with pytest.raises(SessionNotFound):
        transcript.stats()


def test_every_message_of_a_long_thread_gets_the_time_of_the_checkpoint_that_first_held_it(
    client_factory: Callable[..., Any], tag: str, cleanup: None
) -> None:
    """Issue 20 item 2: a thread of 12 turns has ~50 checkpoints; the times were read from the newest 20
    only, so the older messages all showed the 20th-newest checkpoint's time, as if exact."""
    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client))
    for turn in range(12):
        graph.invoke(human(f"add {turn} 1"), cfg(f"{tag}-long"))
    transcript = open_transcript(client, next(iter(list_sessions(client, f"{tag}-long"))))
    messages = transcript.read_range(0, transcript.stats().length - 1)
    history = thread_checkpoints(client, f"{tag}-long")
    assert len(history) > 20 and len(messages) == 48
    times = transcript.times(transcript.checkpoints())  # as the viewer asks
    assert sorted(times) == list(range(len(messages)))  # every message has an id, so every one a time
    # Each message's time is that of the oldest checkpoint whose messages hold it.
    oldest_first = list(reversed(history))
    for index, message in enumerate(messages):
        holder = next(
            c
            for c in oldest_first
            if message.id in {m.id for m in thread_messages(client, f"{tag}-long", checkpoint_id=c.checkpoint_id)}
        )
        assert times[index] == holder.ts, (index, message.type)
    assert times[0] < times[len(messages) - 1]


def test_a_saver_put_sequence_with_a_key_prefix_is_listed_by_its_own_source(
    client_factory: Callable[..., Any], tag: str, cleanup: None
) -> None:
    client = client_factory(decode_responses=True)
    saver = MemorystoreSaver(client, key_prefix=f"{tag}:")
    config: dict[str, Any] = {"configurable": {"thread_id": "x", "checkpoint_ns": ""}}
    for n, messages in enumerate([[HumanMessage("q")], [HumanMessage("q"), AIMessage("a")]]):
        checkpoint = {
            "v": 1,
            "id": f"1f0{n:05}-0000-6000-8000-000000000000",
            "ts": f"2026-01-01T00:00:0{n}+00:00",
            "channel_values": {"messages": messages},
            "channel_versions": {"messages": f"{n + 1:032}"},
            "versions_seen": {},
            "updated_channels": None,
        }
        config = saver.put(config, checkpoint, {"source": "loop", "step": n}, {"messages": f"{n + 1:032}"})
    default = source_for(LANGGRAPH)
    assert "x" not in [str(s) for s in list_sessions(client, "x")]  # another prefix: not the default source's
    try:
        register_source(LangGraphThreads(key_prefix=f"{tag}:"))
        (sid,) = list_sessions(client, "x")
        assert sid.kind == LANGGRAPH
        (row,) = summarize_sessions(client, [sid])
        assert (row.length, row.last_role, row.last_preview) == (2, "ai", "a")
    finally:
        register_source(default)


def test_listing_works_and_langgraph_stays_unimported_without_it(redis_url: str) -> None:
    script = (
        "import sys; sys.modules['langgraph'] = None\n"
        "import memstore_nb, redis\n"
        "assert 'langgraph' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "from memstore_nb.sources import list_sessions\n"
        "from memstore_nb.sources import registered_sources\n"
        f"c = redis.Redis.from_url({redis_url!r}, protocol=2)\n"
        "list(list_sessions(c, 'nothing-here-*'))\n"
        "assert registered_sources() == [], registered_sources()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    light = "import sys, memstore_nb; print(any(m.startswith('langgraph') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", light], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_viewer_lists_a_thread_and_shows_its_checkpoints(
    client_factory: Callable[..., Any], tag: str, cleanup: None
) -> None:
    from memstore_nb.viewer import ChatHistoryViewer

    client = client_factory()
    graph = agent_graph(MemorystoreSaver(client))
    graph.invoke(human("hello <b>there</b>"), cfg(f"{tag}-v"))
    graph.invoke(human("add 4 5"), cfg(f"{tag}-v"))
    MemorystoreChatMessageHistory(client, f"{tag}-list").add_messages([HumanMessage("plain list")])
    viewer = ChatHistoryViewer(client, match=f"{tag}*")
    try:
        labels = {value: label for label, value in viewer._session_select.options}
        assert set(labels) == {f"{tag}-v", f"{tag}-list"} and "langgraph" in labels[f"{tag}-v"]
        assert viewer._checkpoints.widget.layout.display == "none"  # nothing open: no history
        viewer._session_select.value = f"{tag}-v"
        assert viewer.session_id == f"{tag}-v" and viewer.length == 6 and viewer.editable is False
        assert "langgraph" in viewer._header.value and "the sum is 9" in viewer._transcript.value
        assert "&lt;b&gt;there&lt;/b&gt;" in viewer._transcript.value and "<b>there</b>" not in viewer._transcript.value
        panel = viewer._checkpoints
        assert panel.widget.layout.display is None
        steps = [c.step for c in panel.checkpoints]
        assert steps == sorted(steps, reverse=True) and len(panel.select.options) == len(steps) + 1
        assert "step" in panel.select.options[1][0] and "UTC" in panel.select.options[1][0]
        # Each message carries the time of the checkpoint that first held it.
        assert sorted(viewer._session.times) == list(range(6)) and "UTC" in viewer._transcript.value
        first_turn = next(c for c in panel.checkpoints if c.source == "loop" and c.step == 1)
        panel.select.value = first_turn.checkpoint_id
        assert viewer.length == 2 and "the sum" not in viewer._transcript.value
        # the header names the step, not its UUID (issue 20 item 21)
        assert "as of step 1 · model" in viewer._header.value and first_turn.checkpoint_id not in viewer._header.value
        panel.select.value = ""
        assert viewer.length == 6
        # A plain list hides the panel again.
        viewer._session_select.value = f"{tag}-list"
        assert viewer.length == 1 and panel.widget.layout.display == "none" and viewer._session.times == {}
    finally:
        viewer.close()


def test_a_thread_opened_by_id_in_a_kernel_opens_as_a_thread(
    client_factory: Callable[..., Any], tag: str, cleanup: None
) -> None:
    # Built inside a running loop, the viewer opens the session before it lists: a thread's id is no
    # key, so it lists first and opens the thread as the list says.
    from memstore_nb.viewer import ChatHistoryViewer

    client = client_factory()
    agent_graph(MemorystoreSaver(client)).invoke(human("add 4 5"), cfg(f"{tag}-v"))

    async def cell() -> Any:
        return ChatHistoryViewer(client, match=f"{tag}*", session_id=f"{tag}-v")

    viewer = asyncio.run(cell())
    try:
        assert viewer.session_id == f"{tag}-v" and viewer._session.stats is not None
        assert viewer._session.stats.kind == "langgraph" and viewer.length == 4
        assert "the sum is 9" in viewer._transcript.value and viewer._status_line.text == ""
        assert viewer._session_select.value == f"{tag}-v"
    finally:
        viewer.close()
