"""The viewer's editing controls (append, delete with confirmation): built only for ``editable=True`` viewers."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets as widgets
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from ..errors import MemstoreError
from .controls import Looks, hidden

if TYPE_CHECKING:
    from ..history.chat import MemorystoreChatMessageHistory
    from .widget import ChatHistoryViewer

__all__ = ["APPEND_ROLES", "Editor"]

APPEND_ROLES = {"human": HumanMessage, "ai": AIMessage, "system": SystemMessage}


class Editor:
    """Append a message; delete the session after an explicit confirmation bound to that session.

    Whether writing is allowed is the viewer's ``editable`` flag, fixed in Python when
    the viewer is built; every action checks it again.
    """

    def __init__(self, viewer: ChatHistoryViewer, looks: Looks) -> None:
        self.v = viewer
        self.pending: tuple[str, int] | None = None
        self.role = widgets.Dropdown(options=[(r, r) for r in APPEND_ROLES], value="human", layout={"width": "100px"})
        self.text = widgets.Textarea(placeholder="message text", layout=widgets.Layout(width="50%"))
        self.append_button = looks.button("Append", "add this message at the end of the session")
        self.delete_button = looks.button("Delete session…", "delete the whole session (asks first)", style="danger")
        self.confirm_html = looks.html()
        self.confirm_button = looks.button("Delete", "really delete", style="danger")
        self.cancel_button = looks.button("Cancel", "keep the session")
        # Its own layout: it hides (the shared row layout would hide every row).
        self.confirm_box = widgets.HBox(
            [self.confirm_html, self.confirm_button, self.cancel_button],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center", display="none"),
        )
        self.widget = widgets.VBox(
            [looks.row(self.role, self.text, self.append_button), self.delete_button, self.confirm_box],
            layout=looks.layout(),
        )
        self.append_button.on_click(lambda _: viewer._append_clicked())
        self.delete_button.on_click(lambda _: viewer._delete_clicked())
        self.confirm_button.on_click(lambda _: viewer._confirm_delete_clicked())
        self.cancel_button.on_click(lambda _: self.cancel())

    def history(self, action: str) -> MemorystoreChatMessageHistory | None:
        """The open session's history when writing is allowed, else report why not and return None."""
        v = self.v
        if not v.editable:
            v._report(MemstoreError(f"this viewer is read-only: create it with editable=True to {action}"))
            return None
        transcript = v._view.transcript
        if transcript is None or v.session_id is None:
            v._report(MemstoreError("open a session first: pick one in the list"))
            return None
        if not transcript.writable:
            v._report(MemstoreError(f"this is a {transcript.kind} history: the viewer reads it but never writes it"))
            return None
        return transcript.history  # type: ignore[attr-defined,no-any-return]

    def append(self) -> None:
        """Append the typed message to the open session and show the newest page."""
        v = self.v
        history = self.history("append messages")
        if history is None:
            return
        if not self.text.value.strip():
            raise MemstoreError("type the message text first")
        history.add_message(APPEND_ROLES[self.role.value](content=self.text.value))
        self.text.value = ""
        view = v._view
        view.stats = view.transcript.stats()  # type: ignore[union-attr]
        view.anchor = None
        with v._muted_observers():
            v.page = 0 if not v.oldest_first else v.pages - 1
        v._load_page()
        v._table.refresh_rows([history.key])
        v._info(f"appended a {self.role.value} message as #{v.length - 1:,}")

    def ask_delete(self) -> None:
        """Ask to confirm deleting the open session (the question names it and its size)."""
        history = self.history("delete sessions")
        if history is not None:
            self.ask(history.key, len(history))

    def confirm(self) -> None:
        """Delete the session asked about, if it is still the open one and still the same size."""
        history = self.history("delete sessions")
        if history is None:
            return
        if self.pending is None:
            raise MemstoreError("press 'Delete session…' first; nothing was deleted")
        if self.pending[0] != history.key:
            self.cancel()
            raise MemstoreError("another session is open now; nothing was deleted: press 'Delete session…' again")
        now = len(history)
        if now != self.pending[1]:
            self.ask(history.key, now)
            raise MemstoreError(f"the session changed meanwhile and now has {now:,} messages; confirm again")
        key = history.key
        history.clear()
        self.cancel()
        self.v._table.forget(key)
        self.v.session_id = None
        self.v._info(f"deleted session {key!r} ({now:,} messages)")

    def ask(self, key: str, count: int) -> None:
        self.pending = (key, count)
        noun = "message" if count == 1 else "messages"
        self.confirm_html.value = (
            f"Delete session <b>{html.escape(key)}</b> and its {count:,} {noun}? This cannot be undone."
        )
        self.confirm_button.description = f"Yes, delete {count:,} {noun}"
        hidden(self.confirm_box, False)

    def cancel(self) -> None:
        self.pending = None
        self.confirm_html.value = ""
        hidden(self.confirm_box, True)
