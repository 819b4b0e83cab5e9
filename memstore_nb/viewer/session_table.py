"""The viewer's session table: SCAN in batches, then a real table of the listed sessions, sorted and paged.

Stock widgets only, so it works wherever ipywidgets do: a row of header buttons (click to sort, again
to reverse), then one row per session: a box holding a button with the session's id (the whole row
is its click target, by the stylesheet) and an HTML strip of the other cells (kind, messages, last
activity, TTL, memory, the last message). Every row is a CSS grid with the same fixed columns, so the
columns line up; a phone shows each row as a card. A fixed number of row slots is reused from page
to page of the table, so a big listing costs no more widgets than a small one. Sorting and
filtering work on every listed session; either one first lists the rest when SCAN has more, so it
never orders a sample.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ipywidgets as widgets

from ..sources.base import SessionId, SessionSummary
from ..sources.catalog import list_sessions, summarize_sessions
from .controls import Looks, hidden_by_class
from .table_rows import COLUMNS, DEFAULT_SORT, Activity, cells_html, filtered, pick_text, row_label, sort_key

__all__ = ["PAGE_ROWS", "RowChoice", "SessionTable"]

PAGE_ROWS = 10  # rows shown at a time: the slots (three widgets each) are made once and reused
LIST_ALL_LIMIT = 100_000  # sorting or filtering lists the rest first, up to this many sessions
_CONTROLS = ("match_text", "scan_button", "filter_text", "status", "grid", "_row", "_pager")


class RowChoice:
    """The rows as a list box would offer them (``options``, ``value``, ``index``), for code written for one.

    ``options`` are ``(label, session id)`` pairs of every listed row in table order (filtered and
    sorted); setting ``value`` picks that session, as a click on its row does. Using it makes the
    table (and lists, the first time), as using any of the table's controls does.
    """

    def __init__(self, table: SessionTable) -> None:
        self._table = table

    @property
    def options(self) -> list[tuple[str, str]]:
        t = self._table
        t.build()
        now = time.time()
        return [(row_label(r, t.activity.when.get(r.session_id), now), r.session_id) for r in t.shown]

    @property
    def value(self) -> str | None:
        self._table.build()
        return self._table.current

    @value.setter
    def value(self, session_id: str) -> None:
        self._table.pick(session_id)

    @property
    def index(self) -> int | None:
        self._table.build()
        ids = [r.session_id for r in self._table.shown]
        current = self._table.current
        return ids.index(current) if current in ids else None


class SessionTable:
    """Pattern, Scan (and Scan more while SCAN has more), filter, the sortable table and its pager.

    ``on_pick(session_id)`` is called when the reader picks a row. The column (``widget``) is on the
    page from the start; its controls are made by :meth:`build`, at once or (``build=False``) the first
    time one is used, and ``on_build(table)`` is called right after they are made.
    """

    match_text: widgets.Text
    scan_button: widgets.Button
    filter_text: widgets.Text
    status: widgets.HTML
    grid: widgets.Box

    def __init__(
        self,
        client: Any,
        on_pick: Callable[[str], None],
        looks: Looks,
        on_more: Callable[[], None] = lambda: None,
        *,
        build: bool = True,
        on_build: Callable[[SessionTable], None] = lambda _: None,
        page_rows: int = PAGE_ROWS,
        community_prefixes: Sequence[str] = (),
    ) -> None:
        self._client = client
        self._community = tuple(community_prefixes)
        self._on_pick = on_pick
        self._on_more = on_more
        self._on_build = on_build
        self._iter: Iterator[str] | None = None
        self._match = "*"
        self.rows: list[SessionSummary] = []
        self.shown: list[SessionSummary] = []
        self.activity = Activity()
        self.sort_by, self.descending = DEFAULT_SORT
        self.first = 0  # the table page: index in ``shown`` of the first row on screen
        self.page_rows = max(int(page_rows), 1)
        self.current: str | None = None
        self.select = RowChoice(self)
        self._looks = looks
        self._more: widgets.Button | None = None  # Scan more: made when a scan leaves sessions unlisted
        self._slots: list[tuple[widgets.Box, widgets.Button, widgets.HTML]] = []
        self._slot_ids: list[str | None] = []
        self.headers: dict[str, widgets.Button] = {}
        self.built = False
        # sized by the viewer's stylesheet (layout.py)
        self.widget = widgets.VBox([], layout=looks.layout(), _dom_classes=["msnb-sessions"])
        if build:
            self.build()

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: the controls before they are made.
        if name in _CONTROLS and not self.__dict__.get("built", True):
            self.build()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def build(self) -> None:
        """Make the controls (once) and put them at the top of the column."""
        if self.built:
            return
        looks = self._looks
        self.match_text = looks.text("sessions matching, e.g. user-* (Enter)", label="pattern")
        self.scan_button = looks.button("Scan", "list the sessions matching the pattern (SCAN)")
        self.filter_text = looks.text("filter the sessions (Enter)", label="filter")
        self.status = looks.html()
        self.filter_text.observe(lambda _: self._filter_changed(), names="value")
        for name, column in COLUMNS.items():
            header = looks.button(column.title, f"sort by {column.title.lower()}")
            header.add_class("msnb-sort")
            header.on_click(lambda _, name=name: self.sort(name))
            self.headers[name] = header
        self._prev_rows = looks.button("‹ Rows", "the previous rows of the table")
        self._next_rows = looks.button("Rows ›", "the next rows of the table")
        self._where = looks.html()
        self._prev_rows.on_click(lambda _: self.turn(-1))
        self._next_rows.on_click(lambda _: self.turn(1))
        self._row = looks.row(self.match_text, self.scan_button, self.filter_text, self.status)
        head = widgets.Box(list(self.headers.values()), layout=looks.layout(), _dom_classes=["msnb-trow", "msnb-thead"])
        self.grid = widgets.Box([head], layout=looks.layout(), _dom_classes=["msnb-grid"])
        self._pager = looks.row(self._prev_rows, self._next_rows, self._where, classes=("msnb-table-pager",))
        self.built = True
        self._label_headers()
        # Whatever joined the column before (a LangGraph thread's checkpoints) stays under the table.
        self.widget.children = (self._row, self.grid, self._pager, *self.widget.children)
        if self.rows:
            self.show()
        self._on_build(self)

    @property
    def more_button(self) -> widgets.Button:
        """Scan more, beside Scan: made when a scan first leaves sessions unlisted (or when asked for)."""
        if self._more is None:
            self._more = self._looks.button("Scan more", "list more matching sessions (SCAN continues)")
            self._more.on_click(lambda _: self._on_more())
            parts = list(self._row.children)
            at = parts.index(self.scan_button) + 1
            self._row.children = (*parts[:at], self._more, *parts[at:])
            self._show_more()
        return self._more

    def _show_more(self) -> None:
        # It hides (by class: the layout is shared with every button) when everything is listed.
        done = self._iter is None
        if self._more is None and done:
            return
        self.more_button.disabled = done
        hidden_by_class(self.more_button, done)

    # -- listing ------------------------------------------------------------------

    def scan(self, match: str, count: int, rows: int) -> None:
        """List again from the start."""
        self._match = match or "*"
        self._iter = list_sessions(self._client, self._match, count=count, community_prefixes=self._community)
        self.rows = []
        self.first = 0
        self.more(match, rows)

    def more(self, match: str, rows: int) -> None:
        """Add up to ``rows`` more sessions (SCAN may repeat a key while Redis resizes: shown once)."""
        if self._iter is None:
            return
        seen = {r.session_id for r in self.rows}
        new: list[str] = []
        for sid in self._iter:
            if sid not in seen:
                seen.add(sid)
                new.append(sid)
                if len(new) >= rows:
                    break
        else:
            self._iter = None
        fresh = summarize_sessions(self._client, new, memory=True)
        self.activity.read(fresh)
        self.rows += fresh
        self.show()
        self._show_more()
        self._say_listed()

    def list_all(self, limit: int = LIST_ALL_LIMIT) -> None:
        """List every remaining matching session (up to ``limit`` in all), so sorting and filtering see them all."""
        while self._iter is not None and len(self.rows) < limit:
            self.more(self._match, min(1000, limit - len(self.rows)))

    def _say_listed(self) -> None:
        count = len(self.rows)
        noun = "session" if count == 1 else "sessions"
        when = time.strftime("%H:%M:%S")
        if self._iter is None:
            tail = f"all listed at {when}"
        else:
            tail = f"more to list (Scan more; a sort or filter lists them all), sorted among these, as of {when}"
        self.status.value = html.escape(f"{count:,} {noun} matching {self._match!r} · {tail}")

    def refresh_rows(self, session_ids: list[str]) -> None:
        """Read these rows again (counts, TTL, last message); rows whose key vanished leave the table."""
        wanted = set(session_ids)
        kinds = {r.session_id: r.kind for r in self.rows}  # a listed row knows its kind (a community prefix)
        ids = [SessionId(sid, kinds[sid]) if sid in kinds else sid for sid in session_ids]
        fresh_rows = summarize_sessions(self._client, ids, memory=True)
        self.activity.read(fresh_rows)
        fresh = {r.session_id: r for r in fresh_rows}
        self.rows = [fresh.get(r.session_id, r) if r.session_id in wanted else r for r in self.rows]
        self.rows = [r for r in self.rows if r.length or r.session_id not in wanted]
        self.show()

    def forget(self, session_id: str) -> None:
        """Drop one row (the session was deleted)."""
        self.rows = [r for r in self.rows if r.session_id != session_id]
        self.activity.forget(session_id)
        self.show()

    def touched(self, session_id: str, *, grew: bool = False) -> None:
        """The viewer read this session (no activity of its own), or saw it grow (``grew``)."""
        self.activity.touched(session_id, grew=grew)
        if grew:
            self.show()

    # -- sort, filter and page (no Redis round trip once everything is listed) ----------------------

    def sort(self, column: str) -> None:
        """Sort by ``column`` (a :data:`~memstore_nb.viewer.table_rows.COLUMNS` name); the same column
        again reverses the order. Lists the rest of the matching sessions first when SCAN has more."""
        descending_first = COLUMNS[column].descending_first
        self.descending = (not self.descending) if column == self.sort_by else descending_first
        self.sort_by = column
        self.list_all()
        self.first = 0
        self._label_headers()
        self.show()

    def _label_headers(self) -> None:
        if not self.built:
            return
        for name, header in self.headers.items():
            title = COLUMNS[name].title
            arrow = (" ▼" if self.descending else " ▲") if name == self.sort_by else ""
            header.description = title + arrow
            order = "descending" if self.descending else "ascending"
            header.tooltip = (
                f"sorted by {title.lower()}, {order}; press to reverse" if arrow else f"sort by {title.lower()}"
            )

    def _filter_changed(self) -> None:
        if self.filter_text.value.strip():
            self.list_all()
        self.first = 0
        self.show()

    def turn(self, step: int) -> None:
        """Show the next (``1``) or previous (``-1``) rows of the table."""
        last = max(len(self.shown) - 1, 0) // self.page_rows * self.page_rows
        self.first = min(max(self.first + step * self.page_rows, 0), last)
        self._fill()

    def show(self) -> None:
        """Put the listed rows, filtered and sorted, in the table (keeping the open session's row in view)."""
        rows = filtered(self.rows, self.filter_text.value if self.built else "")
        self.shown = sorted(rows, key=sort_key(self.sort_by, self.descending, self.activity), reverse=self.descending)
        if self.built:
            self._fill()

    def _slot(self, i: int) -> tuple[widgets.Box, widgets.Button, widgets.HTML]:
        # A row: its box (the stylesheet's grid, and what the pick button's click area covers), the pick
        # button (the session's id, its accessible name and description) and the other cells.
        while len(self._slots) <= i:
            n = len(self._slots)
            pick = self._looks.button("", "")
            pick.add_class("msnb-pick")
            pick.on_click(lambda _, n=n: self._clicked(n))
            cells = self._looks.html(classes=("msnb-cells",))
            box = widgets.Box([pick, cells], layout=self._looks.layout(), _dom_classes=["msnb-trow"])
            self._slots.append((box, pick, cells))
            self._slot_ids.append(None)
            self.grid.children = (*self.grid.children, box)
        return self._slots[i]

    def _fill(self) -> None:
        now = time.time()
        page = self.shown[self.first : self.first + self.page_rows]
        for i in range(max(len(page), len(self._slots))):
            row = page[i] if i < len(page) else None
            if row is None:
                hidden_by_class(self._slots[i][0], True)
                self._slot_ids[i] = None
                continue
            box, pick, cells = self._slot(i)
            when = self.activity.when.get(row.session_id)
            pick.description = pick_text(row)
            pick.tooltip = row_label(row, when, now)
            cells.value = cells_html(row, when, now)
            self._slot_ids[i] = row.session_id
            hidden_by_class(box, False)
        self._mark_current()
        total = len(self.shown)
        end = min(self.first + self.page_rows, total)
        self._where.value = html.escape(f"{self.first + 1:,}–{end:,} of {total:,}" if total else "no sessions")
        self._prev_rows.disabled = self.first <= 0
        self._next_rows.disabled = end >= total
        hidden_by_class(self._pager, total <= self.page_rows)

    def _mark_current(self) -> None:
        for (box, _, _), sid in zip(self._slots, self._slot_ids, strict=True):
            if sid is not None and sid == self.current:
                box.add_class("msnb-current")
            else:
                box.remove_class("msnb-current")

    def select_current(self, session_id: str | None) -> None:
        """Highlight the open session's row (or none), turning the table to its page."""
        self.current = session_id
        if not self.built:
            return
        ids = [r.session_id for r in self.shown]
        if session_id in ids and not self.first <= ids.index(session_id) < self.first + self.page_rows:
            self.first = ids.index(session_id) // self.page_rows * self.page_rows
            self._fill()
        else:
            self._mark_current()

    def kind_of(self, session_id: str) -> str | None:
        """The kind of a listed session, or None when it is not listed."""
        return next((r.kind for r in self.rows if r.session_id == session_id), None)

    def pick(self, session_id: str) -> None:
        """Open ``session_id`` (what a click on its row does)."""
        self._on_pick(session_id)

    def _clicked(self, slot: int) -> None:
        sid = self._slot_ids[slot]
        if sid is not None:
            self._on_pick(sid)
