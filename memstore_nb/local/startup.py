"""Starting the local store's server, always under the store's lock: checks first, then one server.

Before a server starts: every file with one of the store's names must be one the store made (no
symlink among them), no other process may work in the directory, the data must have a binary here
that reads it (:mod:`.formats`), and the disk must have room. A server that runs but does not
answer is an error (:class:`~memstore_nb.errors.LocalStoreUnresponsive`), never replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from dataclasses import asdict
from typing import Any

from ..errors import LocalStoreError, LocalStoreUnresponsive, MemstoreError
from ..processes import Identity, process_state, working_in
from .daemon import FSYNC, ask, disk_full, launch
from .datadir import LOCK, LOG, PASSWORD, RECORD, SOCKET, STORE_FILES, DataDir
from .formats import DATA_NAMES, Server, choose_binary, writer_of_files
from .record import DATA_DIR_ENV, LocalStore, end_reason, forget_process, handle, password_of, recorded_process

__all__ = ["MIN_FREE", "answering", "new_store", "start"]

log = logging.getLogger(__name__)

MIN_FREE = 256 * 1024  # below this many free bytes the store does not start: its next write would stop it
_LEGACY = ("state.json", "server.conf", "password")  # what memstore-nb 0.1's store left beside its data
_SERVERS = ("redis", "valkey")


def answering(data: DataDir, record: dict[str, Any], who: Identity, timeout: float, *, started: bool) -> LocalStore:
    """The running server's handle once it answers PING; a stalled one is an error, never replaced."""
    store = handle(data, record, who, started=started)
    deadline = time.monotonic() + timeout
    while True:
        if process_state(who.pid) == "T":
            why = f"is stopped (SIGSTOP or a debugger): resume it with `kill -CONT {who.pid}`"
        else:
            reply = ask(store.socket, store.password, b"PING", timeout=min(2.0, timeout))
            if reply is not None and reply.startswith(b"+PONG"):
                return store
            if time.monotonic() < deadline and (reply is None or reply.startswith(b"-LOADING")):
                time.sleep(0.05)
                continue
            why = f"does not answer within {timeout:.0f}s (busy, or loading a large file): wait and try again"
        raise LocalStoreUnresponsive(
            f"the local store's server (pid {who.pid}, data in {data.path}) runs but {why}; "
            "memstore-nb never starts a second server on the same data",
            data.path,
            who.pid,
        )


def new_store(data: DataDir) -> dict[str, Any]:
    """Make the record and the password of a store in ``data``, which has none yet (under the lock)."""
    present = [name for name in (*STORE_FILES, *DATA_NAMES) if data.kind(name) is not None]
    legacy = [name for name in _LEGACY if data.kind(name) is not None]
    foreign = [name for name in present if name in STORE_FILES or not legacy]
    if foreign:
        raise LocalStoreError(
            f"{data.path} holds {', '.join(foreign)}, which the local store did not make (it has no {RECORD}): "
            f"move them away, or set {DATA_DIR_ENV} to another directory",
            data.path,
        )
    # Data that memstore-nb 0.1's store left (its own files beside it) is adopted; its password is not read.
    record: dict[str, Any] = {
        "format": 1,
        "made": [RECORD, PASSWORD, LOG, SOCKET, LOCK, *present],
        "dir_made": data.made_now,
        "server": None,
        "process": None,
        "password_id": None,
    }
    data.write_record(record)
    made = data.create(PASSWORD, secrets.token_urlsafe(32).encode() + b"\n")
    record["password_id"] = [made.st_dev, made.st_ino]
    data.write_record(record)
    if present:
        log.info("local store: adopted the data memstore-nb 0.1 left in %s (%s)", data.path, ", ".join(present))
    return record


def _check_files(data: DataDir, record: dict[str, Any]) -> None:
    """Refuse what someone else put here under the store's names, and any symlink among them."""
    made = set(record["made"])
    for name in (*STORE_FILES, *DATA_NAMES):
        kind = data.kind(name)
        if kind is None:
            continue
        if name not in made or kind == "symlink" or (name == SOCKET and kind != "socket"):
            raise LocalStoreError(
                f"{data.path / name} ({kind}) was not made by the local store: move it away; "
                "the store never uses, follows or deletes what it did not make",
                data.path,
            )
    # A server working in this directory that the record does not name (one an older memstore-nb
    # started, or anyone else): its AOF is this data. (A shell cd'd here is no server; Debian's
    # redis-server is a link to redis-check-rdb.)
    strangers = [who for who in working_in(data.path) if any(n in os.path.basename(who.exe) for n in _SERVERS)]
    if strangers:
        who = strangers[0]
        raise LocalStoreError(
            f"another process works in {data.path} (pid {who.pid}, {who.exe}): memstore-nb will not start a second "
            f"server on the same data. If it is an older local store, stop it (`kill {who.pid}`)",
            data.path,
        )


def start(data: DataDir, record: dict[str, Any], timeout: float) -> LocalStore:
    """Start the store's server (the caller holds the lock and has found none running)."""
    _check_files(data, record)
    files = writer_of_files(data.path)
    recorded = record.get("server")
    writer = files
    if files is not None and recorded:
        writer = Server(recorded["family"], tuple(recorded["version"]), recorded["binary"])
    server = choose_binary(writer, data.path)
    if data.free_bytes() < MIN_FREE:
        raise disk_full(data, logged=end_reason(data, record) == "disk full")
    password = password_of(data, record)

    made_by_us = [name for name in DATA_NAMES if name not in record["made"]]

    def started(who: Identity, offset: int) -> None:
        record.update(process=asdict(who), log_offset=offset, stopped=None)
        data.write_record(record)

    def note_data() -> None:  # what our server made (its AOF) is the store's, even if it then died
        record["made"] += [name for name in made_by_us if data.kind(name) in ("dir", "file")]

    try:
        launch(data, server, password, timeout, started)
    except Exception:
        note_data()
        with contextlib.suppress(MemstoreError, OSError):
            forget_process(data, record, "did not start")
        raise
    note_data()
    # Only a server that came up on the data is its writer now (it may rewrite it in its own format).
    record["server"] = {"family": server.family, "version": list(server.version), "binary": server.binary}
    data.write_record(record)
    who = recorded_process(record)
    if who is None:
        raise LocalStoreError(
            f"the local store's server ended as soon as it answered; see {data.path / LOG}", data.path
        )
    log.info("started the local store (%s, appendfsync %s) at unix://%s", server, FSYNC, data.path / SOCKET)
    return handle(data, record, who, started=True)
