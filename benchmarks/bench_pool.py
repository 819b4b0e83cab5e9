"""What waiting for a free connection costs: connect()'s pools beside redis-py's own, with and without contention.

Run:  python benchmarks/bench_pool.py [--runs 7] [--calls 20000] [--tasks 200]

Starts one redis-server (valkey-server) on a free loopback port and prints two tables of medians:

1. Without contention (one caller): microseconds to take a connection and give it back (the pool's
   own cost, no I/O), per PING and per ``add_message``, through redis-py's ``ConnectionPool`` (the
   floor), redis-py's ``BlockingConnectionPool``, and the ``WaitingConnectionPool`` that
   ``connect()`` gives its clients; sync and asyncio (PING).
2. With contention: ``--tasks`` asyncio sessions writing 20 messages each on one client whose pool
   holds 100 connections (redis-py 8's default): wall time, writes that failed, messages stored.
   ``aconnect()``'s client and a plain ``redis.asyncio.Redis`` (whose writes wait in the write path).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio
from langchain_core.messages import HumanMessage

from memstore_nb import MemorystoreChatMessageHistory, aconnect
from memstore_nb.connection.pool import waiting_pool
from memstore_nb.local import start_local_redis


def _per_call_us(calls: int, once: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        once()
    return (time.perf_counter() - started) / calls * 1e6


async def _aper_call_us(calls: int, once: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await once()
    return (time.perf_counter() - started) / calls * 1e6


def _take_and_give_back(pool: Any) -> None:
    """The pool's own cost, no I/O: what a command pays for its connection besides the round trip."""
    pool.release(pool.get_connection())


FLOOR = "redis-py ConnectionPool (floor)"
BLOCKING = "redis-py BlockingConnectionPool"
OURS = "connect()'s WaitingConnectionPool"


def uncontended(url: str, runs: int, calls: int) -> dict[tuple[str, str], float]:
    """Median microseconds per call for each (case, pool); the pools take turns in every run, so a
    noisy moment of a shared machine falls on all of them alike."""
    samples: dict[tuple[str, str], list[float]] = {}
    sync = {
        FLOOR: redis.Redis.from_url(url, protocol=2),
        BLOCKING: redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url, protocol=2)),
        OURS: waiting_pool(redis.Redis.from_url(url, protocol=2), 100, 10.0),
    }
    key = f"bench-pool:{uuid.uuid4().hex}"
    appends = {
        name: functools.partial(MemorystoreChatMessageHistory(c, key).add_message, HumanMessage("hi"))
        for name, c in sync.items()
    }
    takes = {name: functools.partial(_take_and_give_back, c.connection_pool) for name, c in sync.items()}
    for _ in range(runs):
        for name, client in sync.items():
            samples.setdefault(("sync take+give back", name), []).append(_per_call_us(calls * 5, takes[name]))
            samples.setdefault(("sync PING", name), []).append(_per_call_us(calls, client.ping))
            samples.setdefault(("sync add_message", name), []).append(_per_call_us(calls // 4, appends[name]))
    sync[FLOOR].delete(key)
    for client in sync.values():
        client.close()

    async def scenario() -> None:
        clients = {
            FLOOR: redis.asyncio.Redis.from_url(url, protocol=2),
            BLOCKING: redis.asyncio.Redis(
                connection_pool=redis.asyncio.BlockingConnectionPool.from_url(url, protocol=2)
            ),
            OURS: waiting_pool(redis.asyncio.Redis.from_url(url, protocol=2), 100, 10.0),
        }
        for _ in range(runs):
            for name, client in clients.items():
                samples.setdefault(("async PING", name), []).append(await _aper_call_us(calls // 2, client.ping))
        for client in clients.values():
            await client.aclose()

    asyncio.run(scenario())
    return {which: statistics.median(values) for which, values in samples.items()}


def contended(url: str, tasks: int) -> list[tuple[str, float, int, int]]:
    rows = []

    async def run(name: str, make: Callable[[], Any]) -> None:
        client = await make()
        prefix = f"bench-pool:{uuid.uuid4().hex}:"
        failed = 0

        async def session(i: int) -> None:
            nonlocal failed
            history = MemorystoreChatMessageHistory(client, f"{prefix}{i}")
            for j in range(20):
                try:
                    await history.aadd_messages([HumanMessage(f"m{j}")])
                except redis.exceptions.ConnectionError:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(session(i) for i in range(tasks)))
        elapsed = time.perf_counter() - started
        pipe = client.pipeline(transaction=False)
        for i in range(tasks):
            pipe.llen(f"{prefix}{i}")
        stored = sum(await pipe.execute())
        keys = [f"{prefix}{i}" for i in range(tasks)]
        for low in range(0, len(keys), 100):
            await client.delete(*keys[low : low + 100])
        await client.aclose()
        rows.append((name, elapsed, failed, stored))

    async def plain() -> Any:
        return redis.asyncio.Redis.from_url(url, protocol=2, max_connections=100)

    async def ours() -> Any:
        return await aconnect(url, max_connections=100)

    asyncio.run(run("aconnect() client, max_connections=100", ours))
    asyncio.run(run("plain redis.asyncio.Redis, max_connections=100", plain))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="repetitions per measurement (median is reported)")
    parser.add_argument("--calls", type=int, default=20_000, help="commands per repetition")
    parser.add_argument("--tasks", type=int, default=200, help="asyncio sessions at once in the contended case")
    args = parser.parse_args(argv)
    with start_local_redis() as server:
        medians = uncontended(server.url, args.runs, args.calls)
        print(f"\nwithout contention: one caller, medians of {args.runs} runs, pools in turn (microseconds per call)\n")
        print(f"| {'case':<20} | {'pool':<34} | {'µs/call':>8} | {'vs floor':>8} |")
        print(f"|{'-' * 22}|{'-' * 36}|{'-' * 10}|{'-' * 10}|")
        for (case, name), us in medians.items():
            print(f"| {case:<20} | {name:<34} | {us:>8.2f} | {us / medians[(case, FLOOR)]:>7.2f}x |")
        print(f"\nwith contention: {args.tasks} asyncio sessions x 20 writes on one client\n")
        print(f"| {'client':<47} | {'seconds':>7} | {'failed':>6} | {'stored':>6} |")
        print(f"|{'-' * 49}|{'-' * 9}|{'-' * 8}|{'-' * 8}|")
        for name, elapsed, failed, stored in contended(server.url, args.tasks):
            print(f"| {name:<47} | {elapsed:>7.2f} | {failed:>6} | {stored:>6} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
