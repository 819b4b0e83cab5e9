"""From chat history to LangGraph threads and back: move conversations without losing them.

A :class:`~memstore_nb.MemorystoreChatMessageHistory` session becomes a thread's initial
``messages`` state (:func:`history_to_state`, :func:`import_history`); a thread's messages
become a history again (:func:`thread_to_history`). Neither overwrites anything.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from ..errors import ArgumentError
from .threads import thread_messages

__all__ = ["history_to_state", "import_history", "thread_to_history"]


def history_to_state(history: Any, *, channel: str = "messages") -> dict[str, list[Any]]:
    """The session's messages as a graph input / state update: ``{"messages": [...]}``.

    Pass it as the first input of a new thread (``graph.invoke(history_to_state(h), config)``)
    or to ``graph.update_state``; :func:`import_history` does the latter for you.
    """
    return {channel: list(history.messages)}


def import_history(
    graph: Any,
    history: Any,
    thread_id: str,
    *,
    as_node: str | None = None,
    channel: str = "messages",
) -> RunnableConfig:
    """Start thread ``thread_id`` of a compiled ``graph`` (with a checkpointer) from a chat history.

    The messages are written as one state update (a checkpoint with ``source="update"``), so the
    next ``graph.invoke({"messages": [new message]}, config)`` continues the conversation.

    Args:
        graph: a compiled LangGraph graph (``StateGraph.compile(checkpointer=...)`` or ``create_agent``).
        history: a ``MemorystoreChatMessageHistory`` (or any ``BaseChatMessageHistory``).
        thread_id: the new thread; it must not have any state yet.
        as_node: the node the update is made as (LangGraph asks for it when it is ambiguous).
        channel: the state key holding the messages.

    Returns:
        The config of the new checkpoint (``{"configurable": {"thread_id": ..., "checkpoint_id": ...}}``).

    Raises:
        ArgumentError: the thread already has state, or the history is empty.
    """
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    if graph.get_state(config).values:
        raise ArgumentError(
            f"thread {thread_id!r} already has state; import into a new thread id (nothing was written)", thread_id
        )
    state = history_to_state(history, channel=channel)
    if not state[channel]:
        raise ArgumentError("the chat history is empty: there is nothing to import", thread_id)
    return graph.update_state(config, state, as_node=as_node)  # type: ignore[no-any-return]


def thread_to_history(
    saver: Any,
    thread_id: str,
    history: Any,
    *,
    checkpoint_ns: str = "",
    channel: str = "messages",
) -> int:
    """Write the messages of a thread's newest checkpoint into an empty chat history.

    Args:
        saver: the sync :class:`~memstore_nb.MemorystoreSaver` holding the thread.
        thread_id: the thread to read.
        history: an empty ``MemorystoreChatMessageHistory`` (one round trip for all messages).
        checkpoint_ns: the namespace (``""``: the root graph).
        channel: the state key holding the messages.

    Returns:
        How many messages were written.

    Raises:
        ArgumentError: the history already holds messages (it is never appended to or cleared).
    """
    if len(history.messages):
        raise ArgumentError(
            "the chat history already holds messages; give an empty one (nothing was written)", thread_id
        )
    messages = thread_messages(
        saver.client,
        thread_id,
        key_prefix=saver.key_prefix,
        checkpoint_ns=checkpoint_ns,
        channel=channel,
        serde=saver.serde,
    )
    if messages:
        history.add_messages(messages)
    return len(messages)
