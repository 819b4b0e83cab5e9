"""Message content as HTML: text (Markdown), content blocks (text, images, others), and long text folded.

Pure functions over what a message holds, for the renderer (``render.py``); every string reaches
HTML escaped (``esc``) or through the escaping Markdown renderer.
"""

from __future__ import annotations

import re
from typing import Any

from .fields import details, display_id, esc, image_url, json_block, json_text
from .markdown import REL, render_markdown

__all__ = ["FOLD_CHARS", "FOLD_LINES", "content_html", "fold"]

_URL_SHOWN = 80
# Text longer than this (or with more lines than FOLD_LINES) is folded to a
# preview with "show all"; the full text is in the page, behind <details>.
FOLD_CHARS = 3_000
FOLD_LINES = 60
_PREVIEW_LINES = 5
_PREVIEW_CHARS = 600

# Content-block URLs are raw (no Markdown decoding), hence the character ban.
_BLOCK_URL = re.compile(
    r"https?://[^\x00-\x20\x7f]+|data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=]+", re.IGNORECASE
)


def _short(url: str) -> str:
    return url if len(url) <= _URL_SHOWN else f"{url[: _URL_SHOWN - 20]}… ({len(url):,} characters)"


def _image_block(url: object) -> str:
    url = url if isinstance(url, str) else json_text(url)
    if _BLOCK_URL.fullmatch(url):
        link = f'<a class="msnb-image-link" href="{esc(url)}" {REL}>{esc(_short(url))}</a>'
        return f'<div class="msnb-block msnb-image">image: {link}</div>'
    return f'<div class="msnb-block msnb-image">image (link disabled): <code>{display_id(_short(url))}</code></div>'


def content_html(content: str | list[Any]) -> str:
    """A message's content: Markdown text, or its content blocks one after another."""
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


def fold(body: str, text: str, *, open_: bool) -> str:
    """Long content as a few lines of plain preview with "show all"; the whole text behind <details>."""
    lines = text.split("\n", _PREVIEW_LINES)[:_PREVIEW_LINES]
    preview = "\n".join(lines)[:_PREVIEW_CHARS].rstrip() + "…"
    more = (
        f'<span class="msnb-fold-more"><span class="msnb-fold-show">show all · {len(text):,} characters, '
        f'{text.count(chr(10)) + 1:,} lines</span><span class="msnb-fold-hide">show less</span></span>'
    )
    summary = f'<span class="msnb-fold-preview">{esc(preview)}</span>{more}'
    return details(summary, body, "msnb-fold", open_=open_)
