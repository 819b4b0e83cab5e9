"""What the viewer's parts share besides controls: the status line and the wording of errors."""

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
from ..render.fields import visible_surrogates
from ..render.page import VIEWER_CLASS
from ..sources.base import SessionNotFound
from .controls import LABELS, Looks

__all__ = ["LABELS", "StatusLine", "client_timeout", "error_text"]

log = logging.getLogger(__name__)


class StatusLine:
    """The viewer's one status line: errors, outcomes, and "working…" for slow steps.

    The region (``role="status" aria-live="polite"``, class ``msnb-status``) is always on the page,
    empty when there is nothing to say, so assistive technology knows it before the first message;
    an error inside it is a ``role="alert"``. (Stock widgets re-render the region's HTML on each
    change; the attributes come back with it.)
    """

    def __init__(self, looks: Looks | None = None) -> None:
        # The class lets the viewer's stylesheet give the line the full width (layout.py).
        classes = ["msnb-status-widget"]
        self.widget = (
            looks.html(_region(""), classes=tuple(classes))
            if looks
            else widgets.HTML(value=_region(""), _dom_classes=classes)
        )
        self.error = ""
        self._job: tuple[str, float, float, float] | None = None  # what, started, after, timeout
        self._shown = False

    def _set(self, klass: str, text: str, role: str = "status") -> None:
        if not text:
            self.widget.value = _region("")
            return
        alert = ' role="alert"' if role == "alert" else ""
        shown = html.escape(visible_surrogates(text))
        self.widget.value = _region(f'<div class="{klass}"{alert}>{shown}</div>')

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

        One watcher thread per process does the waiting for every status line, so a fast step
        costs a notify: no thread per viewer or per step.
        """
        before = self.widget.value
        with _CV:
            self._job = (what, time.monotonic(), after, timeout)
            self._shown = False
            _ACTIVE.add(self)
            _start_watcher()
            _CV.notify()
        try:
            yield
        finally:
            with _CV:
                shown = self._shown
                self._job = None
                self._shown = False
                _ACTIVE.discard(self)
            if shown and "msnb-busy" in self.widget.value:
                self.widget.value = before

    def due(self) -> float | None:
        """When the watcher should next speak for this line (monotonic time), or None."""
        if self._job is None:
            return None
        _, started, after, timeout = self._job
        return started + (after if not self._shown else max(timeout, after))

    def speak(self, now: float) -> None:
        """Say what the step is doing, or (the second time) that Redis has not answered (the watcher calls it)."""
        assert self._job is not None
        what, started, _, _ = self._job
        if not self._shown:
            self._shown = True
            self.busy(f"{what}…")
        else:
            waited = now - started
            self.busy(f"{what}: Redis has not answered for {waited:.0f} s; it may be down or unreachable. Trying…")
            self._job = None  # said once; the step's own outcome comes next

    def close(self) -> None:
        """Stop watching this line."""
        with _CV:
            self._job = None
            _ACTIVE.discard(self)


_CV = threading.Condition()
_ACTIVE: set[StatusLine] = set()  # status lines in a step, watched
_WATCHER: list[threading.Thread] = []


def _start_watcher() -> None:
    # Called with _CV held.
    if not _WATCHER or not _WATCHER[0].is_alive():
        _WATCHER[:] = [threading.Thread(target=_watch, name="msnb-viewer-busy", daemon=True)]
        _WATCHER[0].start()


def _watch() -> None:
    with _CV:
        while True:
            now = time.monotonic()
            soonest: float | None = None
            for line in list(_ACTIVE):
                due = line.due()
                if due is not None and due <= now:
                    line.speak(now)
                    due = line.due()
                if due is None:
                    _ACTIVE.discard(line)
                else:
                    soonest = due if soonest is None else min(soonest, due)
            _CV.wait(None if soonest is None else soonest - now)


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
