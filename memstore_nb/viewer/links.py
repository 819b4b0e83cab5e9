"""Tool call <-> tool result: pairing them in a window of messages, and the links between them."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, ToolMessage

from .fields import Item

__all__ = ["ToolLinks", "call_anchor", "jump", "tool_links"]


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
        >>> from langchain_core.messages import AIMessage, ToolMessage
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
