"""The local store under faults, for its tests and ``benchmarks/chaos.py``: a data directory of one's own, a
small disk that fills, the server processes working in a directory, the CLI in a subprocess.

Everything here works on a temporary directory that the caller made, and signals only server processes
working in it (which the caller's own store started); never the user's store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from memstore_nb import MemorystoreChatMessageHistory, aconnect, connect
from memstore_nb.local import store as local_store

from .faults import fault_loop, pause
from .ledger import Ledger, Tally, read_back, tally, write_async, write_sync

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


# -- the chaos scenarios on the local store ------------------------------------------------------
# Each returns a Tally (see ledger.py) of writes through connect("local") / aconnect("local") under one
# fault; benchmarks/chaos.py prints them, the tests run them briefly.

LOCAL_KINDS: dict[str, tuple[bool, Callable[[float], Any]]] = {
    "connect('local')": (False, lambda t: connect("local", timeout=t)),
    "aconnect('local')": (True, lambda t: aconnect("local", timeout=t)),
}


def _write(kind: str, timeout: float, keys: list[str], ledger: Ledger, seconds: float) -> None:
    is_async, factory = LOCAL_KINDS[kind]
    if not is_async:
        client = factory(timeout)
        try:
            write_sync(
                [MemorystoreChatMessageHistory(client, k) for k in keys], ledger, seconds=seconds, max_calls=50_000
            )
        finally:
            client.close()
        return

    async def main() -> None:
        client = await factory(timeout)
        try:
            histories = [MemorystoreChatMessageHistory(client, k) for k in keys]
            await write_async(histories, ledger, seconds=seconds, max_calls=50_000)
        finally:
            await client.aclose()

    asyncio.run(main())


def _tally(keys: list[str], ledger: Ledger, faults: list[Any]) -> Tally:
    if len(faults) > 1:
        raise RuntimeError(f"the fault injector failed: {faults[1]!r}") from faults[1]
    if faults[0] == 0:
        raise RuntimeError("no fault was injected: the run was too short")
    reader = connect("local", timeout=5)
    try:
        result = tally(ledger, read_back(reader, keys))
    finally:
        reader.close()
    result.faults = faults[0]
    return result


def _keys() -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"local-chaos-{run}-{i}" for i in range(2)]


def local_kill(kind: str, seconds: float, *, every: float = 1.0, down: float = 0.3) -> Tally:
    """SIGKILL the store's server every ``every`` seconds; another "process" starts it ``down`` seconds later."""
    ledger, keys = Ledger(), _keys()
    with store_dir():
        local_store.ensure()

        def crash() -> None:
            pid = local_store.ensure().pid  # the server this run's store started
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid)
            time.sleep(down)
            local_store.ensure()

        with fault_loop(crash, every=every, max_count=1000) as faults:
            _write(kind, 2.0, keys, ledger, seconds)
        return _tally(keys, ledger, faults)


def local_sigstop(kind: str, seconds: float, *, timeout: float = 0.4, stopped: float = 1.0) -> Tally:
    """SIGSTOP the store's server for ``stopped`` seconds (longer than the client's ``timeout``), then SIGCONT."""
    ledger, keys = Ledger(), _keys()
    with store_dir():
        pid = local_store.ensure().pid
        with fault_loop(lambda: pause(pid, stopped), every=0.5, max_count=1000) as faults:
            _write(kind, timeout, keys, ledger, seconds)
        return _tally(keys, ledger, faults)


def local_full_disk(kind: str, seconds: float, *, rounds: int = 3) -> Tally:
    """The store on a small tmpfs that fills up ``rounds`` times; each time the server stops (it acknowledges
    nothing it cannot keep), a ballast file is removed and the store started again. Needs root."""
    ledger, keys = Ledger(), _keys()
    with small_disk(f"{rounds + 2}m") as disk, store_dir(parent=str(disk)):
        ballast = [disk / f"ballast-{i}" for i in range(rounds)]
        for path in ballast:
            path.write_bytes(b"\0" * (1 << 20))
        local_store.ensure()

        until = time.monotonic() + seconds

        def refill() -> None:
            while local_store.running() is not None:  # until the disk fills and the server stops
                if time.monotonic() > until:
                    return
                time.sleep(0.05)
            ballast.pop().unlink()  # free some space, as a user would
            local_store.ensure()

        with fault_loop(refill, every=0.05, max_count=rounds) as faults:
            _write(kind, 0.5, keys, ledger, seconds)
        for path in ballast:
            path.unlink()
        # Room to read everything back, however full the run left the disk (as a user would make it).
        subprocess.run(["mount", "-o", f"remount,size={rounds + 8}m", str(disk)], check=True)
        local_store.ensure()
        return _tally(keys, ledger, faults)


LOCAL_SCENARIOS: dict[str, Callable[[str, float], Tally]] = {
    "local store: SIGKILL + restart": local_kill,
    "local store: SIGSTOP > client timeout": local_sigstop,
    "local store: full disk (tmpfs), space freed, restart": local_full_disk,
}
