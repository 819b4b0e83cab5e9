"""What the viewer's panels observe: the open session, the page, the filter, the search… as traitlets.

A panel is given a :class:`ViewerState`, never the viewer: it reads and sets these traits, observes
them, and calls the callbacks it was built with. The viewer (``widget.py``) has the same public
traits (:class:`ViewerTraits`), owns one state, links each pair both ways, and wires the panels
together. No trait is synced to the front end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from traitlets import Bool, Float, HasTraits, Int, Unicode, validate

__all__ = ["CHECKED", "PUBLIC", "ViewerState", "ViewerTraits", "checked", "mirror"]

#: the traits whose values :func:`checked` may change
CHECKED = (
    "session_id",
    "page",
    "page_size",
    "follow_interval",
    "scan_count",
    "rows_per_scan",
    "chunk_size",
    "max_link_bytes",
)


def checked(name: str, value: Any, pages: int) -> Any:
    """``value`` as trait ``name`` keeps it: ids '' -> None, sizes clamped, ``page`` within ``pages``."""
    if name == "session_id":
        return value or None
    if name == "page_size":
        return min(max(int(value), 1), 1000)
    if name == "page":
        return min(max(int(value), 0), pages - 1)
    if name == "follow_interval":
        return max(float(value), 0.05)
    return max(int(value), 1)  # scan_count, rows_per_scan, chunk_size, max_link_bytes


class ViewerTraits(HasTraits):
    """The viewer's public traits: what is open and how it is shown, every value already checked.

    :class:`~memstore_nb.viewer.widget.ChatHistoryViewer` has them (its API) and so has its
    :class:`ViewerState`, which the panels observe; the viewer links each pair both ways. Both
    check a value by the same rules (:func:`checked`), so the two sides never disagree.
    """

    session_id = Unicode(None, allow_none=True, help="The open session (its key), or None")
    match = Unicode("*", help="Glob pattern for the session list")
    page = Int(0, help="Page shown, 0 being the newest (or the oldest with oldest_first)")
    page_size = Int(50, help="Messages per page (1-1000)")
    oldest_first = Bool(False, help="Page from the start of the session instead of its end")
    role_filter = Unicode("", help="Show only messages of this role, over the whole session ('' = all)")
    search = Unicode("", help="Text to find (case-insensitive) with find()")
    follow = Bool(False, help="Poll for new messages every follow_interval seconds")
    follow_interval = Float(3.0, help="Seconds between polls while following")
    scan_count = Int(1000, help="SCAN COUNT hint for the session list")
    rows_per_scan = Int(1000, help="Sessions listed by the first scan (Scan more adds ten times as many)")
    chunk_size = Int(1000, help="Messages per LRANGE while searching, filtering or exporting")
    max_link_bytes = Int(16 * 1024 * 1024, help="Largest export offered as a download link")

    @property
    def pages(self) -> int:
        """Pages of the open session (at least 1); ``page`` stays below it."""
        return 1

    @validate(*CHECKED)
    def _check(self, proposal: Any) -> Any:
        return checked(proposal.trait.name, proposal.value, self.pages)


#: the names of :class:`ViewerTraits`, in the order they are declared
PUBLIC = tuple(name for name in ViewerTraits.__dict__ if name in ViewerTraits.class_trait_names())


class ViewerState(ViewerTraits):
    """What the panels observe: the viewer's traits, and ``total``.

    ``total`` (messages the pager walks: all of them, or those of the filtered role) is set by
    whoever reads the session; ``pages`` and the clamping of ``page`` follow from it.
    """

    total = Int(0, help="Messages the pager walks: all, or those of the filtered role")

    @property
    def pages(self) -> int:
        """Pages of the open session (at least 1)."""
        return max(1, math.ceil(self.total / self.page_size))


def mirror(source: HasTraits, target: HasTraits, names: Sequence[str]) -> None:
    """Keep the traits ``names`` of ``source`` and ``target`` equal, both ways; ``target`` starts from ``source``.

    One observer on each side for all the names (cheaper to set up than a ``traitlets.link`` per
    trait); a change copied across is not copied back. Both sides must check values by the same
    rules, or they could differ.
    """
    copying: list[bool] = []

    def copier(to: HasTraits) -> Any:
        def copy(change: Any) -> None:
            if copying:
                return
            copying.append(True)
            try:
                setattr(to, change.name, change.new)
            finally:
                copying.pop()

        return copy

    for name in names:
        setattr(target, name, getattr(source, name))
    source.observe(copier(target), names=list(names))
    target.observe(copier(source), names=list(names))
