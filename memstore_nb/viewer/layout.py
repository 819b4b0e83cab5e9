"""Where the viewer's parts sit: the session table beside the transcript on a wide screen, stacked on a phone."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from ..render.page import viewer_css
from .controls import Looks

__all__ = ["LAYOUT_CSS", "arrange", "insert_after"]

# Page-level layout the renderer's CSS does not cover. Boxes and boxes of fixed width get it from a
# class instead of a Layout widget of their own (a Layout is the costliest stock widget to build);
# `!important` because ipywidgets' own stylesheet sizes its boxes too.
LAYOUT_CSS = """<style>
.msnb-viewer-widget .msnb-row{flex-flow:row wrap !important;align-items:center !important}
.msnb-viewer-widget .jupyter-button{width:auto !important;min-height:32px !important}
.msnb-viewer-widget .widget-text,.msnb-viewer-widget .widget-dropdown,.msnb-viewer-widget .widget-select{
  width:auto !important}
.msnb-viewer-widget .msnb-scroll{height:60vh !important;min-height:240px !important;overflow:auto !important}
.msnb-viewer-widget{flex-flow:row wrap !important;align-content:flex-start !important;align-items:flex-start}
.msnb-viewer-widget > .msnb-css{display:none !important}
.msnb-viewer-widget > .msnb-status-widget{flex:1 1 100% !important;min-width:0}
.msnb-viewer-widget .msnb-sessions{flex:1 1 560px !important;min-width:0 !important;max-width:100% !important}
.msnb-viewer-widget .msnb-reader{flex:2 1 560px !important;min-width:0 !important;max-width:100% !important}
.msnb-viewer-widget .msnb-w210{width:210px !important}
.msnb-viewer-widget .msnb-w170{width:170px !important}
.msnb-viewer-widget .msnb-hidden{display:none !important}
.msnb-viewer-widget .msnb-table select{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  font-size:12px;min-height:12em}
@media (max-width:600px){
  .msnb-viewer-widget .msnb-table select{min-height:0;height:7.5em}
  .msnb-viewer-widget .msnb-options{order:1}
  .msnb-viewer-widget .msnb-checkpoints select{height:6em}
}
</style>"""


def arrange(
    looks: Looks, status: widgets.Widget, table: widgets.Widget, reading: Sequence[widgets.Widget]
) -> tuple[list[widgets.Widget], widgets.VBox]:
    """The viewer's children (styles, the status line, the table and the reader column) and that column.

    ``reading`` is what the column holds: the page header, the pager (with the "More ▾" toggle and
    Find), the transcript and (for an editable viewer) the editing controls; the More panel goes
    under the pager when it is first opened (:func:`insert_after`). A LangGraph thread's checkpoints
    join the table's column when one is opened (beside the transcript on a wide screen).
    """
    column = widgets.VBox(list(reading), layout=looks.layout(), _dom_classes=["msnb-reader"])
    style = looks.html(viewer_css() + LAYOUT_CSS, classes=("msnb-css",))  # a <style> applies though hidden
    # The viewer itself wraps its children (the stylesheet above): the status line across the top,
    # then the table and the reader side by side on a wide screen, stacked on a narrow one.
    return [style, status, table, column], column


def insert_after(box: widgets.Box, anchor: widgets.Widget, child: widgets.Widget) -> None:
    """Put ``child`` in ``box`` right after ``anchor`` (at the end when ``anchor`` is not in it)."""
    parts = list(box.children)
    at = next((i + 1 for i, part in enumerate(parts) if part is anchor), len(parts))
    box.children = (*parts[:at], child, *parts[at:])
