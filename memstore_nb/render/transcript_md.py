"""A Markdown transcript of messages, for export."""

from __future__ import annotations

import re
from collections.abc import Iterable

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from ..codec import message_text
from ..errors import CorruptMessageError
from .fields import Item, image_url, json_text, role_label, visible_surrogates

__all__ = ["markdown_heading", "markdown_section", "to_markdown"]

_EXPORT_URL = re.compile(r"https?://[^<>\r\n]+", re.IGNORECASE)  # a CommonMark <destination>


def _fenced(text: str, lang: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _code(text: str) -> str:
    text = " ".join(text.split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}" if text else "` `"


def _export_content(message: BaseMessage) -> list[str]:
    if isinstance(message.content, str):
        return [message_text(message)] if message.content else []
    out = []
    for block in message.content:
        url = image_url(block) if isinstance(block, dict) else None
        if isinstance(block, str):
            out.append(block)
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            out.append(block["text"])
        elif isinstance(url, str) and _EXPORT_URL.fullmatch(url):
            out.append(f"[image](<{url}>)")
        else:
            out.append(_fenced(json_text(block), "json"))
    return out


def to_markdown(messages: Iterable[Item], *, title: str = "") -> str:
    """A Markdown transcript of messages, for export.

    Each message gets a ``### #i role`` heading, then its content as written
    (it usually is Markdown), then its tool calls as fenced JSON. The format
    is unchanged by the viewer's second edition (notebooks compare it).

    Args:
        messages: the messages, oldest first; unreadable elements
            (:class:`CorruptMessageError`) are noted where they occur.
        title: an optional top-level heading.

    Returns:
        The Markdown text.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> print(to_markdown([HumanMessage("hi")]))
        ### #0 human
        <BLANKLINE>
        hi
        <BLANKLINE>
    """
    parts = [markdown_heading(title)] if title.strip() else []
    parts += [markdown_section(i, item) for i, item in enumerate(messages)]
    return "\n\n".join(parts) + "\n"


def markdown_heading(title: str) -> str:
    """The transcript's top-level heading (``# title``, on one line)."""
    return visible_surrogates(f"# {' '.join(title.split())}")


def markdown_section(i: int, item: Item) -> str:
    """Message ``i`` as :func:`to_markdown` writes it (sections are joined by a blank line), so a long
    session can be written section by section; a lone surrogate shows as its escape (``\\ud800``)."""
    if isinstance(item, CorruptMessageError):
        return visible_surrogates(f"### #{item.index} unreadable entry\n\n{_fenced(str(item))}")
    heading = f"### #{i} {role_label(item)[1]}"
    if item.name:
        heading += f" ({' '.join(str(item.name).split())})"
    section = [heading]
    if isinstance(item, ToolMessage):
        section.append(f"*result of tool call* {_code(str(item.tool_call_id))}")
    section.extend(_export_content(item))
    if isinstance(item, AIMessage):
        for call in item.tool_calls:
            section.append(f"**tool call** {_code(call['name'])} {_code(str(call.get('id') or ''))}")
            section.append(_fenced(json_text(call.get("args", {})), "json"))
        for bad in item.invalid_tool_calls:
            section.append(f"**invalid tool call** {_code(str(bad.get('name') or ''))}: {bad.get('error') or ''}")
            section.append(_fenced(str(bad.get("args") or "")))
    return visible_surrogates("\n\n".join(section))
