"""The viewer's session listing: Scan, Scan more, and when the first listing happens.

A viewer built without a session lists at once: the list is what the reader sees first. Built with a
session inside a running event loop (a notebook, Colab or Voilà kernel runs each cell inside one),
it opens that session first and makes and fills the session table on the loop's next turn, right
after the cell: the transcript reaches the page without waiting for the table's widgets and SCANs.
Code that uses the table before then (``viewer._session_select``…) finds it made and listed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import traitlets

from .guard import Guard, guarded
from .session_table import SessionTable
from .state import ViewerState

__all__ = ["Listing", "running_loop"]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread (a kernel's), or None (plain Python)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Listing:
    """Lists the sessions matching ``state.match`` into the :class:`SessionTable`, through the viewer's guard.

    Args:
        after: called after each listing asked for (Scan, a new pattern), not after the first one.

    Attributes:
        due: no listing has happened yet.
        closed: the viewer is closed (a listing still due never happens).
    """

    def __init__(
        self, state: ViewerState, table: SessionTable, guard: Guard, after: Callable[[], None] = lambda: None
    ) -> None:
        self.state = state
        self.table = table
        self.guard = guard
        self.due = True
        self.closed = False
        self._after = after

    @guarded("listing sessions")
    def scan(self) -> None:
        """List the sessions matching ``match`` again, from the start (SCAN); then ``after()`` (the open
        session's header reads its stats again, so it agrees with its fresh row)."""
        self._list()
        self.guard.status.clear()
        self._after()

    @guarded("listing more sessions")
    def scan_more(self) -> None:
        """Add up to ten times ``rows_per_scan`` more sessions to the list."""
        self.table.more(self.state.match, 10 * self.state.rows_per_scan)
        self.guard.status.clear()

    def _list(self) -> None:
        self.due = False
        state = self.state
        self.table.current = state.session_id
        self.table.scan(state.match, state.scan_count, state.rows_per_scan)

    @guarded("listing sessions")
    def first(self) -> None:
        """The first listing, after a session was opened: what the opening said (an error) stays on the line."""
        self._list()

    def soon(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """List on the loop's next turn, or now without a loop (after opening the viewer's first session)."""
        if loop is None:
            self._list_due()
        else:
            loop.call_soon(self._list_due)

    def _list_due(self) -> None:
        # The first listing, unless something listed already (or the viewer is gone).
        with self.guard.lock:  # a follow thread may be refreshing the open session's row meanwhile
            if self.due and not self.closed:
                self.table.build()  # lists (table_built), and highlights the open session's row

    def table_built(self, table: SessionTable) -> None:
        """Wire the table's controls, which exist from now on; list if nothing listed yet."""
        traitlets.link((self.state, "match"), (table.match_text, "value"))
        table.scan_button.on_click(lambda _: self.scan())
        if self.due:
            self.first()

    def kind_of(self, session_id: str) -> Any:
        """The kind of a listed session, listing first when nothing was listed yet (None: not listed)."""
        if self.due:
            self.first()
        return self.table.kind_of(session_id)
