"""Where the viewer's parts sit: the session table beside the transcript on a wide screen, stacked on a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

from .render import viewer_css

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

__all__ = ["LAYOUT_CSS", "arrange"]

# Page-level layout the renderer's CSS does not cover.
LAYOUT_CSS = """<style>
.msnb-viewer-widget .msnb-table select{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  font-size:12px;min-height:12em}
@media (max-width:600px){
  .msnb-viewer-widget .msnb-table select{min-height:0;height:7.5em}
  .msnb-viewer-widget .msnb-options{order:1}
  .msnb-viewer-widget .msnb-checkpoints select{height:6em}
}
</style>"""


def arrange(viewer: ChatHistoryViewer) -> list[widgets.Widget]:
    """The viewer's children: styles, the status line, and a body of table and reader side by side.

    The reader is the page header, pager, Find, the reading options, the transcript, export and (for an
    editable viewer) the editing controls. A LangGraph thread's checkpoints join the table's column
    when one is opened (beside the transcript on a wide screen).
    """
    v, looks = viewer._view, viewer._looks
    parts = [v.header, v.pager, viewer._finder.widget, v.options, v.html, viewer._exporter.widget]
    if viewer._editor is not None:
        parts.append(viewer._editor.widget)
    reader = widgets.VBox(parts, layout=widgets.Layout(flex="2 1 560px", min_width="0", max_width="100%"))
    body = widgets.HBox([viewer._table.widget, reader], layout=widgets.Layout(flex_flow="row wrap", width="100%"))
    style = looks.html(viewer_css() + LAYOUT_CSS)
    return [style, viewer._status_line.widget, body]
