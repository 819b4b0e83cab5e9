"""A LangGraph thread's steps beside its transcript: one line per checkpoint, paged, newest first.

Each line says the step, the node that wrote it, what it added (tool calls folded to their names)
and its time to the millisecond. Picking one reads the thread as of it and shows, under the list,
what it still has to do (next nodes, pending writes) and how it differs from its parent or from
any other listed checkpoint (messages added and removed, the state channels that changed).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..render.fields import exact_time_text
from .controls import Looks, hidden
from .steps import comparison_html, step_line, step_name, tasks_html

__all__ = ["CheckpointPanel", "checkpoint_label"]

NEWEST = ""  # the Select's value for "follow the newest checkpoint"
PARENT = ""  # the comparison's value for "the checkpoint before it"


def checkpoint_label(summary: Any) -> str:
    """``step 3 · model · 2026-01-01 10:00:01.234 UTC`` (plain text: escape it for HTML)."""
    return f"{step_name(summary)} · {exact_time_text(summary.ts)}"


class CheckpointPanel:
    """Shown only for transcripts that have checkpoints (``has_checkpoints``); hidden otherwise.

    Choosing a checkpoint asks ``on_pick(checkpoint_id, label)`` to show that checkpoint's messages
    (read-only); *newest* asks for ``None``, the newest one, which Refresh and follow then keep up
    with. A failure reading a step's details goes to ``report``.
    """

    def __init__(
        self,
        looks: Looks,
        host: widgets.Box,
        on_pick: Callable[[str | None, str | None], Any],
        report: Callable[[BaseException], Any],
        *,
        limit: int = 20,
    ) -> None:
        self.limit = limit
        self.checkpoints: list[Any] = []  # the page shown, newest first
        self._looks = looks
        self._host = host
        self._on_pick = on_pick
        self._report = report
        self._transcript: Any = None
        self._pages: list[str | None] = [None]  # `before` of each page up to the one shown
        self._more = False
        self._widget: widgets.VBox | None = None
        self._quiet = False

    @property
    def widget(self) -> widgets.VBox:
        """The panel, made (hidden, at the end of the host box) the first time it is needed."""
        if self._widget is None:
            looks = self._looks
            self.title = looks.html()
            self.newer = looks.button("‹ Newer", "newer checkpoints of the thread")
            self.older = looks.button("Older ›", "older checkpoints of the thread")
            self.newer.on_click(lambda _: self._turn(-1))
            self.older.on_click(lambda _: self._turn(+1))
            # No options while hidden: the page's only listbox with options is then the session table.
            self.select = looks.choice(widgets.Select, "step", options=[], value=None, rows=8)
            self.select.observe(self._picked, names="value")
            self.against = looks.choice(widgets.Dropdown, "compare with", options=[("its parent", PARENT)])
            self.against.observe(self._compared, names="value")
            self.details = looks.html(classes=("msnb-steps",))
            self._widget = widgets.VBox(
                [self.title, looks.row(self.newer, self.older), self.select, self.against, self.details],
                layout=widgets.Layout(width="100%", max_width="100%", display="none"),
                _dom_classes=["msnb-checkpoints"],
            )
            self._host.children = (*self._host.children, self._widget)
        return self._widget

    def show(self, transcript: Any) -> None:
        """List ``transcript``'s newest checkpoints, or hide the panel when it has none."""
        has = transcript is not None and transcript.has_checkpoints
        self._transcript = transcript if has else None
        self._pages = [None]
        self.checkpoints = []
        if not has and self._widget is None:
            return  # never made: most histories have no checkpoints
        panel = self.widget
        if has:
            self._list()
            self._detail()
        else:
            self._set_options([], None)
            self.details.value = ""
        hidden(panel, not has)

    @property
    def picked(self) -> Any:
        """The summary of the checkpoint picked (the newest for *newest*), when it is on the page shown."""
        value = self.select.value if self._widget is not None else None
        if value == NEWEST and len(self._pages) == 1 and self.checkpoints:
            return self.checkpoints[0]
        return next((c for c in self.checkpoints if c.checkpoint_id == value), None)

    # -- the list --------------------------------------------------------------------------------

    def _list(self) -> None:
        transcript, before = self._transcript, self._pages[-1]
        found = transcript.checkpoints(self.limit + 1, before=before)
        self._more = len(found) > self.limit
        self.checkpoints = found[: self.limit]
        first = len(self._pages) == 1
        shown = transcript.checkpoint_id
        options = [("newest", NEWEST)] if first else []
        start = (len(self._pages) - 1) * self.limit
        for i, summary in enumerate(self.checkpoints, start + 1):
            options.append((f"{i}. {step_line(summary, transcript.added_by(summary))}", summary.checkpoint_id))
        value = NEWEST if shown is None and first else shown
        self._set_options(options, value if any(v == value for _, v in options) else None)
        span = f"{start + 1:,}–{start + len(self.checkpoints):,}" if self.checkpoints else "none"
        older = ", older ones with Older ›" if self._more else ""
        self.title.value = f"<b>Steps</b> (checkpoints {html.escape(span)}, newest first{html.escape(older)})"
        self.newer.disabled = first
        self.older.disabled = not self._more
        self._set_against()

    def _set_options(self, options: list[tuple[str, str]], value: str | None) -> None:
        self._quiet = True
        try:
            self.select.options = options
            self.select.value = value
        finally:
            self._quiet = False

    def _set_against(self) -> None:
        picked = self.picked
        others = [
            (f"{i}. {checkpoint_label(c)}", c.checkpoint_id)
            for i, c in enumerate(self.checkpoints, (len(self._pages) - 1) * self.limit + 1)
            if picked is None or c.checkpoint_id != picked.checkpoint_id
        ]
        self._quiet = True
        try:
            self.against.options = [("its parent", PARENT), *others]
            self.against.value = PARENT
        finally:
            self._quiet = False

    def _turn(self, way: int) -> None:
        if way > 0 and self._more and self.checkpoints:
            self._pages.append(self.checkpoints[-1].checkpoint_id)
        elif way < 0 and len(self._pages) > 1:
            self._pages.pop()
        else:
            return
        try:
            self._list()
            self._detail()
        except Exception as exc:  # a page that cannot be read: say so, keep the panel
            self._report(exc)

    # -- one step --------------------------------------------------------------------------------

    def _picked(self, change: Any) -> None:
        if self._quiet:
            return
        summary = self.picked
        label = None if summary is None or change.new == NEWEST else checkpoint_label(summary)
        self._on_pick(change.new or None, label)
        self._set_against()
        self._detail()

    def _compared(self, change: Any) -> None:
        if not self._quiet:
            self._detail()

    def _detail(self) -> None:
        summary = self.picked
        if summary is None:
            self.details.value = ""
            return
        other = self.against.value
        try:
            tasks = self._transcript.tasks(summary.checkpoint_id)
            parts = [f"<div><b>{html.escape(checkpoint_label(summary))}</b></div>"]
            parts.append(f'<div class="msnb-muted">checkpoint <code>{html.escape(summary.checkpoint_id)}</code></div>')
            parts.append(tasks_html(tasks))
            parts.append(self._comparison(summary, other))
        except Exception as exc:
            self.details.value = '<div class="msnb-muted">this step cannot be read (see the status line)</div>'
            self._report(exc)
            return
        self.details.value = "".join(parts)

    def _comparison(self, summary: Any, other: str) -> str:
        if other == PARENT:
            if summary.parent_id is None:
                return "<div>the first checkpoint of its run: nothing before it to compare with</div>"
            older, newer = summary.parent_id, summary.checkpoint_id
            names = ("its parent", "this step")
        else:
            pair = sorted([other, summary.checkpoint_id])  # ids are time-ordered
            older, newer = pair
            by_id = {c.checkpoint_id: c for c in self.checkpoints}
            names = (
                checkpoint_label(by_id[older]) if older in by_id else older,
                checkpoint_label(by_id[newer]) if newer in by_id else newer,
            )
        return comparison_html(self._transcript.compare(older, newer), *names)
