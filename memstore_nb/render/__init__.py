"""Messages to safe HTML and Markdown: pure functions (no ipywidgets, no Redis); every text is escaped here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import face

if TYPE_CHECKING:
    from .content import FOLD_CHARS, FOLD_LINES
    from .fields import display_id
    from .links import ToolLinks, tool_links
    from .markdown import render_markdown
    from .page import render_message, render_page
    from .theme import PAGE_CLASS, SCROLL_CLASS, VIEWER_CLASS, WIDGET_CLASS, viewer_css
    from .transcript_md import to_markdown

_WHERE = {
    "FOLD_CHARS": ".content",
    "FOLD_LINES": ".content",
    "display_id": ".fields",
    "ToolLinks": ".links",
    "tool_links": ".links",
    "render_markdown": ".markdown",
    "render_message": ".page",
    "render_page": ".page",
    "PAGE_CLASS": ".theme",
    "SCROLL_CLASS": ".theme",
    "VIEWER_CLASS": ".theme",
    "WIDGET_CLASS": ".theme",
    "viewer_css": ".theme",
    "to_markdown": ".transcript_md",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = face(__name__, _WHERE)
