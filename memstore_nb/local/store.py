"""The persistent local store behind ``ENDPOINT = "local"``: one password-protected server per user.

Like SQLite or DuckDB, the embedded default keeps its data: one ``redis-server``
(or ``valkey-server``) per user, with its append-only file in a per-user data
directory, bound to 127.0.0.1 and protected by a random password kept in a
0600 file next to the data. The first process that needs it starts it
(detached, so it outlives that process); later processes and notebooks find it
through the state file and a PING with the password. A file lock makes two
processes starting it at once agree on one server.

The data directory is ``platformdirs.user_data_dir("memstore-nb")``
(``$XDG_DATA_HOME/memstore-nb`` on Linux), or ``$MEMSTORE_NB_DATA_DIR``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .daemon import (
    CONFIG_FILE,
    HOST,
    LOG_FILE,
    PID_FILE,
    ask,
    is_our_server,
    launch,
    pid_of,
    process_alive,
)

__all__ = ["DATA_DIR_ENV", "LocalStore", "data_dir", "ensure", "reset", "status", "stop"]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "MEMSTORE_NB_DATA_DIR"
_STATE = "state.json"
_PASSWORD = "password"
_LOCK = ".lock"
# Everything the store writes in its directory; reset() deletes these and nothing else.
_OURS = (_STATE, _PASSWORD, CONFIG_FILE, LOG_FILE, PID_FILE, _LOCK, "appendonlydir", "appendonly.aof", "dump.rdb")


@dataclass(frozen=True)
class LocalStore:
    """A running local store. The password is left out of ``repr`` and of :attr:`url`.

    Attributes:
        directory: the data directory (AOF, state, password file).
        port: TCP port on 127.0.0.1.
        pid: process id of the server.
        binary: the server executable.
        version: e.g. ``"redis 6.2.14"`` or ``"valkey 9.1.2"``.
        started: True when this call started it, False when it was already running.
        password: the AUTH string (never printed by memstore-nb).
    """

    directory: Path
    port: int
    pid: int
    binary: str
    version: str
    started: bool = False
    password: str = field(default="", repr=False)

    host = HOST

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT``, without the password (pass :attr:`password` separately)."""
        return f"redis://{self.host}:{self.port}"


def data_dir() -> Path:
    """The local store's directory: ``$MEMSTORE_NB_DATA_DIR``, else the platform's per-user data directory."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    try:
        from platformdirs import user_data_dir
    except ImportError:  # platformdirs is a dependency; this keeps a broken install usable on Linux
        base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
        return Path(base) / "memstore-nb"
    return Path(user_data_dir("memstore-nb", appauthor=False))


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory`` shared by every process (fcntl; released when the process dies)."""
    import fcntl

    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _password(directory: Path) -> str:
    path = directory / _PASSWORD
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def _read_state(directory: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((directory / _STATE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("port"), int) else None


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / f"{_STATE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(state, indent=1) + "\n")
    os.replace(tmp, directory / _STATE)


def _alive(state: dict[str, Any], password: str) -> bool:
    reply = ask(int(state["port"]), password, b"PING")
    return reply is not None and reply.startswith(b"+PONG")


def _handle(directory: Path, state: dict[str, Any], password: str, *, started: bool) -> LocalStore:
    return LocalStore(
        directory=directory,
        port=int(state["port"]),
        pid=int(state.get("pid", 0)),
        binary=str(state.get("binary", "")),
        version=str(state.get("version", "")),
        started=started,
        password=password,
    )


def running() -> LocalStore | None:
    """The local store if it is running and answers its password, else None. Starts nothing."""
    directory = data_dir()
    state = _read_state(directory)
    if state is None:
        return None
    try:
        password = (directory / _PASSWORD).read_text().strip()
    except OSError:
        return None
    return _handle(directory, state, password, started=False) if _alive(state, password) else None


def ensure(*, timeout: float = 20.0) -> LocalStore:
    """The local store, started (detached) when it is not running yet.

    Safe to call from several processes at once: one of them starts the
    server, the others wait on the lock and then reuse it.

    Returns:
        A :class:`LocalStore`; ``.started`` says whether this call started it.

    Raises:
        RedisBinaryNotFound: no server binary; the message says how to install one.
        RedisStartError: the server did not start; the message holds its log tail.
    """
    found = running()
    if found is not None:
        return found
    directory = data_dir()
    with _locked(directory):
        password = _password(directory)
        state = _read_state(directory)
        if state is not None and _alive(state, password):  # another process won the race
            return _handle(directory, state, password, started=False)
        state = launch(directory, password, _binary(state), timeout)
        _write_state(directory, state)
        log.info("started the local store at redis://%s:%s (data in %s)", HOST, state["port"], directory)
        return _handle(directory, state, password, started=True)


def _binary(state: dict[str, Any] | None) -> str:
    from .binary import find_redis_binary

    # The binary that wrote the AOF reads it back best (Redis 7's multi-part AOF is unknown to 6.2).
    recorded = (state or {}).get("binary")
    if not os.environ.get("MEMSTORE_NB_REDIS_SERVER") and recorded and os.access(recorded, os.X_OK):
        return str(recorded)
    return find_redis_binary()


def stop(*, timeout: float = 20.0) -> bool:
    """Stop the local store (its AOF is flushed first); the data stays. Returns False when it was not running."""
    directory = data_dir()
    if not directory.is_dir():
        return False
    with _locked(directory):
        return _stop_locked(directory, timeout)


def _stop_locked(directory: Path, timeout: float) -> bool:
    state = _read_state(directory)
    pid = pid_of(directory) or int((state or {}).get("pid", 0))
    was_running = False
    if state is not None:
        try:
            password = (directory / _PASSWORD).read_text().strip()
        except OSError:
            password = ""
        # SHUTDOWN closes the connection without a reply when it works; _ask then returns None.
        if password and _alive(state, password):
            was_running = True
            ask(int(state["port"]), password, b"SHUTDOWN", timeout=timeout)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and is_our_server(pid, directory) and time.monotonic() < deadline:
        was_running = True
        time.sleep(0.05)
    if process_alive(pid) and is_our_server(pid, directory):
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
    with contextlib.suppress(FileNotFoundError):
        (directory / _STATE).unlink()
    return was_running


def reset(*, timeout: float = 20.0) -> Path:
    """Stop the local store and delete its data, password and state (only the files it made). Returns the directory.

    Callers confirm with the user first: this cannot be undone.
    """
    directory = data_dir()
    if not directory.is_dir():
        return directory
    with _locked(directory):
        _stop_locked(directory, timeout)
        for name in _OURS:
            path = directory / name
            if name == _LOCK:
                continue  # held right now; removed below
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
    with contextlib.suppress(FileNotFoundError):
        (directory / _LOCK).unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()  # only when nothing else is left in it
    return directory


def status() -> dict[str, Any]:
    """What ``memstore-nb local status`` shows: directory, running, port, pid, binary, version, keys, data size."""
    directory = data_dir()
    store = running()
    info: dict[str, Any] = {"directory": str(directory), "running": store is not None}
    if store is not None:
        info.update(port=store.port, pid=store.pid, binary=store.binary, version=store.version, url=store.url)
        reply = ask(store.port, store.password, b"DBSIZE") or b""
        if reply.startswith(b":"):
            info["keys"] = int(reply[1:].split(b"\r\n", 1)[0])
    size = 0
    for name in ("appendonlydir", "appendonly.aof", "dump.rdb"):
        path = directory / name
        if path.is_dir():
            size += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            size += path.stat().st_size
    info["data_bytes"] = size
    return info
