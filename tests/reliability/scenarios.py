"""The fault scenarios, each runnable with every client kind: used by the tests and by benchmarks/chaos.py.

A scenario starts its own servers on free loopback ports, writes unique messages under a fault
for a bounded time, stops the fault, reads every list back, and returns a :class:`~.harness.Tally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from memstore_nb import MemorystoreChatMessageHistory, aconnect
from memstore_nb.connection import connect
from memstore_nb.local import LocalRedis, LocalRedisCluster, start_local_redis

from .faults import AOF_ARGS, ReplyDroppingProxy, admin, client_kill, fault_loop, kill_and_restart, pause
from .ledger import Ledger, Tally, read_back, tally, write_async, write_sync

MAX_CALLS = 100_000  # per run; the time limit is what ends a run

# Client kinds: name -> (is_async, factory(host, port, timeout)). Async factories are coroutines.
STANDALONE_KINDS: dict[str, tuple[bool, Callable[..., Any]]] = {
    "connect()": (False, lambda port, t: connect(f"redis://127.0.0.1:{port}", timeout=t, cluster=False)),
    "redis.Redis": (False, lambda port, t: redis.Redis(host="127.0.0.1", port=port, protocol=2, socket_timeout=t)),
    "redis.asyncio.Redis": (
        True,
        lambda port, t: redis.asyncio.Redis(host="127.0.0.1", port=port, protocol=2, socket_timeout=t),
    ),
}
STANDALONE_KINDS["aconnect()"] = (
    True,
    lambda port, t: aconnect(f"redis://127.0.0.1:{port}", timeout=t, cluster=False),
)

CLUSTER_KINDS: dict[str, tuple[bool, Callable[..., Any]]] = {
    "connect()": (False, lambda port, t: connect(f"redis://127.0.0.1:{port}", timeout=t, cluster=True)),
    "RedisCluster": (
        False,
        lambda port, t: redis.cluster.RedisCluster(host="127.0.0.1", port=port, protocol=2, socket_timeout=t),
    ),
    "asyncio RedisCluster": (
        True,
        lambda port, t: redis.asyncio.cluster.RedisCluster(host="127.0.0.1", port=port, protocol=2, socket_timeout=t),
    ),
}


async def _maybe_await(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


def _run_writers(
    kind: tuple[bool, Callable[..., Any]], port: int, timeout: float, keys: list[str], ledger: Ledger, seconds: float
) -> None:
    is_async, factory = kind
    if not is_async:
        client = factory(port, timeout)
        try:
            histories = [MemorystoreChatMessageHistory(client, key) for key in keys]
            write_sync(histories, ledger, seconds=seconds, max_calls=MAX_CALLS)
        finally:
            client.close()
        return

    async def main() -> None:
        client = await _maybe_await(factory(port, timeout))
        try:
            histories = [MemorystoreChatMessageHistory(client, key) for key in keys]
            await write_async(histories, ledger, seconds=seconds, max_calls=MAX_CALLS)
        finally:
            await client.aclose()

    asyncio.run(main())


def _keys(count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"chaos-{run}-{i}" for i in range(count)]


@contextlib.contextmanager
def _aof_server() -> Iterator[LocalRedis]:
    with start_local_redis(args=list(AOF_ARGS)) as server:
        yield server


def _standalone_tally(server: LocalRedis, keys: list[str], ledger: Ledger, faults: list[Any] | None = None) -> Tally:
    if faults is not None:
        _check_faults(faults)
    with admin(server.port) as conn:
        result = tally(ledger, read_back(conn, keys))
    result.faults = faults[0] if faults is not None else 0
    return result


# -- standalone scenarios ------------------------------------------------------


def reply_dropping_proxy(kind: str, seconds: float, *, drop_rate: float = 0.2, seed: int = 1) -> Tally:
    """Writes through a proxy that drops ``drop_rate`` of the write replies and resets the client."""
    ledger, keys = Ledger(), _keys(2)
    with _aof_server() as server, ReplyDroppingProxy(server.port, drop_rate=drop_rate, seed=seed) as proxy:
        _run_writers(STANDALONE_KINDS[kind], proxy.port, 2.0, keys, ledger, seconds)
        if not proxy.dropped:
            raise RuntimeError("the proxy dropped no reply: the run was too short")
        result = _standalone_tally(server, keys, ledger)
        result.faults = proxy.dropped
        return result


def kill_restart(kind: str, seconds: float, *, every: float = 1.0, down: float = 0.3) -> Tally:
    """SIGKILL the server every ``every`` seconds and start it again ``down`` seconds later (AOF, fsync always)."""
    ledger, keys = Ledger(), _keys(2)
    with _aof_server() as server:
        with fault_loop(lambda: kill_and_restart(server, down), every=every, max_count=1000) as faults:
            _run_writers(STANDALONE_KINDS[kind], server.port, 2.0, keys, ledger, seconds)
        return _standalone_tally(server, keys, ledger, faults)


def client_kill_storm(kind: str, seconds: float, *, every: float = 0.02) -> Tally:
    """CLIENT KILL TYPE normal every ``every`` seconds."""
    ledger, keys = Ledger(), _keys(2)
    with _aof_server() as server:
        with fault_loop(lambda: client_kill(server.port), every=every, max_count=100_000) as faults:
            _run_writers(STANDALONE_KINDS[kind], server.port, 2.0, keys, ledger, seconds)
        return _standalone_tally(server, keys, ledger, faults)


def sigstop(kind: str, seconds: float, *, timeout: float = 0.4, stopped: float = 1.0, every: float = 0.5) -> Tally:
    """SIGSTOP the server for ``stopped`` seconds (longer than the client's ``timeout``), then SIGCONT; repeat."""
    ledger, keys = Ledger(), _keys(2)
    with _aof_server() as server:
        with fault_loop(lambda: pause(server.pid or 0, stopped), every=every, max_count=1000) as faults:
            _run_writers(STANDALONE_KINDS[kind], server.port, timeout, keys, ledger, seconds)
        return _standalone_tally(server, keys, ledger, faults)


STANDALONE_SCENARIOS: dict[str, Callable[[str, float], Tally]] = {
    "reply-dropping proxy": reply_dropping_proxy,
    "SIGKILL + restart (AOF always)": kill_restart,
    "CLIENT KILL storm": client_kill_storm,
    "SIGSTOP > client timeout": sigstop,
}


def _check_faults(state: list[Any]) -> None:
    if len(state) > 1:
        raise RuntimeError(f"the fault injector failed: {state[1]!r}") from state[1]
    if state[0] == 0:
        raise RuntimeError("no fault was injected: the run was too short")


# -- cluster -------------------------------------------------------------------


def start_fault_cluster() -> LocalRedisCluster:
    """3 shards with one replica each (node timeout 2 s), so a primary can fail over."""
    return start_local_redis(cluster=True, shards=3, replicas=1)


def _port(cluster: LocalRedisCluster) -> int:
    return int(cluster.url.rsplit(":", 1)[1])


def _wait_failover(cluster: LocalRedisCluster, old: LocalRedis, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if old.port not in {node.port for node in cluster.primaries()}:
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"node {old.port} was not replaced within {limit:.0f}s")


def cluster_faults(cluster: LocalRedisCluster, keys: list[str], *, pause_for: float = 4.5) -> None:
    """One round: SIGKILL the primary of ``keys[0]``, wait for the failover, restart it (it rejoins as a
    replica); then SIGSTOP the primary of ``keys[1]`` past the node timeout, SIGCONT; wait until healthy."""
    victim = cluster.node_for_key(keys[0])
    victim.kill()
    _wait_failover(cluster, victim)
    victim.start()
    cluster.wait_ready(30)
    paused = cluster.node_for_key(keys[1])
    pause(paused.pid or 0, pause_for)
    _wait_failover(cluster, paused)
    cluster.wait_ready(30)


def cluster_primary_faults(cluster: LocalRedisCluster, kind: str, seconds: float) -> Tally:
    """Writes to six sessions over every shard while primaries are killed and paused (``seconds`` at least
    one round of :func:`cluster_faults`; more rounds while time remains)."""
    ledger, keys = Ledger(), _keys(6)
    cluster.wait_ready(30)
    rounds: list[int] = [0]

    def faults() -> None:
        started = time.monotonic()
        while rounds[0] < 20 and (rounds[0] == 0 or time.monotonic() - started < seconds - 12):
            time.sleep(0.5)
            cluster_faults(cluster, keys)
            rounds[0] += 1

    with fault_loop(faults, every=0.01, max_count=1) as state:
        # The writers run while the faults do, and a little after.
        _run_writers(CLUSTER_KINDS[kind], _port(cluster), 1.0, keys, ledger, max(seconds, 13.0))
    _check_faults(state)
    reader = redis.cluster.RedisCluster(host="127.0.0.1", port=_port(cluster), protocol=2)
    try:
        result = tally(ledger, read_back(reader, keys))
    finally:
        reader.close()
    result.faults = 2 * rounds[0]  # one kill and one pause per round
    return result
