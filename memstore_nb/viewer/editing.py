"""What the editing controls do: append a message, delete the session after a confirmation.

Whether writing is allowed is the viewer's ``editable`` flag, fixed in Python when the viewer is
built; every action checks it again here, and a history that is not ours (``writable=False``) is
never written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import MemstoreError
from .editor import Editor
from .guard import Guard, guarded
from .session import OpenSession
from .state import ViewerState

__all__ = ["Editing"]


class Editing:
    """The writes behind the :class:`Editor` (None on a read-only viewer: every action then refuses).

    Args:
        editor: the controls, or None on a read-only viewer.
        show_newest: read the stats again and show the newest page.
        refresh_row: read one row of the session table again.
        forget_row: drop one row of the session table.
        info: say an outcome in the status line.
    """

    def __init__(
        self,
        state: ViewerState,
        session: OpenSession,
        guard: Guard,
        editor: Editor | None,
        *,
        show_newest: Callable[[], None],
        refresh_row: Callable[[str], Any],
        forget_row: Callable[[str], None],
        info: Callable[[str], None],
    ) -> None:
        self.state = state
        self.session = session
        self.guard = guard
        self.editor = editor
        self._show_newest = show_newest
        self._refresh_row = refresh_row
        self._forget_row = forget_row
        self._info = info
        if editor is not None:
            state.observe(lambda _: editor.cancel(), names="session_id")  # a question is about one session

    def _history(self, action: str) -> tuple[Editor, Any]:
        # The open session's history, when writing is allowed; else why not.
        if self.editor is None:
            raise MemstoreError(f"this viewer is read-only: create it with editable=True to {action}")
        transcript = self.session.transcript
        if transcript is None or self.state.session_id is None:
            raise MemstoreError("open a session first: pick one in the list")
        if not transcript.writable:
            raise MemstoreError(f"this is a {transcript.kind} history: the viewer reads it but never writes it")
        return self.editor, transcript.history  # type: ignore[attr-defined]

    @guarded("appending the message")
    def append(self) -> None:
        """Append the typed message to the open session and show the newest page."""
        editor, history = self._history("append messages")
        if not editor.text.value.strip():
            raise MemstoreError("type the message text first")
        history.add_message(editor.message())
        editor.text.value = ""
        self._show_newest()
        self._refresh_row(history.key)
        self._info(f"appended a {editor.role.value} message as #{self.session.length - 1:,}")

    @guarded("reading the session's size")
    def ask_delete(self) -> None:
        """Ask to confirm deleting the open session (the question names it and its size)."""
        editor, history = self._history("delete sessions")
        editor.ask(history.key, len(history))

    @guarded("deleting the session")
    def confirm(self) -> None:
        """Delete the session asked about, if it is still the open one and still the same size."""
        editor, history = self._history("delete sessions")
        if editor.pending is None:
            raise MemstoreError("press 'Delete session…' first; nothing was deleted")
        if editor.pending[0] != history.key:
            editor.cancel()
            raise MemstoreError("another session is open now; nothing was deleted: press 'Delete session…' again")
        now = len(history)
        if now != editor.pending[1]:
            editor.ask(history.key, now)
            raise MemstoreError(f"the session changed meanwhile and now has {now:,} messages; confirm again")
        key = history.key
        history.clear()
        editor.cancel()
        self._forget_row(key)
        self.state.session_id = None
        self._info(f"deleted session {key!r} ({now:,} messages)")
