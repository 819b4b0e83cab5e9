"""Tool calls and tool results: pairing them in a window of messages, and how they show, linked both ways."""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage

from ..codec import escape_controls
from .fields import Item, details, display_id, esc, json_block, json_text

__all__ = ["ToolLinks", "call_anchor", "json_result", "jump", "tool_calls", "tool_links", "tool_ref"]

_JSON_LIMIT = 200_000  # tool results longer than this are shown as text, not parsed
_JSON_OPEN_LINES = 16  # pretty JSON up to this many lines starts open


@dataclass(frozen=True)
class ToolLinks:
    """Which tool result answers which tool call, by message index.

    A call is named by ``(index of the AI message, call id)``, since call ids
    repeat across a long session. Build one with :func:`tool_links` over any
    window of messages (the widget may look further than the page it shows)
    and pass it to :func:`render_page`; :meth:`merged` joins two windows.

    Attributes:
        results: ``(AI message index, call id)`` -> index of the tool result.
        calls: tool result index -> ``(AI message index, call id)`` of its call.
        names: ``(AI message index, call id)`` -> the tool's name.
    """

    results: Mapping[tuple[int, str], int] = field(default_factory=dict)
    calls: Mapping[int, tuple[int, str]] = field(default_factory=dict)
    names: Mapping[tuple[int, str], str] = field(default_factory=dict)

    def merged(self, other: ToolLinks) -> ToolLinks:
        """These links updated with ``other``'s (``other`` wins where both know a message)."""
        return ToolLinks(
            {**self.results, **other.results}, {**self.calls, **other.calls}, {**self.names, **other.names}
        )


def tool_links(items: Iterable[tuple[int, Item]]) -> ToolLinks:
    """Pair tool results with their calls in a window of messages.

        A result belongs to the latest call with its id at or before it (ids may
        repeat in a long session); a call's result is the first such result.

        Args:
            items: ``(index, message or CorruptMessageError)`` pairs, in any order.

        Returns:
            The links, for :func:`render_page` / :func:`render_message`.

        Example:
            >>> import json

    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
            >>> call = {"name": "add", "args": {}, "id": "c1", "type": "tool_call"}
            >>> links = tool_links([(4, AIMessage("", tool_calls=[call])), (5, ToolMessage("3", tool_call_id="c1"))])
            >>> links.results[(4, "c1")], links.calls[5], links.names[(4, "c1")]
            (5, (4, 'c1'), 'add')
    """
    results: dict[tuple[int, str], int] = {}
    calls: dict[int, tuple[int, str]] = {}
    names: dict[tuple[int, str], str] = {}
    latest: dict[str, int] = {}
    for index, item in sorted(items, key=operator.itemgetter(0)):
        if isinstance(item, AIMessage):
            for call in [*item.tool_calls, *item.invalid_tool_calls]:
                call_id = str(call.get("id") or "")
                if call_id:
                    latest[call_id] = index
                    names[(index, call_id)] = str(call.get("name") or "")
        elif isinstance(item, ToolMessage):
            call_id = str(item.tool_call_id or "")
            if call_id in latest:
                key = (latest[call_id], call_id)
                calls[index] = key
                results.setdefault(key, index)
    return ToolLinks(results, calls, names)


def call_anchor(index: int, call_id: str) -> str:
    """An element id for one call: hex only, so nothing of the call id can leak into the attribute."""
    digest = hashlib.sha256(f"{index}\x00{call_id}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"msnb-call-{digest[:16]}"


def jump(label: str, target: int, anchor: str, on_page: Collection[int] | None) -> str:
    """A link to another message: an anchor when it is on the page, else its number for the widget."""
    text = f"{label}: #{target:,}"
    if on_page is None or target in on_page:
        return f'<a class="msnb-jump" href="#{anchor}" data-target="{target}">{text}</a>'
    return f'<span class="msnb-jump msnb-offpage" data-target="{target}">{text}</span>'


def _elsewhere(label: str) -> str:
    # The widget offers a button beside the pager for it (no script here: a click in this HTML reaches no Python).
    return f'<span class="msnb-jump msnb-offpage msnb-elsewhere">{label}: not on this page</span>'


# -- how calls and results show --------------------------------------------------


def json_result(message: ToolMessage, name: str) -> str | None:
    """A tool result whose text is a JSON object or array: pretty-printed, collapsible, with the tool's name."""
    text = message.content
    if not isinstance(text, str) or len(text) > _JSON_LIMIT or text.lstrip()[:1] not in {"{", "["}:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict | list):
        return None
    pretty = json_text(value)
    size = f"{len(value):,} {'key' if isinstance(value, dict) else 'item'}{'' if len(value) == 1 else 's'}"
    tool = f'<span class="msnb-tool">{display_id(name)}</span> ' if name else ""
    summary = f"{tool}result · JSON, {size}"
    open_ = pretty.count("\n") < _JSON_OPEN_LINES
    body = f'<pre class="msnb-json">{esc(pretty)}</pre>'
    return details(summary, body, "msnb-result msnb-result-json", open_=open_)


def tool_calls(message: BaseMessage, index: int, links: ToolLinks, on_page: Collection[int] | None) -> str:
    """An AI message's tool calls (and invalid ones) as open ``<details>``, each with its anchor and result link."""
    if not isinstance(message, AIMessage):
        return ""
    parts = []
    for call in message.tool_calls:
        call_id = str(call.get("id") or "")
        summary = f'tool call <code class="msnb-tool">{display_id(call.get("name", ""))}</code>'
        summary += f' <span class="msnb-id">{display_id(call_id)}</span>'
        result = links.results.get((index, call_id)) if call_id else None
        if result is not None:
            summary += " " + jump("result", result, f"msnb-msg-{result}", on_page)
        elif call_id and on_page is not None:
            summary += " " + _elsewhere("result")
        anchor = call_anchor(index, call_id) if call_id else ""
        parts.append(details(summary, json_block(call.get("args", {})), "msnb-call", open_=True, anchor=anchor))
    for bad in message.invalid_tool_calls:
        call_id = str(bad.get("id") or "")
        summary = f'invalid tool call <code class="msnb-tool">{display_id(bad.get("name") or "")}</code>'
        summary += f' <span class="msnb-id">{display_id(call_id)}</span>'
        result = links.results.get((index, call_id)) if call_id else None
        if result is not None:
            summary += " " + jump("result", result, f"msnb-msg-{result}", on_page)
        elif call_id and on_page is not None:
            summary += " " + _elsewhere("result")
        body = f'<div class="msnb-error">{esc(bad.get("error") or "")}</div>'
        body += f'<pre class="msnb-json">{esc(escape_controls(str(bad.get("args") or ""), keep_lines=True))}</pre>'
        anchor = call_anchor(index, call_id) if call_id else ""
        parts.append(details(summary, body, "msnb-call msnb-call-invalid", open_=True, anchor=anchor))
    if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
        parts.append(details("tool call chunks", json_block(message.tool_call_chunks), "msnb-call"))
    return "".join(parts)


def tool_ref(message: ToolMessage, index: int, links: ToolLinks, on_page: Collection[int] | None) -> str:
    """The line above a tool result: which tool, which call id, and a link to the call."""
    call_id = str(message.tool_call_id or "")
    status = ' <span class="msnb-status-error">error</span>' if message.status == "error" else ""
    call = links.calls.get(index)
    name = str(message.name or (links.names.get(call, "") if call else ""))
    tool = f'<span class="msnb-tool">{display_id(name)}</span>' if name else "tool call"
    if not call_id:
        return f'<div class="msnb-toolref">result of {tool} without call id{status}</div>'
    ref = f'result of {tool} <span class="msnb-id">{display_id(call_id)}</span>'
    if call is not None:
        ref += " " + jump("call", call[0], call_anchor(*call), on_page)
    elif on_page is not None:
        ref += " " + _elsewhere("call")
    return f'<div class="msnb-toolref">{ref}{status}</div>'
