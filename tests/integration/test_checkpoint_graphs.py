"""Real LangGraph graphs on MemorystoreSaver, sync and async, standalone and cluster."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers.graphs import agent_graph, approval_graph, contents, human, parent_with_subgraph
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from memstore_nb import MemorystoreChatMessageHistory, aconnect, connect
from memstore_nb.checkpoint import (
    history_to_state,
    import_history,
    is_thread_key,
    list_threads,
    thread_checkpoints,
    thread_messages,
    thread_to_history,
)
from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.errors import ArgumentError, ClientKindError


@pytest.fixture()
def prefix(client_factory: Callable[..., Any]) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards (every shard)."""
    value = f"t{uuid.uuid4().hex[:10]}:"
    yield value
    admin = client_factory()
    for key in list(admin.scan_iter(match=f"{value}*", count=1000)):
        admin.delete(key)


def cfg(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **extra}}


def conversation(graph: Any, thread_id: str) -> list[str]:
    graph.invoke(human("hello"), cfg(thread_id))
    graph.invoke(human("add 2 3"), cfg(thread_id))
    state = graph.invoke(human("bye"), cfg(thread_id))
    return contents(state["messages"])


EXPECTED = [
    "hello",
    "echo hello " + "x" * 180,
    "add 2 3",
    "",
    "5",
    "the sum is 5",
    "bye",
    "echo bye " + "x" * 180,
]


@pytest.mark.parametrize("decode", [False, True])
def test_agent_remembers_across_turns_and_a_restart(
    client_factory: Callable[..., Any], prefix: str, decode: bool
) -> None:
    client = client_factory(decode_responses=decode)
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    assert conversation(graph, "t1") == EXPECTED
    assert conversation(agent_graph(InMemorySaver()), "t1") == EXPECTED  # the reference behaves the same

    # A "restart": a new client and a new saver on the same server continue the thread.
    again = agent_graph(MemorystoreSaver(client_factory(decode_responses=decode), key_prefix=prefix))
    state = again.invoke(human("still there?"), cfg("t1"))
    assert contents(state["messages"])[:8] == EXPECTED and len(state["messages"]) == 10
    assert thread_messages(client, "t1", key_prefix=prefix) == state["messages"]


def test_async_client_and_async_graph(client_factory: Callable[..., Any], prefix: str) -> None:
    async def main() -> None:
        client = client_factory(asyncio=True)
        saver = MemorystoreSaver(client, key_prefix=prefix)
        graph = agent_graph(saver)
        for text in ("hello", "add 2 3", "bye"):
            state = await graph.ainvoke(human(text), cfg("a1"))
        assert contents(state["messages"]) == EXPECTED
        history = [s async for s in graph.aget_state_history(cfg("a1"))]
        assert len(history) >= 9 and history[0].values == state
        with pytest.raises(ClientKindError, match=r"await saver\.aget_tuple"):
            saver.get_tuple(cfg("a1"))
        with pytest.raises(ClientKindError, match="ainvoke"):
            graph.invoke(human("x"), cfg("a1"))
        await client.aclose()

    asyncio.run(main())


def test_aconnect_and_connect_clients(any_url: str, topology: str, prefix: str) -> None:
    async def main() -> None:
        client = await aconnect(any_url, cluster=topology == "cluster")
        graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
        for text in ("hello", "add 2 3"):
            await graph.ainvoke(human(text), cfg("ac"))
        await client.aclose()

    asyncio.run(main())
    sync_client = connect(any_url, cluster=topology == "cluster")
    state = agent_graph(MemorystoreSaver(sync_client, key_prefix=prefix)).invoke(human("bye"), cfg("ac"))
    assert contents(state["messages"]) == EXPECTED
    sync_client.close()


def test_sync_saver_serves_ainvoke_and_invoke_alike(client_factory: Callable[..., Any], prefix: str) -> None:
    graph = agent_graph(MemorystoreSaver(client_factory(), key_prefix=prefix))
    graph.invoke(human("hello"), cfg("mixed"))

    async def more() -> dict[str, Any]:
        await graph.ainvoke(human("add 2 3"), cfg("mixed"))
        return await graph.ainvoke(human("bye"), cfg("mixed"))  # type: ignore[no-any-return]

    assert contents(asyncio.run(more())["messages"]) == EXPECTED


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_interrupt_and_resume(client_factory: Callable[..., Any], prefix: str, mode: str) -> None:
    if mode == "sync":
        graph = approval_graph(MemorystoreSaver(client_factory(), key_prefix=prefix))
        first = graph.invoke(human("mail"), cfg("hitl"))
        assert first["__interrupt__"][0].value == {"question": "send it?", "draft": "draft for mail"}
        # A new process resumes the interrupted thread.
        graph = approval_graph(MemorystoreSaver(client_factory(), key_prefix=prefix))
        assert graph.get_state(cfg("hitl")).next == ("review",)
        done = graph.invoke(Command(resume="yes"), cfg("hitl"))
        assert contents(done["messages"]) == ["mail", "draft for mail", "sent (yes)"]
        assert graph.get_state(cfg("hitl")).next == ()
        return

    async def main() -> None:
        client = client_factory(asyncio=True)
        graph = approval_graph(MemorystoreSaver(client, key_prefix=prefix))
        first = await graph.ainvoke(human("mail"), cfg("hitl"))
        assert first["__interrupt__"][0].value["question"] == "send it?"
        done = await graph.ainvoke(Command(resume="no"), cfg("hitl"))
        assert contents(done["messages"]) == ["mail", "draft for mail", "discarded"]
        await client.aclose()

    asyncio.run(main())


def test_state_history_and_replay_from_an_earlier_checkpoint(client_factory: Callable[..., Any], prefix: str) -> None:
    graph = agent_graph(MemorystoreSaver(client_factory(), key_prefix=prefix))
    conversation(graph, "tt")
    history = list(graph.get_state_history(cfg("tt")))
    ids = [s.config["configurable"]["checkpoint_id"] for s in history]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    # The checkpoint where "add 2 3" was about to be answered by the model: replay from there.
    before_tool = next(s for s in history if s.next == ("model",) and contents(s.values["messages"])[-1] == "add 2 3")
    replayed = graph.invoke(None, before_tool.config)
    assert contents(replayed["messages"]) == EXPECTED[:6]
    # Fork: change the question at that point, the original branch stays.
    forked = graph.update_state(before_tool.config, {"messages": [HumanMessage("add 4 4")]})
    branch = graph.invoke(None, forked)
    assert contents(branch["messages"])[-1] == "the sum is 8"
    assert len(list(graph.get_state_history(cfg("tt")))) > len(history)
    assert contents(graph.get_state(cfg("tt")).values["messages"])[-1] == "the sum is 8"


def test_subgraph_checkpoints_in_a_child_namespace(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    graph = parent_with_subgraph(MemorystoreSaver(client, key_prefix=prefix))
    graph.invoke(human("go"), cfg("sg"))
    state = graph.get_state(cfg("sg"), subgraphs=True)
    (task,) = state.tasks
    assert task.state is not None and task.state.next == ("inner_b",)
    assert contents(task.state.values["messages"]) == ["go", "inner a"]
    done = graph.invoke(Command(resume="ok"), cfg("sg"))
    assert contents(done["messages"]) == ["go", "inner a", "inner b ok"]
    fields = [f.decode() for f in client.hkeys(f"{prefix}lgraph:{{sg}}:h")]
    assert any(f.startswith("s:child:") for f in fields)  # a child namespace, inside the thread's hash
    assert [k for k in client.scan_iter(match=f"{prefix}lgraph:{{sg}}*")] and len(
        [k for k in client.scan_iter(match=f"{prefix}lgraph:{{sg}}*")]
    ) == 2


def test_history_to_thread_and_back(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory()
    old = MemorystoreChatMessageHistory(client, f"{prefix}session", key_prefix="")
    old.add_messages([HumanMessage("hello"), AIMessage("echo hello " + "x" * 180)])
    assert history_to_state(old) == {"messages": old.messages}

    saver = MemorystoreSaver(client, key_prefix=prefix)
    graph = agent_graph(saver)
    import_history(graph, old, "moved")
    state = graph.invoke(human("bye"), cfg("moved"))
    assert contents(state["messages"]) == ["hello", "echo hello " + "x" * 180, "bye", "echo bye " + "x" * 180]
    with pytest.raises(ArgumentError, match="already has state"):
        import_history(graph, old, "moved")

    back = MemorystoreChatMessageHistory(client, f"{prefix}back")
    assert thread_to_history(saver, "moved", back) == 4
    assert back.messages == state["messages"]
    with pytest.raises(ArgumentError, match="already holds messages"):
        thread_to_history(saver, "moved", back)
    assert len(back.messages) == 4


def test_read_functions_for_viewers(client_factory: Callable[..., Any], prefix: str) -> None:
    client = client_factory(decode_responses=True)
    graph = agent_graph(MemorystoreSaver(client, key_prefix=prefix))
    odd = ["user-{1}", "", "a*b", "100%"]
    for thread_id in ["user-1", "user-2", *odd]:
        graph.invoke(human("hello"), cfg(thread_id))
    assert sorted(list_threads(client, key_prefix=prefix)) == sorted(["user-1", "user-2", *odd])
    assert sorted(list_threads(client, "user-?", key_prefix=prefix)) == ["user-1", "user-2"]
    assert sorted(list_threads(client, "user-{*", key_prefix=prefix)) == ["user-{1}"]
    assert contents(thread_messages(client, "user-{1}", key_prefix=prefix)) == ["hello", "echo hello " + "x" * 180]
    assert thread_messages(client, "nobody", key_prefix=prefix) == []
    summaries = thread_checkpoints(client, "user-1", key_prefix=prefix)
    assert [s.step for s in summaries] == [1, 0, -1]
    assert summaries[0].parent_id == summaries[1].checkpoint_id and summaries[-1].parent_id is None
    assert summaries[-1].source == "input" and all(s.ts for s in summaries)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    assert keys and all(is_thread_key(k, prefix) for k in keys if ":memstore-nb:wid:" not in k)
    assert not is_thread_key(f"{prefix}session", prefix) and not is_thread_key("other", prefix)


def test_bad_arguments() -> None:
    import redis

    client = redis.Redis(port=1)  # never connected
    with pytest.raises(ArgumentError, match="brace"):
        MemorystoreSaver(client, key_prefix="{app}:")
    with pytest.raises(ArgumentError, match="ttl"):
        MemorystoreSaver(client, ttl=-5)
    with pytest.raises(ClientKindError, match="redis-py client"):
        MemorystoreSaver(object())  # type: ignore[arg-type]
    saver = MemorystoreSaver(client)
    with pytest.raises(ArgumentError, match="strategy"):
        saver.prune(["x"], strategy="oldest")
    assert saver.get_next_version(None) < saver.get_next_version(saver.get_next_version(None))
