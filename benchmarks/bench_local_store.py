"""What ``ENDPOINT = "local"`` costs: starting and finding the store, and what its durability costs a write.

    python benchmarks/bench_local_store.py [--runs 5] [--keys 100000] [--calls 300] [--rounds 5]

Two tables, both on data directories of their own under a temp dir (never your local store):

1. lifecycle: first start, reuse, connect("local"), stop, restart with an AOF of ``--keys`` messages;
2. one durable write: ``add_message`` on the local store under its policy (``appendfsync always``:
   on disk before the reply) and under ``everysec`` (switched with CONFIG SET on the same server,
   rounds interleaved), beside the floor (a bare RPUSH under each policy) and the embedded-database
   alternative (SQLite, one INSERT and COMMIT per call, ``synchronous=FULL`` and ``NORMAL``, WAL).

Prints medians; the fsync cost depends on the disk under the temp dir (named in the output).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from langchain_core.messages import HumanMessage

from memstore_nb import MemorystoreChatMessageHistory, connect
from memstore_nb.local import store as local_store
from memstore_nb.local.daemon import FSYNC


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def lifecycle_run(base: Path, keys: int) -> dict[str, float]:
    os.environ[local_store.DATA_DIR_ENV] = str(base)
    row: dict[str, float] = {}
    try:
        row["first start (ensure)"] = timed(local_store.ensure)
        row["reuse, same process (ensure)"] = timed(local_store.ensure)
        row["connect('local'), running"] = timed(lambda: connect("local").close())
        client = connect("local")
        with client.pipeline(transaction=False) as pipe:
            for i in range(keys):
                pipe.rpush(f"bench:{i % 1000}", f"message {i}")
            pipe.execute()
        client.close()
        row["stop (SHUTDOWN)"] = timed(local_store.stop)
        row[f"restart, AOF of {keys:,} messages"] = timed(local_store.ensure)
        script = "from memstore_nb.local import store; store.ensure()"
        env = {**os.environ}
        row["reuse, new process (python -c)"] = timed(
            lambda: subprocess.run([sys.executable, "-c", script], env=env, check=True)
        )
        row["python -c 'import memstore_nb' (floor)"] = timed(
            lambda: subprocess.run([sys.executable, "-c", "import memstore_nb"], env=env, check=True)
        )
    finally:
        local_store.stop()
    return row


def per_call_us(action: Callable[[int], object], calls: int) -> list[float]:
    out = []
    for i in range(calls):
        start = time.perf_counter()
        action(i)
        out.append((time.perf_counter() - start) * 1e6)
    return out


def durability(base: Path, calls: int, rounds: int) -> dict[str, list[float]]:
    """Per-call microseconds of each case, rounds interleaved so that machine noise hits every case alike."""
    os.environ[local_store.DATA_DIR_ENV] = str(base / "store")
    samples: dict[str, list[float]] = {}
    client = connect("local")
    history = MemorystoreChatMessageHistory(client, f"bench-{uuid.uuid4().hex[:8]}")
    message = HumanMessage("a message of about a hundred characters, as a chat turn often is: " + "x" * 36)
    db = sqlite3.connect(base / "bench.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE m (session TEXT, body TEXT)")
    try:
        for _ in range(rounds):
            for policy in ("always", "everysec"):
                client.config_set("appendfsync", policy)
                samples.setdefault(f"add_message, appendfsync {policy}", []).extend(
                    per_call_us(lambda i: history.add_message(message), calls)
                )
                samples.setdefault(f"RPUSH alone, appendfsync {policy} (floor)", []).extend(
                    per_call_us(lambda i: client.rpush("bench-floor", "x" * 100), calls)
                )
            for sync in ("FULL", "NORMAL"):
                db.execute(f"PRAGMA synchronous={sync}")
                samples.setdefault(f"SQLite INSERT+COMMIT, WAL, synchronous={sync}", []).extend(
                    per_call_us(lambda i: db.execute("INSERT INTO m VALUES (?, ?)", ("s", "x" * 100)), calls)
                )
    finally:
        client.config_set("appendfsync", FSYNC)
        client.close()
        db.close()
        local_store.stop()
    return samples


def disk_of(path: Path) -> str:
    best = ("", "?", "?")
    with open("/proc/mounts") as mounts:
        for line in mounts:
            device, point, kind = line.split()[:3]
            if str(path).startswith(point) and len(point) >= len(best[0]):
                best = (point, kind, device)
    return f"{best[0]} ({best[1]}, {best[2]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=100_000, help="messages written before the restart")
    parser.add_argument("--calls", type=int, default=300, help="writes per case and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mnb-bench-") as tmp:
        rows = [lifecycle_run(Path(tmp) / f"run{run}", args.keys) for run in range(args.runs)]
        os.environ[local_store.DATA_DIR_ENV] = str(Path(tmp) / "probe")
        server = local_store.ensure()
        name = f"{server.version} ({server.binary})"
        local_store.stop()
        samples = durability(Path(tmp), args.calls, args.rounds)
        disk = disk_of(Path(tmp).resolve())
    print(f"server: {name}; {args.runs} runs, medians")
    print(f"| {'case':<42} | {'median ms':>9} | {'min ms':>8} |")
    print(f"|{'-' * 44}|{'-' * 11}|{'-' * 10}|")
    for case in rows[0]:
        values = [row[case] for row in rows]
        print(f"| {case:<42} | {statistics.median(values):>9.1f} | {min(values):>8.1f} |")
    print(f"\none write, {args.rounds} interleaved rounds of {args.calls} calls per case; data on {disk}")
    everysec = statistics.median(samples["add_message, appendfsync everysec"])
    print(f"| {'case':<46} | {'median µs':>9} | {'p90 µs':>8} | {'× everysec':>10} |")
    print(f"|{'-' * 48}|{'-' * 11}|{'-' * 10}|{'-' * 12}|")
    for case, values in samples.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"| {case:<46} | {median:>9.0f} | {p90:>8.0f} | {median / everysec:>10.2f} |")


if __name__ == "__main__":
    main()
