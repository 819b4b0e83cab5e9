"""How much of MemorystoreSaver's async cost is redis.asyncio's own per-command cost.

Run:  python benchmarks/bench_async_floor.py [--calls N] [--repeats R]

Starts a throw-away redis-server on loopback and measures, per call (median over repeats of the
mean of N calls, microseconds): a bare EVALSHA of a one-line script with the sync client and with
the redis.asyncio client (also one without redis-py 8's default 5 s socket timeout); then
MemorystoreSaver's get_tuple and put + put_writes, sync and async (the same checkpoint each time),
and InMemorySaver's for the floor. The difference between the bare async and sync EVALSHA is what
redis.asyncio adds to every round trip; a checkpoint turn makes about 6 of them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver

from memstore_nb import start_local_redis
from memstore_nb.checkpoint.saver import MemorystoreSaver

SCRIPT = "return 1"


def per_call_us(fn: Callable[[], Any], calls: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(runs)


async def aper_call_us(fn: Callable[[], Awaitable[Any]], calls: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            await fn()
        runs.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(runs)


def saver_ops(saver: Any, thread: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = {"messages": ["x" * 200]}
    ckpt["channel_versions"] = {"messages": "00000001.000000"}
    stored = saver.put(config, ckpt, {"source": "loop", "step": 1}, {"messages": "00000001.000000"})

    def get() -> Any:
        return saver.get_tuple(config)

    def put() -> Any:
        saver.put(config, ckpt, {"source": "loop", "step": 1}, {})
        saver.put_writes(stored, [("messages", "y")], "task-1")

    return get, put


def asaver_ops(saver: Any, thread: str) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]:
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    ckpt = empty_checkpoint()
    ckpt["channel_values"] = {"messages": ["x" * 200]}
    ckpt["channel_versions"] = {"messages": "00000001.000000"}
    stored = {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": ckpt["id"]}}

    async def get() -> Any:
        return await saver.aget_tuple(config)

    async def put() -> Any:
        await saver.aput(config, ckpt, {"source": "loop", "step": 1}, {"messages": "00000001.000000"})
        await saver.aput_writes(stored, [("messages", "y")], "task-1")

    return get, put


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()
    n, r = opts.calls, opts.repeats
    rows: dict[str, list[float]] = {}
    with start_local_redis() as server:
        sync_client = redis.Redis.from_url(server.url, protocol=2)
        sha = sync_client.script_load(SCRIPT)
        rows["bare EVALSHA"] = [per_call_us(lambda: sync_client.evalsha(sha, 1, "k", "a"), n, r)]
        rows["bare EVALSHA, socket_timeout=None"] = [rows["bare EVALSHA"][0]]
        get, put = saver_ops(MemorystoreSaver(sync_client, key_prefix="floor:"), "s")
        rows["MemorystoreSaver get_tuple"] = [per_call_us(get, n, r)]
        rows["MemorystoreSaver put + put_writes"] = [per_call_us(put, n // 2, r)]
        mget, mput = saver_ops(InMemorySaver(), "m")
        rows["InMemorySaver get_tuple"] = [per_call_us(mget, n, r)]
        rows["InMemorySaver put + put_writes"] = [per_call_us(mput, n // 2, r)]

        async def async_side() -> None:
            client = redis.asyncio.Redis.from_url(server.url, protocol=2)
            try:
                rows["bare EVALSHA"].append(await aper_call_us(lambda: client.evalsha(sha, 1, "k", "a"), n, r))
                # redis-py 8 defaults socket_timeout to 5 s: on Python < 3.12 every async send is then a Task.
                untimed = redis.asyncio.Redis.from_url(server.url, protocol=2, socket_timeout=None)
                try:
                    rows["bare EVALSHA, socket_timeout=None"].append(
                        await aper_call_us(lambda: untimed.evalsha(sha, 1, "k", "a"), n, r)
                    )
                finally:
                    await untimed.aclose()
                aget, aput = asaver_ops(MemorystoreSaver(client, key_prefix="floor:"), "a")
                await aput()
                rows["MemorystoreSaver get_tuple"].append(await aper_call_us(aget, n, r))
                rows["MemorystoreSaver put + put_writes"].append(await aper_call_us(aput, n // 2, r))
                memory = InMemorySaver()
                memory.put(
                    {"configurable": {"thread_id": "a", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {}
                )  # so aget_tuple finds one
                mget2, mput2 = asaver_ops(memory, "a")
                await mput2()
                rows["InMemorySaver get_tuple"].append(await aper_call_us(mget2, n, r))
                rows["InMemorySaver put + put_writes"].append(await aper_call_us(mput2, n // 2, r))
            finally:
                await client.aclose()

        asyncio.run(async_side())
        sync_client.flushall()
        sync_client.close()
    print(f"per call, microseconds (median of {r} repeats of {n} calls; put rows: {n // 2} pairs)")
    print(f"{'call':36}  {'sync':>8}  {'async':>8}  {'async - sync':>12}  {'async/sync':>10}")
    for name, (s, a) in rows.items():
        print(f"{name:36}  {s:8.1f}  {a:8.1f}  {a - s:12.1f}  {a / s:9.2f}x")


if __name__ == "__main__":
    main()
