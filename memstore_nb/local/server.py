"""Embedded Redis: a real ``redis-server`` on loopback, owned by this process, for demos and tests."""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from ..errors import RedisStartError

__all__ = ["LocalRedis", "free_port"]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_live: set[LocalRedis] = set()
_live_lock = threading.Lock()


def _owner_death_hook() -> Callable[[], None] | None:
    """A child-side hook that makes the server get SIGTERM when this process dies, or None.

    atexit does not run when a Jupyter kernel or a test run is killed; without this the server
    would outlive it. Linux only, and only from the main thread: the kernel signals the child
    when the *thread* that started it ends, and the main thread lives as long as the process.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    owner = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != owner:  # the owner died before prctl took effect: leave the forked child at once
            # (os._exit is the documented way out of a child after fork: no parent cleanup runs twice)
            os._exit(1)

    return hook


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRedis:
    """A ``redis-server`` process on loopback, owned by this Python process.

    Made by :func:`start_local_redis`. Stops on :meth:`stop`, at the end of a
    ``with`` block, or when the interpreter exits.

    Attributes:
        host: always ``"127.0.0.1"``.
        port: the TCP port it listens on.
        binary: the ``redis-server`` executable used.
        directory: its private temporary working directory.
    """

    host = "127.0.0.1"

    def __init__(self, port: int, binary: str, args: Sequence[str] = (), *, tls: bool = False) -> None:
        self.port = port
        self.binary = binary
        self.args = list(args)
        self.tls = tls
        self._tmp = tempfile.TemporaryDirectory(prefix="memstore-nb-redis-")
        self.directory = Path(self._tmp.name)
        self.log_path = self.directory / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalRedis {self.url} {state}>"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` (or ``rediss://`` for a TLS server)."""
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def exit_code(self) -> int | None:
        """The server's exit status once it has exited, else None (running, or never started)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command_line(self) -> list[str]:
        port_args = [] if self.tls else ["--port", str(self.port)]
        return [
            self.binary,
            *port_args,
            "--bind",
            self.host,
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "no",
            *self.args,
        ]

    def start(self, timeout: float = 15.0) -> LocalRedis:
        """Start (or restart) the server on the same port and wait until it answers PING."""
        if self.running:
            return self
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as logfile:
            # A session of its own: a kernel interrupt (SIGINT to the process
            # group) must not take the embedded server down with the cell.
            self._proc = subprocess.Popen(
                self.command_line(),
                stdout=logfile,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_owner_death_hook(),
            )
        with _live_lock:
            _live.add(self)
        self._wait_ready(timeout)
        log.info("started %s (pid %s, %s)", self.url, self.pid, self.binary)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RedisStartError(
                    f"redis-server exited with code {self._proc.returncode} before answering on port {self.port}",
                    self.log_tail(),
                )
            # Our own log line first: another server already on this port would
            # answer PING too, while ours is dying of "Address already in use".
            if self._logged_ready() and self._answers_ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RedisStartError(
            f"redis-server did not answer PING on port {self.port} within {timeout:.0f}s", self.log_tail()
        )

    def _logged_ready(self) -> bool:
        try:
            with open(self.log_path, "rb") as logfile:
                logfile.seek(getattr(self, "_log_offset", 0))
                return b"Ready to accept connections" in logfile.read()
        except OSError:
            return False

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                if self.tls:
                    return True  # the TLS handshake is the caller's business; listening is enough
                sock.sendall(b"PING\r\n")
                reply = sock.recv(64)
                # -NOAUTH and -LOADING also prove the server is up and parsing commands.
                return reply.startswith((b"+PONG", b"-NOAUTH", b"-ERR", b"-WRONGPASS"))
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (for fault tests); :meth:`start` brings it back."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()

    def stop(self) -> None:
        """Stop the server and remove its directory. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with _live_lock:
            _live.discard(self)
        self._tmp.cleanup()

    def __enter__(self) -> LocalRedis:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop()
