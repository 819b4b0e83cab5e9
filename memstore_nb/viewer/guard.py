"""One lock and one status line for the viewer's steps: a slow step says so, a failing one says why.

Every step a click, a trait or the follow thread starts runs through :class:`Guard`: under the
viewer's lock (the follow thread and the first listing run beside the kernel's thread), with a
"working…" note when it is slow, and with any failure shown in the status line instead of raised
into the front end. A step called from inside another runs plainly, so only the outer one reports.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .parts import StatusLine

__all__ = ["Guard", "guarded"]

F = TypeVar("F", bound=Callable[..., Any])


class Guard:
    """Runs the viewer's steps one at a time and reports their failures.

    Args:
        status: the status line that says "working…" and shows errors.
        timeout: seconds after which a step without an answer says Redis may be down.
        report: shows a failure (the viewer's controller also forgets a vanished session).
    """

    def __init__(self, status: StatusLine, timeout: float, report: Callable[[BaseException], None]) -> None:
        self.lock = threading.RLock()
        self.status = status
        self.timeout = timeout
        self.report = report
        self._depth = 0

    def run(self, what: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``step(*args, **kwargs)``; on failure, the error is reported and None returned."""
        with self.lock:
            try:
                if self._depth:
                    return step(*args, **kwargs)
                self._depth += 1
                try:
                    with self.status.working(what, self.timeout):
                        return step(*args, **kwargs)
                finally:
                    self._depth -= 1
            except Exception as exc:  # the widget must survive anything Redis or the data throw at it
                self.report(exc)
                return None


def guarded(what: str) -> Callable[[F], F]:
    """Run a method of an object with a ``guard`` attribute through that :class:`Guard`; ``what`` names
    the step in the "working…" note."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            return self.guard.run(what, method, self, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
