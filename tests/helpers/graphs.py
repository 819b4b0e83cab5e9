"""Small real LangGraph graphs for the saver's tests: a deterministic fake chat model with a tool."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import interrupt

REPLY_PAD = "x" * 180  # replies of ~200 characters, as in the benchmark


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class FakeToolModel(BaseChatModel):
    """Answers from the conversation alone (so a restarted process answers the same way).

    "add A B" asks for the ``add`` tool; a tool result is reported; anything else is echoed.
    """

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            reply = AIMessage(f"the sum is {last.content}")
        elif m := re.fullmatch(r"add (\d+) (\d+)", str(last.content)):
            call = {"name": "add", "args": {"a": int(m[1]), "b": int(m[2])}, "id": f"call-{len(messages)}"}
            reply = AIMessage("", tool_calls=[call])
        else:
            reply = AIMessage(f"echo {last.content} {REPLY_PAD}")
        return ChatResult(generations=[ChatGeneration(message=reply)])

    @property
    def _llm_type(self) -> str:
        return "fake-tool-model"

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeToolModel:
        return self


def agent_graph(checkpointer: Any) -> Any:
    """A tool-calling agent: model -> tools -> model, ``messages`` with ``add_messages``."""
    model = FakeToolModel()

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    return builder.compile(checkpointer=checkpointer)


def approval_graph(checkpointer: Any) -> Any:
    """Human in the loop: ``review`` interrupts and waits for a resume value."""

    def draft(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"draft for {state['messages'][-1].content}")]}

    def review(state: MessagesState) -> dict[str, Any]:
        answer = interrupt({"question": "send it?", "draft": state["messages"][-1].content})
        return {"messages": [AIMessage(f"sent ({answer})" if answer == "yes" else "discarded")]}

    builder = StateGraph(MessagesState)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=checkpointer)


def parent_with_subgraph(checkpointer: Any) -> Any:
    """A parent graph whose node is a compiled subgraph (checkpoints in a child namespace)."""

    def inner_a(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("inner a")]}

    def inner_b(state: MessagesState) -> dict[str, Any]:
        answer = interrupt("inner pause")
        return {"messages": [AIMessage(f"inner b {answer}")]}

    sub = StateGraph(MessagesState)
    sub.add_node("inner_a", inner_a)
    sub.add_node("inner_b", inner_b)
    sub.add_edge(START, "inner_a")
    sub.add_edge("inner_a", "inner_b")
    builder = StateGraph(MessagesState)
    builder.add_node("child", sub.compile())
    builder.add_edge(START, "child")
    return builder.compile(checkpointer=checkpointer)


def human(text: str) -> dict[str, list[HumanMessage]]:
    return {"messages": [HumanMessage(text)]}


def contents(messages: list[BaseMessage]) -> list[str]:
    return [str(m.content) for m in messages]


class Ambiguous:
    """What numpy's ``array == array`` gives: a value whose truth cannot be decided."""

    def __bool__(self) -> bool:
        raise ValueError("The truth value of an array with more than one element is ambiguous")


@dataclass(frozen=True, eq=False)
class ArrayLike:
    """A stand-in for a numpy array in a state channel: ``==`` is elementwise, so its truth is ambiguous."""

    values: tuple[int, ...]

    def __eq__(self, other: object) -> Any:
        return Ambiguous()

    def __hash__(self) -> int:
        return hash(self.values)
