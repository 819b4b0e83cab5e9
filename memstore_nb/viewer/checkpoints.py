"""A LangGraph thread's checkpoint history beside its transcript: newest first, pick one to read it."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..codec import escape_controls
from ..render.fields import time_text, visible_surrogates
from .controls import Looks, hidden

__all__ = ["CheckpointPanel", "checkpoint_label"]

NEWEST = ""  # the Select's value for "follow the newest checkpoint"


def checkpoint_label(summary: Any) -> str:
    """``step 3 · loop · 2026-01-01 10:00:01 UTC`` (plain text: the Select escapes it)."""
    step = "step ?" if summary.step is None else f"step {summary.step}"
    when = time_text(summary.ts) if summary.ts else "no time"
    return visible_surrogates(escape_controls(f"{step} · {summary.source or '?'} · {when}"))


class CheckpointPanel:
    """Shown only for transcripts that have checkpoints (``kind == "langgraph"``); hidden otherwise.

    Choosing a checkpoint asks ``on_pick(checkpoint_id)`` to show that checkpoint's messages
    (read-only); *newest* asks for ``None``, the newest one, which Refresh and follow then keep up with.
    """

    def __init__(
        self, looks: Looks, host: widgets.Box, on_pick: Callable[[str | None], Any], *, limit: int = 50
    ) -> None:
        self.limit = limit
        self.checkpoints: list[Any] = []
        self._looks = looks
        self._host = host
        self._on_pick = on_pick
        self._widget: widgets.VBox | None = None
        self._quiet = False

    @property
    def widget(self) -> widgets.VBox:
        """The panel, made (hidden, at the end of the host box) the first time it is needed."""
        if self._widget is None:
            self.title = self._looks.html()
            # No options while hidden: the page's only listbox with options is then the session table.
            self.select = self._looks.choice(widgets.Select, "checkpoint", options=[], value=None, rows=6)
            self.select.observe(self._picked, names="value")
            self._widget = widgets.VBox(
                [self.title, self.select],
                layout=widgets.Layout(width="100%", max_width="100%", display="none"),
                _dom_classes=["msnb-checkpoints"],
            )
            self._host.children = (*self._host.children, self._widget)
        return self._widget

    def show(self, transcript: Any) -> None:
        """List ``transcript``'s checkpoints (newest first), or hide the panel when it has none."""
        has = transcript is not None and transcript.has_checkpoints
        self.checkpoints = list(transcript.checkpoints(self.limit)) if has else []
        if not has and self._widget is None:
            return  # never made: most histories have no checkpoints
        panel = self.widget
        self._quiet = True
        try:
            if has:
                self.select.options = [("newest", NEWEST)] + [
                    (f"{i}. {checkpoint_label(c)}", c.checkpoint_id) for i, c in enumerate(self.checkpoints, 1)
                ]
                self.select.value = NEWEST
            else:
                self.select.options = []
        finally:
            self._quiet = False
        more = f" (latest {self.limit})" if len(self.checkpoints) >= self.limit else ""
        self.title.value = f"<b>Checkpoints</b>{html.escape(more)}, newest first"
        hidden(panel, not has)

    def _picked(self, change: Any) -> None:
        if not self._quiet:
            self._on_pick(change.new or None)
