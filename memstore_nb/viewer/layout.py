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
_W = ".msnb-viewer-widget"
# The session table (session_table.py): every row a grid with the same columns, so they line up;
# the pick button's ::after covers its row (the row is the button's containing block), so a click
# anywhere on a row opens it; the other cells let clicks through. On a phone each row is a card.
TABLE_CSS = f"""
{_W} .msnb-grid{{display:flex !important;flex-flow:column nowrap !important;border:1px solid var(--msnb-border);
  border-radius:4px;overflow:hidden;margin:4px 0}}
{_W} .msnb-trow{{display:grid !important;grid-template-columns:minmax(8em,2.6fr) 7.2em 6.2em 6.4em 3.6em 5.4em
  minmax(5em,1.4fr);position:relative;align-items:stretch;flex:0 0 auto !important;font-size:13px;
  border-top:1px solid var(--msnb-border);background:var(--msnb-bg);color:var(--msnb-fg)}}
{_W} .msnb-thead{{border-top:0;background:var(--msnb-bg2)}}
{_W} .msnb-trow .jupyter-button{{margin:0 !important;border-radius:0 !important;min-width:0 !important;
  justify-content:flex-start;text-align:left;padding:0 6px;background:transparent;box-shadow:none;
  color:var(--msnb-fg) !important}}
{_W} .msnb-cell{{color:var(--msnb-fg)}}
{_W} .msnb-thead .jupyter-button{{font-weight:600;white-space:normal;line-height:1.15;font-size:12px}}
{_W} .msnb-pick{{position:static !important;font-weight:600}}
{_W} .msnb-pick::after{{content:"";position:absolute;inset:0}}
{_W} .msnb-trow:not(.msnb-thead):hover{{background:var(--msnb-bg2)}}
{_W} .msnb-trow.msnb-current{{background:var(--msnb-selected-bg) !important}}
{_W} .msnb-trow.msnb-current .msnb-pick,{_W} .msnb-trow.msnb-current .msnb-cell{{
  color:var(--msnb-selected-fg) !important}}
{_W} .msnb-trow .msnb-pick:focus-visible{{outline:none !important}}
{_W} .msnb-trow .msnb-pick:focus-visible::after{{outline:2px solid var(--msnb-focus);outline-offset:-3px}}
{_W} .msnb-trow.msnb-current .msnb-pick:focus-visible::after{{outline-color:var(--msnb-selected-fg)}}
{_W} .msnb-cells,{_W} .msnb-cells > .widget-html-content{{display:contents !important}}
{_W} .msnb-cells > label{{display:none !important}}
{_W} .msnb-cell{{pointer-events:none;padding:6px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;
  min-width:0;line-height:20px;font-size:13px}}
{_W} .msnb-c-num,{_W} .msnb-c-when{{text-align:right;font-variant-numeric:tabular-nums}}
{_W} .msnb-table-pager{{justify-content:flex-end}}
{_W} .msnb-checkpoints select{{font-size:12px}}
{_W} .msnb-checkpoints select option{{padding:1px 6px !important;line-height:1.5 !important}}
{_W} .msnb-steps,{_W} .msnb-steps .widget-html-content{{font-size:12px;line-height:1.45 !important;
  overflow-wrap:anywhere}}
{_W} .msnb-steps ul.msnb-steplist{{margin:0 0 2px;padding-left:1.4em}}
@media (max-width:600px){{
  {_W} .msnb-grid{{max-height:45vh;overflow-y:auto}}
  {_W} .msnb-trow{{display:flex !important;flex-flow:row wrap !important;padding:0 0 4px}}
  {_W} .msnb-thead{{padding:0}}
  {_W} .msnb-thead .jupyter-button{{flex:0 0 auto}}
  {_W} .msnb-pick{{flex:1 1 100%}}
  {_W} .msnb-cell{{padding:0 0 0 6px;line-height:18px;font-size:12px;text-align:left !important}}
  {_W} .msnb-cell + .msnb-cell::before{{content:"· ";color:var(--msnb-muted)}}
  {_W} .msnb-cell[data-label="messages"]::after{{content:" messages"}}
  {_W} .msnb-cell[data-label="TTL"]::before{{content:"· TTL "}}
  {_W} .msnb-c-last{{flex:1 1 100%}}
  {_W} .msnb-cell.msnb-c-last::before{{content:none}}
  {_W} .msnb-trow.msnb-current .msnb-cell::before{{color:inherit}}
}}
"""
LAYOUT_CSS = f"""<style>
{_W} .msnb-row{{flex-flow:row wrap !important;align-items:center !important}}
{_W} .jupyter-button{{width:auto !important;min-height:32px !important}}
{_W} .widget-text,{_W} .widget-dropdown,{_W} .widget-select{{width:auto !important}}
{_W} .msnb-scroll{{height:60vh !important;min-height:240px !important;overflow:auto !important}}
{_W}{{flex-flow:row wrap !important;align-content:flex-start !important;align-items:flex-start}}
{_W} > .msnb-css{{display:none !important}}
{_W} .msnb-status-widget{{height:1.8em;overflow:visible !important;position:relative;z-index:3;min-width:0}}
{_W} .msnb-status-widget .widget-html-content{{overflow:visible !important}}
{_W} .msnb-status-widget .msnb-status > div{{position:absolute;left:0;right:0;top:0;max-height:6em;overflow-y:auto;
  padding:2px 6px;background:var(--msnb-bg);border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.25)}}
{_W} .msnb-sessions{{flex:1 1 640px !important;min-width:0 !important;max-width:100% !important}}
{_W} .msnb-reader{{flex:1.6 1 560px !important;min-width:0 !important;max-width:100% !important}}
{_W} .msnb-w210{{width:210px !important}}
{_W} .msnb-w170{{width:170px !important}}
{_W} .msnb-hidden{{display:none !important}}
/* The standalone page (app.ipynb): the reader column is as tall as the window and stays in view while
   the table column scrolls; the transcript takes what the header, pager and status leave. */
{_W}.msnb-page .msnb-reader{{height:calc(100vh - 40px);position:sticky;top:8px;display:flex !important;
  flex-flow:column nowrap !important}}
{_W}.msnb-page .msnb-reader > *{{flex:0 0 auto}}
{_W}.msnb-page .msnb-reader > .msnb-scroll{{flex:1 1 auto !important;height:auto !important;
  min-height:240px !important}}
@media (max-width:600px){{
  {_W} .msnb-options{{order:1}}
  {_W} .msnb-checkpoints select{{height:6em}}
  /* a thread's steps go under the transcript: the table's column lets its parts join the page's flow */
  {_W} .msnb-sessions{{display:contents !important}}
  {_W} .msnb-sessions > *{{flex:1 1 100% !important;max-width:100%;min-width:0}}
  {_W} > .msnb-reader{{order:1}}
  {_W} .msnb-checkpoints{{order:2}}
  {_W}.msnb-page .msnb-reader{{height:calc(100vh - 16px);position:static}}
}}
{TABLE_CSS}</style>"""


def arrange(
    looks: Looks, status: widgets.Widget, table: widgets.Widget, reading: Sequence[widgets.Widget]
) -> tuple[list[widgets.Widget], widgets.VBox]:
    """The viewer's children (styles, the table and the reader column) and that column.

    ``reading`` is what the column holds: the page header, the pager (with the "More ▾" toggle and
    Find), then the status line (under the controls it speaks about, its line always reserved so a
    message pushes nothing), the transcript and (for an editable viewer) the editing controls; the
    More panel goes under the pager when it is first opened (:func:`insert_after`). A LangGraph
    thread's checkpoints join the table's column when one is opened (beside the transcript on a wide
    screen).
    """
    parts = list(reading)
    parts.insert(2 if len(parts) >= 2 else len(parts), status)
    column = widgets.VBox(parts, layout=looks.layout(), _dom_classes=["msnb-reader"])
    style = looks.html(viewer_css() + LAYOUT_CSS, classes=("msnb-css",))  # a <style> applies though hidden
    # The viewer itself wraps its children (the stylesheet above): the table and the reader side by
    # side on a wide screen, stacked on a narrow one.
    return [style, table, column], column


def insert_after(box: widgets.Box, anchor: widgets.Widget, child: widgets.Widget) -> None:
    """Put ``child`` in ``box`` right after ``anchor`` (at the end when ``anchor`` is not in it)."""
    parts = list(box.children)
    at = next((i + 1 for i, part in enumerate(parts) if part is anchor), len(parts))
    box.children = (*parts[:at], child, *parts[at:])
