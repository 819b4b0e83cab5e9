"""Faults on loopback for the reliability tests and ``benchmarks/chaos.py``: a reply-dropping TCP proxy
and server control (SIGKILL + restart, SIGSTOP/SIGCONT, CLIENT KILL), each loop bounded in count and time.

Only the standard library, redis-py and :mod:`memstore_nb.local.server` are imported, so the proxy also
runs against older checkouts of the package (to show a test failing on the old write path).
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from memstore_nb.local import LocalRedis

# Commands whose successful reply the proxy may drop: the server has applied them, the client never hears.
WRITE_COMMANDS = frozenset({b"RPUSH", b"LPUSH", b"EVAL", b"EVALSHA", b"FCALL", b"DEL", b"MULTI", b"EXEC", b"SET"})


# -- the proxy -----------------------------------------------------------------


def _command_name(chunk: bytes) -> bytes:
    """The name of the RESP command a chunk starts with (``b""`` if it does not start one)."""
    if not chunk.startswith(b"*"):
        return b""
    parts = chunk.split(b"\r\n", 3)
    if len(parts) < 3 or not parts[1].startswith(b"$"):
        return b""
    return parts[2].upper()


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class ReplyDroppingProxy:
    """A TCP proxy on 127.0.0.1 that relays everything, except that it drops chosen write replies.

    When the server answers a write command (see :data:`WRITE_COMMANDS`) with a non-error reply,
    the proxy may discard that reply and reset the client's connection instead: the server applied
    the write, the client never heard (``on_drop``, if given, runs just before the reset).
    The first ``drop_first`` such replies are dropped, then each with probability ``drop_rate``
    (seeded), at most ``max_drops`` in all.

    Use as a context manager; ``.port`` is where clients connect, ``.dropped`` counts drops.
    """

    def __init__(
        self,
        target_port: int,
        *,
        drop_first: int = 0,
        drop_rate: float = 0.0,
        max_drops: int = 10_000,
        seed: int = 0,
        on_drop: Callable[[], object] | None = None,
    ) -> None:
        self.target = ("127.0.0.1", target_port)
        self.drop_first = drop_first
        self.drop_rate = drop_rate
        self.max_drops = max_drops
        self.dropped = 0
        self.on_drop = on_drop
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def __enter__(self) -> ReplyDroppingProxy:
        thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _take_drop(self) -> bool:
        with self._lock:
            if self.dropped >= self.max_drops:
                return False
            if self.drop_first > 0:
                self.drop_first -= 1
            elif not (self.drop_rate and self._rng.random() < self.drop_rate):
                return False
            self.dropped += 1
            return True

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _relay(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=2)
        except OSError:
            _reset(client)
            return
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, "client")
        selector.register(server, selectors.EVENT_READ, "server")
        awaiting_write_reply = False
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = sock.recv(65536)
                    if not data:
                        return
                    if key.data == "client":
                        name = _command_name(data)
                        if name:
                            awaiting_write_reply = name in WRITE_COMMANDS
                        server.sendall(data)
                    else:
                        if awaiting_write_reply and not data.startswith(b"-") and self._take_drop():
                            if self.on_drop is not None:
                                self.on_drop()  # before the client hears anything
                            _reset(client)
                            return
                        awaiting_write_reply = False
                        client.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            server.close()
            with contextlib.suppress(OSError):
                client.close()


# -- server control ------------------------------------------------------------


def admin(port: int) -> redis.Redis:
    """A client for checks and faults: no retries, short timeouts, text replies."""
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        protocol=2,
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 0),
    )


AOF_ARGS = ("--appendonly", "yes", "--appendfsync", "always")


def kill_and_restart(server: LocalRedis, down: float) -> None:
    """SIGKILL the server, wait ``down`` seconds, start it again on the same port (its AOF reloads)."""
    server.kill()
    time.sleep(down)
    server.start(timeout=15)


def client_kill(port: int) -> None:
    """Close every normal client connection of the server (CLIENT KILL TYPE normal)."""
    with admin(port) as conn:
        conn.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")


def pause(pid: int, seconds: float) -> None:
    """SIGSTOP the process for ``seconds``, then SIGCONT (always, even if interrupted)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def fault_loop(action: Callable[[], object], *, every: float, max_count: int, name: str = "faults") -> Iterator[Any]:
    """Run ``action`` in a thread every ``every`` seconds, at most ``max_count`` times, until the block ends.

    Yields a list that holds how many times it ran (``[n]``) and any exception it raised.
    """
    stop = threading.Event()
    state: list[Any] = [0]

    def loop() -> None:
        while state[0] < max_count and not stop.wait(every):
            try:
                action()
            except Exception as exc:
                state.append(exc)
                return
            state[0] += 1

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=30)
