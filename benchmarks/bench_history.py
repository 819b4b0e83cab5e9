"""Benchmark MemorystoreChatMessageHistory beside the raw redis-py floor and the upstream pattern.

Run:  python benchmarks/bench_history.py [--runs 7]

Starts its own redis-server (memstore_nb.start_local_redis) and prints one table.
Every row is measured in the same run on the same server; times are medians.

- ours:     MemorystoreChatMessageHistory
- raw:      the floor with plain redis-py. Writes: message_to_dict + json.dumps per
            message, then one RPUSH. Reads: LRANGE + json.loads + messages_from_dict.
- upstream: what langchain-google-memorystore-redis does: one RPUSH per message
            (plus one EXPIRE per message when a TTL is set); reads load the whole list.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, message_to_dict, messages_from_dict

from memstore_nb import MemorystoreChatMessageHistory, start_local_redis

TTL = 3600


def conversation(n: int) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for i in range(n):
        if i % 2 == 0:
            out.append(HumanMessage(f"Question {i}: how do I page through a long Redis list without loading it all?"))
        else:
            out.append(
                AIMessage(
                    f"Answer {i}: use **LRANGE** with a window, e.g. `LRANGE key -20 -1` for the last twenty.",
                    response_metadata={"model_name": "fake-model", "finish_reason": "stop"},
                    id=f"run-{i}",
                )
            )
    return out


def median_ms(fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(runs):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="repetitions per measurement (median is reported)")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)

    with start_local_redis() as server:
        client = redis.Redis.from_url(server.url, protocol=2)
        key = "bench"
        drop = lambda: client.delete(key)  # noqa: E731
        thousand = conversation(1_000)
        rows: list[tuple[str, float, float, float | None, int]] = []

        # (a) one at a time, with a TTL
        ours = MemorystoreChatMessageHistory(client, key, ttl=TTL)

        def ours_one_by_one() -> None:
            for m in thousand:
                ours.add_message(m)

        def upstream_one_by_one() -> None:
            for m in thousand:
                client.rpush(key, json.dumps(message_to_dict(m)))
                client.expire(key, TTL)

        def raw_one_by_one_no_ttl() -> None:
            for m in thousand:
                client.rpush(key, json.dumps(message_to_dict(m)))

        rows.append(
            (
                "(a) add 1,000 one at a time, TTL",
                median_ms(ours_one_by_one, runs, drop),
                median_ms(raw_one_by_one_no_ttl, runs, drop),
                median_ms(upstream_one_by_one, runs, drop),
                1_000,
            )
        )

        # (b) one batch of 1,000
        plain = MemorystoreChatMessageHistory(client, key)

        def raw_batch() -> None:
            client.rpush(key, *[json.dumps(message_to_dict(m)) for m in thousand])

        def upstream_batch() -> None:
            for m in thousand:  # upstream's add_messages loops over add_message
                client.rpush(key, json.dumps(message_to_dict(m)))

        raw_b = median_ms(raw_batch, runs, drop)
        up_b = median_ms(upstream_batch, runs, drop)
        rows.append(
            (
                "(b) add_messages of 1,000",
                median_ms(lambda: plain.add_messages(thousand), runs, drop),
                raw_b,
                up_b,
                1_000,
            )
        )
        rows.append(
            (
                "(b) add_messages of 1,000, TTL",
                median_ms(lambda: ours.add_messages(thousand), runs, drop),
                raw_b,
                None,
                1_000,
            )
        )

        def raw_read(start: int, end: int) -> Callable[[], list[BaseMessage]]:
            return lambda: messages_from_dict([json.loads(r) for r in client.lrange(key, start, end)])

        def upstream_read_all() -> list[BaseMessage]:
            return messages_from_dict([json.loads(r.decode("utf-8")) for r in client.lrange(key, 0, -1)])

        # (c) read all of a 10,000-message session
        drop()
        plain.add_messages(conversation(10_000))
        ours_c = median_ms(lambda: plain.messages, runs)
        assert plain.messages == raw_read(0, -1)(), "ours and raw disagree on (c)"
        rows.append(
            (
                "(c) read all of 10,000",
                ours_c,
                median_ms(raw_read(0, -1), runs),
                median_ms(upstream_read_all, runs),
                10_000,
            )
        )

        # (d) the last 20 of a 100,000-message session
        drop()
        hundred_k = conversation(100_000)
        for i in range(0, len(hundred_k), 10_000):
            plain.add_messages(hundred_k[i : i + 10_000])
        assert plain[-20:] == raw_read(-20, -1)(), "ours and raw disagree on (d)"
        rows.append(
            (
                "(d) last 20 of 100,000",
                median_ms(lambda: plain[-20:], runs),
                median_ms(raw_read(-20, -1), runs),
                median_ms(lambda: upstream_read_all()[-20:], max(1, min(runs, 3))),
                20,
            )
        )
        drop()
        client.close()

    python = sys.version.split()[0]
    print(f"redis-server {server.binary}; redis-py {redis.__version__}; Python {python}; median of {runs} runs")
    columns = ("case", "ours ms", "raw ms", "ours/raw", "upstream ms", "ours msg/s")
    widths = (32, 9, 9, 8, 11, 10)
    header = (
        "| "
        + " | ".join(
            f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(columns, widths, strict=True))
        )
        + " |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for name, ours_ms, raw_ms, up_ms, count in rows:
        up = f"{up_ms:>11.1f}" if up_ms is not None else f"{'—':>11}"
        rate = count / ours_ms * 1000
        print(f"| {name:<32} | {ours_ms:>9.1f} | {raw_ms:>9.1f} | {ours_ms / raw_ms:>7.2f}x | {up} | {rate:>10,.0f} |")
    print(
        "Raw (a) has no TTL (RPUSH only): ours keeps a sliding TTL in the same single round trip; "
        "upstream pays RPUSH + EXPIRE (two round trips) per message."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
