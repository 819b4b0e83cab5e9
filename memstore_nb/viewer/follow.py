"""The viewer's live follow: a daemon thread that calls a step every few seconds until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Follower"]


class Follower:
    """Calls ``tick()`` every ``interval()`` seconds on a daemon thread, between :meth:`start` and :meth:`stop`.

    ``tick`` must not raise (the viewer's guards its step and reports failures in the status line).
    """

    def __init__(self, interval: Callable[[], float], tick: Callable[[], None]) -> None:
        self._interval = interval
        self._tick = tick
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start polling (nothing happens when it already does)."""
        if self.running:
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._loop, args=(stop,), name="msnb-viewer-follow", daemon=True)
        self._stop, self._thread = stop, thread
        thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread (unless called from it)."""
        stop, thread = self._stop, self._thread
        self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval()):
            self._tick()
