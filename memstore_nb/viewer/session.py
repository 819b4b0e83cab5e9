"""The open session as the viewer has read it: its transcript, stats, the window shown and where it is.

No widgets: the transcript view renders from this, Find and export read through it, and the viewer's
steps (``controller.py``) move it. Paging follows the :class:`~memstore_nb.viewer.state.ViewerState`
it is given (page, page size, order, role filter); the number of messages the pager walks is kept in
the state's ``total``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..sources.base import SessionStats, Transcript
from .state import ViewerState

__all__ = ["OpenSession"]


class OpenSession:
    """What is read of the open session; owns no Redis state beyond the open :class:`Transcript`.

    The window shown is either a page (``state.page``) or, after a jump or a search hit, anchored
    so that message is the first one the reader sees: at the top, newest first or oldest first alike.

    Attributes:
        transcript: the open conversation, or None.
        items: the window shown, ``(index, message or CorruptMessageError)`` pairs, oldest first.
        anchor: the message shown first after a jump (None: page-aligned).
        current: the hit to outline (a Find hit, a tool link's target).
        times: message index -> time to show (a LangGraph thread's checkpoint times).
    """

    def __init__(self, state: ViewerState) -> None:
        self.state = state
        self.transcript: Transcript | None = None
        self.items: list[tuple[int, Any]] = []
        self.anchor: int | None = None
        self.current: int | None = None
        self.times: dict[int, Any] = {}
        self.shown: tuple[int, int] = (0, -1)  # positions start..end of the window loaded last
        self._stats: SessionStats | None = None
        self._role_hits: list[int] | None = None

    # -- what is known ------------------------------------------------------------------

    @property
    def stats(self) -> SessionStats | None:
        """Length, TTL and memory as of the last read."""
        return self._stats

    @stats.setter
    def stats(self, stats: SessionStats | None) -> None:
        self._stats = stats
        self._count()

    @property
    def role_hits(self) -> list[int] | None:
        """Indices of the filtered role, oldest first (None: no filter)."""
        return self._role_hits

    @role_hits.setter
    def role_hits(self, hits: list[int] | None) -> None:
        self._role_hits = hits
        self._count()

    def _count(self) -> None:
        self.state.total = self.total

    @property
    def length(self) -> int:
        """Messages in the session, as of the last read."""
        return self._stats.length if self._stats else 0

    @property
    def total(self) -> int:
        """Messages the pager walks through: all, or those of the filtered role."""
        return len(self._role_hits) if self._role_hits is not None else self.length

    # -- geometry ------------------------------------------------------------------------

    def window(self, page: int) -> tuple[int, int]:
        """Positions ``start..end`` (inclusive, oldest first) of ``page`` among the walked messages."""
        n, size = self.total, self.state.page_size
        if self.state.oldest_first:
            start = page * size
            return start, min(start + size, n) - 1
        end = n - 1 - page * size
        return max(end - size + 1, 0), end

    def page_of(self, pos: int) -> int:
        """The page that holds position ``pos`` among the walked messages."""
        total, size = self.total, self.state.page_size
        pos = min(max(pos, 0), max(total - 1, 0))
        return pos // size if self.state.oldest_first else (total - 1 - pos) // size

    def pos_of(self, index: int) -> int:
        """Where message ``index`` (or the next one of the filtered role) is among the walked messages."""
        if self._role_hits is None:
            return index
        hits = self._role_hits
        return next((p for p, i in enumerate(hits) if i >= index), max(len(hits) - 1, 0))

    # -- reading -------------------------------------------------------------------------

    def open(self, transcript: Transcript | None) -> None:
        """Start over with ``transcript`` (None: nothing open); nothing is read yet."""
        self.transcript, self.items = transcript, []
        self.shown = (0, -1)
        self.anchor = self.current = None
        self.times = {}
        self._role_hits = None
        self.stats = None

    def restat(self) -> None:
        """Read the length, TTL and memory again (raises ``SessionNotFound`` when it is gone)."""
        assert self.transcript is not None
        self.stats = self.transcript.stats()

    def scan_roles(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Index the filtered role over the whole session, chunk by chunk."""
        role = self.state.role_filter
        if not role or self.transcript is None or self._stats is None:
            self.role_hits = None
            return
        self.role_hits = self.transcript.role_indices(
            role, self.length, chunk_size=self.state.chunk_size, progress=progress
        )

    def load(self) -> None:
        """Read the window shown (one LRANGE, or one pipelined LINDEX batch under a role filter)."""
        assert self.transcript is not None
        if self.anchor is not None:
            start, end = self._anchored(self.pos_of(self.anchor))
        else:
            start, end = self.window(self.state.page)
        self.shown = (start, end)
        if self._role_hits is None:
            picked = list(range(start, end + 1)) if end >= start else []
            items = self.transcript.read_range(start, end) if picked else []
        else:
            picked = self._role_hits[start : end + 1]
            items = self.transcript.read_at(picked)
        self.items = list(zip(picked[: len(items)], items, strict=True))

    def _anchored(self, pos: int) -> tuple[int, int]:
        # The anchored message first in reading order (at the top), the rest of a page after it. When
        # the whole walk fits in one page it is all shown (the hit outlined among them): a hit in a
        # short session must not hide the messages on its other side.
        size, total = self.state.page_size, self.total
        if total <= size:
            return 0, total - 1
        if self.state.oldest_first:
            return pos, min(pos + size, total) - 1
        return max(pos - size + 1, 0), pos

    @property
    def at_newest(self) -> bool:
        """Whether the window shown holds the newest message walked (nothing newer to page to)."""
        return self.shown[1] >= self.total - 1

    @property
    def at_oldest(self) -> bool:
        """Whether the window shown holds the oldest message walked (nothing older to page to)."""
        return self.shown[0] <= 0

    @property
    def first_shown(self) -> int | None:
        """The oldest message of the window shown, or None."""
        return self.items[0][0] if self.items else None

    def shows(self, index: int) -> bool:
        """Whether message ``index`` is in the window shown."""
        return any(i == index for i, _ in self.items)
