"""ChatHistoryViewer: builds the panels, gives each the state and its callbacks, and wires them together."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..render.page import VIEWER_CLASS
from ..sources.catalog import checked_community_prefixes
from .aliases import Aliases
from .checkpoints import CheckpointPanel
from .controller import Controller
from .controls import Looks
from .download import Exporter
from .editing import Editing
from .editor import Editor
from .finder import Finder
from .follow import Follower
from .guard import Guard
from .layout import arrange, insert_after
from .listing import Listing, running_loop
from .more import MorePanel
from .parts import StatusLine, client_timeout
from .session import OpenSession
from .session_table import SessionTable
from .state import PUBLIC, ViewerState, ViewerTraits, mirror
from .transcript_view import TranscriptView

__all__ = ["ChatHistoryViewer"]

log = logging.getLogger(__name__)


class ChatHistoryViewer(Aliases, widgets.VBox, ViewerTraits):
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
        list_now: list the sessions when built (as described above); ``False`` leaves the session
            table empty until :meth:`scan` (the standalone page builds the viewer before anyone
            visits and lists when a visitor arrives, so the list is never as old as the page).
        community_prefixes: key prefixes of langchain-community histories besides ``message_store:``
            (``RedisChatMessageHistory(key_prefix=...)``): listed as ``community`` and read in order.

    Its traits (:class:`~memstore_nb.viewer.state.ViewerTraits`: ``session_id``, ``page``,
    ``search``…) drive it from code; none is synced, so no message from the front end may change
    what the viewer reads or writes.

    Example:
        >>> viewer = ChatHistoryViewer(client, match="user-*")  # doctest: +SKIP
        >>> viewer  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        session_id: str | None = None,
        match: str = "*",
        page_size: int = 50,
        editable: bool = False,
        list_now: bool = True,
        community_prefixes: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        self._client = client
        self._editable = bool(editable)  # decided here, once: never a trait the front end could flip
        self._state = state = ViewerState()
        self._session = session = OpenSession(state)
        self._looks = looks = Looks()
        self._status_line = StatusLine(looks)
        self._guard = guard = Guard(self._status_line, client_timeout(client), lambda exc: self._controller.report(exc))
        # Built with a session in a running event loop (a notebook or Voilà kernel), the viewer shows
        # that session first and lists the others on the loop's next turn, once the cell is done.
        loop = running_loop() if session_id else None
        # The panels: each gets the state and callbacks, never the viewer. Panels most viewers never
        # use (the More panel, progress bars, checkpoints) are made on first use.
        self._more = MorePanel(
            state,
            looks,
            place=lambda box: insert_after(self._reader, self._view.pager, box),
            extra=lambda: self._exporter.widget,
            on_jump=self.jump_to,
            on_refresh=self.refresh,
            on_raw=lambda raw: self._view.show_raw(raw),
        )
        self._table = SessionTable(
            client,
            lambda sid: setattr(state, "session_id", sid),
            looks,
            self.scan_more,
            build=False,
            on_build=lambda table: self._listing.table_built(table),
            community_prefixes=checked_community_prefixes(community_prefixes, client),
        )
        self._listing = Listing(state, self._table, guard, after=lambda: self._controller.poll())
        self._view = TranscriptView(
            state, session, looks, on_page=self._go_page, on_hop=self.show_counterpart, extra=[self._more.toggle]
        )
        self._finder = Finder(
            state, session, looks, self._view.pager, on_find=self.find, on_show=lambda i: self._controller.show_hit(i)
        )
        self._exporter = Exporter(
            state,
            session,
            looks,
            client=client,
            on_json=self.export_json,
            on_markdown=self.export_markdown,
            panel=lambda: self._more.box,
            reveal=lambda: self._more.show(True),
        )
        self._checkpoints = CheckpointPanel(
            looks, self._table.widget, self._show_checkpoint, lambda exc: self._controller.report(exc)
        )
        self._controller = controller = Controller(
            client,
            state,
            session,
            guard,
            table=self._table,
            listing=self._listing,
            view=self._view,
            finder=self._finder,
            checkpoints=self._checkpoints,
        )
        self._editor = (
            Editor(
                looks,
                on_append=self._append_clicked,
                on_delete=self._delete_clicked,
                on_confirm=self._confirm_delete_clicked,
            )
            if self._editable
            else None
        )
        self._editing = Editing(
            state,
            session,
            guard,
            self._editor,
            show_newest=controller.show_newest,
            refresh_row=controller.refresh_row,
            forget_row=self._table.forget,
            info=controller.info,
        )
        self._follower = Follower(lambda: state.follow_interval, controller.poll)
        state.observe(lambda c: self._follower.start() if c.new else self._follower.stop(), names="follow")
        kwargs["_dom_classes"] = [*kwargs.get("_dom_classes", ()), VIEWER_CLASS + "-widget"]
        super().__init__(**kwargs)
        with controller.muted():
            mirror(self, state, PUBLIC)  # the state starts from the viewer's values (and its keyword arguments)
            self.match = match
            self.page_size = page_size
        reading = [self._view.header, self._view.pager, self._view.html]
        if self._editor is not None:
            reading.append(self._editor.widget)
        self.children, self._reader = arrange(looks, self._status_line.widget, self._table.widget, reading)
        if session_id:
            self.session_id = session_id
        else:
            controller.render()
        if not list_now:
            return  # the table is made and filled by the first scan() (the page: when a visitor arrives)
        if session_id:
            self._listing.soon(loop)
        else:
            self._listing.scan()

    # -- traits ---------------------------------------------------------------

    @property
    def editable(self) -> bool:
        """Whether this viewer may append and delete; fixed when it is built (``editable=True``)."""
        return self._editable

    # -- reading --------------------------------------------------------------

    @property
    def length(self) -> int:
        """Messages in the open session, as of the last read (0 when none is open)."""
        return self._session.length

    @property
    def pages(self) -> int:
        """Number of pages of the open session (at least 1), counting only the filtered role when one is set."""
        return self._state.pages

    @property
    def items(self) -> list[tuple[int, Any]]:
        """The page shown, as ``(index, message or CorruptMessageError)`` pairs, oldest first."""
        return list(self._session.items)

    @property
    def hit(self) -> int | None:
        """Index of the search hit shown, or None."""
        return self._finder.hit

    @property
    def _hits(self) -> list[int]:
        return self._finder.hits

    def scan(self) -> None:
        """List the sessions matching ``match`` again, from the start (SCAN)."""
        self._listing.scan()

    def scan_more(self) -> None:
        """Add up to ten times ``rows_per_scan`` more sessions to the list."""
        self._listing.scan_more()

    def refresh(self) -> None:
        """Read the open session again (length, TTL, memory, the page shown and its list row)."""
        self._controller.refresh()

    def jump_to(self, index: int | str) -> None:
        """Show message ``index`` at the top of the transcript (0 is the oldest; negative counts from the end)."""
        self._controller.jump_to(index)

    def _go_page(self, page: int) -> None:
        self._controller.go_page(page)

    def _show_checkpoint(self, checkpoint_id: str | None, label: str | None = None) -> None:
        self._controller.show_checkpoint(checkpoint_id, label)

    def show_counterpart(self, index: int, call_id: str | None = None) -> int | None:
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
        return self._controller.show_counterpart(index, call_id)

    # -- search, export, editing ----------------------------------------------

    def find(self) -> None:
        """Search the open session for ``search`` (any case), chunk by chunk, and show the first hit."""
        self._controller.find()

    def export_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """Export the whole session as LangChain ``messages_to_dict`` JSON.

        The size is estimated first (the length times a sample of messages). An export that fits a
        download link (``max_link_bytes``) is built in memory, offered as a link, and its text
        returned. A bigger one, or any with ``path``, is written to a file chunk by chunk (memory
        stays at a chunk's worth), and the file's path is returned; without ``path`` the file goes to
        ``$MEMSTORE_NB_EXPORT_DIR`` or the current directory, named after the session, never over
        another file. The panel's note says where it is.

        Args:
            path: write the export to this file.

        Returns:
            The JSON text, or the path of the file it was written to (None when the export failed:
            the status line says why).
        """
        return self._guard.run("reading the session for export", self._exporter.export, "json", path)

    def export_markdown(self, path: str | os.PathLike[str] | None = None) -> str:
        """Export the whole session as a Markdown transcript; as :meth:`export_json` does, the text or the path."""
        return self._guard.run("reading the session for export", self._exporter.export, "markdown", path)

    def _append_clicked(self) -> None:
        self._editing.append()

    def _delete_clicked(self) -> None:
        self._editing.ask_delete()

    def _confirm_delete_clicked(self) -> None:
        self._editing.confirm()

    # -- live follow and lifetime ---------------------------------------------

    @property
    def following(self) -> bool:
        """Whether the follow thread is running."""
        return self._follower.running

    def close(self) -> None:
        """Stop following and close the widget and its children."""
        self._listing.closed = True
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
