"""How message fields show: ids and names, JSON, roles, model, token usage, times. Pure functions."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

from langchain_core.messages import BaseMessage, ChatMessage

from ..codec import Item, escape_controls, message_role

__all__ = [
    "Item",
    "Time",
    "details",
    "display_id",
    "esc",
    "exact_time_text",
    "image_url",
    "json_block",
    "json_text",
    "message_time",
    "model_name",
    "role_label",
    "shorten",
    "time_text",
    "usage_text",
    "visible_surrogates",
]

Time = dt.datetime | str | int | float
_ROLES = frozenset({"human", "ai", "system", "tool", "function"})
_SHOWN = 120  # longest model name / unparsed time shown in a header
# Characters json.dumps(ensure_ascii=False) leaves raw that can reorder or hide text: shown as \\uXXXX,
# which is still valid JSON for the same value.
_JSON_INVISIBLE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


# A lone surrogate (half of a UTF-16 pair) is a valid Python str character and a valid JSON escape
# ("\ud800"), but UTF-8 cannot carry it: the kernel's messages to the page, a file and a download all
# fail on one. Shown as its escape it is visible; inside a JSON string the escape is the same value.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def visible_surrogates(text: str) -> str:
    """``text`` with every lone surrogate as its six-character escape (``\\ud800``), so it encodes as UTF-8.

    Safe on HTML (the escape is plain text), on Markdown, and on JSON text written with
    ``ensure_ascii=False``, where the escape inside a string decodes back to the same character.

    Example:
        >>> print(visible_surrogates("a" + chr(0xD800) + "b"))
        a\\ud800b
    """
    if _LONE_SURROGATE.search(text) is None:  # nearly always: no copy
        return text
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def esc(text: object) -> str:
    """``str(text)`` escaped for element text and quoted attributes."""
    return html.escape(str(text), quote=True)


def shorten(text: str, limit: int = _SHOWN) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display_id(text: object) -> str:
    """An id, name or role as HTML text: control and bidi characters shown as escapes, then HTML-escaped.

    For session ids, tool names, call ids and model names, where ``"evil\\u202ecod.exe"`` must not
    pass for ``"evilexe.doc"`` and ``<b>`` must stay text.

    Args:
        text: the value (anything; ``str()`` is applied).

    Returns:
        Text safe to put inside an element (and inside a quoted attribute).

    Example:
        >>> display_id("evil\\u202ecod.exe <b>")
        'evil\\\\u202ecod.exe &lt;b&gt;'
    """
    return esc(escape_controls(str(text)))


def json_text(value: object) -> str:
    """``value`` as indented JSON (``repr`` for what JSON cannot hold); bidi and C1 controls as ``\\uXXXX``."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):  # circular structures
        return escape_controls(repr(value), keep_lines=True)
    return _JSON_INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def image_url(block: dict[str, Any]) -> object | None:
    """The URL of an image content block (``image_url`` or LangChain's standard ``image``), else ``None``."""
    kind = block.get("type")
    if kind == "image_url":
        inner = block.get("image_url")
        return inner.get("url") if isinstance(inner, dict) else inner
    if kind == "image" and "url" in block:  # LangChain's standard image block
        return block["url"]
    return None


def role_label(message: BaseMessage) -> tuple[str, str]:
    """(CSS role suffix from a fixed set, label to show)."""
    role = message_role(message)
    if isinstance(message, ChatMessage):
        return "chat", f"chat: {role}"
    if role in _ROLES:
        return role, role
    return "unknown", f"unknown ({getattr(message, 'type', '?')})"


_TIME_KEYS = ("timestamp", "created_at", "created", "time", "date")


def model_name(message: BaseMessage) -> str:
    meta = message.response_metadata or {}
    for key in ("model_name", "model", "model_id"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _usage(message: BaseMessage) -> tuple[int | None, int | None, int | None]:
    """(input, output, total) tokens from usage_metadata, or the provider's own response_metadata shape."""
    usage = getattr(message, "usage_metadata", None)
    if isinstance(usage, dict) and usage:
        got = (usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens"))
    else:
        meta = message.response_metadata or {}
        raw = meta.get("token_usage") or meta.get("usage") or {}
        raw = raw if isinstance(raw, dict) else {}
        got = (
            raw.get("prompt_tokens", raw.get("input_tokens")),
            raw.get("completion_tokens", raw.get("output_tokens")),
            raw.get("total_tokens"),
        )
    counts = tuple(_count(v) for v in got)
    return counts[0], counts[1], counts[2]


def usage_text(message: BaseMessage) -> str:
    tokens_in, tokens_out, total = _usage(message)
    parts = []
    if tokens_in is not None:
        parts.append(f"{tokens_in:,} in")
    if tokens_out is not None:
        parts.append(f"{tokens_out:,} out")
    if total is None and tokens_in is not None and tokens_out is not None:
        total = tokens_in + tokens_out
    if total is not None:
        parts.append(f"{total:,} tokens")
    return " · ".join(parts)


def time_text(value: object) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS[ UTC]``; epoch seconds or milliseconds; other text as it is, shortened."""
    when: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if 1e12 <= value < 1e14 else value
        if 1e8 <= seconds < 1e11:
            when = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            when = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            return shorten(text)
    if when is None:
        return ""
    if when.tzinfo is not None:
        return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return when.strftime("%Y-%m-%d %H:%M:%S")


def exact_time_text(value: str | None) -> str:
    """An ISO 8601 time (a checkpoint's ``ts``) to the millisecond: ``YYYY-MM-DD HH:MM:SS.mmm UTC``."""
    if not value:
        return "no time"
    try:
        when = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        return shorten(value)
    stamp = (when.astimezone(dt.timezone.utc) if when.tzinfo is not None else when).strftime("%Y-%m-%d %H:%M:%S.%f")
    return stamp[:-3] + (" UTC" if when.tzinfo is not None else "")


def message_time(message: BaseMessage) -> object:
    for source in (message.response_metadata, message.additional_kwargs):
        if isinstance(source, dict):
            for key in _TIME_KEYS:
                if source.get(key) not in (None, ""):
                    return source[key]
    return None


def json_block(value: object, klass: str = "msnb-json") -> str:
    """``value`` as indented, escaped JSON in a ``<pre>``."""
    return f'<pre class="{klass}">{esc(json_text(value))}</pre>'


def details(summary: str, body: str, klass: str, *, open_: bool = False, anchor: str = "") -> str:
    """A ``<details>`` element; ``summary`` and ``body`` are HTML this package made, ``anchor`` a safe id."""
    attrs = f' id="{anchor}"' if anchor else ""
    attrs += " open" if open_ else ""
    return f'<details class="{klass}"{attrs}><summary>{summary}</summary>{body}</details>'
