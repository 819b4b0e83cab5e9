"""A small Redis Cluster of real ``redis-server`` processes on loopback, for demos and tests."""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import ArgumentError, RedisBinaryNotFound, RedisStartError
from .server import LocalRedis

__all__ = ["ClusterNodeState", "LocalRedisCluster", "start_cluster"]

log = logging.getLogger(__name__)

_BUS_OFFSET = 10000  # a cluster node also listens on port + 10000 (Redis < 7 cannot move it)
_ALL_SLOTS = 16384


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_port(taken: set[int]) -> int:
    """A port P such that P and its cluster bus port P + 10000 are both free."""
    for _ in range(500):
        port = random.randint(20000, 65535 - _BUS_OFFSET)
        if port not in taken and port + _BUS_OFFSET not in taken and _bindable(port) and _bindable(port + _BUS_OFFSET):
            return port
    raise RedisStartError("found no free pair of loopback ports P and P+10000 for a cluster node")


def _cli_next_to(binary: str) -> str | None:
    folder = Path(binary).resolve().parent
    for name in ("redis-cli", "valkey-cli"):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _admin(node: LocalRedis) -> redis.Redis:
    # No retries: a dead node must show up at once, as a clear error, not after seconds of backoff.
    return redis.Redis(
        host=node.host, port=node.port, protocol=2, decode_responses=True, socket_timeout=3, retry=Retry(NoBackoff(), 0)
    )


def _slot_ranges(shards: int) -> list[range]:
    bounds = [i * _ALL_SLOTS // shards for i in range(shards + 1)]
    return [range(lo, hi) for lo, hi in itertools.pairwise(bounds)]


@dataclass(frozen=True)
class ClusterNodeState:
    """One line of ``CLUSTER NODES``: what a node is in the cluster right now."""

    id: str
    port: int
    role: str  # "primary" or "replica"
    primary_id: str | None  # the primary a replica follows
    failed: bool  # flagged fail or fail? by the cluster
    slots: tuple[str, ...]  # slot ranges it serves, as CLUSTER NODES writes them ("0-5460")


class LocalRedisCluster:
    """A small Redis Cluster of ``redis-server`` processes on loopback, owned by this Python process.

    Made by ``start_local_redis(cluster=True)``. Stops every node on
    :meth:`stop`, at the end of a ``with`` block, or when the interpreter exits.

    Attributes:
        nodes: every node as a :class:`LocalRedis`, primaries first as created.
        shards: the number of primaries it was created with.
        replicas_per_shard: replicas per primary it was created with.
    """

    host = "127.0.0.1"

    def __init__(self, nodes: Sequence[LocalRedis], *, shards: int, replicas: int) -> None:
        self.nodes = list(nodes)
        self.shards = shards
        self.replicas_per_shard = replicas

    def __repr__(self) -> str:
        up = sum(node.running for node in self.nodes)
        size = f"{self.shards} shards x{1 + self.replicas_per_shard}"
        return f"<LocalRedisCluster {self.url} {size}, {up}/{len(self.nodes)} up>"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` of a running node; a ``RedisCluster`` client discovers the rest from it."""
        live = [node for node in self.nodes if node.running]
        return (live or self.nodes)[0].url

    @property
    def running(self) -> bool:
        """True while every node process is alive."""
        return all(node.running for node in self.nodes)

    def node_at(self, port: int) -> LocalRedis:
        """The node listening on ``port``."""
        for node in self.nodes:
            if node.port == port:
                return node
        raise KeyError(port)

    def topology(self) -> list[ClusterNodeState]:
        """``CLUSTER NODES`` as a running node sees it, one :class:`ClusterNodeState` per node."""
        out = []
        for line in str(self._ask_any("CLUSTER", "NODES")).splitlines():
            fields = line.split()
            if len(fields) < 8:
                continue
            flags = fields[2].split(",")
            out.append(
                ClusterNodeState(
                    id=fields[0],
                    port=int(fields[1].split("@")[0].rsplit(":", 1)[1]),
                    role="primary" if "master" in flags else "replica",
                    primary_id=None if fields[3] == "-" else fields[3],
                    failed="fail" in flags or "fail?" in flags,
                    slots=tuple(fields[8:]),
                )
            )
        return out

    def primaries(self) -> list[LocalRedis]:
        """The nodes that serve slots now (after a failover, a promoted replica is among them)."""
        return [self.node_at(n.port) for n in self.topology() if n.role == "primary" and n.slots]

    def replicas(self) -> list[LocalRedis]:
        """The nodes that replicate a primary now."""
        return [self.node_at(n.port) for n in self.topology() if n.role == "replica"]

    def replicas_of(self, primary: LocalRedis) -> list[LocalRedis]:
        """The nodes that replicate ``primary`` now."""
        primary_id = self.node_id(primary)
        return [self.node_at(n.port) for n in self.topology() if n.primary_id == primary_id]

    def node_for_key(self, key: str | bytes) -> LocalRedis:
        """The primary that holds ``key``'s slot."""
        slot = int(self._ask_any("CLUSTER", "KEYSLOT", key))
        return self.node_for_slot(slot)

    def node_for_slot(self, slot: int) -> LocalRedis:
        """The primary that serves ``slot``, according to ``CLUSTER SLOTS`` of a running node."""
        for entry in self._ask_any("CLUSTER", "SLOTS"):
            if entry[0] <= slot <= entry[1]:
                return self.node_at(int(entry[2][1]))
        raise RedisStartError(f"no node serves slot {slot}: the cluster is not ready")

    def node_id(self, node: LocalRedis) -> str:
        """A node's cluster id (``CLUSTER MYID``)."""
        with _admin(node) as conn:
            return str(conn.execute_command("CLUSTER", "MYID"))

    def log_tail(self, lines: int = 10) -> str:
        """The last ``lines`` lines of every node's log, each under a header."""
        return "\n".join(f"--- node {node.port} ---\n{node.log_tail(lines)}" for node in self.nodes)

    def _ask_any(self, *command: object) -> Any:
        last: Exception | None = None
        for node in self.nodes:
            if not node.running:
                continue
            try:
                with _admin(node) as conn:
                    return conn.execute_command(*command)
            except redis.RedisError as exc:
                last = exc
        raise RedisStartError(f"no cluster node answered {command[0]} {command[1]}: {last}", self.log_tail())

    def check_alive(self) -> None:
        """Raise :class:`RedisStartError` (with its log tail) when a node has exited."""
        for node in self.nodes:
            code = node.exit_code
            if code is not None:
                raise RedisStartError(f"cluster node on port {node.port} exited with code {code}", node.log_tail())

    def _not_ready(self, node: LocalRedis) -> str | None:
        """Why ``node`` is not ready yet, or None when it is."""
        with _admin(node) as conn:
            info = conn.execute_command("CLUSTER", "INFO")
            fields = dict(line.split(":", 1) for line in str(info).split() if ":" in line)
            if fields.get("cluster_state") != "ok":
                return f"cluster_state:{fields.get('cluster_state')}"
            if int(fields.get("cluster_known_nodes", 0)) != len(self.nodes):
                return f"knows {fields.get('cluster_known_nodes')} of {len(self.nodes)} nodes"
            if self.replicas_per_shard:
                # Clients route by CLUSTER SLOTS; Redis 7 lists a replica there only once it replicates.
                for entry in conn.execute_command("CLUSTER", "SLOTS"):
                    if len(entry) - 2 < 1 + self.replicas_per_shard:
                        return f"slots {entry[0]}-{entry[1]} list {len(entry) - 3} replicas"
                replication = conn.info("replication")
                if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                    return "replication link not up"
        return None

    def wait_ready(self, timeout: float = 15.0) -> LocalRedisCluster:
        """Wait until every node reports ``cluster_state:ok``, knows every other node and (with replicas) replicates.

        Raises:
            RedisStartError: a node died (its log tail is in the message), or the timeout passed.
        """
        deadline = time.monotonic() + timeout
        reason: str | None = "not checked"
        while time.monotonic() < deadline:
            self.check_alive()
            for node in self.nodes:
                try:
                    reason = self._not_ready(node)
                except redis.RedisError as exc:
                    reason = str(exc)
                if reason:
                    reason = f"node {node.port}: {reason}"
                    break
            if reason is None:
                return self
            time.sleep(0.05)
        raise RedisStartError(f"the local cluster was not ready within {timeout:.0f}s ({reason})", self.log_tail())

    def stop(self) -> None:
        """Stop every node and remove their directories. Safe to call twice."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalRedisCluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _start_cluster_node(exe: str, args: Sequence[str], taken: set[int], timeout: float, port: int | None) -> LocalRedis:
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        node_port = port if port is not None else _cluster_port(taken)
        node = LocalRedis(node_port, exe, args)
        node.args += [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(node.directory / f"nodes-{node_port}.conf"),
            "--cluster-node-timeout",
            "2000",
            # Redis 7 syncs replicas diskless after a 5 s delay by default; nothing to wait for here.
            "--repl-diskless-sync-delay",
            "0",
            # Redis 7 lists a replica in CLUSTER SLOTS once its offset is non-zero, which an idle
            # primary's replication PING (every 10 s by default) is what makes it.
            "--repl-ping-replica-period",
            "1",
        ]
        try:
            node.start(timeout)
        except RedisStartError as exc:
            node.stop()
            # Another process may have taken the port (or its bus port) since we probed it.
            if attempt + 1 == attempts or "in use" not in exc.log_tail:
                raise
            continue
        taken.update((node_port, node_port + _BUS_OFFSET))
        return node
    raise AssertionError("unreachable")


def _create_with_cli(cli: str, cluster: LocalRedisCluster, replicas: int, timeout: float) -> None:
    addresses = [f"{node.host}:{node.port}" for node in cluster.nodes]
    cmd = [cli, "--cluster", "create", *addresses, "--cluster-replicas", str(replicas), "--cluster-yes"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RedisStartError(
            f"`redis-cli --cluster create` did not finish within {timeout:.0f}s", cluster.log_tail()
        ) from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-1500:]
        raise RedisStartError(f"`redis-cli --cluster create` failed ({done.returncode}):\n{output}", cluster.log_tail())


def _create_with_commands(cluster: LocalRedisCluster, shards: int, replicas: int, timeout: float) -> None:
    primaries, rest = cluster.nodes[:shards], cluster.nodes[shards:]
    ids = [cluster.node_id(node) for node in primaries]
    first = cluster.nodes[0]
    for epoch, (node, slots) in enumerate(zip(primaries, _slot_ranges(shards), strict=True), start=1):
        with _admin(node) as conn:
            conn.execute_command("CLUSTER", "ADDSLOTS", *slots)
            conn.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    for node in cluster.nodes[1:]:
        with _admin(node) as conn:
            conn.execute_command("CLUSTER", "MEET", first.host, first.port)
    # A node accepts REPLICATE only once it knows the primary.
    deadline = time.monotonic() + timeout
    for index, node in enumerate(rest):
        primary_id = ids[index % shards]
        while True:
            cluster.check_alive()
            with _admin(node) as conn:
                try:
                    conn.execute_command("CLUSTER", "REPLICATE", primary_id)
                    break
                except redis.ResponseError:
                    if time.monotonic() > deadline:
                        raise
            time.sleep(0.05)


def start_cluster(
    port: int | None, exe: str, args: Sequence[str], shards: int, replicas: int, timeout: float, create_with: str
) -> LocalRedisCluster:
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ArgumentError(f"shards must be a positive int, got {shards!r}", shards)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ArgumentError(f"replicas must be an int >= 0, got {replicas!r}", replicas)
    if shards < 3 and create_with != "commands":
        # redis-cli refuses fewer than 3 primaries; CLUSTER ADDSLOTS does not.
        create_with = "commands"
    cli = _cli_next_to(exe) if create_with in ("auto", "redis-cli") else None
    if create_with == "redis-cli" and cli is None:
        raise RedisBinaryNotFound(f"no redis-cli next to {exe}; use create_with='commands'")
    taken: set[int] = set()
    cluster = LocalRedisCluster([], shards=shards, replicas=replicas)
    try:
        for index in range(shards * (1 + replicas)):
            cluster.nodes.append(_start_cluster_node(exe, args, taken, timeout, port if index == 0 else None))
        if cli is not None:
            _create_with_cli(cli, cluster, replicas, timeout)
        else:
            _create_with_commands(cluster, shards, replicas, timeout)
        cluster.wait_ready(timeout)
    except BaseException:
        cluster.stop()
        raise
    log.info("started a local cluster of %d nodes from %s (%s)", len(cluster.nodes), cluster.url, exe)
    return cluster
