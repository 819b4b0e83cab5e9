"""Message Markdown to inert HTML: markdown-it-py without raw HTML, allowlisted links, highlighted fences."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .highlight import highlight_code

__all__ = ["MARKDOWN_LIMIT", "markdown_link_ok", "plain_html", "render_markdown"]

REL = 'rel="noopener noreferrer nofollow" target="_blank"'
# Beyond this size a text is shown verbatim: Markdown parsing is not linear
# on every input and one pathological message must not freeze a page.
MARKDOWN_LIMIT = 50_000

# Links that may become clickable. Markdown hands its validator a
# destination whose entities are already decoded and whose spaces and
# control characters are percent-encoded, so a scheme test at the very start
# is exact.
_MARKDOWN_URL = re.compile(r"(?:https?://|mailto:)[^\x00-\x20\x7f]*", re.IGNORECASE)
_LANG_UNSAFE = re.compile(r"[^A-Za-z0-9_+.#-]")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def markdown_link_ok(url: str) -> bool:
    """Whether a Markdown link or image destination may become an ``href``."""
    return _MARKDOWN_URL.fullmatch(url) is not None


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    if not markdown_link_ok(str(token.attrGet("href") or "")):
        token.attrs.pop("href", None)  # never reached while validateLink holds; belt and braces
    token.attrSet("rel", "noopener noreferrer nofollow")
    token.attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # An <img> would load a remote resource as soon as the page shows: a link instead.
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    if not markdown_link_ok(src):
        return f"[image: {_esc(alt)}]"
    return f'<a class="msnb-md-image" href="{_esc(src)}" {REL}>[image: {_esc(alt)}]</a>'


def fence_language(info: str) -> str:
    """The language word of a fence's info string, reduced to ``[A-Za-z0-9_+.#-]``, at most 32 characters."""
    words = html.unescape(info).split()
    return _LANG_UNSAFE.sub("", words[0])[:32] if words else ""


def _fence(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    lang = fence_language(token.info)
    body = highlight_code(token.content, lang) if lang else None
    if body is not None:
        return f'<pre class="msnb-code"><code class="language-{lang} msnb-hl">{body}</code></pre>\n'
    klass = f' class="language-{lang}"' if lang else ""
    return f'<pre class="msnb-code"><code{klass}>{_esc(token.content)}</code></pre>\n'


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
    md.validateLink = markdown_link_ok  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    return md


_MD = _make_markdown()


_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def plain_html(text: str) -> str:
    """Text shown as written, in paragraphs (one per run of blank lines), in the page's own font.

    For text too long to parse as Markdown: it stays readable prose, wrapping at word boundaries,
    not one monospace box (linear in the text's length, like the escaping).
    """
    paragraphs = (p for p in _BLANK_LINES.split(text) if p.strip())
    return '<div class="msnb-plain">' + "".join(f"<p>{_esc(p)}</p>" for p in paragraphs) + "</div>\n"


def render_markdown(text: str) -> str:
    """Markdown to HTML with nothing executable: raw HTML is shown as text.

    Links keep only ``http``, ``https`` and ``mailto`` destinations (the rest
    stay visible as plain text) and open in a new tab without referrer;
    images become links, so nothing is fetched; fenced code keeps a sanitized
    ``language-*`` class and, for a language Pygments knows, token classes
    (``msnb-tk-*``) around escaped text.

    Args:
        text: the Markdown source (a message's text).

    Returns:
        An HTML fragment.

    Example:
        >>> render_markdown("**hi** <b>there</b>")
        '<p><strong>hi</strong> &lt;b&gt;there&lt;/b&gt;</p>\\n'
    """
    if len(text) > MARKDOWN_LIMIT:
        return plain_html(text)
    return _MD.render(text)
