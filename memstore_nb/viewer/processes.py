"""The processes behind the viewer page: finding every descendant of Voilà, and ending them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

__all__ = ["_end", "_process_tree", "_same_process"]


def _process_tree(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of every descendant of ``root``, read from /proc; empty where there is no /proc."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
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


def _same_process(pid: int, start: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[19] == start


def _end(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate Voilà's whole process group (Voilà shuts its kernels down on SIGTERM), then kill what is left."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        with contextlib.suppress(OSError):
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, sig)
            else:  # Windows: only the process itself can be signalled
                proc.terminate()
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait()
