"""The viewer's session table: SCAN in batches, one row per session, sorted and filtered without asking Redis."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as widgets

from ..codec import escape_controls
from ..render.fields import visible_surrogates
from ..sources.base import SessionSummary
from ..sources.catalog import list_sessions, summarize_sessions
from ..units import duration, size
from .controls import Looks, hidden_by_class

__all__ = ["COLUMNS", "SORT_CHOICES", "SessionTable", "format_row"]

#: column name -> (sort key, descending first)
COLUMNS: dict[str, tuple[Callable[[SessionSummary], Any], bool]] = {
    "id": (lambda r: r.session_id.casefold(), False),
    "kind": (lambda r: (r.kind, r.session_id.casefold()), False),
    "messages": (lambda r: r.length, True),
    "TTL": (lambda r: float("inf") if r.ttl is None else r.ttl, False),
    "memory": (lambda r: -1 if r.memory is None else r.memory, True),
    "last message": (lambda r: (r.last_preview.casefold(), r.session_id.casefold()), False),
}
#: the sort box's choices: (label, (column, descending)); each column's usual direction first
SORT_CHOICES: list[tuple[str, Any]] = [("sort: as listed", "")] + [
    (f"sort by {name} {'▼' if desc else '▲'}", (name, desc))
    for name, (_, desc_first) in COLUMNS.items()
    for desc in (desc_first, not desc_first)
]
_ID_WIDTH = 48  # the widest id column; longer ids end in "…"
_CONTROLS = ("match_text", "scan_button", "filter_text", "sort_dropdown", "status", "select", "_row")


def format_row(r: SessionSummary, width: int = _ID_WIDTH) -> str:
    """One plain-text table row (the list box shows text; escape it before using it in HTML)."""
    name = visible_surrogates(escape_controls(r.session_id))  # bidi and control characters shown, never obeyed
    if len(name) > width:
        name = name[: width - 1] + "…"
    if r.length == 0:
        return f"{name:<{width}}  {r.kind:<9}  gone"
    last = visible_surrogates(escape_controls(f"{r.last_role}: {r.last_preview}"))
    ttl = "none" if r.ttl is None else duration(r.ttl)
    return f"{name:<{width}}  {r.kind:<9} {r.length:>7,} {ttl:>5} {size(r.memory):>8}  {last}"


class SessionTable:
    """Session table: pattern, Scan (and Scan more when SCAN has more), filter, sort, and the list of rows.

    ``on_pick(session_id)`` is called when the reader picks a row. The column (``widget``) is on the
    page from the start; its controls are made by :meth:`build`, at once or (``build=False``) the
    first time one is used, and ``on_build(table)`` is called right after they are made.
    """

    match_text: widgets.Text
    scan_button: widgets.Button
    filter_text: widgets.Text
    sort_dropdown: widgets.Dropdown
    status: widgets.HTML
    select: widgets.Select

    def __init__(
        self,
        client: Any,
        on_pick: Callable[[str], None],
        looks: Looks,
        on_more: Callable[[], None] = lambda: None,
        *,
        build: bool = True,
        on_build: Callable[[SessionTable], None] = lambda _: None,
    ) -> None:
        self._client = client
        self._on_pick = on_pick
        self._on_more = on_more
        self._on_build = on_build
        self._iter: Iterator[str] | None = None
        self.rows: list[SessionSummary] = []
        self.shown: list[SessionSummary] = []
        self.sort_by = ""
        self.descending = False
        self.current: str | None = None
        self._muted = False
        self._looks = looks
        self._more: widgets.Button | None = None  # Scan more: made when a scan leaves sessions unlisted
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
        self.filter_text = looks.text("filter the listed rows (Enter)", label="filter")
        self.sort_dropdown = looks.choice(widgets.Dropdown, "sort", options=SORT_CHOICES, value="")
        self.status = looks.html()
        self.select = looks.choice(widgets.Select, "sessions", options=[], rows=10, _dom_classes=["msnb-table"])
        self.filter_text.observe(lambda _: self.show(), names="value")
        self.sort_dropdown.observe(self._sort_picked, names="value")
        self.select.observe(self._picked, names="value")
        self._row = looks.row(self.match_text, self.scan_button, self.filter_text, self.sort_dropdown, self.status)
        self.built = True
        # Whatever joined the column before (a LangGraph thread's checkpoints) stays under the table.
        self.widget.children = (self._row, self.select, *self.widget.children)
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
        self._iter = list_sessions(self._client, match or "*", count=count)
        self.rows = []
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
        self.rows += summarize_sessions(self._client, new, memory=True)
        self.show()
        done = self._iter is None
        self._show_more()
        count = len(self.rows)
        noun = "session" if count == 1 else "sessions"
        tail = "all listed" if done else "Scan more for the rest"
        self.status.value = html.escape(f"{count:,} {noun} matching {match or '*'!r} · {tail}")

    def refresh_rows(self, session_ids: list[str]) -> None:
        """Read these rows again (counts, TTL, last message); rows whose key vanished leave the table."""
        wanted = set(session_ids)
        fresh = {r.session_id: r for r in summarize_sessions(self._client, session_ids, memory=True)}
        self.rows = [fresh.get(r.session_id, r) if r.session_id in wanted else r for r in self.rows]
        self.rows = [r for r in self.rows if r.length or r.session_id not in wanted]
        self.show()

    def forget(self, session_id: str) -> None:
        """Drop one row (the session was deleted)."""
        self.rows = [r for r in self.rows if r.session_id != session_id]
        self.show()

    # -- sort and filter (no Redis round trip) -------------------------------------

    def sort(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        desc_first = COLUMNS[column][1]
        descending = (not self.descending) if column == self.sort_by else desc_first
        self.sort_dropdown.value = (column, descending)  # sorts (its observer)

    def _sort_picked(self, change: Any) -> None:
        self.sort_by, self.descending = change.new or ("", False)
        self.show()

    def show(self) -> None:
        """Put the listed rows, filtered and sorted, in the list box."""
        needle = self.filter_text.value.strip().casefold() if self.built else ""
        rows = self.rows
        if needle:
            rows = [
                r
                for r in rows
                if needle in r.session_id.casefold() or needle in r.kind or needle in r.last_preview.casefold()
            ]
        if self.sort_by:
            rows = sorted(rows, key=COLUMNS[self.sort_by][0], reverse=self.descending)
        self.shown = rows
        if not self.built:
            return  # the rows go into the list box when it is made
        self._muted = True
        try:
            width = min(max((len(escape_controls(r.session_id)) for r in rows), default=8), _ID_WIDTH)
            self.select.options = [(format_row(r, width), str(r.session_id)) for r in rows]
            self.select_current(self.current)
        finally:
            self._muted = False

    def select_current(self, session_id: str | None) -> None:
        """Highlight the open session's row (or none)."""
        self.current = session_id
        if not self.built:
            return
        ids = [str(r.session_id) for r in self.shown]
        muted, self._muted = self._muted, True
        try:
            self.select.index = ids.index(session_id) if session_id in ids else None
        finally:
            self._muted = muted

    def kind_of(self, session_id: str) -> str | None:
        """The kind of a listed session, or None when it is not listed."""
        return next((r.kind for r in self.rows if r.session_id == session_id), None)

    def _picked(self, change: Any) -> None:
        if not self._muted and change.new:
            self._on_pick(change.new)
