"""ChatHistoryViewer: the controller that ties the session table, transcript, Find, export and editing together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
import traitlets
from traitlets import Bool, Float, Int, Unicode, observe, validate

from ..errors import MemstoreError
from ..render.page import VIEWER_CLASS
from .aliases import Aliases
from .checkpoints import CheckpointPanel
from .controls import Looks
from .download import Exporter
from .editor import Editor
from .finder import Finder
from .follow import Follower
from .layout import arrange
from .listing import Listing, running_loop
from .more import MorePanel
from .parts import StatusLine, client_timeout
from .reading import Reading, guarded
from .session_table import SessionTable
from .transcript_view import TranscriptView

__all__ = ["ChatHistoryViewer"]

log = logging.getLogger(__name__)


class ChatHistoryViewer(Reading, Listing, Aliases, widgets.VBox):
    """Browse the chat sessions of a Redis database and read them page by page.

    Made only of stock ipywidgets, so it renders in Colab (ipywidgets 7.7.1,
    no custom widget manager), JupyterLab, VS Code and Voilà. Lists every kind
    of history (see :mod:`memstore_nb.sources`). Opening a session costs one
    LLEN (with TTL and MEMORY USAGE in the same round trip) and one LRANGE of
    a page, whatever the session's size. Nothing is written unless built with
    ``editable=True`` (decided here, in Python; nothing the page sends changes
    it), and deleting a session asks for a second, explicit confirmation.
    Built with ``session_id`` inside a running event loop (a notebook, Colab or Voilà kernel), it shows
    that session at once and makes and fills the session table on the loop's next turn, right after
    the cell; code that uses the table before then finds it listed. Elsewhere it lists at once.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` (never kept in widget state).
        session_id: the session (key) to open at once; ``None`` shows only the session list.
        match: glob pattern for the session list (``"chat:*"`` for a key prefix).
        page_size: messages per page.
        editable: add "append a message" and "delete the session" controls.

    Example:
        >>> viewer = ChatHistoryViewer(client, match="user-*")  # doctest: +SKIP
        >>> viewer  # doctest: +SKIP
    """

    # None of these traits is synced: the page shows the child widgets, and no
    # message from the front end may change what the viewer reads or writes.
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
    rows_per_scan = Int(50, help="Sessions listed by the first scan (Scan more adds ten times as many)")
    chunk_size = Int(1000, help="Messages per LRANGE while searching, filtering or exporting")
    max_link_bytes = Int(16 * 1024 * 1024, help="Largest export offered as a download link")

    _reader: widgets.VBox  # the transcript's column (set by layout.arrange)

    def __init__(
        self,
        client: Any,
        *,
        session_id: str | None = None,
        match: str = "*",
        page_size: int = 50,
        editable: bool = False,
        **kwargs: Any,
    ) -> None:
        self._client = client
        self._editable = bool(editable)  # decided here, once: never a trait the front end could flip
        self._lock = threading.RLock()
        self._muted = 0
        self._busy_depth = 0
        self._timeout = client_timeout(client)
        # The parts; panels most viewers never use (progress bars, checkpoints) are made on first use.
        self._looks = looks = Looks()
        self._status_line = StatusLine(looks)
        self._more = MorePanel(self, looks)  # "More ▾": the controls not needed to read, made on first use
        # Built with a session in a running event loop (a notebook or Voilà kernel), the viewer shows
        # that session first and lists the others on the loop's next turn, once the cell is done.
        loop = running_loop() if session_id else None
        self._listing_due = True
        self._closed = False
        self._table = SessionTable(client, self._pick, looks, self.scan_more, build=False, on_build=self._table_built)
        self._view = TranscriptView(self, looks)
        self._finder = Finder(self, looks, self._view.pager)
        self._exporter = Exporter(self, looks)
        self._editor = Editor(self, looks) if self._editable else None
        self._follower = Follower(self)
        self._checkpoints = CheckpointPanel(self, looks, self._table.widget)
        kwargs["_dom_classes"] = [*kwargs.get("_dom_classes", ()), VIEWER_CLASS + "-widget"]
        super().__init__(**kwargs)
        self._wire(match, page_size)
        self.children = arrange(self)
        if not session_id:
            self.scan()
            self._render()
            return
        self.session_id = session_id
        self._list_soon(loop)

    def _wire(self, match: str, page_size: int) -> None:
        # The boxes mirror the traits both ways (the More panel links its own); the buttons call the controller.
        with self._muted_observers():
            self.match = match
            self.page_size = page_size
            traitlets.link((self, "search"), (self._finder.text, "value"))

    # -- traits ---------------------------------------------------------------

    @property
    def editable(self) -> bool:
        """Whether this viewer may append and delete; fixed when it is built (``editable=True``)."""
        return self._editable

    @validate("session_id")
    def _valid_session_id(self, proposal: Any) -> str | None:
        return proposal.value or None

    @validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        return min(max(int(proposal.value), 1), 1000)

    @validate("page")
    def _valid_page(self, proposal: Any) -> int:
        return min(max(int(proposal.value), 0), self.pages - 1)

    @validate("follow_interval")
    def _valid_interval(self, proposal: Any) -> float:
        return max(float(proposal.value), 0.05)

    @validate("scan_count", "rows_per_scan", "chunk_size", "max_link_bytes")
    def _valid_positive(self, proposal: Any) -> int:
        return max(int(proposal.value), 1)

    @observe("session_id")
    def _session_changed(self, change: Any) -> None:
        if not self._muted:
            self._open()

    @observe("match")
    def _match_changed(self, change: Any) -> None:
        if not self._muted:
            self.scan()

    @observe("page")
    def _page_changed(self, change: Any) -> None:
        if not self._muted:
            self._view.anchor = None
            self._load_page()

    @observe("oldest_first", "page_size")
    def _order_changed(self, change: Any) -> None:
        if self._muted:
            return
        first = self._view.items[0][0] if self._view.items else None
        with self._muted_observers():
            self.page = 0
        if change.name == "page_size" and first is not None:
            self._view.anchor = first if self.oldest_first else None
            with self._muted_observers():
                self.page = self._view.page_of(first if self._view.role_hits is None else self._view._pos_of(first))
        self._load_page()

    @observe("role_filter")
    def _role_filter_changed(self, change: Any) -> None:
        self._more.show_role(change.new)
        self._filter_roles()

    @observe("search")
    def _search_changed(self, change: Any) -> None:
        self._finder.reset()
        self._view.current = None
        self._view.render(self.search)  # marks follow the text at once; Find scans the whole session

    @observe("follow")
    def _follow_changed(self, change: Any) -> None:
        self._follower.start() if change.new else self._follower.stop()

    @contextmanager
    def _muted_observers(self) -> Iterator[None]:
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    def _pick(self, session_id: str) -> None:
        self.session_id = session_id

    # -- search, export, editing ----------------------------------------------

    @guarded
    def find(self) -> None:
        """Search the open session for ``search`` (any case), chunk by chunk, and show the first hit."""
        self._finder.run()

    @guarded
    def export_json(self) -> str:
        """Offer the whole session as LangChain ``messages_to_dict`` JSON; returns the JSON text too."""
        return self._exporter.as_json()

    @guarded
    def export_markdown(self) -> str:
        """Offer the whole session as a Markdown transcript; returns the Markdown text too."""
        return self._exporter.as_markdown()

    @guarded
    def _append_clicked(self) -> None:
        self._editor.append() if self._editor else self._read_only("append messages")

    @guarded
    def _delete_clicked(self) -> None:
        self._editor.ask_delete() if self._editor else self._read_only("delete sessions")

    @guarded
    def _confirm_delete_clicked(self) -> None:
        self._editor.confirm() if self._editor else self._read_only("delete sessions")

    def _read_only(self, action: str) -> None:
        self._report(MemstoreError(f"this viewer is read-only: create it with editable=True to {action}"))

    # -- live follow and lifetime ---------------------------------------------

    @property
    def following(self) -> bool:
        """Whether the follow thread is running."""
        return self._follower.running

    def close(self) -> None:
        """Stop following and close the widget and its children."""
        self._closed = True
        self.follow = False
        self._follower.stop()
        self._status_line.close()
        owned = [v for k, v in vars(self).items() if k.startswith("_") and isinstance(v, widgets.Widget)]
        for child in [*owned, *self.children]:
            _close_tree(child)
        self._looks.close()
        layout = self.layout
        super().close()
        layout.close()  # the viewer's own Layout (its children share the looks' ones)

    def __repr__(self) -> str:
        return f"<ChatHistoryViewer session_id={self.session_id!r} match={self.match!r} editable={self.editable}>"


def _close_tree(widget: widgets.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
