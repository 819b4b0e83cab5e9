"""The viewer's live follow: a daemon thread that polls LLEN and shows new messages as they arrive."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..sources.base import SessionNotFound

if TYPE_CHECKING:
    from .widget import ChatHistoryViewer

__all__ = ["Follower"]


class Follower:
    """Polls the open session every ``viewer.follow_interval`` seconds while ``viewer.follow`` is on."""

    def __init__(self, viewer: ChatHistoryViewer) -> None:
        self.v = viewer
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._loop, args=(stop,), name="msnb-viewer-follow", daemon=True)
        self._stop, self._thread = stop, thread
        thread.start()

    def stop(self) -> None:
        stop, thread = self._stop, self._thread
        self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.v.follow_interval):
            self.poll()

    def poll(self) -> None:
        """One step: the stats, and when the length changed, the header and (on the newest page) the page."""
        v = self.v
        with v._lock:
            try:
                self._poll()
            except Exception as exc:  # the thread must survive anything Redis throws
                v._report(exc)

    def _poll(self) -> None:
        v, view = self.v, self.v._view
        if view.transcript is None or v.session_id is None:
            return
        stats = view.transcript.stats()
        if view.stats is not None and stats.length == view.stats.length:
            return
        if stats.length == 0:
            raise SessionNotFound(v.session_id)
        newest = view.anchor is None and v.page == (v.pages - 1 if v.oldest_first else 0)
        view.stats = stats
        if view.role_hits is not None:
            view.scan_roles()
        if newest:
            with v._muted_observers():
                v.page = v.pages - 1 if v.oldest_first else 0
            v._load_page()
        else:
            view.render_header()
