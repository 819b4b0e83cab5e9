"""Processes this package starts (servers, Voilà, JupyterLab): who they are, whether they live, how they end.

A pid alone names nobody for long: pids are reused. A process is named here by its pid *and* its
start time (``/proc/<pid>/stat`` field 22, in clock ticks since boot), so a signal never reaches a
stranger that took a dead process's pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

__all__ = ["alive", "answers_http", "end_group", "process_tree", "same_process", "start_time", "wait_http"]

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (``state`` first), or None."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    return stat[stat.rfind(")") + 2 :].split()


def start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, as text), or None when there is no such process or no /proc."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def same_process(pid: int, start: str) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` (see :func:`start_time`)."""
    return start_time(pid) == start


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    return fields is None or fields[0] != "Z"


def process_tree(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of every descendant of ``root``, read from /proc; empty where there is no /proc."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    if not _PROC.is_dir():
        return []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if not fields or len(fields) < 20:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        started[pid] = fields[19]
    found: list[tuple[int, str]] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append((child, started[child]))
            todo.append(child)
    return found


def end_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """End the process group ``proc`` leads: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL what is left.

    ``proc`` must have been started with ``start_new_session=True`` (so the group is its own).
    Safe to call when it has ended already.
    """
    for sig in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        with contextlib.suppress(OSError):
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)
            else:  # Windows: only the process itself can be signalled
                proc.terminate()
        try:
            proc.wait(timeout=timeout)
            if sig == signal.SIGTERM and hasattr(os, "killpg"):
                with contextlib.suppress(OSError):  # what the leader left behind in its group
                    os.killpg(proc.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait()


def answers_http(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers an HTTP GET with a success (after redirects)."""
    import urllib.error
    import urllib.request  # here, not at the top: `memstore-nb --version` stays fast

    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return int(reply.status) < 400
    except (urllib.error.URLError, OSError):  # HTTPError (4xx, 5xx) is a URLError
        return False


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``url`` answers (:func:`answers_http`).

    Raises:
        ChildProcessError: ``proc`` ended first (its exit code is in the message).
        TimeoutError: nothing answered within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ChildProcessError(f"the server exited with code {proc.returncode} before answering at {url}")
        if answers_http(url):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing answered at {url} within {timeout:.0f}s")
