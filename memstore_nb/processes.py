"""Processes this package starts (servers, Voilà, JupyterLab): who they are, whether they live, how they end.

A pid alone names nobody for long: pids are reused. A process is named here by its pid *and* its
start time (``/proc/<pid>/stat`` field 22, in clock ticks since boot), and, for the servers the
local store records, by its executable and working directory too (:class:`Identity`), so a signal
never reaches a stranger that took a dead process's pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Identity",
    "alive",
    "answers_http",
    "end_group",
    "identity",
    "marked",
    "process_state",
    "process_tree",
    "same_process",
    "signal_if_same",
    "start_time",
    "wait_http",
    "working_in",
]

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


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``R``, ``S``, ``T`` when stopped by a signal, ``Z``...), or None."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


@dataclass(frozen=True)
class Identity:
    """One process, named so that a recycled pid does not match it.

    Attributes:
        pid: its process id.
        start: its start time (clock ticks since boot, as text).
        exe: the real path of its executable.
        cwd: the real path of its working directory.
    """

    pid: int
    start: str
    exe: str
    cwd: str

    def is_current(self) -> bool:
        """Whether this process still runs (not a zombie) as the same process, program and directory."""
        return alive(self.pid) and identity(self.pid) == self


def _link(pid: int, name: str) -> str | None:
    try:
        target = os.readlink(_PROC / str(pid) / name)
    except OSError:
        return None
    # A binary replaced on disk (a pip upgrade) while it runs reads "PATH (deleted)": the same process.
    return target.removesuffix(" (deleted)")


def identity(pid: int) -> Identity | None:
    """The :class:`Identity` of ``pid``, or None (no such process, or not ours to read).

    From /proc where there is one; elsewhere (macOS) from ``ps``: the start time to the second and
    the command, with no working directory (``cwd`` is ``""``).
    """
    if not _PROC.is_dir():
        return _ps_identity(pid)
    start = start_time(pid)
    exe = _link(pid, "exe")
    cwd = _link(pid, "cwd")
    if start is None or exe is None or cwd is None:
        return None
    return Identity(pid, start, exe, cwd)


def _ps_identity(pid: int) -> Identity | None:
    if pid <= 0:
        return None
    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-o", "comm=", "-p", str(pid)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = done.stdout.rstrip("\n")
    if done.returncode != 0 or len(line) <= 24:
        return None
    # lstart is always 24 characters ("Sun Dec  6 22:38:15 2026"); the command follows
    return Identity(pid, line[:24].strip(), line[24:].strip(), "")


def working_in(directory: str | os.PathLike[str]) -> list[Identity]:
    """Every other readable process whose working directory is ``directory`` (a server chdirs to its data)."""
    wanted = os.path.realpath(directory)
    found: list[Identity] = []
    if not _PROC.is_dir():
        return found
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and _link(int(entry.name), "cwd") == wanted:
            who = identity(int(entry.name))
            if who is not None and alive(who.pid):
                found.append(who)
    return found


def signal_if_same(who: Identity, sig: int) -> bool:
    """Send ``sig`` to ``who`` only if that pid is still the same process; returns whether it was sent.

    On Linux the pid is pinned with a pidfd first, so it cannot be reused between the check and the
    signal.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open is None or send is None:
        if not who.is_current():
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(who.pid, sig)
            return True
        return False
    try:
        fd = pidfd_open(who.pid)
    except OSError:
        return False
    try:
        if not who.is_current():
            return False
        send(fd, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)


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


def marked(name: str, value: str) -> list[tuple[int, str]]:
    """(pid, start time) of every readable process whose environment holds ``name=value``: the children of
    a process started with that variable, whoever their parent is now (a kernel spawned while its parent
    was being stopped is reparented, not unmarked). Give each tree a value of its own."""
    needle = f"{name}={value}".encode()
    found: list[tuple[int, str]] = []
    if not _PROC.is_dir():
        return found
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            start = start_time(int(entry.name))
            if start is not None:
                found.append((int(entry.name), start))
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
