"""The viewer's export buttons: the whole session as LangChain JSON or Markdown, offered as a download link."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, messages_to_dict

from ..errors import MemstoreError
from ..render.fields import visible_surrogates
from ..render.page import to_markdown
from .controls import Looks, Note, Progress
from .session import OpenSession
from .state import ViewerState

if TYPE_CHECKING:
    import ipywidgets as widgets

__all__ = ["Exporter"]

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class Exporter:
    """Export JSON / Export Markdown buttons, a progress bar while reading, and the link.

    The buttons live in the viewer's "More ▾" panel and are made with it: asking for one of them
    calls ``panel()``, which makes the panel (and, through it, :attr:`widget`). A click asks
    ``on_json()`` / ``on_markdown()``; an export calls ``reveal()`` so its progress and link show.
    """

    def __init__(
        self,
        state: ViewerState,
        session: OpenSession,
        looks: Looks,
        *,
        on_json: Callable[[], Any],
        on_markdown: Callable[[], Any],
        panel: Callable[[], object],
        reveal: Callable[[], None],
    ) -> None:
        self.state = state
        self.session = session
        self._looks = looks
        self._on_json = on_json
        self._on_markdown = on_markdown
        self._panel = panel
        self._reveal = reveal
        self._widget: widgets.HBox | None = None
        state.observe(self._session_changed, names="session_id")

    @property
    def widget(self) -> widgets.HBox:
        """The row of export buttons (and, after an export, its progress bar and link), made when first asked for."""
        if self._widget is None:
            looks = self._looks
            self._json_button = looks.button("Export JSON", "messages_to_dict of the whole session")
            self._md_button = looks.button("Export Markdown", "the whole session as a Markdown transcript")
            self._json_button.on_click(lambda _: self._on_json())
            self._md_button.on_click(lambda _: self._on_markdown())
            self._widget = looks.row(self._json_button, self._md_button)
            self._progress = Progress(self._widget)
            self._note = Note(looks, self._widget)
            self._session_changed(None)
        return self._widget

    def _session_changed(self, change: Any) -> None:
        # Exporting needs an open session; another session forgets the last link.
        if self._widget is not None:
            self._json_button.disabled = self._md_button.disabled = self.state.session_id is None
            self._note.say("")

    @property
    def json_button(self) -> widgets.Button:
        """Export JSON (made with the panel)."""
        self._panel()
        return self._json_button

    @property
    def md_button(self) -> widgets.Button:
        """Export Markdown (made with the panel)."""
        self._panel()
        return self._md_button

    @property
    def link(self) -> Any:
        """The download link (or why there is none), made by the first export."""
        self._panel()
        return self._note.widget

    @property
    def progress(self) -> Any:
        """The progress bar of the last export (None before the first)."""
        return self._progress.bar if self._widget is not None else None

    def read_all(self) -> list[Any]:
        """Every message of the open session, read in chunks with a progress bar."""
        transcript, sid = self.session.transcript, self.state.session_id
        if transcript is None or sid is None:
            raise MemstoreError("open a session first: pick one in the list")
        self._reveal()  # the progress bar and the link appear in the panel, opened if it was not
        total = transcript.stats().length
        chunk_size = self.state.chunk_size
        out: list[Any] = []
        with self._progress.running(total) as progress:
            while len(out) < total:
                chunk = transcript.read_range(len(out), min(len(out) + chunk_size, total) - 1)
                if not chunk:
                    break
                out += chunk
                progress(min(len(out), total), total)
        return out

    def as_json(self) -> str:
        """The whole session as ``messages_to_dict`` JSON, offered as a link."""
        items = self.read_all()
        messages = [m for m in items if isinstance(m, BaseMessage)]
        text = visible_surrogates(json.dumps(messages_to_dict(messages), ensure_ascii=False, indent=2))
        skipped = len(items) - len(messages)
        note = f"; {skipped} unreadable entries left out" if skipped else ""
        self.offer(text, "json", "application/json", f"{len(messages):,} messages{note}")
        return text

    def as_markdown(self) -> str:
        """The whole session as a Markdown transcript, offered as a link."""
        items = self.read_all()
        text = to_markdown(items, title=self.state.session_id or "")
        self.offer(text, "md", "text/markdown", f"{len(items):,} messages")
        return text

    def offer(self, text: str, ext: str, mime: str, what: str) -> None:
        """Show a download link for ``text`` (or, when it is too large for one, how to save it)."""
        # A data: URL in a plain <a download> works in Colab, JupyterLab,
        # VS Code and Voila alike, with no kernel round trip on click.
        sid = self.state.session_id or "session"
        limit = self.state.max_link_bytes
        name = (_UNSAFE_FILENAME.sub("_", sid).strip("._") or "session")[:80] + "." + ext
        encoded = text.encode("utf-8")
        size = len(encoded)
        if size > limit:
            # Browsers and the notebook's message channel choke on links of
            # hundreds of MB; the text is still returned to the caller.
            method = "export_json" if ext == "json" else "export_markdown"
            self._note.say(
                html.escape(
                    f"{what}, {size:,} bytes: too large for a download link (over {limit:,} bytes). "
                    f"Save it from code: pathlib.Path({name!r}).write_text(viewer.{method}()), "
                    f"or in a terminal: memstore-nb show {sid} --json > {name}"
                )
            )
            return
        data = base64.b64encode(encoded).decode("ascii")
        self._note.say(
            f'<a download="{html.escape(name)}" href="data:{mime};charset=utf-8;base64,{data}" '
            f'target="_blank">Download {html.escape(name)}</a> ({html.escape(what)}, {size:,} bytes)'
        )
