"""The viewer's editing controls (append, delete with confirmation): built only for ``editable=True`` viewers.

The controls only: what a click does (and whether writing is allowed at all) is decided by the
callbacks the viewer gives, in Python.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from ..codec import escape_controls
from ..render.fields import visible_surrogates
from .controls import Looks, hidden

__all__ = ["APPEND_ROLES", "Editor"]

APPEND_ROLES = {"human": HumanMessage, "ai": AIMessage, "system": SystemMessage}


class Editor:
    """Append a message; delete the session after an explicit confirmation bound to that session.

    *Append*, *Delete session…* and *Delete* call ``on_append()``, ``on_delete()`` and
    ``on_confirm()``; :meth:`ask` puts the question (naming the session and its size) and
    remembers what it asked about in :attr:`pending`, :meth:`cancel` withdraws it.
    """

    def __init__(
        self,
        looks: Looks,
        *,
        on_append: Callable[[], Any],
        on_delete: Callable[[], Any],
        on_confirm: Callable[[], Any],
    ) -> None:
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
        self.append_button.on_click(lambda _: on_append())
        self.delete_button.on_click(lambda _: on_delete())
        self.confirm_button.on_click(lambda _: on_confirm())
        self.cancel_button.on_click(lambda _: self.cancel())

    def message(self) -> Any:
        """The typed message, as the chosen role's message class (its text may be empty)."""
        return APPEND_ROLES[self.role.value](content=self.text.value)

    def ask(self, key: str, count: int) -> None:
        """Ask to confirm deleting session ``key`` of ``count`` messages."""
        self.pending = (key, count)
        noun = "message" if count == 1 else "messages"
        name = html.escape(visible_surrogates(escape_controls(key)))
        self.confirm_html.value = f"Delete session <b>{name}</b> and its {count:,} {noun}? This cannot be undone."
        self.confirm_button.description = f"Yes, delete {count:,} {noun}"
        hidden(self.confirm_box, False)

    def cancel(self) -> None:
        """Withdraw the question."""
        self.pending = None
        self.confirm_html.value = ""
        hidden(self.confirm_box, True)
