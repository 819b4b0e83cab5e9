"""Measure what chat sessions cost in Redis memory, and what listing them over SCAN costs.

Run:  python benchmarks/bench_memory.py [--binary /usr/bin/redis-server] [--keys 10000,100000]

Starts its own redis-server (and a 3-shard local cluster for the SCAN part) with
memstore_nb.start_local_redis, writes real sessions with MemorystoreChatMessageHistory,
and prints markdown tables. The numbers in docs/scaling.md come from this script.

1. Bytes per message: MEMORY USAGE key SAMPLES 0 (exact) for sessions of 1..10,000
   messages of three sizes, with the list's encoding and quicklist node count.
2. Bytes per session: INFO used_memory before and after 10,000 one-message sessions,
   with and without a TTL (MEMORY USAGE does not count the expires table).
3. Listing: SCAN over N keys, standalone and on a 3-shard cluster: the whole keyspace,
   a rare prefix (1% of keys), and the first page of 50.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.cluster
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory, start_local_redis
from memstore_nb.codec import encode_message
from memstore_nb.local import find_redis_binary
from memstore_nb.sources import list_sessions

LOREM = (
    "Redis keeps every chat session as one list; each element is the JSON that LangChain's "
    "message_to_dict produces, so the size of a message is mostly the size of its text. "
)


def small() -> BaseMessage:
    return HumanMessage("What is the capital of France?")


def medium() -> BaseMessage:
    return AIMessage(
        (LOREM * 3)[:400],
        response_metadata={"model_name": "gemini-1.5-flash", "finish_reason": "STOP"},
        usage_metadata={"input_tokens": 120, "output_tokens": 95, "total_tokens": 215},
        id="run-5b1c0a6e-3f0e-4c1e-9d43-0d2b2b5b7e51",
    )


def large() -> BaseMessage:
    return AIMessage((LOREM * 25)[:4000], response_metadata={"model_name": "gemini-1.5-pro"}, id="run-large")


KINDS: dict[str, Callable[[], BaseMessage]] = {"small": small, "medium": medium, "large": large}


def debug_object(conn: redis.Redis, key: str) -> dict[str, str]:
    try:
        text = conn.execute_command("DEBUG", "OBJECT", key)
    except redis.ResponseError:
        return {}
    return dict(re.findall(r"(\w+):(\S+)", str(text)))


def bytes_per_message(conn: redis.Redis, counts: list[int]) -> None:
    print("## 1. Bytes per message (MEMORY USAGE key SAMPLES 0)\n")
    print("| message | JSON bytes | messages | MEMORY USAGE | bytes/message | overhead/message | encoding | nodes |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for kind, make in KINDS.items():
        message = make()
        json_bytes = len(encode_message(message).encode())
        usage: dict[int, int] = {}
        for n in counts:
            key = f"bench:mem:{kind}:{n}"
            conn.delete(key)
            history = MemorystoreChatMessageHistory(conn, key)
            for start in range(0, n, 1000):
                history.add_messages([message] * min(1000, n - start))
            usage[n] = int(conn.memory_usage(key, samples=0) or 0)
            encoding = conn.object("encoding", key).decode()
            nodes = debug_object(conn, key).get("ql_nodes", "?")
            print(
                f"| {kind} | {json_bytes} | {n:,} | {usage[n]:,} | {usage[n] / n:,.1f} | "
                f"{usage[n] / n - json_bytes:,.1f} | {encoding} | {nodes} |"
            )
            conn.delete(key)
        lo, hi = counts[-2], counts[-1]
        slope = (usage[hi] - usage[lo]) / (hi - lo)
        print(
            f"| **{kind}: marginal** | {json_bytes} | {lo:,}→{hi:,} | | **{slope:,.1f}** | "
            f"**{slope - json_bytes:,.1f}** | | |"
        )
    print()


def used_memory(conn: redis.Redis) -> int:
    return int(conn.info("memory")["used_memory"])


def bytes_per_session(conn: redis.Redis, sessions: int) -> None:
    print(f"## 2. Bytes per session ({sessions:,} sessions of one small message, INFO used_memory)\n")
    print("| TTL | used_memory growth | bytes/session | of which the message (JSON) |")
    print("|---|---:|---:|---:|")
    stored = encode_message(small())
    for ttl in (None, 3600):
        conn.flushall()
        before = used_memory(conn)
        pipe = conn.pipeline(transaction=False)
        for i in range(sessions):
            key = f"session:{i:08d}"
            pipe.rpush(key, stored)
            if ttl:
                pipe.expire(key, ttl)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        grown = used_memory(conn) - before
        print(f"| {ttl or 'none'} | {grown:,} | {grown / sessions:,.1f} | {len(stored)} |")
        conn.flushall()
    print()


def seed_keys(client: Any, total: int, rare_every: int = 100) -> None:
    stored = encode_message(small())
    pipe = client.pipeline(transaction=False)
    for i in range(total):
        # Key names like a real app's: a uuid-ish session id under a common prefix.
        prefix = "rare" if i % rare_every == 0 else "chat"
        pipe.rpush(f"{prefix}:{i:08x}-{(i * 2654435761) % 2**32:08x}", stored)
        if i % 2000 == 1999:
            pipe.execute()
    pipe.execute()


def scan_calls(client: Any) -> int:
    nodes = [client.get_redis_connection(n) for n in client.get_primaries()] if _is_cluster(client) else [client]
    return sum(int(c.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)) for c in nodes)


def _is_cluster(client: Any) -> bool:
    return isinstance(client, redis.cluster.RedisCluster)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def listing(client: Any, label: str, total: int) -> None:
    rows = [
        ("list_sessions, all", lambda: sum(1 for _ in list_sessions(client, "*"))),
        ("list_sessions, `rare:*` (1%)", lambda: sum(1 for _ in list_sessions(client, "rare:*"))),
        ("list_sessions, first 50", lambda: sum(1 for _ in itertools.islice(list_sessions(client, "*"), 50))),
        ("raw SCAN COUNT 1000, all", lambda: sum(1 for _ in client.scan_iter(count=1000))),
    ]
    for name, fn in rows:
        before = scan_calls(client)
        found, ms = timed(fn)
        print(f"| {label} | {total:,} | {name} | {found:,} | {scan_calls(client) - before} | {ms:,.0f} |")


def scan_cost(binary: str, key_counts: list[int]) -> None:
    print("## 3. Listing sessions over SCAN\n")
    print("| deployment | keys | what | sessions found | SCAN calls | ms |")
    print("|---|---:|---|---:|---:|---:|")
    for total in key_counts:
        with start_local_redis(binary=binary) as server:
            conn = redis.Redis.from_url(server.url, protocol=2)
            seed_keys(conn, total)
            listing(conn, "standalone", total)
            conn.close()
        with start_local_redis(cluster=True, shards=3, binary=binary) as cluster:
            client = redis.cluster.RedisCluster.from_url(cluster.url, protocol=2)
            seed_keys(client, total)
            listing(client, "cluster, 3 shards", total)
            client.close()
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=None, help="redis-server to measure (default: the one memstore-nb finds)")
    parser.add_argument("--keys", default="10000,100000", help="key counts for the SCAN part, comma-separated")
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions for the per-session part")
    parser.add_argument("--skip-scan", action="store_true", help="only measure memory")
    args = parser.parse_args(argv)
    binary = args.binary or find_redis_binary()
    version = redis_version(binary)
    extra = ["--enable-debug-command", "yes"] if version >= (7,) else []
    print(f"# memstore-nb memory and listing benchmark\n\nredis-server: `{binary}` {'.'.join(map(str, version))}")
    with start_local_redis(binary=binary, args=extra) as server:
        conn = redis.Redis.from_url(server.url, protocol=2)
        info = conn.info("server")
        print(f"(allocator: {conn.info('memory').get('mem_allocator')}, redis_version {info['redis_version']})\n")
        bytes_per_message(conn, [1, 10, 100, 1000, 10_000])
        bytes_per_session(conn, args.sessions)
        conn.close()
    if not args.skip_scan:
        scan_cost(binary, [int(k) for k in args.keys.split(",") if k])
    return 0


def redis_version(binary: str) -> tuple[int, ...]:
    import subprocess

    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in found.groups()) if found else (0,)


if __name__ == "__main__":
    sys.exit(main())
