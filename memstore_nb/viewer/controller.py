"""The viewer's steps: open a session, load the window shown, filter roles, jump, find, follow, report.

The :class:`Controller` is given the state and the panels, observes the state, and moves the open
session (:class:`~memstore_nb.viewer.session.OpenSession`) and the panels in answer. Panels know
nothing of it: they set the state or call the callbacks ``widget.py`` wired to these steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import MemstoreError
from ..sources.base import SessionNotFound
from ..sources.catalog import open_transcript
from .checkpoints import CheckpointPanel
from .crosslinks import counterpart
from .finder import Finder
from .guard import Guard, guarded
from .listing import Listing
from .parts import error_text
from .session import OpenSession
from .session_table import SessionTable
from .state import ViewerState
from .transcript_view import TranscriptView

__all__ = ["Controller"]


class Controller:
    """Reads the open session into the panels as the state changes; every step runs through the guard."""

    def __init__(
        self,
        client: Any,
        state: ViewerState,
        session: OpenSession,
        guard: Guard,
        *,
        table: SessionTable,
        listing: Listing,
        view: TranscriptView,
        finder: Finder,
        checkpoints: CheckpointPanel,
    ) -> None:
        self.client = client
        self.state = state
        self.session = session
        self.guard = guard
        self.table = table
        self.listing = listing
        self.view = view
        self.finder = finder
        self.checkpoints = checkpoints
        self._muted = 0
        state.observe(self._session_changed, names="session_id")
        state.observe(self._match_changed, names="match")
        state.observe(self._page_changed, names="page")
        state.observe(self._order_changed, names=["oldest_first", "page_size"])
        state.observe(self._role_changed, names="role_filter")
        state.observe(self._search_changed, names="search")

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Set the state without the steps its observers would start."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    def _set_page(self, page: int) -> None:
        with self.muted():
            self.state.page = page

    # -- what the state asks for ----------------------------------------------------------------

    def _session_changed(self, change: Any) -> None:
        if not self._muted:
            self.open()

    def _match_changed(self, change: Any) -> None:
        if not self._muted:
            self.listing.scan()

    def _page_changed(self, change: Any) -> None:
        if not self._muted:
            self.session.anchor = None
            self.finder.paged()
            self.load_page()

    def _order_changed(self, change: Any) -> None:
        if self._muted:
            return
        # Another order starts from its first page; another page size keeps the first message shown in view.
        session = self.session
        first = session.first_shown
        session.anchor = None
        self._set_page(0)
        if change.name == "page_size" and first is not None:
            session.anchor = first if self.state.oldest_first else None
            self._set_page(session.page_of(session.pos_of(first)))
        self.load_page()

    def _role_changed(self, change: Any) -> None:
        self.filter_roles()

    def _search_changed(self, change: Any) -> None:
        self.session.current = None
        self.view.render()  # marks follow the text at once; Find scans the whole session

    # -- reporting -----------------------------------------------------------------------------

    def report(self, exc: BaseException) -> None:
        """Show a failure in the status line; a session that is gone leaves the screen."""
        if isinstance(exc, SessionNotFound):
            self.vanished(exc.session_id)
        self.guard.status.fail(error_text(exc, self.client))

    def vanished(self, session_id: str) -> None:
        """A deleted or expired session leaves the screen: row, header and transcript."""
        self.table.forget(session_id)
        if self.state.session_id == session_id:
            self.session.open(None)
            self.checkpoints.show(None)
            with self.muted():
                self.state.session_id = None
            self.table.select_current(None)
            self.render()

    def info(self, text: str) -> None:
        """Say an outcome (this clears any error)."""
        self.guard.status.info(text)

    # -- reading -------------------------------------------------------------------------------

    @guarded("opening the session")
    def open(self) -> None:
        """Open ``state.session_id`` (or show nothing): stats, checkpoints, times, the first page."""
        session, sid = self.session, self.state.session_id
        self.table.select_current(sid)
        self._set_page(0)
        session.open(None)
        self.checkpoints.show(None)
        if sid is None:
            self.guard.status.clear()
            self.render()
            return
        # The page is rendered once, at the end; the old session leaves the screen earlier only when
        # something fails or a role filter must first scan the whole session.
        try:
            self._open_stats(sid)
            self.checkpoints.show(session.transcript)
            self._read_times()
            if self.state.role_filter:
                self.render()
            self._scan_roles()
            self.load_page()
        except Exception:
            self.render()
            raise

    def _open_stats(self, sid: str) -> None:
        session = self.session
        session.open(open_transcript(self.client, sid, self.table.kind_of(sid)))
        try:
            session.restat()
        except SessionNotFound:
            if not self.listing.due:
                raise
            # Opened before the first listing: a key does not tell every kind (a LangGraph thread's
            # id is no key at all), the list does.
            kind = self.listing.kind_of(sid)
            if kind is None:
                raise
            session.open(open_transcript(self.client, sid, kind))
            session.restat()

    def _read_times(self) -> None:
        # Each message's time, where the transcript knows one (a LangGraph thread: its checkpoints').
        transcript = self.session.transcript
        self.session.times = transcript.times(self.checkpoints.checkpoints) if transcript is not None else {}

    def _scan_roles(self) -> None:
        session = self.session
        if not self.state.role_filter or session.transcript is None or session.stats is None:
            session.scan_roles()  # no filter: nothing to read
            return
        with self.view.role_progress.running(session.length) as progress:  # the bar is made on first use
            session.scan_roles(progress)

    @guarded("reading the checkpoint")
    def show_checkpoint(self, checkpoint_id: str | None, label: str | None = None) -> None:
        """Read the open thread as of ``checkpoint_id`` (None: the newest checkpoint), ``label`` in the header."""
        session = self.session
        if session.transcript is None or not session.transcript.has_checkpoints:
            raise MemstoreError("only a LangGraph thread has checkpoints: open one first")
        session.transcript.at_checkpoint(checkpoint_id, label)
        session.anchor = session.current = None
        self.finder.reset()
        self._set_page(0)
        session.restat()
        self._read_times()
        self.load_page(restat=True)

    @guarded("reading the page")
    def load_page(self, *, restat: bool = False) -> None:
        """Read and show the window the state asks for (and the stats again with ``restat``)."""
        session = self.session
        if session.transcript is None or self.state.session_id is None:
            return
        if restat or session.stats is None:
            session.restat()
            if restat:
                self._scan_roles()
        self._set_page(self.state.page)  # re-clamp to the current length
        session.load()
        if not session.items and session.total:  # the list vanished or shrank since LLEN
            session.restat()
            self._scan_roles()
            self._set_page(self.state.page)
            session.load()
        self.table.touched(self.state.session_id)  # the viewer's own reads are no activity of the session
        self.guard.status.clear()
        self.render()

    def render(self) -> None:
        """Show the header and the window as they are."""
        self.view.render_header()
        self.view.render()

    def go_page(self, page: int) -> None:
        """Show ``page`` (page-aligned; the same page again is read again)."""
        self.session.anchor = None
        if page == self.state.page:
            self.finder.paged()
            self.load_page()
        else:
            self.state.page = page

    def show_newest(self) -> None:
        """Read the stats again and show the newest page (after an append)."""
        session = self.session
        session.restat()
        session.anchor = None
        self._set_page(self.state.pages - 1 if self.state.oldest_first else 0)
        self.load_page()

    @guarded("filtering the whole session")
    def filter_roles(self) -> None:
        """Walk only the filtered role's messages (all of them when the filter is cleared)."""
        session = self.session
        if session.transcript is None:
            self.render()
            return
        self._scan_roles()
        self._set_page(0)
        session.anchor = None
        self.load_page()

    def refresh(self) -> None:
        """Read the open session again (length, TTL, memory, the page shown and its list row)."""
        if self.state.session_id is None:
            self.listing.scan()
            return
        self.load_page(restat=True)
        if self.state.session_id is not None:
            self.refresh_row(self.state.session_id)

    @guarded("reading the session's row")
    def refresh_row(self, session_id: str) -> None:
        """Read one row of the session table again."""
        self.table.refresh_rows([session_id])

    @guarded("jumping to the message")
    def jump_to(self, index: int | str) -> None:
        """Show message ``index`` at the top of the transcript (0 is the oldest; negative counts from the end)."""
        session = self.session
        if session.transcript is None:
            raise MemstoreError("open a session first: pick one in the list")
        try:
            index = int(str(index).strip().lstrip("#").replace(",", ""))
        except ValueError:
            raise MemstoreError(f"type a message number, such as 0 or -1, not {str(index)[:40]!r}") from None
        self.finder.paged()  # a hit being shown says so again once it is on the page
        length = session.length
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise MemstoreError(f"message #{index} is out of range: this session has messages #0 to #{length - 1}")
        session.anchor = index
        self._set_page(session.page_of(session.pos_of(index)))
        self.load_page()

    @guarded("searching the session")
    def find(self) -> None:
        """Search the open session for ``state.search`` and show the first hit."""
        hit = self.finder.run()
        if hit is None:
            self.session.current = None
            self.view.render()
        else:
            self.show_hit(hit)

    def show_hit(self, index: int) -> None:
        """Show search hit ``index`` at the top of the transcript, outlined."""
        self.session.current = index
        self.jump_to(index)
        self.finder.shown(index)

    @guarded("finding the linked tool message")
    def show_counterpart(self, index: int, call_id: str | None = None) -> int | None:
        """Show the tool result of a call in message ``index``, or the call of the tool result ``index``."""
        session = self.session
        if session.transcript is None:
            raise MemstoreError("open a session first: pick one in the list")
        target = counterpart(session.transcript, int(index), call_id, session.length, chunk_size=self.state.chunk_size)
        session.current = target
        self.jump_to(target)
        if self.guard.status.error:  # the jump itself failed and said why
            return None
        what = "result" if target > index else "call"
        hidden = self.state.role_filter and not session.shows(target)
        note = " (hidden by the role filter)" if hidden else ""
        self.info(f"the {what} of message #{int(index):,} is message #{target:,}{note}")
        return target

    def poll(self) -> None:
        """One follow step (and after each listing): the stats, and when they changed, the header and
        (when the length changed and the newest page is shown) the page."""
        with self.guard.lock:
            try:
                self._poll()
            except Exception as exc:  # the follow thread must survive anything Redis throws
                self.report(exc)

    def _poll(self) -> None:
        state, session = self.state, self.session
        if session.transcript is None or state.session_id is None:
            return
        stats = session.transcript.stats()
        if stats == session.stats:
            return
        if stats.length == 0:
            raise SessionNotFound(state.session_id)
        grew = session.stats is None or stats.length != session.stats.length
        newest = session.anchor is None and state.page == (state.pages - 1 if state.oldest_first else 0)
        session.stats = stats
        self.table.touched(state.session_id, grew=grew)
        if grew and session.role_hits is not None:
            self._scan_roles()
        if grew and newest:
            self._set_page(state.pages - 1 if state.oldest_first else 0)
            self.load_page()
        else:
            self.view.render_header()  # TTL and memory as they are now
