"""The local store under faults, for its tests and ``benchmarks/chaos.py``: a data directory of one's own, a
small disk that fills, the server processes working in a directory, the CLI in a subprocess.

Everything here works on a temporary directory that the caller made, and signals only server processes
working in it (which the caller's own store started); never the user's store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from memstore_nb.local import store as local_store

DATA_DIR_ENV = "MEMSTORE_NB_DATA_DIR"


def servers_in(directory: Path) -> list[int]:
    """Pids of the processes whose working directory is ``directory`` (a server chdirs to its data)."""
    found = []
    wanted = os.path.realpath(directory)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "cwd") == wanted and "Z" not in (entry / "stat").read_text().split(")")[-1][:3]:
                    found.append(int(entry.name))
    return found


def wait_gone(pid: int, limit: float = 10.0) -> None:
    """Wait until ``pid`` has ended (a zombie counts as ended)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state == "Z":
            return
        time.sleep(0.01)
    raise TimeoutError(f"process {pid} still runs after {limit:.0f}s")


@contextlib.contextmanager
def store_dir(parent: str | None = None) -> Iterator[Path]:
    """``$MEMSTORE_NB_DATA_DIR`` set to a new directory's ``store`` (a short path: the store's socket lives
    there); afterwards the store there is stopped, and any server still working in it is killed."""
    previous = os.environ.get(DATA_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="mnb-", dir=parent) as top:
        directory = Path(top) / "store"
        os.environ[DATA_DIR_ENV] = str(directory)
        try:
            yield directory
        finally:
            for pid in servers_in(directory):  # resume a paused one, so that it can stop
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGCONT)
            with contextlib.suppress(Exception):
                local_store.stop(timeout=5)
            for pid in servers_in(directory):  # a second server an old version started: ours too
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    wait_gone(pid)
            if previous is None:
                os.environ.pop(DATA_DIR_ENV, None)
            else:
                os.environ[DATA_DIR_ENV] = previous


@contextlib.contextmanager
def small_disk(size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` (mode 0700, ours) mounted on a new directory; unmounted afterwards. Needs root."""
    mount = Path(tempfile.mkdtemp(prefix="mnb-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        for pid in servers_in(mount / "store"):  # nothing may keep the file system busy
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid)
        subprocess.run(["umount", str(mount)], check=False)
        with contextlib.suppress(OSError):
            mount.rmdir()


def cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``memstore-nb ARGS`` in a subprocess, with this process's environment (its data directory)."""
    return subprocess.run(
        [sys.executable, "-m", "memstore_nb.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        check=False,
    )
