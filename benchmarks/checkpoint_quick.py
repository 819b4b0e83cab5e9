"""Quick numbers for MemorystoreSaver on a local server: memory per checkpoint, round trips and ms per turn.

A 50-turn conversation through a real StateGraph (``add_messages``, ~200-character replies),
sync and async, beside InMemorySaver. (The full comparison with other savers is
``benchmarks/bench_checkpoint.py``.) Run: ``python benchmarks/checkpoint_quick.py [--turns 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.connection
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.local import start_local_redis

PAD = "x" * 190


def graph(saver: Any) -> Any:
    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"reply {len(state['messages'])} {PAD}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=saver)


class Trips:
    """Counts commands sent by clients of this process (a round trip each; no pipelines are used)."""

    count = 0

    @classmethod
    def install(cls) -> None:
        sync_send = redis.connection.AbstractConnection.send_command
        async_send = redis.asyncio.connection.AbstractConnection.send_command

        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            cls.count += 1
            return sync_send(self, *args, **kwargs)

        async def acounted(self: Any, *args: Any, **kwargs: Any) -> Any:
            cls.count += 1
            return await async_send(self, *args, **kwargs)

        redis.connection.AbstractConnection.send_command = counted  # type: ignore[method-assign]
        redis.asyncio.connection.AbstractConnection.send_command = acounted  # type: ignore[method-assign]


def memory(admin: redis.Redis, prefix: str) -> tuple[int, int, int]:
    data = markers = count = 0
    for key in admin.scan_iter(match=f"{prefix}*", count=1000):
        size = int(admin.memory_usage(key, samples=0) or 0)
        data += size
        if key.startswith(f"{prefix}lgraph:") and key.endswith(":i"):  # a thread's index (layout 2)
            count += int(admin.zcard(key))
    for key in admin.scan_iter(match="*:memstore-nb:wid:*", count=1000):
        markers += int(admin.memory_usage(key, samples=0) or 0)
    return data, markers, count


def run_sync(g: Any, turns: int, thread: str) -> list[float]:
    times = []
    for i in range(turns):
        start = time.perf_counter()
        g.invoke({"messages": [HumanMessage(f"question {i} {PAD}")]}, {"configurable": {"thread_id": thread}})
        times.append((time.perf_counter() - start) * 1000)
    return times


async def run_async(g: Any, turns: int, thread: str) -> list[float]:
    times = []
    for i in range(turns):
        start = time.perf_counter()
        await g.ainvoke({"messages": [HumanMessage(f"question {i} {PAD}")]}, {"configurable": {"thread_id": thread}})
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, ours and InMemorySaver interleaved")
    options = parser.parse_args()
    turns = options.turns
    ours_ms: dict[str, list[float]] = {"sync": [], "async": []}
    ref_ms: dict[str, list[float]] = {"sync": [], "async": []}
    facts: dict[str, tuple[float, int, int, int]] = {}
    Trips.install()
    with start_local_redis() as server:
        admin = redis.Redis.from_url(server.url, protocol=2, decode_responses=True)
        for round_no in range(options.rounds):
            for mode in ("sync", "async") if round_no % 2 == 0 else ("async", "sync"):
                ref = graph(InMemorySaver())
                ref_ms[mode] += run_sync(ref, turns, "r") if mode == "sync" else asyncio.run(run_async(ref, turns, "r"))
                prefix = f"q{uuid.uuid4().hex[:6]}:"
                admin.flushall()
                before = Trips.count
                if mode == "sync":
                    ours = graph(MemorystoreSaver(redis.Redis.from_url(server.url, protocol=2), key_prefix=prefix))
                    ours_ms[mode] += run_sync(ours, turns, "t")
                else:

                    async def go(prefix: str = prefix) -> list[float]:
                        client = redis.asyncio.Redis.from_url(server.url, protocol=2)
                        result = await run_async(graph(MemorystoreSaver(client, key_prefix=prefix)), turns, "t")
                        await client.aclose()
                        return result

                    ours_ms[mode] += asyncio.run(go())
                trips = (Trips.count - before) / turns
                facts[mode] = (trips, *memory(admin, prefix))
        admin.close()
    print(f"{turns}-turn conversation x {options.rounds} rounds, StateGraph + add_messages, ~200-character messages")
    print(
        "| API | ms/turn (median) | InMemorySaver ms/turn | ratio | round trips/turn | checkpoints |"
        " bytes/checkpoint (data) | + write markers (expire in 10 min) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mode in ("sync", "async"):
        ms, ref = statistics.median(ours_ms[mode]), statistics.median(ref_ms[mode])
        trips, data, markers, count = facts[mode]
        print(
            f"| {mode} | {ms:.2f} | {ref:.2f} | {ms / ref:.2f} | {trips:.1f} | {count} | {data / count:.0f} |"
            f" {(data + markers) / count:.0f} |"
        )
    reads()
    return 0


def timed(fn: Any, repeat: int = 30) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def reads() -> None:
    """get_tuple / list on threads of 20 and 200 checkpoints, and list(None, limit=100) over 10,000 threads."""
    rows: list[tuple[str, float, float | None]] = []
    with start_local_redis() as server:
        client = redis.Redis.from_url(server.url, protocol=2)
        saver = MemorystoreSaver(client)
        g = graph(saver)
        ref = InMemorySaver()
        ref_graph = graph(ref)
        for name, turns in (("short", 7), ("long", 67)):
            run_sync(g, turns, name)
            run_sync(ref_graph, turns, name)
            conf = {"configurable": {"thread_id": name}}
            count = len(list(saver.list(conf)))
            for label, one in (
                ("get_tuple, newest", lambda s, c: s.get_tuple(c)),
                ("list(limit=10)", lambda s, c: list(s.list(c, limit=10))),
            ):
                ours = timed(lambda one=one, conf=conf: one(saver, conf))
                theirs = timed(lambda one=one, conf=conf: one(ref, conf))
                rows.append((f"{label} of {count} checkpoints", ours, theirs))
        template = saver.get_tuple({"configurable": {"thread_id": "short"}})
        assert template is not None
        for n in range(10_000):
            saver.put({"configurable": {"thread_id": f"many-{n}", "checkpoint_ns": ""}}, template.checkpoint, {}, {})
        rows.append(
            ("list(None, limit=100), 10,002 threads", timed(lambda: list(saver.list(None, limit=100)), 10), None)
        )
        client.close()
    print("\n| read (sync, one local server) | ms (median) | InMemorySaver ms |\n|---|---|---|")
    for name, ms, ref_ms in rows:
        print(f"| {name} | {ms:.2f} | {'-' if ref_ms is None else f'{ref_ms:.2f}'} |")


if __name__ == "__main__":
    sys.exit(main())
