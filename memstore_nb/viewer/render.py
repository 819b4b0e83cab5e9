"""Safe HTML for LangChain messages: pure functions, no Redis, no widgets."""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage, message_to_dict

from ..codec import escape_controls, message_text
from ..errors import CorruptMessageError
from .export import to_markdown
from .fields import (
    Item,
    Time,
    details,
    display_id,
    esc,
    image_url,
    json_block,
    json_text,
    message_time,
    model_name,
    role_label,
    shorten,
    time_text,
    usage_text,
)
from .highlight import highlight_budget
from .links import ToolLinks, json_result, tool_calls, tool_links, tool_ref
from .markdown import REL, render_markdown
from .theme import PAGE_CLASS, SCROLL_CLASS, VIEWER_CLASS, viewer_css

__all__ = [
    "FOLD_CHARS",
    "PAGE_CLASS",
    "SCROLL_CLASS",
    "VIEWER_CLASS",
    "ToolLinks",
    "display_id",
    "render_markdown",
    "render_message",
    "render_page",
    "to_markdown",
    "tool_links",
    "viewer_css",
]

_URL_SHOWN = 80
# Text longer than this (or with more lines than _FOLD_LINES) is folded to a
# preview with "show all"; the full text is in the page, behind <details>.
FOLD_CHARS = 3_000
_FOLD_LINES = 60
_PREVIEW_LINES = 5
_PREVIEW_CHARS = 600

# Content-block URLs are raw (no Markdown decoding), hence the character ban.
_BLOCK_URL = re.compile(
    r"https?://[^\x00-\x20\x7f]+|data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=]+", re.IGNORECASE
)
_TAG = re.compile(r"(<[^>]*>)")


# -- pieces of a message -------------------------------------------------------


def _short(url: str) -> str:
    return url if len(url) <= _URL_SHOWN else f"{url[: _URL_SHOWN - 20]}… ({len(url):,} characters)"


def _image_block(url: object) -> str:
    url = url if isinstance(url, str) else json_text(url)
    if _BLOCK_URL.fullmatch(url):
        link = f'<a class="msnb-image-link" href="{esc(url)}" {REL}>{esc(_short(url))}</a>'
        return f'<div class="msnb-block msnb-image">image: {link}</div>'
    return f'<div class="msnb-block msnb-image">image (link disabled): <code>{display_id(_short(url))}</code></div>'


def _content(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return render_markdown(content) if content else ""
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(f'<div class="msnb-block">{render_markdown(block)}</div>')
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(f'<div class="msnb-block">{render_markdown(block["text"])}</div>')
        elif isinstance(block, dict) and image_url(block) is not None:
            parts.append(_image_block(image_url(block)))
        else:
            kind = block.get("type") if isinstance(block, dict) else None
            label = f"{kind} block" if isinstance(kind, str) else "block"
            parts.append(f'<div class="msnb-block msnb-other"><span class="msnb-label">{display_id(label)}</span>')
            parts.append(json_block(block) + "</div>")
    return "".join(parts)


def _fold(body: str, text: str, *, open_: bool) -> str:
    """Long content as a few lines of plain preview with "show all"; the whole text behind <details>."""
    lines = text.split("\n", _PREVIEW_LINES)[:_PREVIEW_LINES]
    preview = "\n".join(lines)[:_PREVIEW_CHARS].rstrip() + "…"
    more = (
        f'<span class="msnb-fold-more"><span class="msnb-fold-show">show all · {len(text):,} characters, '
        f'{text.count(chr(10)) + 1:,} lines</span><span class="msnb-fold-hide">show less</span></span>'
    )
    summary = f'<span class="msnb-fold-preview">{esc(preview)}</span>{more}'
    return details(summary, body, "msnb-fold", open_=open_)


# -- the header: model, token usage, time --------------------------------------


def _header(message: BaseMessage, label: str, index: int, time: Time | None) -> str:
    head = f'<span class="msnb-badge">{display_id(label)}</span><span class="msnb-index">#{index:,}</span>'
    if message.name:
        head += f'<span class="msnb-name"><bdi>{display_id(message.name)}</bdi></span>'
    model = model_name(message)
    if model:
        model = shorten(model)
        head += f'<span class="msnb-model"><bdi>{display_id(model)}</bdi></span>'
    usage = usage_text(message)
    if usage:
        head += f'<span class="msnb-usage">{usage}</span>'
    when = time_text(time if time is not None else message_time(message))
    if when:
        head += f'<span class="msnb-time"><bdi>{display_id(when)}</bdi></span>'
    if message.id:
        head += f'<span class="msnb-id"><bdi>{display_id(message.id)}</bdi></span>'
    return head


def _metadata(message: BaseMessage, raw_json: bool) -> str:
    fields: list[tuple[str, object]] = []
    if raw_json:
        fields += [("additional_kwargs", message.additional_kwargs), ("response_metadata", message.response_metadata)]
        if isinstance(message, AIMessage):
            fields.append(("usage_metadata", message.usage_metadata))
    if isinstance(message, ToolMessage):
        fields.append(("artifact", message.artifact))
    return "".join(
        details(f'<span class="msnb-label">{name}</span>', json_block(value), "msnb-meta")
        for name, value in fields
        if value
    )


def _raw(message: BaseMessage) -> str:
    try:
        doc: object = message_to_dict(message)
    except Exception:  # a message model we cannot dump must still show the rest
        doc = repr(message)
    return details("raw JSON", json_block(doc), "msnb-raw")


def _mark(fragment: str, term: str | None) -> str:
    """Wrap case-insensitive matches of ``term`` in ``<mark>``, in text only.

    ``fragment`` is HTML this module made: every text run in it is escaped,
    so ``<`` always starts one of our tags and a split on tags is exact.
    """
    if not term or not term.strip():
        return fragment
    pattern = re.compile(re.escape(term), re.IGNORECASE)
    out = []
    for piece in _TAG.split(fragment):
        text = html.unescape(piece) if piece and not piece.startswith("<") else ""
        if not text or not pattern.search(text):
            out.append(piece)
            continue
        pos = 0
        for hit in pattern.finditer(text):
            out.append(f"{esc(text[pos : hit.start()])}<mark>{esc(hit.group())}</mark>")
            pos = hit.end()
        out.append(esc(text[pos:]))
    return "".join(out)


# -- messages and pages --------------------------------------------------------


def _corrupt(exc: CorruptMessageError, index: int, extra: str) -> str:
    return (
        f'<div class="msnb-msg msnb-unreadable{extra}" id="msnb-msg-{index}" data-index="{index}">'
        f'<div class="msnb-head"><span class="msnb-badge">unreadable entry #{index:,}</span></div>'
        f'<div class="msnb-error" dir="auto">{esc(escape_controls(str(exc), keep_lines=True))}</div>'
        f'<pre class="msnb-preview" dir="auto">{esc(escape_controls(exc.preview, keep_lines=True))}</pre></div>'
    )


def render_message(
    item: Item,
    index: int,
    *,
    highlight: str | None = None,
    raw_json: bool = False,
    links: ToolLinks | None = None,
    on_page: Collection[int] | None = None,
    time: Time | None = None,
    current: bool = False,
    fold_over: int | None = FOLD_CHARS,
) -> str:
    """One message (or an unreadable list element) as an HTML fragment.

    Every piece of message data is escaped, and ids, names and roles have their
    control and bidi characters shown as escapes; message text sits in a
    ``dir="auto"`` block, so an unclosed override cannot reverse the header. The
    only attributes carrying data are ``href`` values that passed an allowlist,
    anchor ids made of a hash or of the index, and integer ``data-*`` values.
    There is no JavaScript: collapsible parts are ``<details>``.

    Args:
        item: a LangChain message, or the :class:`CorruptMessageError`
            ``read_range`` returned in place of a bad element.
        index: the message's position in the session (0 is the oldest).
        highlight: a search term to mark (case-insensitive) in the content
            and tool calls; ``None`` or blank marks nothing. A folded message
            that contains it is shown unfolded.
        raw_json: add the stored JSON and the metadata sections (collapsed).
        links: tool call/result pairs (:func:`tool_links`); without them a
            call or result shows no counterpart.
        on_page: indices rendered on the same page: a counterpart outside it
            shows as ``result: #2,987`` with ``data-target``, not as an anchor.
            ``None`` means every counterpart is on the page.
        time: when the message was written (a LangGraph checkpoint time, for
            instance); otherwise a ``timestamp``/``created_at``/``created``
            field of the message's metadata is shown when there is one.
        current: outline this message as the current Find hit.
        fold_over: fold text longer than this many characters (or 60 lines)
            to a few lines with "show all"; ``None`` never folds.

    Returns:
        ``<div class="msnb-msg msnb-role-ROLE" id="msnb-msg-i" data-index="i">…</div>``.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> "msnb-role-human" in render_message(HumanMessage("hi"), 0)
        True
    """
    index = operator.index(index)
    extra = " msnb-hit-current" if current else ""
    if isinstance(item, CorruptMessageError):
        return _corrupt(item, index, extra)
    links = links or ToolLinks()
    role, label = role_label(item)
    head = _header(item, label, index, time)
    toolref = ""
    content = ""
    if isinstance(item, ToolMessage):
        toolref = tool_ref(item, index, links, on_page)
        call = links.calls.get(index)
        content = json_result(item, str(item.name or (links.names.get(call, "") if call else ""))) or ""
    if not content:
        content = _content(item.content)
        text = message_text(item)
        if fold_over is not None and (len(text) > fold_over or text.count("\n") >= _FOLD_LINES):
            found = bool(highlight and highlight.strip() and highlight.lower() in text.lower())
            content = _fold(content, text, open_=found or current)
    calls = tool_calls(item, index, links, on_page)
    if not content and not calls:
        content = '<span class="msnb-muted">(no content)</span>'
    raw = _raw(item) if raw_json else ""
    return (
        f'<div class="msnb-msg msnb-role-{role}{extra}" id="msnb-msg-{index}" data-index="{index}">'
        f'<div class="msnb-head">{head}</div>{toolref}'
        f'<div class="msnb-content" dir="auto">{_mark(content, highlight)}</div>'
        f"{_mark(calls, highlight)}{_metadata(item, raw_json)}{raw}</div>"
    )


def render_page(
    items: Sequence[tuple[int, Item]],
    *,
    highlight: str | None = None,
    empty_text: str = "No messages",
    raw_json: bool = False,
    links: ToolLinks | None = None,
    times: Mapping[int, Time] | None = None,
    current: int | None = None,
    fold_over: int | None = FOLD_CHARS,
    css: bool = True,
) -> str:
    """A page of messages: the viewer's scoped CSS and one ``<div class="msnb-viewer">``.

    Args:
        items: ``(index, message or CorruptMessageError)`` pairs, in display order.
        highlight: search term to mark in every message.
        empty_text: shown when ``items`` is empty.
        raw_json: show every message's stored JSON and metadata (collapsed).
        links: tool call/result pairs known beyond this page; the page's own
            pairs are always found, and ``links`` wins where both know one.
        times: message index -> time to show in its header (e.g. checkpoint times).
        current: the index of the current Find hit, outlined (``msnb-hit-current``).
        fold_over: see :func:`render_message`.
        css: start with :func:`viewer_css` (leave out when the page styles are already on screen).

    Returns:
        HTML for an ipywidgets ``HTML`` value or a ``_repr_html_``.
    """
    found = tool_links(items)
    links = found.merged(links) if links is not None else found
    on_page = frozenset(i for i, _ in items)
    times = times or {}
    with highlight_budget():
        body = "".join(
            render_message(
                item,
                i,
                highlight=highlight,
                raw_json=raw_json,
                links=links,
                on_page=on_page,
                time=times.get(i),
                current=i == current,
                fold_over=fold_over,
            )
            for i, item in items
        )
    if not body:
        body = f'<div class="msnb-empty">{esc(empty_text)}</div>'
    return f'{viewer_css() if css else ""}<div class="{VIEWER_CLASS}">{body}</div>'
