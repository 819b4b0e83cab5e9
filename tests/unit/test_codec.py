"""The message codec against the reference reader, ``messages_from_dict([json.loads(raw)])[0]``."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, message_to_dict, messages_from_dict

from memstore_nb.codec import MAX_DEPTH, decode_message, encode_message, escape_controls, load_json, nesting_depth
from memstore_nb.errors import ArgumentError, CorruptMessageError

# Every JSON value json.dumps can write: NaN, +-Infinity, integers of any size, lone surrogates.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 2**63 - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None), max_size=12),
    st.sampled_from(["\ud83d", "\udc00x", "truncated emoji \ud83d", "\x00", "\u202e"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


def reference(raw: str | bytes) -> Any:
    return messages_from_dict([json.loads(raw)])[0]


def same(a: Any, b: Any) -> bool:
    # NaN != NaN, so compare the stored form (json.dumps writes NaN as NaN on both sides), in
    # field order; and which fields were set (model_dump(exclude_unset=True) depends on it).
    return (
        json.dumps(message_to_dict(a)) == json.dumps(message_to_dict(b))
        and a.model_fields_set == b.model_fields_set
        and list(a.model_extra or {}) == list(b.model_extra or {})
    )


def check_against_reference(raw: str | bytes) -> None:
    try:
        expected = reference(raw)
    except Exception:
        with pytest.raises(CorruptMessageError) as err:
            decode_message(raw, key="k", index=7)
        assert err.value.key == "k" and err.value.index == 7
        return
    got = decode_message(raw, key="k", index=7)
    assert type(got) is type(expected)
    assert same(got, expected)


@settings(max_examples=400, deadline=None)
@given(extra=json_values, meta=json_values, content=st.text(alphabet=st.characters(codec=None), max_size=20))
def test_metadata_of_any_json_value_reads_as_the_reference_does(extra: Any, meta: Any, content: str) -> None:
    doc = {"type": "ai", "data": {"content": content, "additional_kwargs": {"x": extra}, "response_metadata": meta}}
    raw = json.dumps(doc)
    check_against_reference(raw)
    check_against_reference(raw.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(
        ["human", "ai", "system", "tool", "function", "chat", "AIMessageChunk", "HumanMessageChunk", "x"]
    ),
    data=st.dictionaries(
        st.sampled_from(
            [
                "content",
                "additional_kwargs",
                "response_metadata",
                "tool_calls",
                "tool_call_id",
                "name",
                "role",
                "id",
                # beside the usual fields: what the fast path (model_validate) must treat as the
                # constructor does: content_blocks (moved into content by 1.x), self (a TypeError
                # for __init__), the type field, and extra fields (kept, in order)
                "content_blocks",
                "self",
                "type",
                "usage_metadata",
                "invalid_tool_calls",
                "example",
                "status",
                "artifact",
                "zz_extra",
                "aa_extra",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_any_document_is_a_message_equal_to_the_reference_or_a_corrupt_message_error(kind: str, data: Any) -> None:
    check_against_reference(json.dumps({"type": kind, "data": data}))


@pytest.mark.parametrize(
    "raw",
    [
        '{"type":"ai","data":{"content":"x","additional_kwargs":"oops"}}',
        '{"type":"ai","data":{"content":"x","tool_calls":"abc"}}',
        '{"type":"ai","data":{"content":"x","additional_kwargs":[1]}}',
        '{"type":"AIMessageChunk","data":{"content":"x","additional_kwargs":"oops"}}',
        '{"type":"AIMessageChunk","data":{"content":"x","tool_call_chunks":"abc"}}',
        '{"type":"human","data":"nope"}',
        '{"type":"tool","data":{"content":"x"}}',
        "[" * 100_000,
        b"\xff\xfe not utf-8",
        "",
    ],
)
def test_malformed_elements_are_one_corrupt_message_error(raw: str | bytes) -> None:
    with pytest.raises(CorruptMessageError) as err:
        decode_message(raw, key="s", index=3)
    assert err.value.index == 3 and "s" in str(err.value)


def test_nan_infinity_surrogates_and_big_integers_survive_our_own_round_trip() -> None:
    message = AIMessage(
        "truncated emoji \ud83d",
        additional_kwargs={"score": float("nan"), "hi": float("inf"), "lo": float("-inf"), "big": 2**64},
        response_metadata={"neg": -(2**63) - 1, "n": 2**63},
    )
    back = decode_message(encode_message(message))
    assert back.content == "truncated emoji \ud83d"
    assert math.isnan(back.additional_kwargs["score"])
    assert back.additional_kwargs["hi"] == float("inf") and back.additional_kwargs["lo"] == float("-inf")
    assert back.additional_kwargs["big"] == 2**64 and isinstance(back.additional_kwargs["big"], int)
    assert back.response_metadata == {"neg": -(2**63) - 1, "n": 2**63}
    assert all(isinstance(v, int) for v in back.response_metadata.values())


def test_load_json_keeps_long_digit_runs_exact() -> None:
    assert load_json(b'{"n": 18446744073709551616}') == {"n": 2**64}
    assert load_json('{"n": -9223372036854775809, "s": "1234567890123456789012"}')["n"] == -(2**63) - 1
    assert load_json("[NaN]")[0] != load_json("[NaN]")[0]


def test_plain_messages_take_the_fast_path_and_equal_the_reference() -> None:
    for message in (HumanMessage("hi"), AIMessage("", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "c1"}])):
        raw = encode_message(message)
        assert same(decode_message(raw), reference(raw))


@pytest.mark.parametrize(
    "data",
    [
        {"content": "x", "content_blocks": [{"type": "text", "text": "blocks win"}]},
        {"content": "x", "content_blocks": None},
        {"content_blocks": [{"type": "text", "text": "only blocks"}]},
        {"content": "x", "self": 1},
        {"content": "x", "zz": 1, "aa": [2], "id": "m1"},
        {"content": None},
        {},
        {"content": "x", "type": "ai"},
        {"content": "x", "tool_calls": [{"name": "f", "args": {}, "id": "c"}], "invalid_tool_calls": []},
        {
            "content": "x",
            "additional_kwargs": {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]},
        },
    ],
)
@pytest.mark.parametrize("kind", ["human", "ai", "system", "tool", "function", "chat", "AIMessageChunk"])
def test_the_fast_path_gives_what_the_constructor_gives(kind: str, data: dict[str, Any]) -> None:
    for extra in ({}, {"tool_call_id": "c1", "name": "n", "role": "r"}):
        check_against_reference(json.dumps({"type": kind, "data": {**data, **extra}}))


@pytest.mark.parametrize(
    "text, shown",
    [
        ("evil\u202ecod.exe", "evil\\u202ecod.exe"),
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("csi\x9b", "csi\\x9b"),
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),
        ("plain é 日本", "plain é 日本"),
        # invisible: zero-width space, joiners, word joiner, BOM, soft hyphen, LSEP/PSEP, tags, fillers
        ("adm\u200bin", "adm\\u200bin"),
        ("a\u200cb\u200dc\u2060d\ufeffe", "a\\u200cb\\u200dc\\u2060d\\ufeffe"),
        ("soft\u00adhyphen", "soft\\xadhyphen"),
        ("one\u2028two\u2029three", "one\\u2028two\\u2029three"),
        ("tag\U000e0041\U000e007f", "tag\\U000e0041\\U000e007f"),
        ("fill\u3164er\u115f", "fill\\u3164er\\u115f"),
        # a lone surrogate (what json.loads makes of "\\ud800") is shown, never handed to an encoder
        ("bad \ud800 and \udfff", "bad \\ud800 and \\udfff"),
        # what is visible stays: emoji with a variation selector, combining accents, astral letters
        ("\u2764\ufe0f e\u0301 \U0001f600 \U00020000", "\u2764\ufe0f e\u0301 \U0001f600 \U00020000"),
    ],
)
def test_escape_controls(text: str, shown: str) -> None:
    assert escape_controls(text) == shown


def test_escape_controls_can_keep_lines() -> None:
    assert escape_controls("a\nb\tc\x1b", keep_lines=True) == "a\nb\tc\\x1b"
    assert escape_controls("a\nb") == "a\\x0ab"
    assert escape_controls("a\u2028b\u200b", keep_lines=True) == "a\\u2028b\\u200b"  # not a newline for a terminal
    assert escape_controls("x\ud83d\n", keep_lines=True).encode("utf-8") == b"x\\ud83d\n"


def _nested(depth: int, where: str) -> str:
    deep = "[" * depth + "]" * depth
    data = {
        "content": '{"content": [{"type": "text", "text": "hi", "x": DEEP}], "type": "human"}',
        "tool args": '{"content": "", "type": "ai", "tool_calls": [{"name": "f", "id": "c1", "args": {"a": DEEP}}]}',
        "kwargs": '{"content": "", "type": "ai", "additional_kwargs": {"a": DEEP}}',
    }[where]
    kind = "human" if where == "content" else "ai"
    return '{"type": "' + kind + '", "data": ' + data.replace("DEEP", deep) + "}"


@pytest.mark.parametrize("where", ["content", "tool args", "kwargs"])
@pytest.mark.parametrize("depth", [MAX_DEPTH, 1_000, 5_000, 100_000])
def test_a_deeply_nested_element_is_one_corrupt_message_error(where: str, depth: int) -> None:
    # Before: 1,000 levels decoded (orjson reads 1,024) and the next json.dumps, repr or render raised
    # RecursionError; 5,000 decoded on Python 3.13. Now the same answer on every Python version.
    raw = _nested(depth, where)
    with pytest.raises(CorruptMessageError, match=f"nested more than {MAX_DEPTH} levels deep") as err:
        decode_message(raw, key="deep", index=2)
    assert err.value.index == 2 and err.value.preview.startswith('{"type"')
    for as_bytes in (raw.encode(),):
        with pytest.raises(CorruptMessageError):
            decode_message(as_bytes)


def test_nesting_below_the_bound_reads_as_the_reference_does() -> None:
    raw = _nested(MAX_DEPTH - 10, "tool args")
    message = decode_message(raw)
    assert same(message, reference(raw))
    assert nesting_depth(json.loads(raw)) == MAX_DEPTH - 10 + 5  # the element, data, tool_calls, the call, args
    assert nesting_depth(1) == 0 and nesting_depth({}) == 1 and nesting_depth([[1], {"a": [2]}]) == 3
    assert nesting_depth([[[[[]]]]], limit=2) == 3  # stops one past the limit


def _deep_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_DEPTH, 1_000, 5_000])
def test_a_message_too_deep_to_read_back_is_refused_when_encoded(depth: int) -> None:
    # Before: 1,000+ levels raised a raw RecursionError from json (Python 3.10-3.12); 257-990 levels
    # were stored, then read back as CorruptMessageError by the bound above. One rule, both ways.
    message = AIMessage("", additional_kwargs={"a": _deep_list(depth)})
    with pytest.raises(ArgumentError, match=f"more than {MAX_DEPTH} levels deep"):
        encode_message(message)


def test_a_message_at_the_bound_is_encoded_and_reads_back() -> None:
    message = AIMessage("", additional_kwargs={"a": _deep_list(MAX_DEPTH - 5)})  # + the element, data, kwargs
    assert nesting_depth(message_to_dict(message)) <= MAX_DEPTH
    assert decode_message(encode_message(message)) == message
    # a text full of brackets is no nesting: the quick count only sends it to the exact walk
    assert decode_message(encode_message(HumanMessage("[" * 5000))).content == "[" * 5000
