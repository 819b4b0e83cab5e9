"""Every key a saver script reads or writes is declared in its KEYS, as the server sees it (MONITOR).

Redis Cluster checks the slot of a script's declared keys only; a key a script reaches without
declaring it would be read or written wherever the script runs, even on a node a migrating slot has
left. So the test watches the server: each script call the saver makes is bracketed by two ECHO
commands on its connection, MONITOR shows the commands the script ran in between, and the server
itself (COMMAND GETKEYS) says which keys each of those commands touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio
import redis.cluster
from langgraph.checkpoint.base import empty_checkpoint

from memstore_nb.checkpoint import scripts, write_scripts
from memstore_nb.checkpoint.saver import MemorystoreSaver

_SCRIPTS = {
    "GET": scripts.GET,
    "LIST": scripts.LIST,
    "DUMP": scripts.DUMP,
    "PUT": write_scripts.PUT,
    "PUT_WRITES": write_scripts.PUT_WRITES,
    "DELETE_THREAD": scripts.DELETE_THREAD,
    "PRUNE": write_scripts.PRUNE,
    "DELETE_RUNS": write_scripts.DELETE_RUNS,
    "COPY_IN": write_scripts.COPY_IN,
}
_NAMES = {script.sha: name for name, script in _SCRIPTS.items()}
_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", '"': b'"', "\\": b"\\"}


class Bracketing(redis.Redis):
    """A client that sends ``ECHO begin-N`` before and ``ECHO end-N`` after every script call."""

    counter = itertools.count()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() not in ("EVAL", "EVALSHA"):
            return super().execute_command(*args, **options)
        n = next(self.counter)
        super().execute_command("ECHO", f"keys-test-begin-{n}")
        try:
            return super().execute_command(*args, **options)
        finally:
            super().execute_command("ECHO", f"keys-test-end-{n}")


def parse_monitor_line(line: str) -> tuple[str, list[bytes]]:
    """``+1700000000.1 [0 lua] "HGET" "k" "f"`` -> ("lua", [b"HGET", b"k", b"f"]) (MONITOR's quoting undone)."""
    head, _, rest = line.partition("] ")
    source = head.rsplit(" ", 1)[-1]
    args: list[bytes] = []
    i = 0
    while i < len(rest):
        if rest[i] != '"':
            i += 1
            continue
        i += 1
        out = bytearray()
        while rest[i] != '"':
            if rest[i] == "\\":
                if rest[i + 1] == "x":
                    out.append(int(rest[i + 2 : i + 4], 16))
                    i += 4
                    continue
                out += _ESCAPES[rest[i + 1]]
                i += 2
                continue
            out += rest[i].encode("latin-1")
            i += 1
        args.append(bytes(out))
        i += 1
    return source, args


def test_parse_monitor_line_undoes_the_quoting() -> None:
    source, args = parse_monitor_line('+1.5 [0 lua] "HSET" "a{b}" "x\\n\\"y\\\\" "\\xc1z"')
    assert source == "lua" and args == [b"HSET", b"a{b}", b'x\n"y\\', b"\xc1z"]
    source, args = parse_monitor_line('+1.5 [3 127.0.0.1:5000] "ECHO" "hi"')
    assert source == "127.0.0.1:5000" and args == [b"ECHO", b"hi"]


class Monitor:
    """A raw MONITOR connection: collects lines until stopped."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=10)
        if parts.password:
            self.sock.sendall(f"AUTH {parts.password}\r\n".encode())
        self.sock.sendall(b"MONITOR\r\n")
        self.buffer = b""
        self.lines: list[str] = []

    def read_until(self, marker: bytes) -> list[str]:
        deadline = time.monotonic() + 20
        while marker not in self.buffer:
            assert time.monotonic() < deadline, "MONITOR did not show the end marker"
            self.buffer += self.sock.recv(1 << 20)
        self.sock.close()
        return [line.decode("latin-1") for line in self.buffer.split(b"\r\n") if line.startswith(b"+")]


@pytest.fixture()
def monitor(redis_url: str) -> Iterator[Monitor]:
    watcher = Monitor(redis_url)
    yield watcher
    watcher.sock.close()


def calls_in_brackets(lines: list[str]) -> list[tuple[str, list[bytes], list[list[bytes]]]]:
    """(script name, declared keys, commands the script ran) for every bracketed script call."""
    out = []
    current: list[Any] | None = None
    for line in lines:
        source, args = parse_monitor_line(line)
        if not args:
            continue
        command = args[0].upper()
        if command == b"ECHO" and args[1].startswith(b"keys-test-begin-"):
            current = [None, [], []]
        elif command == b"ECHO" and args[1].startswith(b"keys-test-end-"):
            assert current is not None and current[0] is not None, "a bracket without its script call"
            out.append((current[0], current[1], current[2]))
            current = None
        elif current is not None and command in (b"EVAL", b"EVALSHA") and source != "lua":
            sha = args[1].decode() if command == b"EVALSHA" else hashlib.sha1(args[1]).hexdigest()
            current[0] = _NAMES.get(sha, sha)
            current[1] = args[3 : 3 + int(args[2])]
        elif current is not None and source == "lua":
            current[2].append(args)
    return out


def keys_of(admin: redis.Redis, command: list[bytes]) -> list[bytes]:
    """The keys ``command`` touches, as the server computes them."""
    try:
        return [k if isinstance(k, bytes) else k.encode() for k in admin.command_getkeys(*command)]
    except redis.ResponseError:  # a command without key arguments
        return []


def test_every_key_a_saver_script_touches_is_declared_in_keys(redis_url: str, monitor: Monitor) -> None:
    prefix = f"k{uuid.uuid4().hex[:8]}:"
    admin = redis.Redis.from_url(redis_url, protocol=2)
    other = MemorystoreSaver(redis.Redis.from_url(redis_url, protocol=2), key_prefix=prefix)
    saver = MemorystoreSaver(Bracketing.from_url(redis_url, protocol=2), ttl=3600, key_prefix=prefix)
    try:
        root = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        child = {"configurable": {"thread_id": "t", "checkpoint_ns": "child:1"}}
        first = empty_checkpoint()
        first["channel_values"] = {"messages": ["a"]}
        first["channel_versions"] = {"messages": "00000001.000001"}
        # Another process adds a namespace this saver has never seen: its writes (with a TTL, which
        # touches every namespace) must declare it anyway.
        other.put(child, empty_checkpoint(), {"run_id": "run-1"}, {})
        stored = saver.put(root, first, {"run_id": "run-1"}, {"messages": "00000001.000001"})
        saver.put_writes(stored, [("messages", ["b"]), ("__error__", "x")], "task-1")
        second = empty_checkpoint()
        second["channel_values"] = {"messages": ["a", "b"]}
        second["channel_versions"] = {"messages": "00000002.000002"}
        saver.put(stored, second, {"run_id": "run-2"}, {"messages": "00000002.000002"})
        assert saver.get_tuple(root) is not None
        assert len(list(saver.list(root))) == 2
        assert len(list(saver.list({"configurable": {"thread_id": "t"}}))) == 3  # every namespace
        saver.copy_thread("t", "copy")
        other.put({"configurable": {"thread_id": "copy", "checkpoint_ns": "child:2"}}, empty_checkpoint(), {}, {})
        saver.delete_for_runs(["run-1"])
        saver.prune(["copy"])
        saver.delete_thread("copy")
        saver.delete_thread("t")
        admin.echo("keys-test-done")
        lines = monitor.read_until(b"keys-test-done")
    finally:
        for key in list(admin.scan_iter(match=f"{prefix}*", count=1000)):
            admin.delete(key)

    calls = calls_in_brackets(lines)
    # Every script was seen running commands (an EVALSHA refused with NOSCRIPT runs none).
    assert set(_SCRIPTS) <= {name for name, _keys, commands in calls if commands}
    undeclared = []
    for name, declared, commands in calls:
        for command in commands:
            for key in keys_of(admin, command):
                if key not in declared:
                    undeclared.append((name, command[0].decode(), key))
    assert not undeclared, f"keys touched but not in KEYS: {undeclared}"
    admin.close()


def test_a_thread_keeps_two_keys_whatever_its_namespaces(redis_url: str) -> None:
    """Namespaces live inside the thread's hash and index: the key count does not grow with them, and a
    TTL write touches two keys (never one per namespace), whichever saver wrote the namespaces."""
    prefix = f"k{uuid.uuid4().hex[:8]}:"
    admin = redis.Redis.from_url(redis_url, protocol=2)
    writer = MemorystoreSaver(redis.Redis.from_url(redis_url, protocol=2), key_prefix=prefix)
    for ns in ("", "child:1", "child:2"):
        writer.put({"configurable": {"thread_id": "ns", "checkpoint_ns": ns}}, empty_checkpoint(), {}, {})
    try:
        fresh = MemorystoreSaver(redis.Redis.from_url(redis_url, protocol=2), ttl=60, key_prefix=prefix)
        assert len(list(fresh.list(None))) == 3
        assert len(list(fresh.list({"configurable": {"thread_id": "ns"}}))) == 3
        fresh.put({"configurable": {"thread_id": "ns", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {})
        keys = [k for k in admin.scan_iter(match=f"{prefix}*", count=1000) if b":memstore-nb:" not in k]
        assert len(keys) == 2 and all(0 < admin.ttl(k) <= 60 for k in keys)

        async def on_asyncio() -> None:
            client = redis.asyncio.Redis.from_url(redis_url, protocol=2)
            afresh = MemorystoreSaver(client, key_prefix=prefix)
            assert len([item async for item in afresh.alist(None)]) == 4
            await afresh.acopy_thread("ns", "ns-copy")
            assert len([item async for item in afresh.alist({"configurable": {"thread_id": "ns-copy"}})]) == 4
            await client.aclose()

        asyncio.run(on_asyncio())
        keys = [k for k in admin.scan_iter(match=f"{prefix}*", count=1000) if b":memstore-nb:" not in k]
        assert len(keys) == 4
    finally:
        for key in list(admin.scan_iter(match=f"{prefix}*", count=1000)):
            admin.delete(key)
        admin.close()


def test_saver_writes_wait_for_a_migrating_slot_instead_of_missing_keys_that_moved(redis_cluster_url: str) -> None:
    """While a thread's slot migrates, a write whose keys are split between the nodes gets TRYAGAIN
    and raises WriteUnconfirmed having written nothing, instead of running on the source without the
    moved key; once every key has moved it goes on (ASK), and afterwards the thread has all its
    checkpoints and both keys with their TTL."""
    from memstore_nb.connection import connect
    from memstore_nb.errors import CheckpointError
    from memstore_nb.server_errors import WriteUnconfirmed

    client = connect(redis_cluster_url, cluster=True)
    assert isinstance(client, redis.cluster.RedisCluster)
    thread = f"migrating-{uuid.uuid4().hex[:8]}"
    saver = MemorystoreSaver(client, ttl=600)
    root = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    child = {"configurable": {"thread_id": thread, "checkpoint_ns": "child:1"}}
    stored = saver.put(root, empty_checkpoint(), {}, {})
    saver.put(child, empty_checkpoint(), {}, {})
    keys = saver._keys(thread)
    slot = client.keyslot(keys.thread)
    before = len(client.hkeys(keys.thread))
    source = client.get_node_from_key(keys.thread)
    target = next(n for n in client.get_primaries() if n.name != source.name)
    src = redis.Redis(host=source.host, port=source.port, protocol=2)
    dst = redis.Redis(host=target.host, port=target.port, protocol=2)
    source_id, target_id = src.execute_command("CLUSTER", "MYID"), dst.execute_command("CLUSTER", "MYID")
    try:
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", keys.order)
        with pytest.raises(WriteUnconfirmed, match="slot"):
            saver.put(stored, empty_checkpoint(), {}, {})  # its index is on the target already
        assert len(src.hkeys(keys.thread)) == before  # nothing written on the source
        with pytest.raises(CheckpointError, match="slot moved"):
            MemorystoreSaver(client).get_tuple(root)  # a read says so too, not a raw ClusterError
        while rest := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *rest)
        saver.put(stored, empty_checkpoint(), {}, {})  # every key on the target: sent there (ASK)
    finally:
        for node in client.get_primaries():
            with redis.Redis(host=node.host, port=node.port, protocol=2) as conn:
                conn.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        src.close()
        dst.close()
    assert len(list(saver.list(root))) == 2 and len(list(saver.list({"configurable": {"thread_id": thread}}))) == 3
    assert all(0 < client.ttl(k) <= 600 for k in (keys.thread, keys.order))
    saver.delete_thread(thread)
    client.close()
