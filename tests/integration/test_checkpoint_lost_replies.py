"""Saver writes whose reply is lost (applied by the server, never heard by the client) are stored once.

A loopback TCP proxy forwards a script call to the server, reads the server's reply, and resets the
client's connection instead of relaying it. The client sends the same write (same write id) again.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from helpers.graphs import agent_graph, contents, human

from memstore_nb.checkpoint.saver import MemorystoreSaver


class DropReplyProxy:
    """Forwards 127.0.0.1:port to the server; when armed, swallows the reply to the next script call."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            server.settimeout(None)
            state = {"drop": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(client, server, state), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        try:
            while data := client.recv(65536):
                if self.armed.is_set() and b"EVALSHA" in data.upper():
                    self.armed.clear()
                    state["drop"] = True
                server.sendall(data)
        except OSError:
            pass

    def _down(self, client: socket.socket, server: socket.socket, state: dict[str, bool]) -> None:
        try:
            while data := server.recv(65536):
                if state["drop"]:
                    self.dropped += 1
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                client.sendall(data)
        except OSError:
            pass
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the other pump; close() alone would not
            sock.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


@pytest.fixture()
def proxy(redis_server: Any, redis_url: str) -> Iterator[DropReplyProxy]:
    port = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs["port"]
    p = DropReplyProxy(int(port))
    yield p
    p.close()


def test_lost_replies_to_puts_and_writes_store_each_once(proxy: DropReplyProxy, client: redis.Redis) -> None:
    prefix = f"lost{uuid.uuid4().hex[:8]}:"
    through = redis.Redis(host="127.0.0.1", port=proxy.port, protocol=2, socket_timeout=5)
    saver = MemorystoreSaver(through, key_prefix=prefix)
    graph = agent_graph(saver)
    try:
        graph.invoke(human("hello"), {"configurable": {"thread_id": "t"}})  # scripts loaded
        for n in range(6):  # each turn loses the reply to one of its script calls
            proxy.armed.set()
            graph.invoke(human(f"turn {n}"), {"configurable": {"thread_id": "t"}})
            assert not proxy.armed.is_set()
        assert proxy.dropped == 6
        expected = [
            t for text in ["hello", *(f"turn {n}" for n in range(6))] for t in (text, f"echo {text} " + "x" * 180)
        ]
        state = graph.get_state({"configurable": {"thread_id": "t"}})
        assert contents(state.values["messages"]) == expected
        history = list(graph.get_state_history({"configurable": {"thread_id": "t"}}))
        assert len(history) == 7 * 3  # input, start and model checkpoints of each turn, none doubled
        pending = saver.get_tuple(
            {"configurable": {"thread_id": "t", "checkpoint_id": history[1].config["configurable"]["checkpoint_id"]}}
        )
        assert pending is not None and len(pending.pending_writes or []) == len(
            {(w[0], w[1]) for w in pending.pending_writes or []}
        )
    finally:
        through.close()
        for key in list(client.scan_iter(match=f"{prefix}*")):
            client.delete(key)
