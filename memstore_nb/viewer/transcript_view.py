"""The viewer's transcript panel: the header, the pager row and the scrolling page of messages."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from ..codec import escape_controls
from ..render.fields import visible_surrogates
from ..render.page import VIEWER_CLASS, render_page
from ..sources.entries import entry_role
from ..units import duration, size
from .controls import Looks, Progress
from .crosslinks import CrossLinks
from .session import OpenSession
from .state import ViewerState

__all__ = ["TranscriptView"]


class TranscriptView:
    """Shows the :class:`OpenSession` as the :class:`ViewerState` says (page, order, role, search).

    The pager buttons ask ``on_page(page)`` for a page; the tool-link buttons ask ``on_hop(index,
    call_id)`` for a message's counterpart. ``extra`` widgets (the "More ▾" toggle) join the pager row.
    """

    def __init__(
        self,
        state: ViewerState,
        session: OpenSession,
        looks: Looks,
        *,
        on_page: Callable[[int], None],
        on_hop: Callable[[int, str], Any],
        extra: Sequence[widgets.Widget] = (),
    ) -> None:
        self.state = state
        self.session = session
        self._on_page = on_page
        self.raw_json = False  # each message as stored (the "raw JSON" switch in the More panel)
        self.header = looks.html()
        self.first_button = looks.button("« First", "newest page (or oldest, with oldest first)")
        self.prev_button = looks.button("‹ Prev", "previous page")
        self.next_button = looks.button("Next ›", "next page")
        self.last_button = looks.button("Last »", "last page")
        self.html = looks.html(classes=("msnb-scroll",))  # sized by the viewer's stylesheet (layout.py)
        for child, target in [
            (self.first_button, lambda: 0),
            (self.prev_button, lambda: state.page - 1),
            (self.next_button, lambda: state.page + 1),
            (self.last_button, lambda: state.pages - 1),
        ]:
            child.on_click(lambda _, target=target: self.go_page(target()))
        # The pager, the "More ▾" toggle, and buttons for tool calls and results whose counterpart is
        # on another page (added by CrossLinks when there are some), in reach above the transcript.
        pages = (self.first_button, self.prev_button, self.next_button, self.last_button)
        self.pager = looks.row(*pages, *extra)
        self.crosslinks = CrossLinks(looks, self.pager, on_hop)
        self.role_progress = Progress(self.pager)

    def go_page(self, page: int) -> None:
        """Ask for ``page`` (what the pager buttons do)."""
        self._on_page(page)

    def show_raw(self, raw: bool) -> None:
        """Show each message as stored (raw JSON) or rendered."""
        self.raw_json = raw
        self.render()

    def render_header(self) -> None:
        """The session's name, size, expiry, memory and which messages are shown; the pager's state."""
        esc = html.escape
        state, session = self.state, self.session
        stats, sid = session.stats, state.session_id
        if sid is None or stats is None:
            text = "Pick a session in the list." if sid is None else ""
            self.header.value = f'<div class="{VIEWER_CLASS}"><div class="msnb-muted">{esc(text)}</div></div>'
            self.set_nav(False)
            return
        ttl = "no expiry" if stats.ttl is None else f"expires in {duration(stats.ttl)}"
        memory = "memory n/a" if stats.memory is None else size(stats.memory)
        items = session.items
        where = f"#{items[0][0]:,}–#{items[-1][0]:,}" if items else "nothing"
        order = "oldest first" if state.oldest_first else "newest first"
        whole = session.at_newest and session.at_oldest
        if session.anchor is not None and items and not whole:  # a jump: the window starts at a message
            place = f"from #{session.anchor:,}, on page {state.page + 1:,} of {state.pages:,}, {order}"
        else:
            place = f"page {state.page + 1:,} of {state.pages:,}, {order}"
        role = f" · {session.total:,} {state.role_filter} messages" if session.role_hits is not None else ""
        kind = "" if stats.kind == "memstore" else f" · {stats.kind}"
        shown = session.transcript
        if shown is not None and shown.checkpoint_id:
            kind += f" · as of {shown.checkpoint_label or 'checkpoint ' + shown.checkpoint_id}"
        self.header.value = visible_surrogates(
            f'<div class="{VIEWER_CLASS}"><div class="msnb-head"><b>{esc(escape_controls(sid))}</b>{esc(kind)} · '
            f"{stats.length:,} messages{esc(role)} · {esc(ttl)} · {esc(memory)} · showing {where} "
            f"({esc(place)})</div></div>"
        )
        self.set_nav(True)

    def set_nav(self, open_: bool) -> None:
        """Enable the pager buttons that lead somewhere: First and Prev toward page 1, Next and Last away."""
        session = self.session
        newest, oldest = session.at_newest, session.at_oldest
        at_first, at_last = (oldest, newest) if self.state.oldest_first else (newest, oldest)
        self.first_button.disabled = self.prev_button.disabled = not open_ or at_first
        self.next_button.disabled = self.last_button.disabled = not open_ or at_last

    def render(self) -> None:
        """The window as HTML, newest at the top unless oldest first; the current hit outlined."""
        state, session = self.state, self.session
        role = state.role_filter
        shown = [(i, item) for i, item in session.items if not role or entry_role(item) == role]
        if not state.oldest_first:
            shown = shown[::-1]
        if state.session_id is None:
            empty = "No session open"
        elif role:
            empty = f"No {role} messages in this session"
        else:
            empty = "No messages"
        self.html.value = render_page(
            shown,
            highlight=state.search or None,
            empty_text=empty,
            raw_json=self.raw_json,
            current=session.current,
            times=session.times,
            css=False,  # the viewer's own style widget carries it: not 13 kB more (and a restyle) per page
        )
        self.crosslinks.show(shown, session.length)
