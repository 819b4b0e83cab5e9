"""The viewer's transcript: header, pager, role filter over the whole session, and the scrolling page."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from ..codec import escape_controls
from ..render.page import VIEWER_CLASS, render_page
from ..sources.base import SessionStats, Transcript
from ..sources.entries import entry_role
from .controls import Looks, Progress
from .crosslinks import CrossLinks
from .more import ROLE_CHOICES

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

__all__ = ["ROLE_CHOICES", "TranscriptView"]

Item = "BaseMessage | CorruptMessageError"


class TranscriptView:
    """Pages through one conversation; owns no Redis state beyond the open :class:`Transcript`.

    The window shown is either a page (``viewer.page``) or, after a jump or a
    search hit, anchored so that message is the first one the reader sees:
    at the top, newest first or oldest first alike.
    """

    def __init__(self, viewer: ChatHistoryViewer, looks: Looks) -> None:
        self.v = viewer
        self.transcript: Transcript | None = None
        self.stats: SessionStats | None = None
        self.items: list[tuple[int, Any]] = []
        self.anchor: int | None = None
        self.current: int | None = None  # the search hit to outline
        self.role_hits: list[int] | None = None  # indices of the filtered role, oldest first
        self.times: dict[int, Any] = {}  # message index -> time to show (LangGraph checkpoint times)
        self.header = looks.html()
        self.first_button = looks.button("« First", "newest page (or oldest, with oldest first)")
        self.prev_button = looks.button("‹ Prev", "previous page")
        self.next_button = looks.button("Next ›", "next page")
        self.last_button = looks.button("Last »", "last page")
        self.raw_json = False  # each message as stored (the "raw JSON" switch in the More panel)
        self.html = looks.html(classes=("msnb-scroll",))  # sized by the viewer's stylesheet (layout.py)
        for child, handler in [
            (self.first_button, lambda _: self.go_page(0)),
            (self.prev_button, lambda _: self.go_page(self.page_shown - 1)),
            (self.next_button, lambda _: self.go_page(self.page_shown + 1)),
            (self.last_button, lambda _: self.go_page(self.pages - 1)),
        ]:
            child.on_click(handler)
        # The pager, the "More ▾" toggle, and buttons for tool calls and results whose counterpart is
        # on another page (added by CrossLinks when there are some), in reach above the transcript.
        pages = (self.first_button, self.prev_button, self.next_button, self.last_button)
        self.pager = looks.row(*pages, viewer._more.toggle)
        self.crosslinks = CrossLinks(viewer, looks, self.pager)
        self.role_progress = Progress(self.pager)

    # -- geometry -----------------------------------------------------------------

    @property
    def length(self) -> int:
        return self.stats.length if self.stats else 0

    @property
    def total(self) -> int:
        """Messages the pager walks through: all, or those of the filtered role."""
        return len(self.role_hits) if self.role_hits is not None else self.length

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.v.page_size))

    @property
    def page_shown(self) -> int:
        return self.v.page

    def window(self, page: int) -> tuple[int, int]:
        """Positions ``start..end`` (inclusive, oldest first) of ``page`` among the walked messages."""
        n, size = self.total, self.v.page_size
        if self.v.oldest_first:
            start = page * size
            return start, min(start + size, n) - 1
        end = n - 1 - page * size
        return max(end - size + 1, 0), end

    def page_of(self, pos: int) -> int:
        pos = min(max(pos, 0), max(self.total - 1, 0))
        return pos // self.v.page_size if self.v.oldest_first else (self.total - 1 - pos) // self.v.page_size

    # -- loading --------------------------------------------------------------------

    def open(self, transcript: Transcript | None) -> None:
        self.transcript, self.stats, self.items = transcript, None, []
        self.anchor = self.current = None
        self.role_hits = None
        self.times = {}

    def go_page(self, page: int) -> None:
        self.anchor = None
        if page == self.v.page:
            self.v._load_page()
        else:
            self.v.page = page

    def scan_roles(self) -> None:
        """Index the filtered role over the whole session, chunk by chunk, with a progress bar."""
        role = self.v.role_filter
        if not role or self.transcript is None or self.stats is None:
            self.role_hits = None
            return
        with self.role_progress.running(self.length) as progress:
            self.role_hits = self.transcript.role_indices(
                role, self.length, chunk_size=self.v.chunk_size, progress=progress
            )

    def load(self) -> None:
        """Read the window shown (one LRANGE, or one pipelined LINDEX batch under a role filter)."""
        assert self.transcript is not None
        if self.anchor is not None:
            pos = self.anchor if self.role_hits is None else self._pos_of(self.anchor)
            size = self.v.page_size
            start, end = (
                (pos, min(pos + size, self.total) - 1) if self.v.oldest_first else (max(pos - size + 1, 0), pos)
            )
        else:
            start, end = self.window(self.v.page)
        if self.role_hits is None:
            picked = list(range(start, end + 1)) if end >= start else []
            items = self.transcript.read_range(start, end) if picked else []
        else:
            picked = self.role_hits[start : end + 1]
            items = self.transcript.read_at(picked)
        self.items = list(zip(picked[: len(items)], items, strict=True))

    def _pos_of(self, index: int) -> int:
        hits = self.role_hits or []
        return next((p for p, i in enumerate(hits) if i >= index), max(len(hits) - 1, 0))

    # -- rendering --------------------------------------------------------------------

    def show_raw(self, raw: bool) -> None:
        """Show each message as stored (raw JSON) or rendered."""
        self.raw_json = raw
        self.render(self.v.search)

    def render_header(self) -> None:
        esc = html.escape
        stats, sid = self.stats, self.v.session_id
        if sid is None or stats is None:
            text = "Pick a session in the list." if sid is None else ""
            self.header.value = f'<div class="{VIEWER_CLASS}"><div class="msnb-muted">{esc(text)}</div></div>'
            self.set_nav(False)
            return
        ttl = "no expiry" if stats.ttl is None else f"expires in {stats.ttl:,} s"
        memory = "memory n/a" if stats.memory is None else f"{stats.memory:,} bytes"
        where = f"#{self.items[0][0]:,}–#{self.items[-1][0]:,}" if self.items else "nothing"
        order = "oldest first" if self.v.oldest_first else "newest first"
        role = f" · {self.total:,} {self.v.role_filter} messages" if self.role_hits is not None else ""
        kind = "" if stats.kind == "memstore" else f" · {stats.kind}"
        if self.transcript is not None and self.transcript.checkpoint_id:
            kind += f" · checkpoint {self.transcript.checkpoint_id}"
        self.header.value = (
            f'<div class="{VIEWER_CLASS}"><div class="msnb-head"><b>{esc(escape_controls(sid))}</b>{esc(kind)} · '
            f"{stats.length:,} messages{esc(role)} · {esc(ttl)} · {esc(memory)} · showing {where} "
            f"(page {self.v.page + 1:,} of {self.pages:,}, {order})</div></div>"
        )
        self.set_nav(True)

    def set_nav(self, open_: bool) -> None:
        at_first, at_last = self.v.page <= 0, self.v.page >= self.pages - 1
        self.first_button.disabled = self.prev_button.disabled = not open_ or (at_first and self.anchor is None)
        self.next_button.disabled = self.last_button.disabled = not open_ or at_last

    def render(self, highlight: str | None) -> None:
        """The page as HTML, newest at the top unless oldest first; the current hit outlined."""
        role = self.v.role_filter
        shown = [(i, item) for i, item in self.items if not role or _role(item) == role]
        if not self.v.oldest_first:
            shown = shown[::-1]
        if self.v.session_id is None:
            empty = "No session open"
        elif role:
            empty = f"No {role} messages in this session"
        else:
            empty = "No messages"
        self.html.value = render_page(
            shown,
            highlight=highlight or None,
            empty_text=empty,
            raw_json=self.raw_json,
            current=self.current,
            times=self.times,
            css=False,  # the viewer's own style widget carries it: not 13 kB more (and a restyle) per page
        )
        self.crosslinks.show(shown, self.length)


def _role(item: Any) -> str:
    return entry_role(item)
