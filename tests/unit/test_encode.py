"""encode_message against the reference writer, ``json.dumps(message_to_dict(message))``: byte for byte."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    ChatMessageChunk,
    FunctionMessage,
    FunctionMessageChunk,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    SystemMessageChunk,
    ToolMessage,
    ToolMessageChunk,
    message_to_dict,
    messages_from_dict,
)
from pydantic import Field

from memstore_nb import codec
from memstore_nb.codec import encode_message

# What json.dumps writes beyond plain JSON: NaN, +-Infinity, integers of any size, lone surrogates,
# non-ASCII and control characters (escaped), nested containers.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None), max_size=12),
    st.sampled_from(["\ud83d", "truncated emoji \ud83d", "\x00", "\u202e", "日本", 'quote " back \\ slash']),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


def reference(message: BaseMessage) -> str:
    return json.dumps(message_to_dict(message))


def test_the_fast_path_is_on_here() -> None:
    # Otherwise every test below would compare the reference with itself.
    assert codec._ENCODE is not None and codec._DUMP_OPTIONS is not None
    assert codec._dumper(AIMessage) is not codec._REFERENCE_DUMP


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from([AIMessage, HumanMessage, SystemMessage, AIMessageChunk, HumanMessageChunk]),
    content=st.one_of(
        st.text(alphabet=st.characters(codec=None), max_size=20),
        st.lists(
            st.one_of(
                st.text(max_size=5), st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=5)})
            )
        ),
    ),
    extra=json_values,
    meta=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
    name=st.one_of(st.none(), st.text(max_size=5)),
    id_=st.one_of(st.none(), st.text(max_size=5)),
)
def test_any_message_is_written_as_the_reference_writes_it(
    cls: type[BaseMessage], content: Any, extra: Any, meta: dict[str, Any], name: str | None, id_: str | None
) -> None:
    message = cls(content=content, additional_kwargs={"x": extra}, response_metadata=meta, name=name, id=id_)
    assert encode_message(message) == reference(message)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["human", "ai", "system", "tool", "function", "chat", "AIMessageChunk", "HumanMessageChunk"]),
    data=st.dictionaries(
        st.sampled_from(
            ["additional_kwargs", "response_metadata", "tool_calls", "name", "id", "usage_metadata", "zz_extra"]
        ),
        json_values,
        max_size=4,
    ),
)
def test_messages_the_reference_reader_makes_are_written_as_the_reference_writes_them(
    kind: str, data: dict[str, Any]
) -> None:
    doc = {"type": kind, "data": {"content": "c", "tool_call_id": "t1", "name": "n", "role": "r", **data}}
    try:
        message = messages_from_dict([doc])[0]
    except Exception:
        return  # not a message: nothing to write
    assert encode_message(message) == reference(message)


class Aliased(HumanMessage):
    """A subclass with an aliased field, which model_dump writes by its name."""

    topic: str = Field(default="t", alias="subject")


class OwnDump(HumanMessage):
    """A subclass with a model_dump of its own, which the fast path must not skip."""

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().model_dump(**kwargs), "dumped_by": "OwnDump"}


@pytest.mark.parametrize(
    "message",
    [
        HumanMessage("hi"),
        AIMessage(
            "",
            tool_calls=[{"name": "f", "args": {"a": [1, 2.5, None]}, "id": "c1"}],
            invalid_tool_calls=[{"name": "g", "args": "{", "id": "c2", "error": "bad"}],
            usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        ),
        AIMessageChunk("part", tool_call_chunks=[{"name": "f", "args": '{"a"', "id": "c1", "index": 0}]),
        ToolMessage("42", tool_call_id="c1", artifact={"rows": [1, 2]}, status="error"),
        ToolMessageChunk("4", tool_call_id="c1"),
        SystemMessage([{"type": "text", "text": "be brief"}]),
        SystemMessageChunk("s"),
        FunctionMessage("r", name="f"),
        FunctionMessageChunk("r", name="f"),
        ChatMessage("c", role="critic"),
        ChatMessageChunk("c", role="critic"),
        HumanMessageChunk("h"),
        RemoveMessage(id="m1"),
        AIMessage("x", additional_kwargs={"nan": float("nan"), "inf": float("-inf"), "big": 2**70}),
        HumanMessage("truncated emoji \ud83d \x1b[2J \u202e 日本"),
        Aliased(content="a", subject="s"),
        OwnDump(content="o"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_every_message_class_is_written_as_the_reference_writes_it(message: BaseMessage) -> None:
    assert encode_message(message) == reference(message)
    assert encode_message(message) == reference(message)  # again, with the class's dumper cached


def test_a_class_with_its_own_model_dump_takes_the_reference_path() -> None:
    assert codec._dumper(OwnDump) is codec._REFERENCE_DUMP
    assert '"dumped_by": "OwnDump"' in encode_message(OwnDump(content="o"))


def test_what_the_reference_refuses_fails_the_same_way() -> None:
    message = AIMessage("x", additional_kwargs={"when": datetime.datetime(2026, 1, 1)})  # not JSON
    with pytest.raises(TypeError) as expected:
        reference(message)
    with pytest.raises(TypeError) as got:
        encode_message(message)
    assert str(got.value) == str(expected.value)
