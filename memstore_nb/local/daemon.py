"""A detached ``redis-server`` / ``valkey-server`` living in a data directory: config, launch, probe, pid.

The building block of :mod:`memstore_nb.local.store`; it knows nothing of state files or locks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from ..errors import RedisStartError

__all__ = [
    "CONFIG_FILE",
    "HOST",
    "LOG_FILE",
    "PID_FILE",
    "ask",
    "is_our_server",
    "launch",
    "pid_of",
    "process_alive",
    "server_version",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
CONFIG_FILE = "server.conf"
LOG_FILE = "server.log"
PID_FILE = "server.pid"
# Log lines after which a starting server will not come up.
_FATAL = ("Fatal error", "FATAL", "Bad file format", "Unrecoverable", "Can't chdir")


def ask(port: int, password: str, *command: bytes, timeout: float = 1.0) -> bytes | None:
    """AUTH, then one command over a raw socket (no client library needed to find the store).

    Returns the command's raw reply (a simple, integer or complete bulk reply), b"" when the
    server closed the connection (SHUTDOWN), or None when nothing answers or AUTH fails.
    """
    payload = b"".join(
        b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        for parts in ((b"AUTH", password.encode()), command)
    )
    reply = b""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
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


def server_version(port: int, password: str) -> str:
    """``"valkey 9.1.2"`` or ``"redis 6.2.14"``, from INFO server."""
    reply = ask(port, password, b"INFO", b"server", timeout=3.0) or b""
    fields = dict(line.split(":", 1) for line in reply.decode(errors="replace").splitlines() if ":" in line)
    if "valkey_version" in fields:
        return f"valkey {fields['valkey_version'].strip()}"
    return f"redis {fields.get('redis_version', '?').strip()}"


def _config(directory: Path, port: int, password: str) -> str:
    lines = [
        f"port {port}",
        f"bind {HOST}",
        "protected-mode yes",
        f'dir "{directory}"',
        "daemonize yes",
        f'pidfile "{directory / PID_FILE}"',
        f'logfile "{directory / LOG_FILE}"',
        "appendonly yes",
        "appendfsync everysec",
        'save ""',
        f'requirepass "{password}"',
    ]
    return "\n".join(lines) + "\n"


def _log_tail(directory: Path, lines: int = 15) -> str:
    try:
        return "\n".join((directory / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def launch(directory: Path, password: str, binary: str, timeout: float) -> dict[str, Any]:
    """Start ``binary`` daemonized on a free loopback port with its data in ``directory``; wait for PONG.

    Returns:
        The state to record: port, pid, binary, version, start time.

    Raises:
        RedisStartError: it did not answer in ``timeout`` seconds, or logged a fatal error (log tail attached).
    """
    from .server import free_port

    config = directory / CONFIG_FILE
    for attempt in range(3):
        port = free_port()
        # The password goes in a 0600 file, never on the command line (visible to every user in ps).
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(_config(directory, port, password))
        with contextlib.suppress(FileNotFoundError):
            (directory / PID_FILE).unlink()
        offset = (directory / LOG_FILE).stat().st_size if (directory / LOG_FILE).exists() else 0
        # daemonize: the server forks away from us (no zombie, no tie to this process's life).
        # umask 077: the AOF and the log hold chat data; only this user may read them.
        done = subprocess.run(
            [binary, str(config)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            umask=0o077,
        )
        if done.returncode != 0:
            raise RedisStartError(
                f"{binary} exited with code {done.returncode}",
                (done.stdout + done.stderr).decode(errors="replace")[-2000:] + _log_tail(directory),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = ask(port, password, b"PING")
            if reply is not None and reply.startswith(b"+PONG"):
                pid = pid_of(directory)
                return {
                    "port": port,
                    "pid": pid,
                    "binary": binary,
                    "version": server_version(port, password),
                    "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            if reply is not None and reply.startswith(b"-LOADING"):
                deadline = max(deadline, time.monotonic() + 1)  # a big AOF: keep waiting while it loads
            fresh = _new_log(directory, offset)
            if "Address already in use" in fresh:
                break  # someone took the port between our probe and the bind: another port
            if any(marker in fresh for marker in _FATAL):
                raise RedisStartError(
                    f"the local store did not start (data in {directory}; see {directory / LOG_FILE})",
                    _log_tail(directory),
                )
            time.sleep(0.05)
        else:
            raise RedisStartError(
                f"the local store did not answer within {timeout:.0f}s on port {port} "
                f"(data in {directory}; see {directory / LOG_FILE})",
                _log_tail(directory),
            )
        log.info("local store: port %s was taken, retrying (%d)", port, attempt + 1)
    raise RedisStartError(f"the local store found no free port after 3 attempts (data in {directory})")


def _new_log(directory: Path, offset: int) -> str:
    try:
        with open(directory / LOG_FILE, "rb") as logfile:
            logfile.seek(offset)
            return logfile.read().decode(errors="replace")
    except OSError:
        return ""


def pid_of(directory: Path) -> int:
    """The pid the server wrote to its pid file, or 0."""
    try:
        return int((directory / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return 0


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def is_our_server(pid: int, directory: Path) -> bool:
    """Whether ``pid`` is still a server process (pids get reused: never signal a stranger)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return process_alive(pid)
    return b"redis" in cmdline or b"valkey" in cmdline
