"""Safe HTML for LangChain messages: pure functions, no Redis, no widgets."""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Collection, Mapping, Sequence

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage, message_to_dict

from ..codec import escape_controls, message_text
from ..errors import CorruptMessageError
from .content import FOLD_CHARS, FOLD_LINES, content_html, fold
from .fields import (
    Item,
    Time,
    details,
    display_id,
    esc,
    json_block,
    message_time,
    model_name,
    role_label,
    shorten,
    time_text,
    usage_text,
    visible_surrogates,
)
from .highlight import highlight_budget
from .links import ToolLinks, json_result, tool_calls, tool_links, tool_ref
from .markdown import render_markdown
from .theme import PAGE_CLASS, SCROLL_CLASS, VIEWER_CLASS, viewer_css
from .transcript_md import to_markdown

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

_TAG = re.compile(r"(<[^>]*>)")


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
        return visible_surrogates(_corrupt(item, index, extra))
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
        content = content_html(item.content)
        text = message_text(item)
        if fold_over is not None and (len(text) > fold_over or text.count("\n") >= FOLD_LINES):
            found = bool(highlight and highlight.strip() and highlight.lower() in text.lower())
            content = fold(content, text, open_=found or current)
    calls = tool_calls(item, index, links, on_page)
    if not content and not calls:
        content = '<span class="msnb-muted">(no content)</span>'
    raw = _raw(item) if raw_json else ""
    return visible_surrogates(
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
        body = f'<div class="msnb-empty">{esc(visible_surrogates(empty_text))}</div>'
    return f'{viewer_css() if css else ""}<div class="{VIEWER_CLASS}">{body}</div>'
