"""Syntax highlighting of fenced code: Pygments tokens as CSS classes, text escaped here. Pure, no script."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import html
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

__all__ = ["HIGHLIGHT_LIMIT", "PAGE_HIGHLIGHT_BUDGET", "TOKEN_CLASSES", "highlight_budget", "highlight_code"]

# Pygments lexes some 100-400 characters per millisecond on a shared 2-core
# machine, ten times slower than the rest of rendering. Beyond this size a
# block is shown plain, and a page highlights at most this many characters
# not already cached: a page of 50 messages stays quick whatever a model
# pasted into it, and re-rendering it (search marks, raw JSON) is free.
HIGHLIGHT_LIMIT = 10_000
PAGE_HIGHLIGHT_BUDGET = 10_000
_CACHE_SIZE = 512
_cache: OrderedDict[tuple[str, str], str] = OrderedDict()
_cache_lock = threading.Lock()
_budget: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("msnb_highlight_budget", default=None)
# Languages that mean "no highlighting": no Pygments import, no lexer lookup.
_PLAIN = frozenset({"", "text", "txt", "plain", "plaintext", "none", "nohighlight", "output", "log"})
_LANG = re.compile(r"[A-Za-z0-9_+.#-]{1,32}")

# Pygments token type (its dotted name, most specific first) -> our class suffix.
# A few families are enough to read code; everything else stays plain text.
_FAMILIES = (
    ("Comment", "comment"),
    ("Keyword.Type", "type"),
    ("Keyword", "keyword"),
    ("Operator.Word", "keyword"),
    ("Name.Builtin", "builtin"),
    ("Name.Function", "function"),
    ("Name.Class", "class"),
    ("Name.Decorator", "decorator"),
    ("Name.Tag", "tag"),
    ("Name.Attribute", "attr"),
    ("Name.Exception", "class"),
    ("Literal.String", "string"),
    ("Literal.Number", "number"),
    ("Literal", "number"),
    ("Generic.Deleted", "deleted"),
    ("Generic.Inserted", "inserted"),
    ("Generic.Heading", "heading"),
    ("Generic.Subheading", "heading"),
    ("Generic.Prompt", "prompt"),
)
TOKEN_CLASSES = tuple(sorted({suffix for _, suffix in _FAMILIES}))


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


@functools.lru_cache(maxsize=256)
def _lexer(lang: str) -> Any | None:
    """A reusable lexer for a fence language, or ``None``; cached, since a miss scans plugin entry points."""
    from pygments.lexers import get_lexer_by_name  # lazy: only pages with code pay for Pygments
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang.lower(), stripnl=False, ensurenl=False, stripall=False, tabsize=0)
    except (ClassNotFound, ValueError):
        return None


@functools.lru_cache(maxsize=1024)
def _css_class(token_type: Any) -> str:
    name = str(token_type).removeprefix("Token.")
    for prefix, suffix in _FAMILIES:
        if name == prefix or name.startswith(prefix + "."):
            return f"msnb-tk-{suffix}"
    return ""


@contextlib.contextmanager
def highlight_budget(chars: int = PAGE_HIGHLIGHT_BUDGET) -> Iterator[None]:
    """Within this block, at most ``chars`` characters of not-yet-cached code are highlighted; the rest is plain.

    Args:
        chars: the budget (``render_page`` uses :data:`PAGE_HIGHLIGHT_BUDGET`).
    """
    token = _budget.set([chars])
    try:
        yield
    finally:
        _budget.reset(token)


def highlight_code(code: str, lang: str) -> str | None:
    """``code`` as escaped HTML with ``<span class="msnb-tk-…">`` around tokens, or ``None`` to show it plain.

    Never guesses a language: an absent, unknown or plain-text language, a
    block over :data:`HIGHLIGHT_LIMIT` characters, or one beyond the budget
    of :func:`highlight_budget`, gives ``None``. Results are cached. Token text
    is escaped here (not by Pygments), and the only markup is spans whose
    class comes from a fixed list.

    Args:
        code: the block's text.
        lang: the fence's language word, already reduced to ``[A-Za-z0-9_+.#-]``.

    Returns:
        The HTML for the inside of a ``<code>`` element, or ``None``.

    Example:
        >>> highlight_code("x = 1\\n", "python")
        'x = <span class="msnb-tk-number">1\\n</span>'
        >>> highlight_code("x = 1\\n", "no-such-language") is None
        True
    """
    if lang.lower() in _PLAIN or not _LANG.fullmatch(lang) or len(code) > HIGHLIGHT_LIMIT:
        return None
    key = (lang.lower(), code)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    lexer = _lexer(key[0])
    if lexer is None:
        return None
    budget = _budget.get()
    if budget is not None:
        if budget[0] < len(code):
            return None
        budget[0] -= len(code)
    result = _highlight(lexer, code)
    if result is not None:
        with _cache_lock:
            _cache[key] = result
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return result


def _highlight(lexer: Any, code: str) -> str | None:
    out: list[str] = []
    run: list[str] = []
    seen: list[str] = []
    current = ""
    for token_type, value in lexer.get_tokens(code):
        seen.append(value)
        klass = _css_class(token_type) if value.strip() else current  # whitespace joins the run it is in
        if klass != current and run:
            text = _esc("".join(run))
            out.append(f'<span class="{current}">{text}</span>' if current else text)
            run = []
        current = klass
        run.append(value)
    if run:
        text = _esc("".join(run))
        out.append(f'<span class="{current}">{text}</span>' if current else text)
    if "".join(seen) != code:  # a lexer that changed the text (tabs, newlines): show the original instead
        return None
    return "".join(out)
