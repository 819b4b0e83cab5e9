"""Safe HTML (and Markdown export) for LangChain messages: pure functions, no Redis, no widgets."""

from __future__ import annotations

import hashlib
import html
import json
import operator
import re
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ChatMessage, ToolMessage, message_to_dict
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from ..codec import message_role, message_text
from ..errors import CorruptMessageError

__all__ = ["VIEWER_CLASS", "render_markdown", "render_message", "render_page", "to_markdown", "viewer_css"]

VIEWER_CLASS = "msnb-viewer"

Item = BaseMessage | CorruptMessageError
_ROLES = frozenset({"human", "ai", "system", "tool", "function"})
_REL = 'rel="noopener noreferrer nofollow" target="_blank"'
# Beyond this size a text is shown verbatim: Markdown parsing is not linear
# on every input and one pathological message must not freeze a page.
_MARKDOWN_LIMIT = 50_000
_URL_SHOWN = 80

# Links that may become clickable. Markdown hands its validator a
# destination whose entities are already decoded and whose spaces and
# control characters are percent-encoded, so a scheme test at the very start
# is exact; content-block URLs are raw, hence the extra character ban.
_MARKDOWN_URL = re.compile(r"(?:https?://|mailto:)[^\x00-\x20\x7f]*", re.IGNORECASE)
_BLOCK_URL = re.compile(
    r"https?://[^\x00-\x20\x7f]+|data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=]+", re.IGNORECASE
)
_EXPORT_URL = re.compile(r"https?://[^<>\r\n]+", re.IGNORECASE)  # a CommonMark <destination>
_LANG_UNSAFE = re.compile(r"[^A-Za-z0-9_+.#-]")
_TAG = re.compile(r"(<[^>]*>)")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


# -- Markdown ------------------------------------------------------------------


def _markdown_link_ok(url: str) -> bool:
    return _MARKDOWN_URL.fullmatch(url) is not None


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    if not _markdown_link_ok(str(token.attrGet("href") or "")):
        token.attrs.pop("href", None)  # never reached while validateLink holds; belt and braces
    token.attrSet("rel", "noopener noreferrer nofollow")
    token.attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # An <img> would load a remote resource as soon as the page shows: a link instead.
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    if not _markdown_link_ok(src):
        return f"[image: {_esc(alt)}]"
    return f'<a class="msnb-md-image" href="{_esc(src)}" {_REL}>[image: {_esc(alt)}]</a>'


def _fence(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    words = html.unescape(token.info).split()
    lang = _LANG_UNSAFE.sub("", words[0])[:32] if words else ""
    klass = f' class="language-{lang}"' if lang else ""
    return f"<pre><code{klass}>{_esc(token.content)}</code></pre>\n"


def _cell_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # Table alignment comes as a style attribute; a fixed class keeps the
    # output free of style attributes altogether.
    token = tokens[idx]
    style = str(token.attrs.pop("style", "") or "")
    align = style.rpartition(":")[2]
    if align in {"left", "right", "center"}:
        token.attrSet("class", f"msnb-align-{align}")
    return self.renderToken(tokens, idx, options, env)


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _markdown_link_ok  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    return md


_MD = _make_markdown()


def render_markdown(text: str) -> str:
    """Markdown to HTML with nothing executable: raw HTML is shown as text.

    Links keep only ``http``, ``https`` and ``mailto`` destinations (the rest
    stay visible as plain text) and open in a new tab without referrer;
    images become links, so nothing is fetched; fenced code keeps a sanitized
    ``language-*`` class.

    Args:
        text: the Markdown source (a message's text).

    Returns:
        An HTML fragment.

    Example:
        >>> render_markdown("**hi** <b>there</b>")
        '<p><strong>hi</strong> &lt;b&gt;there&lt;/b&gt;</p>\\n'
    """
    if len(text) > _MARKDOWN_LIMIT:
        return f'<pre class="msnb-plain">{_esc(text)}</pre>\n'
    return _MD.render(text)


# -- pieces of a message -------------------------------------------------------


def _json(value: object) -> str:
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):  # circular structures
        return repr(value)


def _json_block(value: object, klass: str = "msnb-json") -> str:
    return f'<pre class="{klass}">{_esc(_json(value))}</pre>'


def _details(summary: str, body: str, klass: str, *, open_: bool = False, anchor: str = "") -> str:
    attrs = f' id="{anchor}"' if anchor else ""
    attrs += " open" if open_ else ""
    return f'<details class="{klass}"{attrs}><summary>{summary}</summary>{body}</details>'


def _anchor(call_id: str) -> str:
    """An element id derived from a tool call id: hex only, so nothing can leak into the attribute."""
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"msnb-call-{digest[:16]}"


def _short(url: str) -> str:
    return url if len(url) <= _URL_SHOWN else f"{url[: _URL_SHOWN - 20]}… ({len(url):,} characters)"


def _image_block(url: object) -> str:
    url = url if isinstance(url, str) else _json(url)
    if _BLOCK_URL.fullmatch(url):
        link = f'<a class="msnb-image-link" href="{_esc(url)}" {_REL}>{_esc(_short(url))}</a>'
        return f'<div class="msnb-block msnb-image">image: {link}</div>'
    return f'<div class="msnb-block msnb-image">image (link disabled): <code>{_esc(_short(url))}</code></div>'


def _image_url(block: dict[str, Any]) -> object | None:
    kind = block.get("type")
    if kind == "image_url":
        inner = block.get("image_url")
        return inner.get("url") if isinstance(inner, dict) else inner
    if kind == "image" and "url" in block:  # LangChain's standard image block
        return block["url"]
    return None


def _content(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return render_markdown(content) if content else ""
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(f'<div class="msnb-block">{render_markdown(block)}</div>')
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(f'<div class="msnb-block">{render_markdown(block["text"])}</div>')
        elif isinstance(block, dict) and _image_url(block) is not None:
            parts.append(_image_block(_image_url(block)))
        else:
            kind = block.get("type") if isinstance(block, dict) else None
            label = f"{kind} block" if isinstance(kind, str) else "block"
            parts.append(f'<div class="msnb-block msnb-other"><span class="msnb-label">{_esc(label)}</span>')
            parts.append(_json_block(block) + "</div>")
    return "".join(parts)


def _tool_calls(message: BaseMessage) -> str:
    if not isinstance(message, AIMessage):
        return ""
    parts = []
    for call in message.tool_calls:
        call_id = str(call.get("id") or "")
        summary = f'tool call <code>{_esc(call.get("name", ""))}</code> <span class="msnb-id">{_esc(call_id)}</span>'
        anchor = _anchor(call_id) if call_id else ""
        parts.append(_details(summary, _json_block(call.get("args", {})), "msnb-call", open_=True, anchor=anchor))
    for bad in message.invalid_tool_calls:
        call_id = str(bad.get("id") or "")
        summary = (
            f'invalid tool call <code>{_esc(bad.get("name") or "")}</code> <span class="msnb-id">{_esc(call_id)}</span>'
        )
        body = f'<div class="msnb-error">{_esc(bad.get("error") or "")}</div>'
        body += f'<pre class="msnb-json">{_esc(bad.get("args") or "")}</pre>'
        anchor = _anchor(call_id) if call_id else ""
        parts.append(_details(summary, body, "msnb-call msnb-call-invalid", open_=True, anchor=anchor))
    if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
        parts.append(_details("tool call chunks", _json_block(message.tool_call_chunks), "msnb-call"))
    return "".join(parts)


def _tool_link(message: BaseMessage) -> str:
    if not isinstance(message, ToolMessage):
        return ""
    call_id = str(message.tool_call_id or "")
    status = ' <span class="msnb-status-error">error</span>' if message.status == "error" else ""
    if not call_id:
        return f'<div class="msnb-toolref">result of a tool call without id{status}</div>'
    link = f'<a class="msnb-call-link" href="#{_anchor(call_id)}">{_esc(call_id)}</a>'
    return f'<div class="msnb-toolref">result of tool call {link}{status}</div>'


def _metadata(message: BaseMessage) -> str:
    fields: list[tuple[str, object]] = [
        ("additional_kwargs", message.additional_kwargs),
        ("response_metadata", message.response_metadata),
    ]
    if isinstance(message, AIMessage):
        fields.append(("usage_metadata", message.usage_metadata))
    if isinstance(message, ToolMessage):
        fields.append(("artifact", message.artifact))
    return "".join(
        _details(f'<span class="msnb-label">{name}</span>', _json_block(value), "msnb-meta")
        for name, value in fields
        if value
    )


def _raw(message: BaseMessage) -> str:
    try:
        doc: object = message_to_dict(message)
    except Exception:  # a message model we cannot dump must still show the rest
        doc = repr(message)
    return _details("raw JSON", _json_block(doc), "msnb-raw")


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
            out.append(f"{_esc(text[pos : hit.start()])}<mark>{_esc(hit.group())}</mark>")
            pos = hit.end()
        out.append(_esc(text[pos:]))
    return "".join(out)


# -- messages and pages --------------------------------------------------------


def _role(message: BaseMessage) -> tuple[str, str]:
    """(CSS role suffix from a fixed set, label to show)."""
    role = message_role(message)
    if isinstance(message, ChatMessage):
        return "chat", f"chat: {role}"
    if role in _ROLES:
        return role, role
    return "unknown", f"unknown ({getattr(message, 'type', '?')})"


def _corrupt(exc: CorruptMessageError, index: int) -> str:
    return (
        f'<div class="msnb-msg msnb-unreadable" data-index="{index}">'
        f'<div class="msnb-head"><span class="msnb-badge">unreadable entry #{index}</span></div>'
        f'<div class="msnb-error">{_esc(exc)}</div>'
        f'<pre class="msnb-preview">{_esc(exc.preview)}</pre></div>'
    )


def render_message(item: Item, index: int, *, highlight: str | None = None) -> str:
    """One message (or an unreadable list element) as an HTML fragment.

    Every piece of message data is escaped; the only attributes carrying
    data are ``href`` values that passed an allowlist and anchor ids made of
    a hash. There is no JavaScript: collapsible parts are ``<details>``.

    Args:
        item: a LangChain message, or the :class:`CorruptMessageError`
            ``read_range`` returned in place of a bad element.
        index: the message's position in the session (0 is the oldest).
        highlight: a search term to mark (case-insensitive) in the content
            and tool calls; ``None`` or blank marks nothing.

    Returns:
        ``<div class="msnb-msg msnb-role-ROLE" data-index="i">…</div>``.

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> "msnb-role-human" in render_message(HumanMessage("hi"), 0)
        True
    """
    index = operator.index(index)
    if isinstance(item, CorruptMessageError):
        return _corrupt(item, index)
    role, label = _role(item)
    head = f'<span class="msnb-badge">{_esc(label)}</span><span class="msnb-index">#{index}</span>'
    if item.name:
        head += f'<span class="msnb-name">{_esc(item.name)}</span>'
    if item.id:
        head += f'<span class="msnb-id">{_esc(item.id)}</span>'
    content = _content(item.content)
    calls = _tool_calls(item)
    if not content and not calls:
        content = '<span class="msnb-muted">(no content)</span>'
    return (
        f'<div class="msnb-msg msnb-role-{role}" data-index="{index}">'
        f'<div class="msnb-head">{head}</div>'
        f"{_tool_link(item)}"
        f'<div class="msnb-content">{_mark(content, highlight)}</div>'
        f"{_mark(calls, highlight)}{_metadata(item)}{_raw(item)}</div>"
    )


def render_page(
    items: Sequence[tuple[int, Item]], *, highlight: str | None = None, empty_text: str = "No messages"
) -> str:
    """A page of messages: the viewer's scoped CSS and one ``<div class="msnb-viewer">``.

    Args:
        items: ``(index, message or CorruptMessageError)`` pairs, in display order.
        highlight: search term to mark in every message.
        empty_text: shown when ``items`` is empty.

    Returns:
        HTML for an ipywidgets ``HTML`` value or a ``_repr_html_``.
    """
    body = "".join(render_message(item, i, highlight=highlight) for i, item in items)
    if not body:
        body = f'<div class="msnb-empty">{_esc(empty_text)}</div>'
    return f'{viewer_css()}<div class="{VIEWER_CLASS}">{body}</div>'


# -- Markdown export -----------------------------------------------------------


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
        url = _image_url(block) if isinstance(block, dict) else None
        if isinstance(block, str):
            out.append(block)
        elif isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            out.append(block["text"])
        elif isinstance(url, str) and _EXPORT_URL.fullmatch(url):
            out.append(f"[image](<{url}>)")
        else:
            out.append(_fenced(_json(block), "json"))
    return out


def to_markdown(messages: Iterable[Item], *, title: str = "") -> str:
    """A Markdown transcript of messages, for export.

    Each message gets a ``### #i role`` heading, then its content as written
    (it usually is Markdown), then its tool calls as fenced JSON.

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
    parts = [f"# {' '.join(title.split())}"] if title.strip() else []
    for i, item in enumerate(messages):
        if isinstance(item, CorruptMessageError):
            parts.append(f"### #{item.index} unreadable entry\n\n{_fenced(str(item))}")
            continue
        heading = f"### #{i} {_role(item)[1]}"
        if item.name:
            heading += f" ({' '.join(str(item.name).split())})"
        section = [heading]
        if isinstance(item, ToolMessage):
            section.append(f"*result of tool call* {_code(str(item.tool_call_id))}")
        section.extend(_export_content(item))
        if isinstance(item, AIMessage):
            for call in item.tool_calls:
                section.append(f"**tool call** {_code(call['name'])} {_code(str(call.get('id') or ''))}")
                section.append(_fenced(_json(call.get("args", {})), "json"))
            for bad in item.invalid_tool_calls:
                section.append(f"**invalid tool call** {_code(str(bad.get('name') or ''))}: {bad.get('error') or ''}")
                section.append(_fenced(str(bad.get("args") or "")))
        parts.append("\n\n".join(section))
    return "\n\n".join(parts) + "\n"


# -- CSS -----------------------------------------------------------------------

# (custom property, JupyterLab variable, light fallback, dark fallback).
# Inside JupyterLab and Voilà the theme's variables win; elsewhere (Colab,
# VS Code, classic) the fallbacks follow the theme hooks below.
_PALETTE = (
    ("--msnb-fg", "--jp-content-font-color1", "#1f2328", "#e6edf3"),
    ("--msnb-muted", "--jp-content-font-color2", "#59636e", "#9198a1"),
    ("--msnb-bg", "--jp-layout-color1", "#ffffff", "#1e1e1e"),
    ("--msnb-bg2", "--jp-layout-color2", "#f6f8fa", "#2a2d31"),
    ("--msnb-border", "--jp-border-color2", "#d1d9e0", "#3d444d"),
    ("--msnb-link", "--jp-content-link-color", "#0969da", "#4493f8"),
    ("--msnb-error", "--jp-error-color1", "#cf222e", "#f85149"),
)
_ACCENTS = {
    "role-human": "#0969da",
    "role-ai": "#1a7f37",
    "role-system": "#8250df",
    "role-tool": "#9a6700",
    "role-function": "#bc4c00",
    "role-chat": "#1b7c83",
    "role-unknown": "#6e7781",
    "unreadable": "#cf222e",
}
_DARK_HOOKS = (
    '[data-jp-theme-light="false"]',
    ".theme-dark",
    '[theme="dark"]',
    ".vscode-dark",
    ".vscode-high-contrast",
)
_LIGHT_HOOKS = ('[data-jp-theme-light="true"]', ".theme-light", ".vscode-light")
_V = f".{VIEWER_CLASS}"
_RULES = f"""
{_V} {{ color: var(--msnb-fg); background: var(--msnb-bg); font-family: var(--jp-content-font-family,
  system-ui, -apple-system, "Segoe UI", Roboto, sans-serif); font-size: var(--jp-content-font-size1, 14px);
  line-height: 1.45; overflow-wrap: anywhere; }}
{_V} .msnb-msg {{ border: 1px solid var(--msnb-border); border-left: 4px solid var(--msnb-accent);
  border-radius: 4px; margin: 6px 0; padding: 6px 10px; background: var(--msnb-bg); }}
{_V} .msnb-head {{ display: flex; flex-wrap: wrap; gap: 8px; align-items: baseline; font-size: 0.9em; }}
{_V} .msnb-badge {{ background: var(--msnb-accent); color: #ffffff; border-radius: 10px; padding: 0 8px;
  font-weight: 600; }}
{_V} .msnb-index, {_V} .msnb-id, {_V} .msnb-muted, {_V} .msnb-toolref {{ color: var(--msnb-muted); }}
{_V} .msnb-id {{ font-family: var(--jp-code-font-family, monospace); font-size: 0.85em; }}
{_V} .msnb-name {{ font-weight: 600; }}
{_V} .msnb-content {{ margin: 4px 0; }}
{_V} .msnb-content p {{ margin: 4px 0; }}
{_V} .msnb-content h1, {_V} .msnb-content h2, {_V} .msnb-content h3 {{ font-size: 1.1em; margin: 6px 0; }}
{_V} a {{ color: var(--msnb-link); }}
{_V} mark {{ background: #ffd33d; color: #1f2328; }}
{_V} pre, {_V} code {{ font-family: var(--jp-code-font-family, monospace); font-size: 0.9em; }}
{_V} pre {{ background: var(--msnb-bg2); color: var(--msnb-fg); padding: 6px 8px; border-radius: 4px;
  overflow: auto; max-height: 24em; white-space: pre-wrap; margin: 4px 0; }}
{_V} table {{ border-collapse: collapse; color: var(--msnb-fg); font-size: inherit; }} /* quirks mode */
{_V} th, {_V} td {{ border: 1px solid var(--msnb-border); padding: 2px 6px; }}
{_V} .msnb-align-left {{ text-align: left; }}
{_V} .msnb-align-right {{ text-align: right; }}
{_V} .msnb-align-center {{ text-align: center; }}
{_V} details {{ margin: 4px 0; }}
{_V} summary {{ cursor: pointer; color: var(--msnb-muted); font-size: 0.9em; }}
{_V} .msnb-call {{ border: 1px dashed var(--msnb-border); border-radius: 4px; padding: 2px 8px; }}
{_V} .msnb-call > summary {{ color: var(--msnb-fg); }}
{_V} .msnb-error, {_V} .msnb-status-error {{ color: var(--msnb-error); }}
{_V} .msnb-label {{ font-family: var(--jp-code-font-family, monospace); }}
{_V} .msnb-empty {{ color: var(--msnb-muted); padding: 8px; }}
""" + "".join(f"{_V} .msnb-{kind} {{ --msnb-accent: {color}; }}\n" for kind, color in _ACCENTS.items())


def _palette(dark: bool) -> str:
    return " ".join(f"{name}: var({jp}, {dark_ if dark else light});" for name, jp, light, dark_ in _PALETTE)


def viewer_css() -> str:
    """The viewer's ``<style>`` block: every selector sits inside ``.msnb-viewer``.

    Colours come from JupyterLab's theme variables when they exist, with
    light fallbacks, dark ones under ``prefers-color-scheme: dark`` and under
    the dark-theme markers of JupyterLab, Colab and VS Code.
    """
    dark_hooks = ", ".join(f"{hook} {_V}" for hook in _DARK_HOOKS)
    light_hooks = ", ".join(f"{hook} {_V}" for hook in _LIGHT_HOOKS)
    return (
        "<style>\n"
        f"{_V} {{ {_palette(False)} }}\n"
        f"@media (prefers-color-scheme: dark) {{ {_V} {{ {_palette(True)} }} }}\n"
        f"{dark_hooks} {{ {_palette(True)} }}\n"
        f"{light_hooks} {{ {_palette(False)} }}\n"
        f"{_RULES}</style>"
    )
