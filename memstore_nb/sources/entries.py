"""One stored element as a listing shows it: the message or its CorruptMessageError, its role, a preview."""

from __future__ import annotations

from typing import Any

from ..codec import Item, content_text, decode_message, load_json, message_role, message_text, type_role
from ..errors import CorruptMessageError
from ..replies import reply_text

__all__ = ["PREVIEW_CHARS", "Item", "decode_entry", "entry_role", "preview", "raw_role", "searchable", "shorten"]


PREVIEW_CHARS = 80


def decode_entry(raw: Any, key: str, index: int) -> Item | None:
    """The message stored as ``raw`` at ``key``'s ``index``, its :class:`CorruptMessageError`, or None (no element)."""
    if isinstance(raw, Exception) or raw is None:
        return None
    try:
        return decode_message(raw, key=key, index=index)
    except CorruptMessageError as exc:
        return exc


def entry_role(item: Any) -> str:
    """A list entry's role for filters and counts: the message's role, or ``"unreadable"``."""
    return "unreadable" if isinstance(item, CorruptMessageError) else message_role(item)


def raw_role(raw: object) -> str:
    """The role of a stored element without building the message (a chat message's own role)."""
    try:
        doc = load_json(raw)  # type: ignore[arg-type]
        kind = doc["type"]
        if kind in ("chat", "ChatMessageChunk"):
            return str(doc["data"]["role"])
        role = type_role(kind)
        if role != "unknown":
            return role
    except (ValueError, RecursionError, KeyError, TypeError):
        pass
    return entry_role(decode_entry(raw, "", -1))


def preview(item: Any) -> tuple[str, str]:
    """``(role, the start of the text)`` of an entry; ``("", "")`` for none."""
    if item is None:
        return "", ""
    if isinstance(item, CorruptMessageError):
        return "unreadable", shorten(item.preview)
    return message_role(item), shorten(message_text(item))


def shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis where it was cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def searchable(raw: Any) -> str:
    """The text a search looks in: the message's content, or the raw element when it is not a message."""
    # orjson and a dict walk instead of building pydantic models: 100,000
    # messages search in well under a second this way.
    try:
        doc = load_json(raw)
        content = doc["data"]["content"]
    except (ValueError, RecursionError, KeyError, TypeError, IndexError):
        return reply_text(raw)
    return content_text(content)
