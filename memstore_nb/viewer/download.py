"""The viewer's export buttons: the whole session as LangChain JSON or Markdown, as a download link or a file.

The export is sized before it is read (``saving.estimate_size``): one that fits a download link is
built in memory and offered as a ``data:`` link; a bigger one is written to a file chunk by chunk
(``saving.write_export``), so memory stays at a chunk's worth, and the note says where it is and the
terminal command that writes the same.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MemstoreError
from ..units import size
from .controls import Looks, Note, Progress
from .saving import FORMATS, estimate_size, export_name, export_path, show_command, write_export
from .session import OpenSession
from .state import ViewerState

if TYPE_CHECKING:
    import ipywidgets as widgets

__all__ = ["Exporter"]


class Exporter:
    """Export JSON / Export Markdown buttons, a progress bar while reading, and the link (or where the file is).

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
        client: Any,
        on_json: Callable[[], Any],
        on_markdown: Callable[[], Any],
        panel: Callable[[], object],
        reveal: Callable[[], None],
    ) -> None:
        self.state = state
        self.session = session
        self._client = client
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

    def export(self, fmt: str, path: str | Path | None = None) -> str:
        """Export the open session as ``fmt`` (``"json"`` or ``"markdown"``).

        Returns:
            The text, when it was built in memory (it fits a download link, and no ``path`` was
            given); else the path of the file it was written to, chunk by chunk.
        """
        transcript, sid = self.session.transcript, self.state.session_id
        if transcript is None or sid is None:
            raise MemstoreError("open a session first: pick one in the list")
        self._reveal()  # the progress bar and the note appear in the panel, opened if it was not
        total = transcript.stats().length
        limit = self.state.max_link_bytes
        estimate = estimate_size(transcript, total, fmt)
        with self._progress.running(total) as progress:
            if path is None and estimate <= limit:
                buffer = io.StringIO()
                counts = self._write(fmt, total, buffer, progress)
                text = buffer.getvalue()
                if len(text.encode("utf-8")) <= limit:
                    self._offer(text, fmt, self._what(counts))
                    return text
                target = export_path(sid, fmt)  # the sample guessed low: what was built goes to a file
                target.write_text(text, encoding="utf-8")
                self._saved(target, fmt, counts, limit)
                return text
            target = Path(path) if path is not None else export_path(sid, fmt)
            with open(target, "w", encoding="utf-8", newline="") as out:
                counts = self._write(fmt, total, out, progress)
        self._saved(target, fmt, counts, limit if path is None else None)
        return str(target)

    def _write(self, fmt: str, total: int, out: Any, progress: Callable[[int, int], None]) -> tuple[int, int]:
        assert self.session.transcript is not None
        title = self.state.session_id or ""
        chunk = self.state.chunk_size
        return write_export(self.session.transcript, total, fmt, out, title=title, chunk_size=chunk, progress=progress)

    @staticmethod
    def _what(counts: tuple[int, int]) -> str:
        written, skipped = counts
        note = f"; {skipped} unreadable entries left out" if skipped else ""
        return f"{written:,} messages{note}"

    def _saved(self, target: Path, fmt: str, counts: tuple[int, int], limit: int | None) -> None:
        why = f" (too large for a download link: over {size(limit)})" if limit is not None else ""
        text = f"{self._what(counts)}, {size(target.stat().st_size)}: written to {target}{why}."
        if fmt == "json":
            transcript = self.session.transcript
            kind = transcript.kind if transcript is not None else "memstore"
            command = show_command(self._client, self.state.session_id or "", kind, target.name)
            text += f" From a terminal: {command}"
        self._note.say(html.escape(text))

    def _offer(self, text: str, fmt: str, what: str) -> None:
        # A data: URL in a plain <a download> works in Colab, JupyterLab, VS Code and Voila alike, with
        # no kernel round trip on click.
        mime = FORMATS[fmt][1]
        name = export_name(self.state.session_id or "session", fmt)
        encoded = text.encode("utf-8")
        data = base64.b64encode(encoded).decode("ascii")
        self._note.say(
            f'<a download="{html.escape(name)}" href="data:{mime};charset=utf-8;base64,{data}" '
            f'target="_blank">Download {html.escape(name)}</a> ({html.escape(what)}, {len(encoded):,} bytes)'
        )
