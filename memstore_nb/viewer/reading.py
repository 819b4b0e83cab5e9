"""The viewer's reading steps (open a session, load the window shown, filter roles, jump, refresh) and its reports."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import MemstoreError
from ..sources.base import SessionNotFound
from ..sources.catalog import open_transcript
from .crosslinks import counterpart
from .parts import error_text

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

__all__ = ["Reading", "guarded"]

F = TypeVar("F", bound=Callable[..., Any])

BUSY = {
    "scan": "listing sessions",
    "_first_listing": "listing sessions",
    "scan_more": "listing more sessions",
    "_open": "opening the session",
    "_load_page": "reading the page",
    "find": "searching the session",
    "_filter_roles": "filtering the whole session",
    "export_json": "reading the session for export",
    "export_markdown": "reading the session for export",
    "show_counterpart": "finding the linked tool message",
}


def guarded(method: F) -> F:
    """Run a handler under the widget's lock, with a busy note when it is slow; show any failure in the widget."""
    what = BUSY.get(method.__name__, "working")

    @functools.wraps(method)
    def wrapper(self: ChatHistoryViewer, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                if self._busy_depth:
                    return method(self, *args, **kwargs)
                self._busy_depth += 1
                try:
                    with self._status_line.working(what, self._timeout):
                        result = method(self, *args, **kwargs)
                finally:
                    self._busy_depth -= 1
            except Exception as exc:  # the widget must survive anything Redis or the data throw at it
                self._report(exc)
                return None
            return result

    return wrapper  # type: ignore[return-value]


class Reading:
    """The part of :class:`~memstore_nb.viewer.widget.ChatHistoryViewer` that reads the open session."""

    @property
    def length(self: ChatHistoryViewer) -> int:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Messages in the open session, as of the last read (0 when none is open)."""
        return self._view.length

    @property
    def pages(self: ChatHistoryViewer) -> int:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Number of pages of the open session (at least 1), counting only the filtered role when one is set."""
        return self._view.pages

    @property
    def items(self: ChatHistoryViewer) -> list[tuple[int, Any]]:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """The page shown, as ``(index, message or CorruptMessageError)`` pairs, oldest first."""
        return list(self._view.items)

    @property
    def hit(self: ChatHistoryViewer) -> int | None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Index of the search hit shown, or None."""
        return self._finder.hit

    @property
    def _hits(self: ChatHistoryViewer) -> list[int]:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        return self._finder.hits

    # -- reporting ------------------------------------------------------------

    def _report(self: ChatHistoryViewer, exc: BaseException) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        if isinstance(exc, SessionNotFound):
            self._vanished(exc.session_id)
        self._status_line.fail(error_text(exc, self._client))

    def _vanished(self: ChatHistoryViewer, session_id: str) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        # A deleted or expired session leaves the screen: row, header and transcript.
        self._table.forget(session_id)
        if self.session_id == session_id:
            self._view.open(None)
            self._checkpoints.show(None)
            with self._muted_observers():
                self.session_id = None
            self._table.select_current(None)
            self._render()

    def _info(self: ChatHistoryViewer, text: str) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        self._status_line.info(text)

    # -- reading ------------------------------------------------------------------

    @guarded
    def _open(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        view = self._view
        self._finder.reset()
        if self._editor is not None:
            self._editor.cancel()
        self._exporter.clear()
        self._table.select_current(self.session_id)
        sid = self.session_id
        with self._muted_observers():
            self.page = 0
        view.open(None)
        self._checkpoints.show(None)
        if sid is None:
            self._status_line.clear()
            self._render()
            return
        # The page is rendered once, at the end; the old session leaves the screen earlier only when
        # something fails or a role filter must first scan the whole session.
        try:
            self._open_stats(sid)
            self._checkpoints.show(view.transcript)
            self._read_times()
            if self.role_filter:
                self._render()
            view.scan_roles()
            self._load_page()
        except Exception:
            self._render()
            raise

    def _open_stats(self: ChatHistoryViewer, sid: str) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        view = self._view
        view.open(open_transcript(self._client, sid, self._table.kind_of(sid)))
        try:
            view.stats = view.transcript.stats()  # type: ignore[union-attr]
        except SessionNotFound:
            if not self._listing_due:
                raise
            # Opened before the first listing: a key does not tell every kind (a LangGraph thread's
            # id is no key at all), the list does.
            self.scan()
            kind = self._table.kind_of(sid)
            if kind is None:
                raise
            view.open(open_transcript(self._client, sid, kind))
            view.stats = view.transcript.stats()  # type: ignore[union-attr]

    def _read_times(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        # Each message's time, where the transcript knows one (a LangGraph thread: its checkpoints').
        transcript = self._view.transcript
        self._view.times = transcript.times(self._checkpoints.checkpoints) if transcript is not None else {}

    @guarded
    def _show_checkpoint(self: ChatHistoryViewer, checkpoint_id: str | None) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Read the open thread as of ``checkpoint_id`` (None: the newest checkpoint)."""
        view = self._view
        if view.transcript is None or not view.transcript.has_checkpoints:
            raise MemstoreError("only a LangGraph thread has checkpoints: open one first")
        view.transcript.at_checkpoint(checkpoint_id)
        view.anchor = view.current = None
        self._finder.reset()
        with self._muted_observers():
            self.page = 0
        view.stats = view.transcript.stats()
        self._read_times()
        self._load_page(restat=True)

    @guarded
    def _load_page(self: ChatHistoryViewer, *, restat: bool = False) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        view = self._view
        if view.transcript is None or self.session_id is None:
            return
        if restat or view.stats is None:
            view.stats = view.transcript.stats()
            if restat:
                view.scan_roles()
        with self._muted_observers():
            self.page = self.page  # re-clamp to the current length
        view.load()
        if not view.items and view.total:  # the list vanished or shrank since LLEN
            view.stats = view.transcript.stats()
            view.scan_roles()
            with self._muted_observers():
                self.page = self.page
            view.load()
        self._status_line.clear()
        self._render()

    def _render(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        self._view.render_header()
        self._view.render(self.search)
        self._finder.find_button.disabled = self.session_id is None
        self._more.sync()

    @guarded
    def _filter_roles(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        view = self._view
        if view.transcript is None:
            self._render()
            return
        view.scan_roles()
        with self._muted_observers():
            self.page = 0
        view.anchor = None
        self._load_page()

    def refresh(self: ChatHistoryViewer) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Read the open session again (length, TTL, memory, the page shown and its list row)."""
        if self.session_id is None:
            self.scan()
            return
        self._load_page(restat=True)
        if self.session_id is not None:
            self._guarded_refresh_row(self.session_id)

    @guarded
    def _guarded_refresh_row(self: ChatHistoryViewer, session_id: str) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        self._table.refresh_rows([session_id])

    @guarded
    def jump_to(self: ChatHistoryViewer, index: int | str) -> None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Show message ``index`` at the top of the transcript (0 is the oldest; negative counts from the end)."""
        view = self._view
        if view.transcript is None:
            raise MemstoreError("open a session first: pick one in the list")
        try:
            index = int(str(index).strip().lstrip("#").replace(",", ""))
        except ValueError:
            raise MemstoreError(f"type a message number, such as 0 or -1, not {str(index)[:40]!r}") from None
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise MemstoreError(f"message #{index} is out of range: this session has messages #0 to #{self.length - 1}")
        view.anchor = index
        pos = index if view.role_hits is None else view._pos_of(index)
        with self._muted_observers():
            self.page = view.page_of(pos)
        self._load_page()

    @guarded
    def show_counterpart(self: ChatHistoryViewer, index: int, call_id: str | None = None) -> int | None:  # type: ignore[misc]  # a mixin method of ChatHistoryViewer
        """Show the tool result of a call in message ``index``, or the call of the tool result ``index``.

        The other message is found by call id wherever it is in the session
        (read outward in growing chunks), shown at the top of the transcript on
        its page and outlined like a Find hit. A missing counterpart is said in
        the status line.

        Args:
            index: a message holding a tool call or a tool result (0 is the oldest).
            call_id: which call of an AI message; ``None`` takes its first.

        Returns:
            The index of the message shown, or ``None`` when there is none.
        """
        view = self._view
        if view.transcript is None:
            raise MemstoreError("open a session first: pick one in the list")
        target = counterpart(view.transcript, int(index), call_id, self.length, chunk_size=self.chunk_size)
        view.current = target
        self.jump_to(target)
        if self._status_line.error:  # the jump itself failed and said why
            return None
        what = "result" if target > index else "call"
        role = self.role_filter
        note = " (hidden by the role filter)" if role and all(i != target for i, _ in view.items) else ""
        self._info(f"the {what} of message #{int(index):,} is message #{target:,}{note}")
        return target
