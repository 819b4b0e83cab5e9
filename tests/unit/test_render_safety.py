"""No message data can inject markup: an XSS corpus in every placement, and properties over any text."""

from __future__ import annotations

import html
import json
import re

import pytest
from helpers.html import (
    ALLOWED_TAGS,
    ANY_TEXT,
    assert_safe,
    by_class,
    elements,
    text,
)
from hypothesis import HealthCheck, given, settings
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from memstore_nb.errors import CorruptMessageError
from memstore_nb.render import (
    render_markdown,
    render_message,
    render_page,
)

# -- XSS corpus ----------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '"><svg onload=alert(1)>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<style>*{display:none}</style>",
    '<p style="position:fixed;top:0">x</p>',
    "</details></div><script>alert(1)</script>",
    "</pre></details><img src=x onerror=alert(1)>",
    "' onmouseover='alert(1)",
    '" onmouseover="alert(1)',
    "<iframe src=javascript:alert(1)>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><input type=submit>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "[click](javascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    '![x](x" onerror="alert(1))',
    '```"><script>alert(1)</script>\n<script>alert(1)</script>\n```',
    "<details open ontoggle=alert(1)>",
    "javascript:alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
]


def _placements(payload: str) -> dict[str, BaseMessage | CorruptMessageError]:
    call = {"name": payload, "args": {payload: payload}, "id": payload, "type": "tool_call"}
    return {
        "content": HumanMessage(payload),
        "name": HumanMessage("x", name=payload),
        "id": AIMessage("x", id=payload),
        "chat role": ChatMessage(content="x", role=payload),
        "system": SystemMessage(payload),
        "text block": HumanMessage([{"type": "text", "text": payload}]),
        "image url": HumanMessage([{"type": "image_url", "image_url": {"url": payload}}]),
        "image url string": HumanMessage([{"type": "image_url", "image_url": payload}]),
        "other block": HumanMessage([{"type": payload, payload: payload}]),
        "tool call": AIMessage("", tool_calls=[call]),
        "invalid tool call": AIMessage(
            "",
            invalid_tool_calls=[
                {"name": payload, "args": payload, "id": payload, "error": payload, "type": "invalid_tool_call"}
            ],
        ),
        "tool_call_id": ToolMessage(payload, tool_call_id=payload, name=payload),
        "function": FunctionMessage(content=payload, name=payload),
        "metadata": AIMessage(
            "x", additional_kwargs={payload: payload}, response_metadata={"m": payload}, name=payload
        ),
        "corrupt": CorruptMessageError(payload, 3, payload, payload),
        "python code": HumanMessage(f"```python\n{payload}\n```"),
        "html code": HumanMessage(f"```html\n{payload}\n```"),
        "json code": AIMessage(f"~~~json\n{json.dumps({payload: payload})}\n~~~"),
        "model and time": AIMessage(
            "x", response_metadata={"model_name": payload, "timestamp": payload}, usage_metadata=None
        ),
        "json tool result": ToolMessage(json.dumps({payload: [payload]}), tool_call_id="c", name=payload),
        "long text": HumanMessage(payload + "\n" + "filler " * 600),
    }


PLACEMENTS = list(_placements("x"))
# Parts of each payload that Markdown leaves alone, so they must show as text.
_MARKER = re.compile(r"alert\(1\)|display:none|position:fixed")


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("where", PLACEMENTS)
def test_xss_corpus_is_inert_and_visible(payload: str, where: str) -> None:
    item = _placements(payload)[where]
    out = render_message(item, 3, highlight="alert")
    assert_safe(out)
    page = render_page([(3, item)])
    assert_safe(page, css=True)
    shown = text(out)
    marker = _MARKER.search(html.unescape(payload.replace("&#x09;", "")))
    assert marker and marker.group() in shown.replace("\t", ""), (where, payload, shown)


def test_javascript_link_in_every_url_position_stays_text() -> None:
    url = "javascript:alert(document.cookie)"
    for message in (
        HumanMessage(f"[a]({url}) <{url}>"),
        HumanMessage([{"type": "image_url", "image_url": {"url": url}}]),
        HumanMessage([{"type": "image_url", "image_url": {"url": " " + url}}]),
        HumanMessage([{"type": "image", "url": "java\tscript:alert(1)"}]),
        HumanMessage([{"type": "image_url", "image_url": {"url": "https://ok\n.example"}}]),
        AIMessage("", tool_calls=[{"name": url, "args": {"u": url}, "id": url, "type": "tool_call"}]),
        ToolMessage("r", tool_call_id=url),
    ):
        out = render_message(message, 0)
        assert_safe(out)
        assert "javascript:" not in " ".join(a.get("href", "") for _, a in elements(out)).lower()


def test_tool_call_anchor_cannot_carry_attribute_injection() -> None:
    evil = 'x" onclick="alert(1)" id="y'
    page = render_page(
        [
            (0, AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": evil, "type": "tool_call"}])),
            (1, ToolMessage("r", tool_call_id=evil)),
        ]
    )
    assert_safe(page, css=True)
    anchor = by_class(page, "msnb-call")[0][1]["id"]
    assert re.fullmatch(r"msnb-call-[0-9a-f]{16}", anchor)
    assert [a["href"] for t, a in elements(page) if t == "a"] == ["#msnb-msg-1", "#" + anchor]
    assert evil in text(page)


# -- properties ----------------------------------------------------------------

_MARKDOWN_TAGS = ALLOWED_TAGS - {"div", "span", "details", "summary", "mark"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_any_markdown_only_produces_renderer_tags(source: str) -> None:
    out = render_markdown(source)
    assert_safe(out)
    assert {t for t, _ in elements(out)} <= _MARKDOWN_TAGS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT, ANY_TEXT)
def test_any_content_and_highlight_is_safe_and_marks_do_not_change_text(content: str, term: str) -> None:
    plain = render_message(HumanMessage(content), 0)
    marked = render_message(HumanMessage(content), 0, highlight=term)
    assert_safe(marked)
    assert text(marked) == text(plain)


def _shape(fragment: str) -> list[tuple[str, list[str]]]:
    return [(t, sorted(a)) for t, a in elements(fragment)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT.filter(lambda s: s.strip() != ""))
def test_any_value_in_plain_fields_keeps_the_exact_structure(value: str) -> None:
    """Names, ids, roles, tool names and ids, args, metadata: only text changes, never the element tree."""

    def build(v: str) -> list[BaseMessage]:
        call = {"name": v, "args": {v: v}, "id": v, "type": "tool_call"}
        return [
            HumanMessage("x", name=v, id=v, additional_kwargs={v: v}),
            ChatMessage(content="x", role=v),
            AIMessage("", tool_calls=[call], response_metadata={"v": v, "model_name": v, "created_at": v}),
            ToolMessage("x", tool_call_id=v, name=v),
        ]

    for benign, message in zip(build("benign"), build(value), strict=True):
        out = render_message(message, 1)
        assert_safe(out)
        assert _shape(out) == _shape(render_message(benign, 1))


# -- issue 20 item 3: a lone surrogate reaches no page, file or kernel message raw -------------------------

LONE = chr(0xD800)


def test_a_lone_surrogate_anywhere_in_a_message_is_shown_as_its_escape() -> None:
    from memstore_nb.render import to_markdown

    call = {"name": f"t{LONE}", "args": {f"k{LONE}": f"v{LONE}"}, "id": f"c{LONE}", "type": "tool_call"}
    items = [
        (0, HumanMessage(f"text {LONE} here", name=f"n{LONE}")),
        (1, AIMessage(f"**bold {LONE}**", tool_calls=[call], response_metadata={"model_name": f"m{LONE}"})),
        (2, ToolMessage(f'{{"x": "{LONE}"}}', tool_call_id=f"c{LONE}")),
        (3, CorruptMessageError("key", 3, f"{{bad {LONE}", "not valid JSON")),
    ]
    page = render_page(items, raw_json=True, highlight=LONE)
    page.encode("utf-8")  # raised UnicodeEncodeError: what the kernel's message to the page does
    assert "text \\ud800 here" in page and LONE not in page
    to_markdown([m for _, m in items], title=f"s{LONE}").encode("utf-8")
    render_page([], empty_text=f"none {LONE}").encode("utf-8")


@given(ANY_TEXT)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_renders_to_encodable_html(body: str) -> None:
    render_page([(0, HumanMessage(body + LONE)), (1, AIMessage(LONE + body))]).encode("utf-8")
