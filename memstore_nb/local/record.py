"""What the local store's record says: where the store lives, which process is its server, its password.

The record (``store.json`` in the data directory, see :mod:`.datadir`) lists what the store made,
which server wrote the data (family, version, binary), and the server process it started, by
:class:`~memstore_nb.processes.Identity`; "running" means that process still exists.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LocalStoreError, MemstoreError
from ..processes import Identity
from .daemon import log_since, says_disk_full
from .datadir import PASSWORD, SOCKET, DataDir

__all__ = [
    "DATA_DIR_ENV",
    "LocalStore",
    "data_dir",
    "end_reason",
    "forget_process",
    "guarded",
    "handle",
    "password_of",
    "recorded_process",
]

DATA_DIR_ENV = "MEMSTORE_NB_DATA_DIR"
_TOKEN = re.compile(rb"[A-Za-z0-9_-]{43}\n")


@dataclass(frozen=True)
class LocalStore:
    """A running local store. The password is left out of ``repr`` and of :attr:`url`.

    Attributes:
        directory: the data directory.
        socket: the unix socket the server listens on (``redis-cli -s SOCKET``).
        pid: process id of the server.
        binary: the server executable.
        version: e.g. ``"valkey 9.1.2"``.
        started: True when this call started it, False when it was already running.
        password: the AUTH string (never printed by memstore-nb).
    """

    directory: Path
    socket: Path
    pid: int
    binary: str
    version: str
    started: bool = False
    password: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        """``unix:///…/store.sock``, without the password (pass :attr:`password` separately)."""
        return f"unix://{self.socket}"


def data_dir() -> Path:
    """The local store's directory: ``$MEMSTORE_NB_DATA_DIR``, else the platform's per-user data directory.

    Symlinks on the way are resolved (a link the user made on purpose); inside it, none is followed.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    try:
        from platformdirs import user_data_dir
    except ImportError:  # platformdirs is a dependency; this keeps a broken install usable on Linux
        base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
        return (Path(base) / "memstore-nb").resolve()
    return Path(user_data_dir("memstore-nb", appauthor=False)).resolve()


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Any OS error not already explained becomes one :class:`LocalStoreError` naming the directory."""
    try:
        yield
    except MemstoreError:
        raise
    except OSError as exc:
        where = exc.filename or data_dir()
        raise LocalStoreError(
            f"the local store cannot use {where}: {exc.strerror or exc}; check that directory "
            f"(or set {DATA_DIR_ENV} to another one)",
            data_dir(),
        ) from exc


def recorded_process(record: dict[str, Any] | None) -> Identity | None:
    """The recorded server process when it still runs as the same process, else None."""
    found = (record or {}).get("process")
    if not isinstance(found, dict):
        return None
    try:
        who = Identity(int(found["pid"]), str(found["start"]), str(found["exe"]), str(found["cwd"]))
    except (KeyError, TypeError, ValueError):
        return None
    return who if who.is_current() else None


def password_of(data: DataDir, record: dict[str, Any]) -> str:
    """The store's password, read back only from the file the store made (see :meth:`DataDir.read`)."""
    raw = data.read(PASSWORD, same_as=record.get("password_id"))
    if raw is None or not _TOKEN.fullmatch(raw):
        raise LocalStoreError(
            f"{data.path / PASSWORD} is missing or is not the password the local store made: stop the store "
            "(`memstore-nb local stop`), remove that file and start it again (a new one is made)",
            data.path,
        )
    return raw.decode().strip()


def handle(data: DataDir, record: dict[str, Any], who: Identity, *, started: bool) -> LocalStore:
    """The :class:`LocalStore` for the running server ``who``."""
    server = record.get("server") or {}
    return LocalStore(
        directory=data.path,
        socket=data.path / SOCKET,
        pid=who.pid,
        binary=str(server.get("binary", "")),
        version=f"{server.get('family', '?')} {'.'.join(map(str, server.get('version', [])))}",
        started=started,
        password=password_of(data, record),
    )


def forget_process(data: DataDir, record: dict[str, Any], why: str) -> None:
    """Record that the server is gone, and why (see :func:`end_reason`)."""
    record.update(process=None, stopped={"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "why": why})
    data.write_record(record)


def end_reason(data: DataDir, record: dict[str, Any]) -> str:
    """Why the server is not running: ``"stopped"``, ``"disk full"``, ``"ended"`` (by itself), ``"did not
    start"``; ``""`` while it runs or when it never ran."""
    if record.get("process"):
        if recorded_process(record) is not None:
            return ""
        return "disk full" if says_disk_full(log_since(data, int(record.get("log_offset", 0)))) else "ended"
    return str((record.get("stopped") or {}).get("why", ""))
