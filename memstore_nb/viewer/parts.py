"""Small building blocks the viewer's parts share: buttons, rows, hiding, and the status line."""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
import redis

from ..errors import MemstoreError
from ..sessions import SessionNotFound
from .render import VIEWER_CLASS

__all__ = [
    "LABELS",
    "StatusLine",
    "button",
    "client_timeout",
    "error_text",
    "hidden",
    "labelled",
    "plain_html",
    "row",
    "shared_button_style",
    "text_box",
]

log = logging.getLogger(__name__)


def shared_button_style() -> dict[str, Any]:
    """One Layout and one Style for many buttons.

    Every widget would otherwise make a Layout and a Style widget of its own;
    buttons that are never hidden can share one of each, which makes building
    the viewer markedly cheaper (each widget is a comm to the front end).
    """
    return {"layout": widgets.Layout(width="auto", min_height="32px"), "style": widgets.ButtonStyle()}


def button(description: str, tooltip: str, *, style: str = "", shared: dict[str, Any] | None = None) -> widgets.Button:
    """A button whose tooltip doubles as its accessible description."""
    looks = {k: shared[k] for k in ("layout", "style")} if shared else {}
    return widgets.Button(description=description, tooltip=tooltip, button_style=style, **looks)


# ipywidgets 7 typesets a `description` with MathJax, which throws on pages without MathJax 2 (Voila):
# there the placeholder names a box; ipywidgets 8 gets a real <label> as well.
LABELS = int(widgets.__version__.split(".")[0]) >= 8


def labelled(label: str) -> dict[str, Any]:
    """``description`` keyword arguments for an accessible label, where that is safe (ipywidgets 8)."""
    return {"description": label, "style": {"description_width": "initial"}} if LABELS else {}


def text_box(placeholder: str, *, label: str = "", width: str = "auto", value: str = "") -> widgets.Text:
    """A text box that reports its value on Enter (and on leaving it), not on every key."""
    return widgets.Text(
        value=value,
        placeholder=placeholder,
        continuous_update=False,
        layout=widgets.Layout(width=width),
        **(labelled(label) if label else {}),
    )


def row(*children: widgets.Widget, shared: dict[str, Any] | None = None) -> widgets.HBox:
    """Children side by side, wrapping onto more lines on a narrow screen (rows never hidden share a layout)."""
    if shared is None:
        return widgets.HBox(list(children), layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
    if "row" not in shared:
        shared["row"] = widgets.Layout(flex_flow="row wrap", align_items="center")
    return widgets.HBox(list(children), layout=shared["row"])


def plain_html(shared: dict[str, Any]) -> widgets.HTML:
    """An HTML widget that is never hidden: it shares one layout with the others."""
    if "plain" not in shared:
        shared["plain"] = widgets.Layout()
    return widgets.HTML(value="", layout=shared["plain"])


def hidden(widget: widgets.Widget, hide: bool) -> None:
    """Hide or show ``widget`` (its space too)."""
    widget.layout.display = "none" if hide else None


class StatusLine:
    """The viewer's one status line: errors, outcomes, and "working…" for slow steps.

    The region (``role="status" aria-live="polite"``, class ``msnb-status``) is always on the page,
    empty when there is nothing to say, so assistive technology knows it before the first message;
    an error inside it is a ``role="alert"``. (Stock widgets re-render the region's HTML on each
    change; the attributes come back with it.)
    """

    def __init__(self) -> None:
        self.widget = widgets.HTML(value=_region(""))
        self.error = ""
        self._cv = threading.Condition()
        self._job: tuple[int, str, float, float, float] | None = None
        self._token = 0
        self._shown = False
        self._closed = False
        self._watcher: threading.Thread | None = None

    def _set(self, klass: str, text: str, role: str = "status") -> None:
        if not text:
            self.widget.value = _region("")
            return
        alert = ' role="alert"' if role == "alert" else ""
        self.widget.value = _region(f'<div class="{klass}"{alert}>{html.escape(text)}</div>')

    @property
    def text(self) -> str:
        """What the line says now, as plain text ('' when nothing)."""
        return html.unescape(re.sub(r"<[^>]*>", "", self.widget.value))

    def fail(self, text: str) -> None:
        """Show an error until the next success."""
        self.error = text
        self._set("msnb-error", text, role="alert")

    def info(self, text: str) -> None:
        """Show an outcome (this clears any error)."""
        self.error = ""
        self._set("msnb-muted", text)

    def busy(self, text: str) -> None:
        """Say that something slow is under way."""
        self._set("msnb-muted msnb-busy", f"⏳ {text}")

    def clear(self) -> None:
        """Nothing to say: the last action succeeded."""
        self.error = ""
        self.widget.value = _region("")

    @contextmanager
    def working(self, what: str, timeout: float, *, after: float = 0.2) -> Iterator[None]:
        """Say ``what…`` when the step takes longer than ``after`` seconds, and after ``timeout``
        seconds without an answer that Redis may be down (the client may still be retrying).

        One watcher thread per status line does the waiting, so a fast step costs a notify, no thread.
        """
        before = self.widget.value
        with self._cv:
            self._token += 1
            token = self._token
            self._job = (token, what, time.monotonic(), after, timeout)
            self._shown = False
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(target=self._watch, name="msnb-viewer-busy", daemon=True)
                self._watcher.start()
            self._cv.notify()
        try:
            yield
        finally:
            with self._cv:
                shown = self._shown
                self._job = None
                self._shown = False
            if shown and "msnb-busy" in self.widget.value:
                self.widget.value = before

    def _watch(self) -> None:
        with self._cv:
            while not self._closed:
                job = self._job
                if job is None:
                    self._cv.wait()
                    continue
                token, what, started, after, timeout = job
                waited = time.monotonic() - started
                due = after if not self._shown else max(timeout, after)
                if waited < due:
                    self._cv.wait(due - waited)
                    continue
                if self._job is None or self._job[0] != token:
                    continue
                if not self._shown:
                    self._shown = True
                    self.busy(f"{what}…")
                else:
                    self.busy(
                        f"{what}: Redis has not answered for {waited:.0f} s; it may be down or unreachable. Trying…"
                    )
                    self._job = None  # said once; the step's own outcome comes next

    def close(self) -> None:
        """End the watcher thread."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()


def _region(inner: str) -> str:
    # The status line's live region, always present (empty when there is nothing to say).
    return f'<div class="{VIEWER_CLASS}"><div class="msnb-status" role="status" aria-live="polite">{inner}</div></div>'


def error_text(exc: BaseException, client: Any) -> str:
    """What the status line says about a failure: what happened and what to do, secrets redacted."""
    if isinstance(exc, SessionNotFound):
        return (
            f"Session {exc.session_id!r} does not exist any more (deleted or expired). "
            "Pick another session, or press Scan to list the current ones."
        )
    if isinstance(exc, MemstoreError):
        return str(exc)
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return (
            f"Lost the connection to Redis ({type(exc).__name__}: {_redact(str(exc), client)}). "
            "Check that the server is reachable, then press Refresh."
        )
    if isinstance(exc, redis.RedisError):
        return f"Redis answered with an error: {_redact(str(exc), client)}"
    log.exception("ChatHistoryViewer: unexpected error")
    return f"Unexpected error: {type(exc).__name__}: {_redact(str(exc), client)}"


def _redact(text: str, client: Any) -> str:
    # Some redis-py errors quote the command they failed on (AUTH included).
    secrets = []
    for holder in (getattr(client, "connection_pool", None), getattr(client, "nodes_manager", None)):
        kwargs = getattr(holder, "connection_kwargs", None) or {}
        secrets += [kwargs.get("password"), kwargs.get("username")]
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= 3:
            text = text.replace(secret, "<REDACTED>")
    return text


def client_timeout(client: Any) -> float:
    """The socket timeout a client waits for a reply (5 s when it does not say)."""
    for holder in (getattr(client, "connection_pool", None), getattr(client, "nodes_manager", None)):
        kwargs = getattr(holder, "connection_kwargs", None) or {}
        value = kwargs.get("socket_timeout") or kwargs.get("socket_connect_timeout")
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return 5.0
