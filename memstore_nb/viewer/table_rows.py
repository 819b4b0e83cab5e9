"""The session table's rows without widgets: columns, last activity, sorting, filtering and each row's cells.

Last activity is exact where the kind of history knows it (a LangGraph thread: its newest
checkpoint's time). For a Redis list it is when the key was last touched, as Redis reports it
(``OBJECT IDLETIME``, read before anything else touches the key): the app's own reads and writes
count, this viewer's do not (a row read again after the viewer last touched it keeps the time it had,
unless its length changed or someone touched it since).
"""

from __future__ import annotations

import datetime as dt
import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..codec import escape_controls
from ..render.fields import visible_surrogates
from ..sources.base import SessionSummary
from ..units import duration, size

__all__ = ["COLUMNS", "DEFAULT_SORT", "Activity", "Column", "cells_html", "filtered", "row_label", "shown_id"]


@dataclass(frozen=True)
class Column:
    """One column: its header, how it sorts, and its usual direction."""

    title: str
    key: Callable[[SessionSummary, float | None], Any]
    descending_first: bool


def _missing_last(value: float | None, descending: bool) -> float:
    # Unknown values sort after known ones whichever way the column is sorted.
    if value is None:
        return float("-inf") if descending else float("inf")
    return value


#: column name -> Column, in the order the table shows them
COLUMNS: dict[str, Column] = {
    "session": Column("Session", lambda r, a: r.session_id.casefold(), False),
    "kind": Column("Kind", lambda r, a: (r.kind, r.session_id.casefold()), False),
    "messages": Column("Messages", lambda r, a: r.length, True),
    "activity": Column("Last activity", lambda r, a: a, True),
    "ttl": Column("TTL", lambda r, a: r.ttl, False),
    "memory": Column("Memory", lambda r, a: r.memory, True),
    "last": Column("Last message", lambda r, a: (r.last_preview.casefold(), r.session_id.casefold()), False),
}
#: the order a fresh table shows: most recent activity first
DEFAULT_SORT = ("activity", True)
_NUMERIC = frozenset({"messages", "activity", "ttl", "memory"})
_ID_SHOWN = 80


def shown_id(session_id: str) -> str:
    """A session id as the table shows it: control, bidi and lone surrogate characters as escapes."""
    return visible_surrogates(escape_controls(session_id))


class Activity:
    """When each listed session was last active (epoch seconds), kept across readings of its row."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.when: dict[str, float | None] = {}
        self._lengths: dict[str, int] = {}
        self._ours: dict[str, float] = {}  # when this viewer last touched the key (its own reads)

    def read(self, rows: Sequence[SessionSummary]) -> None:
        """Take the activity of freshly summarized ``rows`` (their reading touched each key now)."""
        now = self._clock()
        for row in rows:
            sid = row.session_id
            if row.updated is not None:  # the kind knows (a thread's newest checkpoint)
                self.when[sid] = row.updated
            elif row.idle is not None:
                seen, before = now - row.idle, self.when.get(sid)
                ours = self._ours.get(sid)
                if before is None or ours is None or seen > ours + 1:
                    self.when[sid] = seen  # first seen, or someone touched it after we last did
                elif row.length != self._lengths.get(sid):
                    self.when[sid] = max(before, ours)  # written between our two readings
            else:
                self.when.setdefault(sid, None)
            self._lengths[sid] = row.length
            self._ours[sid] = now

    def touched(self, session_id: str, *, grew: bool = False) -> None:
        """This viewer read the session (its own reads are no activity); ``grew``: it has new messages."""
        now = self._clock()
        if grew:
            self.when[session_id] = now
        self._ours[session_id] = now

    def forget(self, session_id: str) -> None:
        """Drop what is known of a session that left the table."""
        for known in (self.when, self._lengths, self._ours):
            known.pop(session_id, None)


def sort_key(column: str, descending: bool, activity: Activity) -> Callable[[SessionSummary], Any]:
    """The key that sorts rows by ``column`` (unknown values last, whichever the direction)."""
    get = COLUMNS[column].key
    if column in _NUMERIC:
        return lambda r: _missing_last(get(r, activity.when.get(r.session_id)), descending)
    return lambda r: get(r, activity.when.get(r.session_id))


def filtered(rows: Sequence[SessionSummary], needle: str) -> list[SessionSummary]:
    """The rows whose id, kind or last message contains ``needle`` (any case)."""
    needle = needle.strip().casefold()
    if not needle:
        return list(rows)
    return [
        r for r in rows if needle in r.session_id.casefold() or needle in r.kind or needle in r.last_preview.casefold()
    ]


def _ago(when: float | None, now: float) -> tuple[str, str]:
    if when is None:
        return "—", "not known"
    at = dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{duration(max(now - when, 0))} ago", at


def cells_html(row: SessionSummary, when: float | None, now: float) -> str:
    """Every cell of a row but the session's own (the pick button shows that), escaped, one ``div`` each."""
    esc = html.escape
    ago, at = _ago(when, now)
    gone = row.length == 0
    last = "gone" if gone else f"{row.last_role}: {row.last_preview}"
    cells = [
        ("kind", "kind", row.kind, ""),
        ("num", "messages", f"{row.length:,}", ""),
        ("when", "last activity", ago, at),
        ("num", "TTL", "—" if row.ttl is None else duration(row.ttl), "" if row.ttl is None else f"{row.ttl:,} s"),
        ("num", "memory", size(row.memory), "" if row.memory is None else f"{row.memory:,} bytes"),
        ("last", "last message", visible_surrogates(escape_controls(last)), ""),
    ]
    return "".join(
        f'<div class="msnb-cell msnb-c-{klass}" data-label="{esc(label)}"'
        + (f' title="{esc(title)}"' if title else "")
        + f">{esc(text)}</div>"
        for klass, label, text, title in cells
    )


def row_label(row: SessionSummary, when: float | None, now: float) -> str:
    """A whole row as one line of plain text (the pick button's description for assistive technology)."""
    if row.length == 0:
        return f"{shown_id(row.session_id)} · gone"
    ago, _ = _ago(when, now)
    ttl = "no TTL" if row.ttl is None else f"TTL {duration(row.ttl)}"
    last = visible_surrogates(escape_controls(f"{row.last_role}: {row.last_preview}"))
    noun = "message" if row.length == 1 else "messages"
    return (
        f"{shown_id(row.session_id)} · {row.kind} · {row.length:,} {noun} · last activity {ago} · {ttl} · "
        f"{size(row.memory)} · {last}"
    )


def pick_text(row: SessionSummary) -> str:
    """What the pick button shows: the id, shortened."""
    name = shown_id(row.session_id)
    return name if len(name) <= _ID_SHOWN else name[: _ID_SHOWN - 1] + "…"
