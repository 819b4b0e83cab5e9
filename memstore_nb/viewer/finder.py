"""The viewer's Find: search the whole session chunk by chunk, then walk the hits across pages."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ..errors import MemstoreError
from .controls import Looks, Note, Progress

if TYPE_CHECKING:
    import ipywidgets as widgets

    from .widget import ChatHistoryViewer

__all__ = ["Finder"]


class Finder:
    """Search box (Enter runs it), Find, previous / next hit, progress and the hit count.

    Hits are ordered like the pages (newest first unless oldest first); each hit
    is shown at the top of the transcript with an outline. The previous / next hit
    buttons, the progress bar and the hit count are made by the first search.
    """

    def __init__(self, viewer: ChatHistoryViewer, looks: Looks, host: widgets.Box) -> None:
        self.v = viewer
        self.hits: list[int] = []
        self.pos = -1
        self._looks = looks
        self.text = looks.text("find text, any case (Enter)", label="find")
        self.find_button = looks.button("Find", "search the whole session, chunk by chunk")
        self.find_button.on_click(lambda _: viewer.find())
        self.text.observe(self._entered, names="value")
        # In the pager's row (one box fewer): the search box and Find, then what a search adds.
        self.widget = host
        host.children = (*host.children, self.text, self.find_button)
        self._progress = Progress(self.widget)
        self._note = Note(looks, self.widget)
        self._steps: tuple[widgets.Button, widgets.Button] | None = None

    @property
    def prev_button(self) -> widgets.Button:
        """‹ Hit (made by the first search, beside Find)."""
        return self._step_buttons()[0]

    @property
    def next_button(self) -> widgets.Button:
        """Hit › (made by the first search, beside Find)."""
        return self._step_buttons()[1]

    def _step_buttons(self) -> tuple[widgets.Button, widgets.Button]:
        if self._steps is None:
            prev = self._looks.button("‹ Hit", "previous search hit")
            next_ = self._looks.button("Hit ›", "next search hit")
            prev.on_click(lambda _: self.step(-1))
            next_.on_click(lambda _: self.step(1))
            self._steps = (prev, next_)
            parts = list(self.widget.children)
            at = parts.index(self.find_button) + 1
            self.widget.children = (*parts[:at], prev, next_, *parts[at:])
        return self._steps

    @property
    def status(self) -> widgets.HTML:
        """The hit count ("hit 1 of 3: message #12"), made by the first search."""
        return self._note.widget

    @property
    def progress(self) -> widgets.IntProgress | None:
        """The progress bar of the last search (None before the first)."""
        return self._progress.bar

    def _entered(self, change: Any) -> None:
        # This observer may run before the link that copies the box into ``viewer.search``
        # (whose observer resets the hits): copy it first, then search.
        self.v.search = change.new
        if change.new and self.v.session_id is not None:
            self.v.find()

    def reset(self) -> None:
        self.hits, self.pos = [], -1
        self._note.say("")

    @property
    def hit(self) -> int | None:
        return self.hits[self.pos] if self.hits and self.pos >= 0 else None

    def run(self) -> None:
        """Search the open session for ``viewer.search`` and show the first hit."""
        v = self.v
        transcript = v._view.transcript
        if transcript is None or v.session_id is None:
            raise MemstoreError("open a session first: pick one in the list")
        if not v.search:
            self._note.say("type something to find")
            return
        with self._progress.running(v.length) as progress:
            hits = transcript.find(v.search, chunk_size=v.chunk_size, progress=progress)
        self._step_buttons()
        self.hits = hits if v.oldest_first else hits[::-1]
        if not hits:
            self.pos = -1
            v._view.current = None
            self._note.say(html.escape(f"no message contains {v.search!r}"))
            v._view.render(v.search)
            return
        self.pos = 0
        self.show()

    def step(self, step: int) -> None:
        if not self.hits:
            self.v.find()
            return
        self.pos = (self.pos + step) % len(self.hits)
        self.show()

    def show(self) -> None:
        index = self.hits[self.pos]
        view = self.v._view
        view.current = index
        self.v.jump_to(index)
        role = self.v.role_filter
        hidden_by_role = role and all(i != index for i, _ in view.items)
        note = " (hidden by the role filter)" if hidden_by_role else ""
        self._note.say(html.escape(f"hit {self.pos + 1} of {len(self.hits)}: message #{index:,}{note}"))
