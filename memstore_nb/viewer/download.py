"""The viewer's export buttons: the whole session as LangChain JSON or Markdown, offered as a download link."""

from __future__ import annotations

import base64
import html
import json
import re
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, messages_to_dict

from ..errors import MemstoreError
from ..render.page import to_markdown
from .controls import Looks, Note, Progress

if TYPE_CHECKING:
    import ipywidgets as widgets

    from .widget import ChatHistoryViewer

__all__ = ["Exporter"]

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class Exporter:
    """Export JSON / Export Markdown buttons, a progress bar while reading, and the link.

    The buttons live in the viewer's "More ▾" panel and are made with it (``widget``, on first use).
    """

    def __init__(self, viewer: ChatHistoryViewer, looks: Looks) -> None:
        self.v = viewer
        self._looks = looks
        self._widget: widgets.HBox | None = None

    @property
    def widget(self) -> widgets.HBox:
        """The row of export buttons (and, after an export, its progress bar and link), made when first asked for."""
        if self._widget is None:
            looks, viewer = self._looks, self.v
            self._json_button = looks.button("Export JSON", "messages_to_dict of the whole session")
            self._md_button = looks.button("Export Markdown", "the whole session as a Markdown transcript")
            self._json_button.on_click(lambda _: viewer.export_json())
            self._md_button.on_click(lambda _: viewer.export_markdown())
            self._widget = looks.row(self._json_button, self._md_button)
            self._progress = Progress(self._widget)
            self._note = Note(looks, self._widget)
        return self._widget

    @property
    def json_button(self) -> widgets.Button:
        """Export JSON (made with the panel)."""
        self.v._more.box  # noqa: B018 - made with the "More" panel
        return self._json_button

    @property
    def md_button(self) -> widgets.Button:
        """Export Markdown (made with the panel)."""
        self.v._more.box  # noqa: B018 - made with the "More" panel
        return self._md_button

    @property
    def link(self) -> Any:
        """The download link (or why there is none), made by the first export."""
        self.v._more.box  # noqa: B018 - made with the "More" panel
        return self._note.widget

    def clear(self) -> None:
        """Forget the last export's link (another session is open)."""
        if self._widget is not None:
            self._note.say("")

    @property
    def progress(self) -> Any:
        """The progress bar of the last export (None before the first)."""
        return self._progress.bar if self._widget is not None else None

    def read_all(self) -> list[Any]:
        v = self.v
        transcript = v._view.transcript
        if transcript is None or v.session_id is None:
            raise MemstoreError("open a session first: pick one in the list")
        v._more.show(True)  # the progress bar and the link appear in the panel, opened if it was not
        total = transcript.stats().length
        out: list[Any] = []
        with self._progress.running(total) as progress:
            while len(out) < total:
                chunk = transcript.read_range(len(out), min(len(out) + v.chunk_size, total) - 1)
                if not chunk:
                    break
                out += chunk
                progress(min(len(out), total), total)
        return out

    def as_json(self) -> str:
        items = self.read_all()
        messages = [m for m in items if isinstance(m, BaseMessage)]
        text = json.dumps(messages_to_dict(messages), ensure_ascii=False, indent=2)
        skipped = len(items) - len(messages)
        note = f"; {skipped} unreadable entries left out" if skipped else ""
        self.offer(text, "json", "application/json", f"{len(messages):,} messages{note}")
        return text

    def as_markdown(self) -> str:
        items = self.read_all()
        text = to_markdown(items, title=self.v.session_id or "")
        self.offer(text, "md", "text/markdown", f"{len(items):,} messages")
        return text

    def offer(self, text: str, ext: str, mime: str, what: str) -> None:
        # A data: URL in a plain <a download> works in Colab, JupyterLab,
        # VS Code and Voila alike, with no kernel round trip on click.
        sid = self.v.session_id or "session"
        name = (_UNSAFE_FILENAME.sub("_", sid).strip("._") or "session")[:80] + "." + ext
        encoded = text.encode("utf-8")
        size = len(encoded)
        if size > self.v.max_link_bytes:
            # Browsers and the notebook's message channel choke on links of
            # hundreds of MB; the text is still returned to the caller.
            method = "export_json" if ext == "json" else "export_markdown"
            self._note.say(
                html.escape(
                    f"{what}, {size:,} bytes: too large for a download link (over {self.v.max_link_bytes:,} bytes). "
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
