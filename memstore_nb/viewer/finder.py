"""The viewer's Find: search the whole session chunk by chunk, then walk the hits across pages."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from ..errors import MemstoreError
from .controls import Looks, Note, Progress
from .session import OpenSession
from .state import ViewerState

__all__ = ["Finder"]


class Finder:
    """Search box (Enter runs it), Find, previous / next hit, progress and the hit count.

    The box mirrors ``state.search``. Find (and Enter in the box) asks ``on_find()`` to search, which
    calls :meth:`run`; each hit is shown through ``on_show(index)`` (at the top of the transcript,
    outlined). Hits are ordered like the pages (newest first unless oldest first). The previous /
    next hit buttons, the progress bar and the hit count are made by the first search.
    """

    def __init__(
        self,
        state: ViewerState,
        session: OpenSession,
        looks: Looks,
        host: widgets.Box,
        *,
        on_find: Callable[[], Any],
        on_show: Callable[[int], Any],
    ) -> None:
        self.state = state
        self.session = session
        self.hits: list[int] = []
        self.pos = -1
        self._looks = looks
        self._on_find = on_find
        self._on_show = on_show
        # The box is the state's search as it is typed (the page marks it at once); Enter runs Find.
        self.text = looks.text("find text, any case (Enter)", label="find", on_enter=self._entered)
        self.find_button = looks.button("Find", "search the whole session, chunk by chunk")
        self.find_button.on_click(lambda _: on_find())
        self.find_button.disabled = state.session_id is None
        traitlets.link((state, "search"), (self.text, "value"))
        state.observe(self._search_changed, names="search")
        state.observe(self._session_changed, names="session_id")
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

    @property
    def hit(self) -> int | None:
        """The hit shown, or None."""
        return self.hits[self.pos] if self.hits and self.pos >= 0 else None

    def _entered(self, text: str) -> None:
        self.state.search = text
        if text and self.state.session_id is not None:
            self._on_find()

    def _search_changed(self, change: Any) -> None:
        self.reset()

    def _session_changed(self, change: Any) -> None:
        self.reset()
        self.find_button.disabled = change.new is None

    def reset(self) -> None:
        """Forget the hits (another text, session or checkpoint)."""
        self.hits, self.pos = [], -1
        self._note.say("")

    def run(self) -> int | None:
        """Search the open session for ``state.search``; the first hit's index, or None (said in the note)."""
        state, transcript = self.state, self.session.transcript
        if transcript is None or state.session_id is None:
            raise MemstoreError("open a session first: pick one in the list")
        if not state.search:
            self._note.say("type something to find")
            return None
        with self._progress.running(self.session.length) as progress:
            hits = transcript.find(state.search, chunk_size=state.chunk_size, progress=progress)
        self._step_buttons()
        self.hits = hits if state.oldest_first else hits[::-1]
        if not hits:
            self.pos = -1
            self._note.say(html.escape(f"no message contains {state.search!r}"))
            return None
        self.pos = 0
        return self.hits[0]

    def step(self, step: int) -> None:
        """Show the next (``1``) or previous (``-1``) hit; search first when there are none."""
        if not self.hits:
            self._on_find()
            return
        self.pos = (self.pos + step) % len(self.hits)
        self._on_show(self.hits[self.pos])

    def paged(self) -> None:
        """The reader moved away from the hit: say how to come back instead of which hit is shown."""
        if self.hits:
            n = len(self.hits)
            self._note.say(
                html.escape(f"{n:,} hit{'s' if n != 1 else ''} for {self.state.search!r}: ‹ Hit and Hit › show them")
            )

    def shown(self, index: int) -> None:
        """Say which hit is shown (called once hit ``index`` is on the page, or failed to be)."""
        if self.hit != index:
            return
        hidden = self.state.role_filter and not self.session.shows(index)
        note = " (hidden by the role filter)" if hidden else ""
        self._note.say(html.escape(f"hit {self.pos + 1} of {len(self.hits)}: message #{index:,}{note}"))
