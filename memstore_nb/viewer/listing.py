"""The viewer's session listing: Scan, Scan more, and when the first listing happens.

A viewer built without a session lists at once: the list is what the reader sees first. Built with a
session inside a running event loop (a notebook, Colab or Voilà kernel runs each cell inside one),
it opens that session first and makes and fills the session table on the loop's next turn, right
after the cell: the transcript reaches the page without waiting for the table's widgets and SCANs.
Code that uses the table before then (``viewer._session_select``…) finds it made and listed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import traitlets

from .reading import guarded
from .session_table import SessionTable

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

__all__ = ["Listing", "running_loop"]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread (a kernel's), or None (plain Python)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Listing:
    """The part of :class:`~memstore_nb.viewer.widget.ChatHistoryViewer` that lists sessions."""

    _listing_due: bool  # no listing has happened yet
    _closed: bool

    @guarded
    def scan(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """List the sessions matching ``match`` again, from the start (SCAN)."""
        self._list()
        self._status_line.clear()

    @guarded
    def scan_more(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Add up to ten times ``rows_per_scan`` more sessions to the list."""
        self._table.more(self.match, 10 * self.rows_per_scan)
        self._status_line.clear()

    def _list(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        self._listing_due = False
        self._table.current = self.session_id
        self._table.scan(self.match, self.scan_count, self.rows_per_scan)

    @guarded
    def _first_listing(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        self._list()  # after opening a session: what the opening said (an error) stays on the status line

    def _list_soon(self: ChatHistoryViewer, loop: asyncio.AbstractEventLoop | None) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        # After opening the session given to the constructor: on the loop's next turn, or now without one.
        if loop is None:
            self._list_due()
        else:
            loop.call_soon(self._list_due)

    def _list_due(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        # The first listing, unless something listed already (or the viewer is gone).
        with self._lock:  # a follow thread may be refreshing the open session's row meanwhile
            if self._listing_due and not self._closed:
                self._table.build()  # lists (on_build), and highlights the open session's row

    def _table_built(self: ChatHistoryViewer, table: SessionTable) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        # The table's controls exist from now on (made by the first listing, or when code asks for one).
        with self._muted_observers():
            traitlets.link((self, "match"), (table.match_text, "value"))
        table.scan_button.on_click(lambda _: self.scan())
        if self._listing_due:
            self._first_listing()
