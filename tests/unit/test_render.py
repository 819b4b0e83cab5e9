"""viewer.render: every message shape renders readably, and no message data can inject markup."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any, Literal

import html5lib
import pytest
import tinycss2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
    render_markdown,
    render_message,
    render_page,
    to_markdown,
    tool_links,
    viewer_css,
)
from memstore_nb.render.highlight import HIGHLIGHT_LIMIT, PAGE_HIGHLIGHT_BUDGET, TOKEN_CLASSES, highlight_budget

# -- what the renderer may emit ------------------------------------------------

ALLOWED_TAGS = {
    "div", "span", "a", "bdi", "details", "summary", "pre", "code", "mark", "p", "br", "hr", "em", "strong", "s",
    "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
FORBIDDEN_TAGS = {
    "script", "style", "svg", "math", "iframe", "object", "embed", "img", "form", "input", "base",
    "link", "meta", "frame", "frameset", "video", "audio", "source", "textarea", "button", "template",
}  # fmt: skip
ALLOWED_ATTRS = {"class", "href", "rel", "target", "id", "data-index", "data-target", "dir", "open", "title", "start"}
SAFE_HREF = re.compile(
    r"#msnb-call-[0-9a-f]{16}|#msnb-msg-\d+|(?:https?://|mailto:)[^\x00-\x20\x7f]*|data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=]+",
    re.IGNORECASE,
)
SAFE_CLASS = re.compile(r"(?:msnb-[a-z0-9-]+|language-[A-Za-z0-9_+.#-]+)")


def elements(fragment: str) -> list[tuple[str, dict[str, str]]]:
    """(tag, attributes) of every element, as a browser's parser (WHATWG, html5lib) builds them."""
    root = html5lib.parseFragment(fragment, namespaceHTMLElements=False)
    out = []
    for el in root.iter():
        if el is root:
            continue
        out.append((str(el.tag), {str(k): str(v) for k, v in el.attrib.items()}))
    return out


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def stdlib_elements(fragment: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Collector()
    parser.feed(fragment)
    parser.close()
    return parser.found


def text(fragment: str, *, skip: frozenset[str] = frozenset({"msnb-raw"})) -> str:
    """Text content, leaving out elements with a class in ``skip`` (the raw-JSON toggle by default)."""
    root = html5lib.parseFragment(fragment, namespaceHTMLElements=False)

    def walk(el: Any) -> str:
        parts = [el.text or ""]
        for child in el:
            if not skip & set(child.attrib.get("class", "").split()):
                parts.append(walk(child))
            parts.append(child.tail or "")
        return "".join(parts)

    return walk(root)


def assert_safe(fragment: str, *, css: bool = False) -> None:
    """Nothing executable, no style, only allowlisted tags, attributes and links, per two parsers."""
    if css:
        style = viewer_css()
        assert fragment.count("<style") == 1 and fragment.startswith(style)
        fragment = fragment[len(style) :]
    for parse in (elements, stdlib_elements):
        for tag, attrs in parse(fragment):
            assert tag not in FORBIDDEN_TAGS, (tag, fragment)
            assert tag in ALLOWED_TAGS, (tag, fragment)  # also catches namespaced SVG/MathML "{ns}tag"
            for name, value in attrs.items():
                assert not name.startswith("on"), (name, fragment)
                assert name in ALLOWED_ATTRS, (name, fragment)
                if name == "href":
                    assert tag == "a" and SAFE_HREF.fullmatch(value), (value, fragment)
                elif name == "class":
                    assert all(SAFE_CLASS.fullmatch(word) for word in value.split()), (value, fragment)
                elif name == "id":
                    assert re.fullmatch(r"msnb-call-[0-9a-f]{16}|msnb-msg-\d+", value), (value, fragment)
                elif name in {"data-index", "data-target"}:
                    assert re.fullmatch(r"-?\d+", value), value
                elif name == "dir":
                    assert value == "auto"
                elif name == "rel":
                    assert value == "noopener noreferrer nofollow"
                elif name == "target":
                    assert value == "_blank"
                elif name == "open":
                    assert value == ""
                elif name == "start":  # ordered lists that do not begin at 1
                    assert value.isdigit()
                elif name == "title":  # Markdown link titles
                    assert tag == "a"


def outer(fragment: str) -> dict[str, str]:
    return elements(fragment)[0][1]


def by_class(fragment: str, klass: str) -> list[tuple[str, dict[str, str]]]:
    return [(t, a) for t, a in elements(fragment) if klass in a.get("class", "").split()]


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


def by_class_html(fragment: str, klass: str) -> str:
    match = re.search(rf'<(\w+) class="{klass}"[^>]*>(.*?)</\1>', fragment, re.S)
    assert match, f"no .{klass} in {fragment}"
    return match.group(2)


def message_text_of(message: BaseMessage) -> str:
    return str(message.content).replace("*", "")


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


# -- Markdown ------------------------------------------------------------------


def test_markdown_links_get_rel_and_target() -> None:
    out = render_markdown('[docs](https://example.com/a?b=1&c=2 "T") and <mailto:x@example.com>')
    links = [a for t, a in elements(out) if t == "a"]
    assert links[0] == {
        "href": "https://example.com/a?b=1&c=2",
        "title": "T",
        "rel": "noopener noreferrer nofollow",
        "target": "_blank",
    }
    assert links[1]["href"] == "mailto:x@example.com"


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](jav&#x61;script:alert(1))",
        "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](java\\script:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](<java\nscript:alert(1)>)",
        "[x]( javascript:alert(1))",
        "[x](%6Aavascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](data:image/svg+xml;base64,PHN2Zz4=)",
        "[x](file:///etc/passwd)",
        "[x](//evil.example/a)",
        "[x](relative/path)",
        "[x](#fragment)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "![x](javascript:alert(1))",
    ],
)
def test_markdown_drops_unsafe_links(source: str) -> None:
    out = render_markdown(source)
    assert_safe(out)
    assert not [a for t, a in elements(out) if t == "a" and "href" in a], out
    assert "x" in text(out) or "javascript" in text(out)


def test_markdown_images_become_links() -> None:
    out = render_markdown('![a cat](https://example.com/cat.png "t")')
    assert_safe(out)
    assert [t for t, _ in elements(out)] == ["p", "a"]
    assert elements(out)[1][1]["href"] == "https://example.com/cat.png"
    assert text(out).strip() == "[image: a cat]"


def test_markdown_raw_html_is_text() -> None:
    out = render_markdown("<div onclick='x'>hi</div>\n\ninline <b>bold</b> <!-- c -->")
    assert_safe(out)
    assert "<div onclick='x'>hi</div>" in text(out) and "<b>bold</b>" in text(out)


def test_fenced_code_language_is_sanitized() -> None:
    out = render_markdown('```py"onmouseover="alert(1) x\ncode\n```')
    assert_safe(out)
    assert elements(out)[1] == ("code", {"class": "language-pyonmouseoveralert1"})
    assert render_markdown("```\nplain\n```") == '<pre class="msnb-code"><code>plain\n</code></pre>\n'


def test_tables_strikethrough_and_no_style_attribute() -> None:
    out = render_markdown("| a | b |\n|:-|-:|\n| 1 | ~~2~~ |")
    assert_safe(out)
    assert ("td", {"class": "msnb-align-right"}) in elements(out)
    assert "s" in [t for t, _ in elements(out)]


def test_huge_text_is_shown_verbatim() -> None:
    big = "**x** " * 20_000
    out = render_markdown(big)
    assert elements(out) == [("pre", {"class": "msnb-plain"})]
    assert text(out) == big + "\n"


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


# -- highlight -----------------------------------------------------------------


def test_highlight_is_case_insensitive_and_text_only() -> None:
    out = render_message(HumanMessage("Redis is **REDIS** and [redis](https://redis.io)"), 0, highlight="redis")
    assert_safe(out)
    marks = re.findall(r"<mark>(.*?)</mark>", by_class_html(out, "msnb-content"))
    assert marks == ["Redis", "REDIS", "redis"]
    assert [a["href"] for t, a in elements(out) if t == "a"] == ["https://redis.io"]


@pytest.mark.parametrize(
    ("content", "term", "marked"),
    [
        ("a <B> & b", "<b>", "&lt;B&gt;"),
        ("fish & chips", "amp", None),
        ("x &amp; y", "&", "&amp;"),
        ("x &amp;amp; y", "&amp;", "&amp;amp;"),
        ('say "hi"', '"hi"', "&quot;hi&quot;"),
        ("the class of strong", "class", "class"),
        ("a.b*c", ".b*", ".b*"),
    ],
)
def test_highlight_keeps_escaping(content: str, term: str, marked: str | None) -> None:
    out = render_message(HumanMessage(content), 0, highlight=term)
    assert_safe(out)
    body = by_class_html(out, "msnb-content")
    assert re.findall(r"<mark>(.*?)</mark>", body) == ([marked] if marked else [])
    assert text(out) == text(render_message(HumanMessage(content), 0))


def test_highlight_reaches_tool_calls_but_not_raw_json() -> None:
    ai = AIMessage("", tool_calls=[{"name": "lookup", "args": {"q": "Paris"}, "id": "c", "type": "tool_call"}])
    out = render_message(ai, 0, highlight="paris")
    assert out.count("<mark>") == 1
    assert "<mark>Paris</mark>" in by_class_html(out, "msnb-json")


@pytest.mark.parametrize("term", [None, "", "   "])
def test_blank_highlight_marks_nothing(term: str | None) -> None:
    assert "<mark>" not in render_message(HumanMessage("a b"), 0, highlight=term)


# -- CSS -----------------------------------------------------------------------


def _selectors(rules: list[Any]) -> list[str]:
    found = []
    for rule in rules:
        assert rule.type in {"qualified-rule", "at-rule"}, rule
        if rule.type == "at-rule":
            assert rule.lower_at_keyword == "media", rule.at_keyword  # no @import, @font-face, @keyframes
            found += _selectors(tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True))
        else:
            found += [s.strip() for s in tinycss2.serialize(rule.prelude).split(",")]
    return found


_SCOPES = {".msnb-viewer", ".msnb-viewer-widget", ".msnb-page", ".msnb-scroll", ".msnb-page.msnb-page"}


def _css_rules() -> list[Any]:
    css = viewer_css()
    return tinycss2.parse_stylesheet(css[len("<style>") : -len("</style>")], skip_comments=True, skip_whitespace=True)


def test_css_every_selector_is_scoped() -> None:
    css = viewer_css()
    assert css.startswith("<style>") and css.endswith("</style>") and css.count("<") == 2
    assert viewer_css() is css  # built once
    selectors = _selectors(_css_rules())
    assert len(selectors) > 20
    for selector in selectors:
        words = re.split(r"\s+", selector)
        roots = [i for i, word in enumerate(words) if word in _SCOPES]  # the class itself, not .msnb-viewer-x
        assert roots, selector
        after = words[roots[0] + 1 :]
        assert not {"~", "+"} & set(after), selector  # siblings would leave the viewer
        for word in words:
            assert not re.match(r"(?:body|html|\*|:root)\b", word.lstrip(">")), selector
        assert "*" not in selector, selector


def test_css_themes() -> None:
    css = viewer_css()
    assert "var(--jp-layout-color1, #ffffff)" in css and "var(--jp-layout-color1, #1e1e1e)" in css
    assert "@media (prefers-color-scheme: dark)" in css
    for hook in ('[data-jp-theme-light="false"] .msnb-viewer', ".theme-dark .msnb-viewer"):
        assert hook in css
    for role in ("human", "ai", "system", "tool", "function", "chat", "unknown"):
        assert f".msnb-viewer .msnb-role-{role} {{ --msnb-accent:" in css


def _media_dark_blocks() -> list[str]:
    return [
        tinycss2.serialize(rule.content)
        for rule in _css_rules()
        if rule.type == "at-rule" and "prefers-color-scheme: dark" in tinycss2.serialize(rule.prelude)
    ]


def test_css_page_goes_dark_when_the_browser_prefers_dark() -> None:
    blocks = _media_dark_blocks()
    assert len(blocks) == 2
    page = blocks[1]
    # On the page the dark JupyterLab variables are set (stock widgets follow), after the
    # light-theme hook and at least as specific, so Voilà's light theme cannot force white.
    assert page.lstrip().startswith(".msnb-page.msnb-page, .msnb-page .msnb-viewer")
    assert "--jp-layout-color1: #1b1f24" in page and "--jp-widgets-input-background-color: #1b1f24" in page
    assert "color-scheme: dark" in page
    css = viewer_css()
    assert css.index('[data-jp-theme-light="true"] .msnb-viewer') < css.index(".msnb-page.msnb-page")
    # Every background the palette uses is a theme variable first, so ?voila-theme=dark wins.
    assert not re.search(r"--msnb-bg2?: #", css)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_css_focus_ring_and_find_outline_are_visible_in_both_themes() -> None:
    css = viewer_css()
    assert ".msnb-viewer :focus-visible { outline: 2px solid var(--msnb-focus)" in css
    assert ".msnb-page :focus-visible { outline: 2px solid var(--msnb-focus) !important" in css
    assert ".msnb-viewer .msnb-hit-current { outline: 3px solid var(--msnb-hit)" in css
    light_bgs = ["#ffffff", "#f6f8fa"]
    dark_bgs = ["#1e1e1e", "#111418", "#1b1f24", "#111111", "#212121"]  # ours and JupyterLab's dark layouts
    for var in ("--msnb-focus", "--msnb-hit"):
        values = re.findall(rf"{var}: (#[0-9a-f]{{6}});", css)
        light, dark = values[0], values[1]  # the light block comes first, then the dark media block
        assert all(_contrast(light, bg) >= 3 for bg in light_bgs), (var, light)
        assert all(_contrast(dark, bg) >= 3 for bg in dark_bgs), (var, dark)


def test_css_selected_list_row_reads_well_in_both_themes() -> None:
    """The session table's selected row: our colours (not the browser's), text 4.5:1, row and ring 3:1."""
    css = viewer_css()
    rule = re.search(r"\.msnb-viewer-widget select\[size\] option:checked, [^{]*\{([^}]*)\}", css)
    assert rule, "no rule for the selected row"
    body = rule.group(1)
    assert "color: var(--msnb-selected-fg)" in body and "-webkit-text-fill-color: var(--msnb-selected-fg)" in body
    # Chromium paints a focused list's selection with !important UA colours: an image covers them.
    assert "linear-gradient(var(--msnb-selected-bg), var(--msnb-selected-bg))" in body
    bg_light, bg_dark = re.findall(r"--msnb-selected-bg: (#[0-9a-f]{6});", css)[:2]
    fg_light, fg_dark = re.findall(r"--msnb-selected-fg: (#[0-9a-f]{6});", css)[:2]
    focus_light, focus_dark = re.findall(r"--msnb-focus: (#[0-9a-f]{6});", css)[:2]
    assert _contrast(fg_light, bg_light) >= 4.5 and _contrast(fg_dark, bg_dark) >= 4.5
    light_lists = ["#ffffff", "#f6f8fa"]
    dark_lists = ["#1b1f24", "#1e1e1e", "#111418", "#111111", "#212121", "#262b31"]  # ours and JupyterLab's
    assert all(_contrast(bg_light, b) >= 3 and _contrast(focus_light, b) >= 3 for b in light_lists)
    assert all(_contrast(bg_dark, b) >= 3 and _contrast(focus_dark, b) >= 3 for b in dark_lists)
    # The colours follow the dark theme in JupyterLab, the page's ?voila-theme=dark and the browser's preference.
    dark_block = _palette_block(css, '[data-jp-theme-light="false"] .msnb-viewer-widget')
    assert f"--msnb-selected-bg: {bg_dark};" in dark_block and f"--msnb-focus: {focus_dark};" in dark_block
    assert f"--msnb-selected-bg: {bg_dark};" in _palette_block(css, ".theme-dark .msnb-page")
    media = css.split("@media (prefers-color-scheme: dark) {", 1)[1]
    assert media.startswith(" .msnb-viewer, .msnb-viewer-widget, .msnb-page {") and bg_dark in media.split("}")[0]
    assert ".msnb-viewer-widget :focus-visible { outline: 2px solid var(--msnb-focus)" in css


def _palette_block(css: str, selector: str) -> str:
    start = css.index(selector)
    return css[start : css.index("}", start)]


def test_css_page_targets_scroll_area_and_code() -> None:
    css = viewer_css()
    assert "--jp-widgets-inline-height: 32px" in css
    assert ".msnb-page .jupyter-button, .msnb-page .widget-button, .msnb-page .msnb-target { min-height: 32px;" in css
    assert re.search(r"\.msnb-page \.widget-select select option, [^{]*\{ min-height: 32px;", css)
    assert re.search(r"\.msnb-scroll \{ height: [^;]+; overflow: hidden;", css)
    # The page's own <div class="msnb-viewer"> scrolls: a new element each render, so it starts at the top.
    assert re.search(r"\.msnb-scroll \.widget-html-content > \.msnb-viewer \{ height: 100%; overflow-y: auto;", css)
    code = re.search(r"\.msnb-viewer pre\.msnb-code \{([^}]*)\}", css)
    assert code and "white-space: pre;" in code.group(1) and "overflow-x: auto" in code.group(1)
    for token in TOKEN_CLASSES:  # every class the highlighter emits has a colour in both themes
        assert f".msnb-viewer .msnb-tk-{token} {{ color: var(--msnb-tk-{token}); }}" in css
        assert len(re.findall(rf"--msnb-tk-{token}: #[0-9a-f]{{6}};", css)) >= 2


# -- Markdown export -----------------------------------------------------------


def test_to_markdown_transcript() -> None:
    messages: list[Any] = [
        SystemMessage("be nice"),
        HumanMessage("what is ```this```?", name="alice"),
        AIMessage("", tool_calls=[{"name": "search", "args": {"q": "```"}, "id": "call_1", "type": "tool_call"}]),
        ToolMessage("found", tool_call_id="call_1"),
        AIMessage([{"type": "text", "text": "see"}, {"type": "image_url", "image_url": "https://e.com/a (1).png"}]),
        ChatMessage(content="hmm", role="critic"),
        CorruptMessageError("k", 6, "{oops", "not valid JSON"),
    ]
    md = to_markdown(messages, title="Session\nabc")
    assert md.startswith("# Session abc\n\n### #0 system\n\nbe nice\n\n### #1 human (alice)\n\nwhat is ```this```?")
    assert '### #2 ai\n\n**tool call** `search` `call_1`\n\n````json\n{\n  "q": "```"\n}\n````' in md
    assert "### #3 tool\n\n*result of tool call* `call_1`\n\nfound" in md
    assert "### #4 ai\n\nsee\n\n[image](<https://e.com/a (1).png>)" in md
    assert "### #5 chat: critic\n\nhmm" in md
    assert "### #6 unreadable entry\n\n```\nelement #6 of key 'k'" in md
    # The exported Markdown renders back into the same structure.
    back = render_markdown(md)
    assert_safe(back)
    assert [t for t, _ in elements(back)].count("h3") == 7


def test_to_markdown_empty() -> None:
    assert to_markdown([]) == "\n"


# -- properties ----------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=200)
_markup = st.text(alphabet=st.sampled_from(list("<>&\"'`=/!-[]()*_#:; \n\tjavascript:onerror<svg>")), max_size=80)
_any_text = st.one_of(_text, _markup)
_MARKDOWN_TAGS = ALLOWED_TAGS - {"div", "span", "details", "summary", "mark"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_text)
def test_any_markdown_only_produces_renderer_tags(source: str) -> None:
    out = render_markdown(source)
    assert_safe(out)
    assert {t for t, _ in elements(out)} <= _MARKDOWN_TAGS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_text, _any_text)
def test_any_content_and_highlight_is_safe_and_marks_do_not_change_text(content: str, term: str) -> None:
    plain = render_message(HumanMessage(content), 0)
    marked = render_message(HumanMessage(content), 0, highlight=term)
    assert_safe(marked)
    assert text(marked) == text(plain)


def _shape(fragment: str) -> list[tuple[str, list[str]]]:
    return [(t, sorted(a)) for t, a in elements(fragment)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_any_text.filter(lambda s: s.strip() != ""))
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


# -- code highlighting ---------------------------------------------------------


def test_fenced_code_is_highlighted_with_token_classes_only() -> None:
    source = "```python\n@cache\ndef f(x: int) -> str:\n    return '</code></pre><script>alert(1)</script>'  # é\n```"
    out = render_markdown(source)
    assert_safe(out)
    tags = elements(out)
    assert tags[:2] == [("pre", {"class": "msnb-code"}), ("code", {"class": "language-python msnb-hl"})]
    classes = {a["class"] for t, a in tags[2:]}
    assert {t for t, _ in tags[2:]} == {"span"}
    assert {"msnb-tk-keyword", "msnb-tk-function", "msnb-tk-string", "msnb-tk-comment"} <= classes
    assert classes <= {f"msnb-tk-{token}" for token in TOKEN_CLASSES}
    assert "style" not in out and "<script" not in out
    assert text(out) == source.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n\n"  # the code, character for character


@pytest.mark.parametrize(
    ("lang", "highlighted"),
    [
        ("python", True),
        ("PY", True),
        ("js", True),
        ("c++", True),
        ("C#", True),
        ("bash", True),
        ("json", True),
        ("text", False),
        ("plaintext", False),
        ("no-such-language", False),
        ("", False),
        ('py"><img src=x onerror=alert(1)>', False),  # reduced to "pyimgsrcxonerroralert1": unknown
    ],
)
def test_fence_language_picks_the_lexer_and_never_guesses(lang: str, highlighted: bool) -> None:
    out = render_markdown(f"```{lang}\nif (a < b) {{ return 'x'; }}\n```")
    assert_safe(out)
    assert ("msnb-hl" in out) is highlighted
    assert bool(by_class(out, "msnb-tk-keyword") + by_class(out, "msnb-tk-string")) is highlighted
    assert text(out) == "if (a < b) { return 'x'; }\n\n"


def test_huge_code_block_is_plain() -> None:
    code = "x = 1\n" * (HIGHLIGHT_LIMIT // 6 + 1)
    out = render_markdown(f"```python\n{code}```")
    assert elements(out) == [("pre", {"class": "msnb-code"}), ("code", {"class": "language-python"})]
    assert text(out) == code + "\n"


def test_pygments_is_imported_only_for_a_code_block() -> None:
    script = (
        "import sys\n"
        "from langchain_core.messages import AIMessage\n"
        "from memstore_nb.render import render_page, viewer_css\n"
        "viewer_css(); render_page([(0, AIMessage('plain *text*\\n\\n```\\nno language\\n```'))])\n"
        "print('pygments' in sys.modules)\n"
        "render_page([(0, AIMessage('```python\\nx = 1\\n```'))])\n"
        "print('pygments' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["False", "True"]


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


def test_a_page_highlights_within_its_budget_and_reuses_the_cache() -> None:
    block = "```python\n" + "value = compute(value)  # step\n" * 60 + "```"  # about 2,000 characters of code
    n = PAGE_HIGHLIGHT_BUDGET // 2_000 + 3
    items: list[tuple[int, Any]] = [(i, AIMessage(block.replace("step", f"step {i}"))) for i in range(n)]
    budget, expected = PAGE_HIGHLIGHT_BUDGET, 0
    for _, message in items:  # each block is highlighted while what is left of the budget covers it
        size = len(str(message.content).split("\n", 1)[1].rsplit("\n", 1)[0]) + 1
        if size <= budget:
            budget, expected = budget - size, expected + 1
    with highlight_budget(0):  # nothing new may be highlighted: the page below starts from a cold cache
        assert "msnb-hl" not in render_markdown(items[0][1].content)
    page = render_page(items, css=False)
    assert_safe(page)
    highlighted = page.count("language-python msnb-hl")
    assert highlighted == expected and 0 < expected < n
    assert page.count('class="language-python"') == n - highlighted  # the rest is plain, still labelled
    # Once highlighted, a block costs nothing: rendering again highlights the same ones and more.
    again = render_page(items, css=False)
    assert again.count("language-python msnb-hl") > highlighted
    assert render_markdown(items[0][1].content) == render_markdown(items[0][1].content)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _any_text.filter(lambda s: "`" not in s and "\r" not in s and "\x00" not in s),
    st.sampled_from(["python", "html", "javascript", "json", "bash", "c++", "sql", "xml", "diff"]),
)
def test_any_code_in_any_known_language_is_escaped_and_kept_verbatim(code: str, lang: str) -> None:
    out = render_markdown(f"```{lang}\n{code}\n```")
    assert_safe(out)
    tags = elements(out)
    assert tags[0] == ("pre", {"class": "msnb-code"})
    assert {t for t, _ in tags[2:]} <= {"span"}
    assert all(a["class"].startswith("msnb-tk-") for _, a in tags[2:])
    assert text(out) == code + "\n\n"
