"""The persistent local store behind ``ENDPOINT = "local"``: one server per data directory, nothing lost.

Like SQLite or DuckDB, the embedded default keeps its data: one ``valkey-server`` (or
``redis-server``) per data directory, reachable only through a unix socket inside that 0700
directory (no TCP port), with a password the store generated. What it guarantees, and how:

* one server per directory: every decision to start one is taken under an exclusive ``flock``,
  and "running" means the recorded process (pid, start time, executable, working directory) still
  exists, not that something answers: a stalled server is an error, never a reason for a second one;
* nothing acknowledged is lost: ``appendfsync always``, so a write is on disk before its reply;
  on a full disk the server stops rather than acknowledge what it cannot keep;
* the data decides the binary (:mod:`.formats`); only what the store's record lists is deleted;
* :func:`stop` and :func:`reset` signal only the process the store recorded when it started it.

The data directory is ``platformdirs.user_data_dir("memstore-nb")`` (``$XDG_DATA_HOME/memstore-nb``
on Linux), or ``$MEMSTORE_NB_DATA_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from typing import Any

from ..errors import LocalStoreUnresponsive
from ..processes import process_state, signal_if_same
from .daemon import ask, disk_full, log_since, says_disk_full
from .datadir import LOCK, LOG, RECORD, SOCKET, DataDir
from .formats import DATA_NAMES
from .record import (
    DATA_DIR_ENV,
    LocalStore,
    data_dir,
    end_reason,
    forget_process,
    guarded,
    handle,
    password_of,
    recorded_process,
)
from .startup import MIN_FREE, answering, new_store, start

__all__ = [
    "DATA_DIR_ENV",
    "LocalStore",
    "data_dir",
    "ensure",
    "reset",
    "running",
    "status",
    "stop",
    "why_unreachable",
]


def running() -> LocalStore | None:
    """The local store if its recorded server runs and answers, else None. Starts nothing."""
    with guarded():
        data = DataDir(data_dir(), create=False)
        record = data.record() if data.exists else None
        who = recorded_process(record)
        if record is None or who is None:
            return None
        store = handle(data, record, who, started=False)
        reply = ask(store.socket, store.password, b"PING")
        return store if reply is not None and reply.startswith(b"+PONG") else None


def ensure(*, timeout: float = 20.0) -> LocalStore:
    """The local store, started (detached) when it is not running yet.

    Safe to call from several processes at once: one of them starts the server, the others wait
    on the lock and then use it.

    Returns:
        A :class:`LocalStore`; ``.started`` says whether this call started it.

    Raises:
        LocalStoreError: the data directory cannot be used as it is, its data needs a binary this
            environment lacks, the disk is full (:class:`~memstore_nb.errors.LocalStoreDiskFull`), or
            the server runs but does not answer (:class:`~memstore_nb.errors.LocalStoreUnresponsive`).
        RedisBinaryNotFound: no server binary; the message says how to install one.
        RedisStartError: the server did not start; the message holds its log tail.
    """
    with guarded():
        data = DataDir(data_dir())
        record = data.record()
        who = recorded_process(record)
        if record is not None and who is not None:
            return answering(data, record, who, timeout, started=False)
        with data.locked(timeout):
            record = data.record()
            who = recorded_process(record)
            if record is not None and who is not None:  # another process started it meanwhile
                return answering(data, record, who, timeout, started=False)
            return start(data, record or new_store(data), timeout)


def stop(*, timeout: float = 20.0) -> bool:
    """Stop the local store (SHUTDOWN: its data is on disk already); the data stays.

    Returns:
        True when it was running and has stopped; False when it was not running (a recorded pid
        that now names another process is left alone).

    Raises:
        LocalStoreUnresponsive: it runs but is stopped (SIGSTOP), or did not end within ``timeout``.
    """
    with guarded():
        data = DataDir(data_dir(), create=False)
        if not data.exists:
            return False
        with data.locked(timeout):
            record = data.record()
            return record is not None and _stop_locked(data, record, timeout)


def _stop_locked(data: DataDir, record: dict[str, Any], timeout: float) -> bool:
    who = recorded_process(record)
    if who is None:
        if record.get("process"):  # it ended by itself, or its pid is another process's now: nothing to signal
            with contextlib.suppress(OSError):  # a full disk may refuse the note; the log still says why
                forget_process(data, record, end_reason(data, record))
        return False
    if process_state(who.pid) == "T":
        raise LocalStoreUnresponsive(
            f"the local store's server (pid {who.pid}) is stopped (SIGSTOP) and cannot shut down: resume it "
            f"with `kill -CONT {who.pid}`, then stop it; nothing was signalled",
            data.path,
            who.pid,
        )
    ask(data.path / SOCKET, password_of(data, record), b"SHUTDOWN", timeout=timeout)
    deadline = time.monotonic() + timeout
    while who.is_current() and time.monotonic() < deadline:
        time.sleep(0.02)
    if who.is_current() and signal_if_same(who, signal.SIGTERM):
        deadline = time.monotonic() + 5.0
        while who.is_current() and time.monotonic() < deadline:
            time.sleep(0.05)
    if who.is_current():
        said = log_since(data, int(record.get("log_offset", 0)))
        raise LocalStoreUnresponsive(
            f"the local store's server (pid {who.pid}) did not stop within {timeout:.0f}s and still runs"
            + (" (the disk is full: it cannot write its last state)" if says_disk_full(said) else "")
            + f"; see {data.path / LOG}",
            data.path,
            who.pid,
        )
    forget_process(data, record, "stopped")
    return True


def reset(*, timeout: float = 20.0) -> list[str]:
    """Stop the local store and delete what its record says it made (data, password, log, record); nothing else.

    Callers confirm with the user first: this cannot be undone.

    Returns:
        The names left in the directory because the store did not make them (the directory stays then).

    Raises:
        LocalStoreUnresponsive: the server could not be stopped; nothing was deleted.
    """
    with guarded():
        data = DataDir(data_dir(), create=False)
        if not data.exists:
            return []
        with data.locked(timeout):
            record = data.record()
            if record is not None:
                _stop_locked(data, record, timeout)
                made = [str(name) for name in record["made"] if name not in (RECORD, LOCK)]
                for name in [*made, RECORD]:  # the record last: an interrupted reset can be run again
                    _remove(data, name)
            left = sorted(p.name for p in data.path.iterdir() if p.name != LOCK)
            if record is not None or not left:
                _remove(data, LOCK)  # while holding it: a waiter finds its lock gone and takes a new one
        if not left and record is not None and record.get("dir_made"):
            with contextlib.suppress(OSError):  # something new appeared in it meanwhile: it stays
                os.rmdir(data.path)
        return left


def _remove(data: DataDir, name: str) -> None:
    kind = data.kind(name)
    if kind == "dir":
        shutil.rmtree(data.path / name)  # never follows a symlink inside (fd-based where the OS allows)
    elif kind is not None:
        os.unlink(data.path / name)  # a symlink itself, never its target


def status() -> dict[str, Any]:
    """What ``memstore-nb local status`` shows. Starts nothing.

    Keys: ``directory``, ``state`` (``"running"``, ``"running, disk full"``, ``"not answering"``,
    ``"stopped"``, ``"stopped: disk full"``), ``running``, ``data_bytes``, ``free_bytes``, ``mount``; when
    running also ``socket``, ``url``, ``pid``, ``binary``, ``version``, ``keys``.
    """
    with guarded():
        data = DataDir(data_dir(), create=False)
        info: dict[str, Any] = {"directory": str(data.path), "state": "stopped", "running": False, "data_bytes": 0}
        if not data.exists:
            return info
        info.update(free_bytes=data.free_bytes(), mount=data.mount_point(), data_bytes=_data_bytes(data))
        record = data.record()
        who = recorded_process(record)
        if record is None or who is None:
            if record is not None and end_reason(data, record) == "disk full" and info["free_bytes"] < MIN_FREE:
                info["state"] = "stopped: disk full"
            return info
        store = handle(data, record, who, started=False)
        info.update(running=True, socket=str(store.socket), url=store.url, pid=who.pid)
        info.update(binary=store.binary, version=store.version)
        reply = None if process_state(who.pid) == "T" else ask(store.socket, store.password, b"DBSIZE")
        if reply is None or not reply.startswith(b":"):
            info["state"] = "not answering"
        else:
            info["keys"] = int(reply[1:].split(b"\r\n", 1)[0])
            info["state"] = "running, disk full" if info["free_bytes"] < MIN_FREE else "running"
        return info


def _data_bytes(data: DataDir) -> int:
    size = 0
    for name in DATA_NAMES:
        path = data.path / name
        kind = data.kind(name)
        if kind == "dir":
            size += sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        elif kind == "file":
            size += path.lstat().st_size
    return size


def why_unreachable() -> str:
    """Why a client of the local store could not connect, and what to do (for "not sent" errors)."""
    try:
        data = DataDir(data_dir(), create=False)
        record = (data.record() if data.exists else None) or {}
        who = recorded_process(record)
        why = end_reason(data, record) if record else ""
        if why == "disk full":
            return str(disk_full(data, logged=True))
    except (OSError, ValueError) as exc:  # a LocalStoreError is an OSError: its message says it all
        return str(exc)
    if who is not None:
        return f"the local store (pid {who.pid}) runs but did not accept the connection; see {data.path / LOG}"
    how = "it was stopped" if why == "stopped" else "it is not running"
    return (
        f"the local store ({data.path}) did not accept the connection: {how}. Start it "
        '(`memstore-nb local start`, or connect("local") again) and call again'
    )
