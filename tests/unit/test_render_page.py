"""render_message / render_page: every message shape renders readably, with its header, folds and links."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any, Literal

import pytest
from helpers.html import (
    assert_safe,
    by_class,
    by_class_html,
    elements,
    message_text_of,
    outer,
    text,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)

from memstore_nb.errors import CorruptMessageError
from memstore_nb.render import (
    FOLD_CHARS,
    VIEWER_CLASS,
    ToolLinks,
    display_id,
    render_message,
    render_page,
    tool_links,
    viewer_css,
)

# -- every message shape -------------------------------------------------------


class OddMessage(BaseMessage):
    """A message type the viewer does not know."""

    type: Literal["odd"] = "odd"


@pytest.mark.parametrize(
    ("message", "role", "label"),
    [
        (HumanMessage("hello *there*", name="alice", id="h-1"), "human", "human"),
        (AIMessage("hi back", name="bot", id="a-1"), "ai", "ai"),
        (SystemMessage("be brief", id="s-1"), "system", "system"),
        (ToolMessage("42", tool_call_id="call-1", name="calc"), "tool", "tool"),
        (FunctionMessage(content="7", name="add"), "function", "function"),
        (ChatMessage(content="a remark", role="critic"), "chat", "chat: critic"),
        (OddMessage(content="strange"), "unknown", "unknown (odd)"),
        (HumanMessageChunk(content="partial"), "human", "human"),
        (AIMessageChunk(content="streamed"), "ai", "ai"),
    ],
)
def test_every_message_type_has_its_role_style_and_fields(message: BaseMessage, role: str, label: str) -> None:
    out = render_message(message, 7)
    assert_safe(out)
    attrs = outer(out)
    assert attrs["class"].split() == ["msnb-msg", f"msnb-role-{role}"]
    assert attrs["data-index"] == "7"
    assert text(by_class_html(out, "msnb-badge")) == label
    shown = text(out)
    assert "#7" in shown
    assert message_text_of(message) in shown
    for field in (message.name, message.id):
        if field:
            assert field in shown


def test_markdown_content_is_rendered() -> None:
    out = render_message(AIMessage("# Title\n\n- **one**\n- `two`\n\n```python\nprint('x < y')\n```"), 0)
    tags = [t for t, _ in elements(out)]
    assert {"h1", "ul", "li", "strong", "code", "pre"} <= set(tags)
    assert "print('x < y')" in text(out)
    assert ("code", {"class": "language-python msnb-hl"}) in elements(out)


def test_content_blocks() -> None:
    message = HumanMessage(
        [
            {"type": "text", "text": "look at **this**"},
            "a bare string block",
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "image_url", "image_url": "http://example.com/dog.jpg"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "data:image/svg+xml;base64,PHN2Zz4="}},
            {"type": "image", "url": "https://example.com/std.png"},
            {"type": "reasoning", "reasoning": "thinking <hard>"},
        ]
    )
    out = render_message(message, 1)
    assert_safe(out)
    hrefs = [a["href"] for t, a in elements(out) if t == "a"]
    assert hrefs == [
        "https://example.com/cat.png",
        "http://example.com/dog.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "https://example.com/std.png",
    ]
    shown = text(out)
    assert "look at this" in shown and "a bare string block" in shown
    assert "image (link disabled): data:image/svg+xml;base64,PHN2Zz4=" in shown
    assert "reasoning block" in shown
    block = by_class_html(out, "msnb-json")
    assert json.loads(html.unescape(block)) == {"type": "reasoning", "reasoning": "thinking <hard>"}


def test_long_data_url_is_shortened_for_display_but_linked_whole() -> None:
    url = "data:image/png;base64," + "A" * 5000
    out = render_message(HumanMessage([{"type": "image_url", "image_url": {"url": url}}]), 0)
    links = [a for t, a in elements(out) if t == "a"]
    assert links[0]["href"] == url
    assert "5,022 characters" in text(out) and len(text(out)) < 200


def test_tool_calls_and_tool_message_link() -> None:
    ai = AIMessage(
        "",
        tool_calls=[
            {"name": "search", "args": {"query": "redis", "limit": 3}, "id": "call_A", "type": "tool_call"},
            {"name": "weather", "args": {}, "id": "call_B", "type": "tool_call"},
        ],
        invalid_tool_calls=[
            {"name": "broken", "args": "{not json", "id": "call_C", "error": "bad JSON", "type": "invalid_tool_call"}
        ],
        usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        response_metadata={"model_name": "gemini"},
    )
    out = render_message(ai, 2)
    assert_safe(out)
    calls = by_class(out, "msnb-call")
    assert [t for t, _ in calls] == ["details"] * 3
    assert all("open" in a for _, a in calls)
    ids = [a["id"] for _, a in calls]
    assert len(set(ids)) == 3
    shown = text(out)
    assert "tool call search call_A" in shown and "invalid tool call broken call_C" in shown
    assert '"query": "redis"' in shown and '"limit": 3' in shown
    assert "bad JSON" in shown and "{not json" in shown
    assert "(no content)" not in shown
    assert "msnb-meta" not in out  # model and usage are in the header, not in a row of their own
    assert text(by_class_html(out, "msnb-model")) == "gemini"
    assert text(by_class_html(out, "msnb-usage")) == "10 in · 5 out · 15 tokens"

    raw = render_message(ai, 2, raw_json=True)
    meta = [text(m) for m in re.findall(r'<details class="msnb-meta">.*?</details>', raw, re.S)]
    assert [m.split("{")[0] for m in meta] == ["response_metadata", "usage_metadata"]
    assert '"total_tokens": 15' in meta[1]

    result = ToolMessage("sunny", tool_call_id="call_B", status="error")
    page = render_page([(2, ai), (3, result), (4, ToolMessage("oops", tool_call_id="call_C"))])
    assert_safe(page, css=True)
    links = [(a["href"], a["data-target"]) for t, a in elements(page) if t == "a"]
    assert links == [("#msnb-msg-3", "3"), ("#msnb-msg-4", "4"), (f"#{ids[1]}", "2"), (f"#{ids[2]}", "2")]
    assert "invalid tool call broken call_C result: #4" in text(page)
    refs = [text(m) for m in re.findall(r'<div class="msnb-toolref">.*?</div>', page, re.S)]
    assert refs == ["result of weather call_B call: #2 error", "result of broken call_C call: #2"]
    assert "tool call weather call_B result: #3" in text(page)

    # Without links (a message alone) neither side claims a counterpart.
    alone = render_message(result, 3)
    assert not [a for t, a in elements(alone) if t == "a"]
    assert "result of tool call call_B error" in text(alone)


def test_tool_links_pair_repeated_call_ids_by_position() -> None:
    def call(i: int) -> AIMessage:
        return AIMessage("", tool_calls=[{"name": f"tool{i}", "args": {}, "id": "call_1", "type": "tool_call"}])

    items: list[tuple[int, Any]] = [
        (0, call(0)),
        (1, ToolMessage("a", tool_call_id="call_1")),
        (2, call(2)),
        (3, ToolMessage("b", tool_call_id="call_1")),
        (4, ToolMessage("orphan", tool_call_id="nobody")),
        (5, CorruptMessageError("k", 5, "x", "r")),
    ]
    links = tool_links(reversed(items))  # any order
    assert links.results == {(0, "call_1"): 1, (2, "call_1"): 3}
    assert links.calls == {1: (0, "call_1"), 3: (2, "call_1")}
    assert links.names == {(0, "call_1"): "tool0", (2, "call_1"): "tool2"}
    page = render_page(items)
    assert_safe(page, css=True)
    hrefs = [a["href"] for t, a in elements(page) if t == "a"]
    assert hrefs[0] == "#msnb-msg-1" and hrefs[2] == "#msnb-msg-3"
    anchors = [a["id"] for _, a in by_class(page, "msnb-call")]
    assert [hrefs[1], hrefs[3]] == [f"#{anchors[0]}", f"#{anchors[1]}"] and anchors[0] != anchors[1]
    assert "result of tool2 call_1" in text(page)


def test_counterpart_off_the_page_shows_its_number_and_data_target() -> None:
    ai = AIMessage("", tool_calls=[{"name": "lookup", "args": {}, "id": "c9", "type": "tool_call"}])
    known = tool_links([(2985, ai), (2987, ToolMessage("r", tool_call_id="c9"))])
    first = render_page([(2985, ai)], links=known, css=False)
    assert_safe(first)
    jumps = by_class(first, "msnb-offpage")
    assert jumps == [("span", {"class": "msnb-jump msnb-offpage", "data-target": "2987"})]
    assert "result: #2,987" in text(first)
    second = render_page([(2987, ToolMessage("r", tool_call_id="c9"))], links=known, css=False)
    assert by_class(second, "msnb-offpage") == [("span", {"class": "msnb-jump msnb-offpage", "data-target": "2985"})]
    assert "result of lookup c9 call: #2,985" in text(second)
    assert not [a for t, a in elements(second) if t == "a"]
    # The caller's links win over what the page finds, and merged() joins windows.
    other = ToolLinks(names={(2985, "c9"): "renamed"}).merged(ToolLinks(calls={2987: (2985, "c9")}))
    assert "result of renamed c9" in text(render_page([(2987, ToolMessage("r", tool_call_id="c9"))], links=other))


def test_json_tool_result_is_pretty_collapsible_and_named() -> None:
    ai = AIMessage("", tool_calls=[{"name": "lookup_order", "args": {}, "id": "c1", "type": "tool_call"}])
    payload = {"status": "in_transit", "carrier": "<DHL>", "eta": "2026-11-25", "rtl": "a\u202eb"}
    page = render_page([(0, ai), (1, ToolMessage(json.dumps(payload), tool_call_id="c1"))])
    assert_safe(page, css=True)
    [(tag, attrs)] = by_class(page, "msnb-result-json")
    assert tag == "details" and "open" in attrs
    summary = re.search(r'<details class="msnb-result msnb-result-json" open><summary>(.*?)</summary>', page)
    assert summary and text(summary.group(1)) == "lookup_order result · JSON, 4 keys"
    block = by_class_html(page[page.index("msnb-result-json") :], "msnb-json")
    assert "\n" in block and "&quot;carrier&quot;: &quot;&lt;DHL&gt;&quot;" in block
    assert "\u202e" not in block and json.loads(html.unescape(block)) == payload  # bidi shown as \\u202e
    big = render_message(ToolMessage(json.dumps(list(range(40))), tool_call_id="c1", name="nums"), 1)
    [(_, attrs)] = by_class(big, "msnb-result-json")
    assert "open" not in attrs and "nums result · JSON, 40 items" in text(big)
    for not_json in ("{not json", "42", '"a string"', "[1, 2"):
        out = render_message(ToolMessage(not_json, tool_call_id="c1"), 1)
        assert "msnb-result-json" not in out and not_json in text(out)


def test_metadata_sections_only_with_raw_json() -> None:
    plain = render_message(HumanMessage("x"), 0, raw_json=True)
    assert "msnb-meta" not in plain
    rich = HumanMessage("x", additional_kwargs={"k": [1, 2]})
    assert "msnb-meta" not in render_message(rich, 0)
    with_raw = render_message(rich, 0, raw_json=True)
    assert len(by_class(with_raw, "msnb-meta")) == 1
    assert "additional_kwargs" in text(with_raw)
    artifact = render_message(ToolMessage("x", tool_call_id="c", artifact={"rows": 3}), 0)
    assert "artifact" in text(artifact) and '"rows": 3' in text(artifact)


def test_empty_message_says_so() -> None:
    assert "(no content)" in text(render_message(AIMessage(""), 0))


@pytest.mark.parametrize(
    "message",
    [
        HumanMessage("hi <b>", name="n", id="i", additional_kwargs={"x": 1}),
        AIMessage("", tool_calls=[{"name": "f", "args": {"a": "</pre>"}, "id": "c1", "type": "tool_call"}]),
        ToolMessage([{"type": "text", "text": "t"}], tool_call_id="c1"),
        ChatMessage(content="c", role="judge"),
    ],
)
def test_raw_json_toggle_is_message_to_dict(message: BaseMessage) -> None:
    assert "msnb-raw" not in render_message(message, 0)  # off by default: one switch in the widget
    assert "msnb-raw" not in render_page([(0, message)])
    assert "msnb-raw" in render_page([(0, message)], raw_json=True)
    out = render_message(message, 0, raw_json=True)
    raw = re.search(
        r'<details class="msnb-raw"><summary>raw JSON</summary><pre class="msnb-json">(.*?)</pre>', out, re.S
    )
    assert raw
    assert json.loads(html.unescape(raw.group(1))) == message_to_dict(message)


def test_unreadable_entry() -> None:
    exc = CorruptMessageError("chat:1", 12, '{"type": "human", <script>alert(1)</script>', "not valid JSON")
    out = render_message(exc, 12)
    assert_safe(out)
    assert outer(out) == {"class": "msnb-msg msnb-unreadable", "id": "msnb-msg-12", "data-index": "12"}
    shown = text(out)
    assert "unreadable entry #12" in shown
    assert "not valid JSON" in shown and "LINDEX chat:1 12" in shown
    assert text(by_class_html(out, "msnb-preview")) == exc.preview


# -- pages ---------------------------------------------------------------------


def test_render_page_wraps_messages_after_the_css() -> None:
    page = render_page([(5, HumanMessage("a")), (6, AIMessage("b")), (7, CorruptMessageError("k", 7, "x", "r"))])
    assert_safe(page, css=True)
    body = page[len(viewer_css()) :]
    assert outer(body) == {"class": VIEWER_CLASS}
    indexes = [a["data-index"] for _, a in elements(body) if "data-index" in a]
    assert indexes == ["5", "6", "7"]


def test_empty_page_shows_escaped_empty_text() -> None:
    page = render_page([], empty_text="No <b>match</b>")
    assert_safe(page, css=True)
    assert text(page[len(viewer_css()) :]) == "No <b>match</b>"
    assert "No messages" in render_page([])


# -- long messages -------------------------------------------------------------


def test_long_message_is_folded_to_a_preview_with_show_all() -> None:
    answer = "<b>Intro</b> line\n" + "\n".join(f"para {i} " + "word " * 20 for i in range(300))
    assert len(answer) > 30_000
    out = render_message(AIMessage(answer), 9)
    assert_safe(out)
    [(tag, attrs)] = by_class(out, "msnb-fold")
    assert tag == "details" and "open" not in attrs
    preview = text(by_class_html(out, "msnb-fold-preview"))
    assert preview.startswith("<b>Intro</b> line\npara 0") and preview.endswith("…") and len(preview) <= 601
    assert preview.count("\n") == 4
    more = text(out[out.index('class="msnb-fold-more"') - 6 :])
    assert more.startswith(f"show all · {len(answer):,} characters, 301 lines")
    assert "para 299" in text(out)  # the whole text is there, behind the fold
    assert render_message(AIMessage(answer), 9, highlight="PARA 299").count('class="msnb-fold" open') == 1
    assert 'class="msnb-fold" open' in render_message(AIMessage(answer), 9, current=True)
    assert "msnb-fold" not in render_message(AIMessage(answer), 9, fold_over=None)
    assert "msnb-fold" not in render_message(AIMessage("short\n" * 10), 9)
    assert "msnb-fold" in render_message(AIMessage("short\n" * 61), 9)
    assert "msnb-fold" in render_message(AIMessage("x" * (FOLD_CHARS + 1)), 9)
    page = render_page([(1, AIMessage("x" * 50))], fold_over=10)
    assert "msnb-fold" in page


# -- header: model, usage, time ------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "kwargs", "shown"),
    [
        ({"response_metadata": {"timestamp": "2026-11-25T14:03:07Z"}}, {}, "2026-11-25 14:03:07 UTC"),
        ({"response_metadata": {"created_at": "2026-11-25T15:03:07+01:00"}}, {}, "2026-11-25 14:03:07 UTC"),
        ({"response_metadata": {"created": 1795615387}}, {}, "2026-11-25 14:03:07 UTC"),
        ({"additional_kwargs": {"timestamp": 1795615387250}}, {}, "2026-11-25 14:03:07 UTC"),
        ({"additional_kwargs": {"time": "2026-11-25 14:03:07"}}, {}, "2026-11-25 14:03:07"),
        ({"additional_kwargs": {"time": "yesterday <b>"}}, {}, "yesterday <b>"),
        ({"additional_kwargs": {"time": "evil\u202ecod.exe"}}, {}, "evil\\u202ecod.exe"),
        ({}, {"time": dt.datetime(2026, 11, 25, 14, 3, 7, tzinfo=dt.timezone.utc)}, "2026-11-25 14:03:07 UTC"),
        ({"response_metadata": {"timestamp": 0}}, {"time": "2026-01-02T03:04:05Z"}, "2026-01-02 03:04:05 UTC"),
    ],
)
def test_header_time(metadata: dict[str, Any], kwargs: dict[str, Any], shown: str) -> None:
    out = render_message(HumanMessage("x", **metadata), 0, **kwargs)
    assert_safe(out)
    assert text(by_class_html(out, "msnb-time")) == shown


@pytest.mark.parametrize("value", [True, 12, -5, 1e20, "", None, [1], {"a": 1}])
def test_header_time_ignores_values_that_are_not_times(value: object) -> None:
    assert "msnb-time" not in render_message(HumanMessage("x", additional_kwargs={"timestamp": value}), 0)


def test_render_page_passes_times_and_marks_the_current_hit() -> None:
    page = render_page(
        [(4, HumanMessage("a")), (5, AIMessage("b"))], times={5: "2026-11-25T14:03:07Z"}, current=5, css=False
    )
    assert_safe(page)
    assert [a["class"] for _, a in elements(page) if "data-index" in a] == [
        "msnb-msg msnb-role-human",
        "msnb-msg msnb-role-ai msnb-hit-current",
    ]
    assert text(page).count("2026-11-25 14:03:07 UTC") == 1
    assert not page.startswith("<style>")


@pytest.mark.parametrize(
    ("message", "model", "usage"),
    [
        (
            AIMessage(
                "x",
                response_metadata={"model_name": "gemini-2.0-flash"},
                usage_metadata={"input_tokens": 1412, "output_tokens": 71, "total_tokens": 1483},
            ),
            "gemini-2.0-flash",
            "1,412 in · 71 out · 1,483 tokens",
        ),
        (
            AIMessage("x", response_metadata={"model": "claude <3>", "usage": {"input_tokens": 5, "output_tokens": 2}}),
            "claude <3>",
            "5 in · 2 out · 7 tokens",
        ),
        (
            AIMessage(
                "x",
                response_metadata={
                    "model_name": "gpt\u202e-x",
                    "token_usage": {"prompt_tokens": 3, "completion_tokens": True, "total_tokens": 9},
                },
            ),
            "gpt\\u202e-x",
            "3 in · 9 tokens",
        ),
        (AIMessage("x", response_metadata={"model_name": ["not", "text"]}), None, None),
    ],
)
def test_header_model_and_token_usage(message: AIMessage, model: str | None, usage: str | None) -> None:
    out = render_message(message, 0)
    assert_safe(out)
    assert (text(by_class_html(out, "msnb-model")) if model else "msnb-model" not in out) in (model, True)
    assert (text(by_class_html(out, "msnb-usage")) if usage else "msnb-usage" not in out) in (usage, True)


# -- bidi and control characters -----------------------------------------------


def test_bidi_override_cannot_reverse_the_row() -> None:
    evil = "evil\u202ecod.exe"
    call = {"name": evil, "args": {"file": evil}, "id": evil, "type": "tool_call"}
    page = render_page(
        [
            (0, HumanMessage(f"open {evil} now", name=evil, id=evil)),
            (1, AIMessage("", tool_calls=[call], response_metadata={"model_name": evil})),
            (2, ToolMessage("done", tool_call_id=evil, name=evil)),
            (3, ChatMessage(content="c", role=evil)),
        ],
        raw_json=True,
    )
    assert_safe(page, css=True)
    body = page[len(viewer_css()) :]
    contents = by_class(body, "msnb-content")
    assert len(contents) == 4 and all(a["dir"] == "auto" for _, a in contents)
    # The message text keeps its characters, inside its own isolated block ...
    assert "open evil\u202ecod.exe now" in text(by_class_html(body, "msnb-content"))
    # ... and every id, name, role, tool name and JSON value shows the override as an escape.
    outside = re.sub(r'<div class="msnb-content" dir="auto">.*?</div>', "", body, flags=re.S)
    assert "\u202e" not in html.unescape(outside)
    assert text(outside).count("evil\\u202ecod.exe") >= 8
    assert "chat: evil\\u202ecod.exe" in text(outside)
    assert display_id(evil) == "evil\\u202ecod.exe"
    assert display_id('<b a="1">\x1b[2J') == "&lt;b a=&quot;1&quot;&gt;\\x1b[2J"
