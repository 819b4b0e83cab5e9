"""to_markdown: a session as a Markdown transcript."""

from __future__ import annotations

from typing import Any

from helpers.html import (
    assert_safe,
    elements,
)
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from memstore_nb.errors import CorruptMessageError
from memstore_nb.render import (
    render_markdown,
    to_markdown,
)

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
