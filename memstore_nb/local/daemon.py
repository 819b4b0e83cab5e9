"""The local store's server process: its configuration, its start, a tiny RESP ``ask()`` on its socket.

The server listens on a unix socket inside the store's 0700 directory (``port 0``: no TCP at all),
so nobody else can listen at its address or reach it. Its configuration goes to it through a
pipe (``redis-server -`` reads it from stdin): the password is never on a command line or in a
config file, and every value is quoted, so no path or text can add a directive. It runs in a
session of its own, detached from the process that started it; that process only records who it
is (:class:`~memstore_nb.processes.Identity`).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import LocalStoreDiskFull, LocalStoreError, RedisStartError
from ..processes import Identity, identity
from .datadir import LOG, SOCKET, DataDir
from .formats import Server

__all__ = ["FSYNC", "ask", "config_text", "disk_full", "launch", "log_since", "quoted", "says_disk_full"]

log = logging.getLogger(__name__)

#: The AOF fsync policy: a write is on disk before its reply is sent (see README, "The local store").
FSYNC = "always"
# sun_path holds 104 bytes on macOS and the BSDs, 108 on Linux, the terminating NUL included
_SOCKET_MAX = 107 if sys.platform.startswith("linux") else 103
# What a server logs when it will not come up because of its files (never repeated to the user as
# advice: Redis suggests `redis-check-aof --fix`, which truncates data).
_BAD_DATA = ("Bad file format", "Unrecoverable", "Invalid AOF manifest", "AOF manifest", "Unexpected end of file")
_DISK_FULL = ("No space left on device", "Can't recover from AOF write error", "Short write while writing")


def quoted(value: str | bytes) -> str:
    """``value`` as one double-quoted argument of a Redis config line: quotes, backslashes, newlines and
    every byte outside printable ASCII escaped (``\\xHH``), so the value cannot end its line."""
    raw = os.fsencode(value) if isinstance(value, str) else value
    out = []
    for byte in raw:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return '"' + "".join(out) + '"'


def config_text(directory: Path, password: str, fsync: str = FSYNC) -> str:
    """The server's whole configuration (given on stdin)."""
    lines = [
        "port 0",  # no TCP listener: the unix socket below is the only way in
        f"unixsocket {quoted(str(directory / SOCKET))}",
        "unixsocketperm 700",
        f"dir {quoted(str(directory))}",
        "daemonize no",
        'logfile ""',  # stdout, which is store.log opened by us (O_NOFOLLOW)
        "appendonly yes",
        f"appendfsync {fsync}",
        "aof-load-truncated yes",  # a write cut short by a crash was never acknowledged: drop its tail
        'save ""',
        f"requirepass {quoted(password)}",
    ]
    return "\n".join(lines) + "\n"


def ask(path: str | Path, password: str, *command: bytes, timeout: float = 1.0) -> bytes | None:
    """AUTH, then one command over the store's unix socket (no client library needed to find the store).

    Returns the command's raw reply (a simple, integer, error or complete bulk reply), b"" when the
    server closed the connection (SHUTDOWN), or None when nothing answers or AUTH fails.
    """
    payload = b"".join(
        b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        for parts in ((b"AUTH", password.encode()), command)
    )
    reply = b""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(payload)
            while not _complete(reply) and len(reply) < 1 << 20:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        if not reply:
            return None
    if not reply.startswith(b"+OK\r\n"):
        return None
    return reply[5:]


def _complete(reply: bytes) -> bool:
    """Whether ``reply`` holds the AUTH reply and one whole reply after it."""
    if not reply.startswith(b"+OK\r\n"):
        return b"\r\n" in reply  # an error to AUTH: nothing more will come
    rest = reply[5:]
    head, sep, body = rest.partition(b"\r\n")
    if not sep:
        return False
    if rest.startswith(b"$"):
        size = int(head[1:] or b"-1")
        return size < 0 or len(body) >= size + 2
    return True


def disk_full(data: DataDir, logged: bool = False) -> LocalStoreDiskFull:
    """The error that says the disk holding ``data`` is full (naming the disk and the directory)."""
    free, mount = data.free_bytes(), data.mount_point()
    said = " (the server's log: 'No space left on device')" if logged else ""
    return LocalStoreDiskFull(
        f"the disk holding the local store ({data.path}, on the file system mounted at {mount}) is full: "
        f"{free:,} bytes free{said}. The store keeps every write it acknowledged and takes no more: free some "
        "space on that disk, then `memstore-nb local start`",
        data.path,
        mount,
        free,
    )


def says_disk_full(log_text: str) -> bool:
    """Whether a server's log says it stopped because the disk was full."""
    return any(marker in log_text for marker in _DISK_FULL)


def launch(
    data: DataDir, server: Server, password: str, timeout: float, started: Callable[[Identity, int], None]
) -> None:
    """Start ``server`` on ``data`` and wait until it answers PING on its socket.

    ``started(process, log_offset)`` is called as soon as the process exists, before the wait, so
    the store records who it is even if this process is interrupted while it loads its data.

    Raises:
        LocalStoreError: the data would not load (the message says so; the files are kept), or the
            directory's path is too long for a unix socket.
        LocalStoreDiskFull: the disk is full.
        RedisStartError: the server died or did not answer in ``timeout`` seconds (its log tail attached).
    """
    path = data.path / SOCKET
    if len(os.fsencode(str(path))) > _SOCKET_MAX:
        raise LocalStoreError(
            f"the local store's directory path is too long for its unix socket ({path}: at most {_SOCKET_MAX} "
            "bytes): set MEMSTORE_NB_DATA_DIR to a shorter path",
            data.path,
        )
    log_fd = data.append_fd(LOG)
    try:
        offset = os.fstat(log_fd).st_size
        # A session of its own: Ctrl-C in the terminal or a kernel interrupt never reaches it.
        # umask 077: the AOF and the log hold chat data, only this user may read them.
        proc = subprocess.Popen(
            [server.binary, "-"],
            stdin=subprocess.PIPE,
            stdout=log_fd,
            stderr=log_fd,
            cwd=data.path,
            start_new_session=True,
            close_fds=True,
            umask=0o077,
        )
    except OSError as exc:
        raise data.error(f"cannot start {server.binary}: {exc.strerror}", exc) from exc
    finally:
        os.close(log_fd)
    # Reap it when it ends (it is our child until this process ends), so it never lingers as a zombie.
    threading.Thread(target=proc.wait, name=f"memstore-nb-store-{proc.pid}", daemon=True).start()
    assert proc.stdin is not None
    with proc.stdin:
        proc.stdin.write(config_text(data.path, password).encode())
    who = identity(proc.pid)
    if who is None:
        raise RedisStartError(f"{server.binary} exited at once", log_since(data, offset))
    started(who, offset)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise _start_failure(data, server, offset, proc.returncode)
        reply = ask(path, password, b"PING", timeout=1.0)
        if reply is not None and reply.startswith(b"+PONG"):
            return
        if reply is not None and reply.startswith(b"-LOADING"):
            deadline = max(deadline, time.monotonic() + 1)  # a big AOF: keep waiting while it loads
        time.sleep(0.02)
    proc.terminate()
    raise RedisStartError(
        f"the local store's server did not answer within {timeout:.0f}s (data in {data.path}; log {data.path / LOG})",
        log_since(data, offset),
    )


def log_since(data: DataDir, offset: int) -> str:
    """What the server logged from ``offset`` on (at most the last 3000 characters)."""
    raw = data.read(LOG) or b""
    return raw[offset:].decode(errors="replace")[-3000:]


def _start_failure(data: DataDir, server: Server, offset: int, code: int) -> Exception:
    said = log_since(data, offset)
    if says_disk_full(said):
        return disk_full(data, logged=True)
    if any(marker in said for marker in _BAD_DATA):
        return LocalStoreError(
            f"{server} ({server.binary}) could not read the local store's data in {data.path} (see {data.path / LOG}); "
            "the files are kept as they are. If another server wrote them, reopen them with that one "
            "(point MEMSTORE_NB_REDIS_SERVER at it)",
            data.path,
        )
    # Without the advice to "--fix" files: that is for someone who has read what it truncates.
    tail = "\n".join(line for line in said.splitlines()[-15:] if "--fix" not in line)
    return RedisStartError(f"{server.binary} exited with code {code} before answering (data in {data.path})", tail)
