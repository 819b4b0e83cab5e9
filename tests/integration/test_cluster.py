"""Redis Cluster: the local launcher, sessions spread over shards, failover and resharding, on real nodes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.cluster
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.connection import connect
from memstore_nb.errors import ArgumentError, RedisStartError
from memstore_nb.local import LocalRedis, LocalRedisCluster, shared_local_redis, start_local_redis
from memstore_nb.sources import list_sessions, session_info


def admin(node: LocalRedis) -> redis.Redis:
    return redis.Redis(host=node.host, port=node.port, protocol=2, decode_responses=True)


def gone(pid: int | None) -> bool:
    try:
        os.kill(pid or 0, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture()
def prefix(cluster_client: redis.cluster.RedisCluster) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards, on every shard."""
    value = f"test-{uuid.uuid4().hex[:10]}:"
    yield value
    pipe = cluster_client.pipeline()
    for key in cluster_client.scan_iter(match=f"{value}*", count=1000):
        pipe.delete(key)
    pipe.execute()


# -- the launcher ---------------------------------------------------------------


def test_suite_cluster_has_three_primaries_serving_every_slot(
    redis_cluster: LocalRedisCluster | None, cluster_client: redis.cluster.RedisCluster
) -> None:
    if redis_cluster is None:
        pytest.skip("--redis-cluster-url given: the suite did not start this cluster")
    assert len(redis_cluster.nodes) == 3 and redis_cluster.running
    assert sorted(n.port for n in redis_cluster.primaries()) == sorted(n.port for n in redis_cluster.nodes)
    assert redis_cluster.replicas() == []
    covered = sum(hi - lo + 1 for lo, hi, *_ in admin(redis_cluster.nodes[1]).execute_command("CLUSTER", "SLOTS"))
    assert covered == 16384
    for node in redis_cluster.nodes:
        with admin(node) as conn:
            assert "cluster_state:ok" in conn.execute_command("CLUSTER", "INFO")
    assert redis_cluster.url.startswith("redis://127.0.0.1:")
    assert {node.port for node in cluster_client.get_primaries()} == {node.port for node in redis_cluster.nodes}
    assert "3 shards" in repr(redis_cluster)


def test_cluster_made_with_commands_has_replicas_and_stops_cleanly() -> None:
    # Two shards: too few for `redis-cli --cluster create`, so CLUSTER ADDSLOTS/MEET/REPLICATE form it.
    started = time.monotonic()
    cluster = start_local_redis(cluster=True, shards=2, replicas=1, create_with="commands")
    elapsed = time.monotonic() - started
    try:
        assert elapsed < 10, f"a 4-node cluster took {elapsed:.1f}s to start"
        assert len(cluster.nodes) == 4
        primaries, replicas = cluster.primaries(), cluster.replicas()
        assert len(primaries) == 2 and len(replicas) == 2
        ids = {cluster.node_id(p) for p in primaries}
        assert {n.primary_id for n in cluster.topology() if n.role == "replica"} == ids
        assert sorted(r.port for p in primaries for r in cluster.replicas_of(p)) == sorted(r.port for r in replicas)
        with admin(replicas[0]) as conn:
            assert conn.info("replication")["master_link_status"] == "up"
            for entry in conn.execute_command("CLUSTER", "SLOTS"):
                assert len(entry) == 4  # start, end, primary, one replica
        client = redis.cluster.RedisCluster.from_url(cluster.url, protocol=2)
        history = MemorystoreChatMessageHistory(client, "two-shards", ttl=60)
        history.add_messages([HumanMessage("a"), AIMessage("b")])
        assert [m.content for m in history.messages] == ["a", "b"]
        client.close()
    finally:
        cluster.stop()
    assert not cluster.running
    assert all(gone(node.pid) or node.pid is None for node in cluster.nodes)
    assert all(not node.directory.exists() for node in cluster.nodes)
    cluster.stop()  # twice is fine


@pytest.mark.parametrize(
    "kwargs",
    [{"shards": 0}, {"shards": True}, {"replicas": -1}, {"replicas": 1.5}, {"tls": True}],
)
def test_bad_cluster_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ArgumentError):
        start_local_redis(cluster=True, **kwargs)  # type: ignore[call-overload]


def test_node_that_cannot_start_reports_its_log() -> None:
    with pytest.raises(RedisStartError) as info:
        start_local_redis(cluster=True, args=["--no-such-directive", "1"], timeout=5)
    assert "no-such-directive" in str(info.value)
    assert "Bad directive" in info.value.log_tail


def test_shared_cluster_is_started_once_and_backs_local_cluster_endpoint() -> None:
    # Left running for other tests of this process; the atexit hook stops it.
    first = shared_local_redis(cluster=True)
    assert isinstance(first, LocalRedisCluster) and first.running
    assert shared_local_redis(cluster=True) is first
    assert shared_local_redis() is not first  # the standalone one is another server
    client = connect("local-cluster")
    assert isinstance(client, redis.cluster.RedisCluster)
    assert {n.port for n in client.get_primaries()} == {n.port for n in first.nodes}
    history = MemorystoreChatMessageHistory(client, f"shared-{uuid.uuid4().hex[:8]}")
    history.add_message(HumanMessage("hello"))
    assert len(history) == 1
    history.clear()
    client.close()


OWNER_THAT_DIES = """
import os, signal
from memstore_nb.local import start_local_redis
server = start_local_redis()
cluster = start_local_redis(cluster=True)
print(*[server.pid, *[node.pid for node in cluster.nodes]], flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no atexit, as when a kernel is killed
"""


def running_pid(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_servers_die_with_a_killed_owner() -> None:
    done = subprocess.run([sys.executable, "-c", OWNER_THAT_DIES], capture_output=True, text=True, timeout=60)
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 4, done.stderr[-2000:]
    deadline = time.monotonic() + 10
    while any(running_pid(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [p for p in pids if running_pid(p)]
    for pid in survivors:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors


# -- sessions over every shard ------------------------------------------------------


def test_sessions_on_every_shard_are_listed_once(cluster_client: redis.cluster.RedisCluster, prefix: str) -> None:
    ids = [f"{prefix}{i}" for i in range(60)]
    for sid in ids:
        MemorystoreChatMessageHistory(cluster_client, sid).add_message(HumanMessage(sid))
    cluster_client.rpush(f"{prefix}not-a-session", "plain text")  # a list, but not of messages
    cluster_client.set(f"{prefix}a-string", "x")
    holders = {cluster_client.get_node_from_key(sid).name for sid in ids}
    assert len(holders) == 3, "the ids should land on all three primaries"
    listed = list(list_sessions(cluster_client, f"{prefix}*", count=7))
    assert sorted(listed) == sorted(ids)
    assert len(listed) == len(set(listed))


def scan_calls(client: redis.cluster.RedisCluster) -> int:
    total = 0
    for node in client.get_primaries():
        stats = client.get_redis_connection(node).info("commandstats")
        total += int(stats.get("cmdstat_scan", {}).get("calls", 0))
    return total


@pytest.mark.slow
def test_ten_thousand_sessions_are_listed_lazily(cluster_client: redis.cluster.RedisCluster, prefix: str) -> None:
    total, count = 10_000, 500
    stored = encode_message(HumanMessage("hi"))
    pipe = cluster_client.pipeline()
    for i in range(total):
        pipe.rpush(f"{prefix}{i}", stored)
    pipe.execute()

    before = scan_calls(cluster_client)
    sessions = list_sessions(cluster_client, f"{prefix}*", count=count)
    first = next(sessions)
    # One SCAN per primary has run so far: the rest of the keys have not been asked for.
    assert scan_calls(cluster_client) - before <= 3
    rest = list(sessions)
    scans = scan_calls(cluster_client) - before
    listed = [first, *rest]
    assert len(listed) == total
    assert set(listed) == {f"{prefix}{i}" for i in range(total)}
    assert scans >= total // count // 2, f"only {scans} SCAN calls for {total} keys: not incremental"


def test_session_info_on_cluster_keys(cluster_client: redis.cluster.RedisCluster, prefix: str) -> None:
    ids = [f"{prefix}{i}" for i in range(12)]
    for n, sid in enumerate(ids, start=1):
        history = MemorystoreChatMessageHistory(cluster_client, sid, ttl=300)
        history.add_messages([HumanMessage(f"question {sid}"), *[AIMessage(f"answer {k}") for k in range(n)]])
    assert len({cluster_client.get_node_from_key(sid).name for sid in ids}) == 3
    for n, sid in enumerate(ids, start=1):
        info = session_info(cluster_client, sid)
        assert info.length == n + 1
        assert info.ttl is not None and 290 <= info.ttl <= 300
        assert info.memory is not None and info.memory > 0
        assert info.first_role == "human" and sid in info.first_preview
        assert info.last_role == "ai" and info.last_preview == f"answer {n - 1}"


# -- faults -------------------------------------------------------------------------


class Writer(threading.Thread):
    """Appends numbered messages until stopped; ``acked`` holds those whose call returned.

    A call that raised is retried with the same number after a short pause, as an app would.
    """

    def __init__(self, histories: list[MemorystoreChatMessageHistory]) -> None:
        super().__init__(daemon=True)
        self.histories = histories
        self.acked: list[str] = []
        self.errors: list[BaseException] = []
        self.go = threading.Event()
        self.go.set()
        self.idle = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        for i in itertools.count():
            if not self.go.is_set():
                self.idle.set()
                self.go.wait()
                self.idle.clear()
            if self.done.is_set():
                return
            while True:
                try:
                    self.histories[i % len(self.histories)].add_message(HumanMessage(str(i)))
                    break
                except redis.RedisError as exc:
                    self.errors.append(exc)
                    if len(self.errors) > 200:
                        return
                    time.sleep(0.05)
            self.acked.append(str(i))

    def wait_for(self, n: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n:
            assert time.monotonic() < deadline, f"writer stuck at {len(self.acked)} (errors: {self.errors[-3:]})"
            assert self.is_alive(), f"writer gave up: {self.errors[-3:]}"
            time.sleep(0.01)

    def finish(self) -> None:
        self.done.set()
        self.go.set()
        self.join(10)


def stored(client: redis.cluster.RedisCluster, key: str) -> list[str]:
    return [str(m.content) for m in MemorystoreChatMessageHistory(client, key).messages]


@pytest.mark.slow
@pytest.mark.parametrize("promotion", ["takeover", "automatic"])
def test_failover_loses_no_acknowledged_message(promotion: str) -> None:
    # "takeover": CLUSTER FAILOVER TAKEOVER on the replica right after the crash; "automatic": the
    # replica promotes itself once the node timeout (2 s) has passed, as on Memorystore. In that
    # window every call for the shard fails; the writer retries, as an app (or connect()) would.
    with start_local_redis(cluster=True, shards=3, replicas=1) as cluster:
        assert len(cluster.primaries()) == 3 and len(cluster.replicas()) == 3
        # connect() gives the client its retry policy; the slot map is refreshed on the first refusal.
        client = connect(cluster.url, cluster=True)
        assert isinstance(client, redis.cluster.RedisCluster)
        key = f"failover-{uuid.uuid4().hex[:8]}"
        writer = Writer(
            [MemorystoreChatMessageHistory(client, key, ttl=600), MemorystoreChatMessageHistory(client, key)]
        )
        writer.start()
        writer.wait_for(300)

        primary = cluster.node_for_key(key)
        (replica,) = cluster.replicas_of(primary)
        # Replication is asynchronous in Redis (and Memorystore): a write acknowledged a moment
        # before a crash may not have reached the replica. Make the acknowledged ones replicated
        # first, as WAIT would, then crash the primary while the writer keeps going.
        writer.go.clear()
        assert writer.idle.wait(5)
        with admin(primary) as conn:
            written = int(conn.info("replication")["master_repl_offset"])
        with admin(replica) as conn:
            deadline = time.monotonic() + 5
            while int(conn.info("replication")["slave_repl_offset"]) < written:
                assert time.monotonic() < deadline, "the replica did not catch up"
                time.sleep(0.01)
        before_crash = len(writer.acked)

        primary.kill()
        writer.go.set()
        time.sleep(0.3)  # the writer hits the dead primary now
        with pytest.raises(RedisStartError, match=f"port {primary.port} exited") as info:
            cluster.wait_ready(timeout=1)
        assert info.value.log_tail  # the dead node's log comes with the error
        if promotion == "takeover":
            with admin(replica) as conn:
                assert conn.execute_command("CLUSTER", "FAILOVER", "TAKEOVER") == "OK"

        writer.wait_for(before_crash + 300)
        writer.finish()
        assert not writer.is_alive()
        assert cluster.node_for_key(key).port == replica.port
        assert client.get_node_from_key(key).port == replica.port  # the client follows the new primary
        assert stored(client, key) == writer.acked  # nothing acknowledged lost, nothing doubled, same order
        assert client.ttl(key) > 500
        client.close()


@pytest.mark.slow
def test_resharding_a_session_slot_loses_no_write() -> None:
    with start_local_redis(cluster=True, shards=3) as cluster:
        client = connect(cluster.url, cluster=True)
        assert isinstance(client, redis.cluster.RedisCluster)
        key = f"reshard-{uuid.uuid4().hex[:8]}"
        # Both write paths: EVAL (with a TTL) and a plain RPUSH, on the same key.
        writer = Writer(
            [MemorystoreChatMessageHistory(client, key, ttl=600), MemorystoreChatMessageHistory(client, key)]
        )
        writer.start()
        writer.wait_for(100)

        slot = client.keyslot(key)
        source = cluster.node_for_slot(slot)
        target = next(node for node in cluster.primaries() if node is not source)
        source_id, target_id = cluster.node_id(source), cluster.node_id(target)
        with admin(source) as src, admin(target) as dst:
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
            phase = len(writer.acked)
            writer.wait_for(phase + 50)  # the source still serves the key while it has it
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
                src.execute_command("MIGRATE", target.host, target.port, "", 0, 5000, "KEYS", *keys)
            phase = len(writer.acked)
            writer.wait_for(phase + 50)  # now the source answers ASK, the target serves after ASKING
            asking = int(dst.info("commandstats").get("cmdstat_asking", {}).get("calls", 0))
            assert asking > 0, "no write went through an ASK redirect"
            for node in [target, source, *[n for n in cluster.primaries() if n not in (source, target)]]:
                with admin(node) as conn:
                    conn.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
            phase = len(writer.acked)
            writer.wait_for(phase + 50)  # the source answers MOVED; the client patches its slot map
        writer.finish()
        assert not writer.errors, writer.errors[:3]
        assert client.get_node_from_key(key).port == target.port
        assert cluster.node_for_slot(slot).port == target.port
        assert stored(client, key) == writer.acked
        client.close()


def test_messages_written_on_cluster_read_back_on_every_node_view(
    cluster_client: redis.cluster.RedisCluster, prefix: str
) -> None:
    # The key lives on exactly one primary: that node has it, the others answer MOVED.
    key = f"{prefix}owner"
    sent: list[BaseMessage] = [HumanMessage("x"), AIMessage("y")]
    MemorystoreChatMessageHistory(cluster_client, key).add_messages(sent)
    owner = cluster_client.get_node_from_key(key)
    for node in cluster_client.get_primaries():
        conn = redis.Redis(host=node.host, port=node.port, protocol=2)
        try:
            if node.name == owner.name:
                assert conn.llen(key) == 2
            else:
                with pytest.raises(redis.exceptions.MovedError, match=owner.name):
                    conn.llen(key)
        finally:
            conn.close()
