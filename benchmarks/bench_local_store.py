"""How long ``ENDPOINT = "local"`` takes: first start, reuse, restart with data, connect("local").

    python benchmarks/bench_local_store.py [--runs 7] [--keys 100000]

Every run uses a data directory of its own under a temp dir (never your local store) and stops
its server at the end. Prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from memstore_nb import connect
from memstore_nb.local import find_redis_binary
from memstore_nb.local import store as local_store


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def one_run(base: Path, keys: int) -> dict[str, float]:
    os.environ[local_store.DATA_DIR_ENV] = str(base)
    row: dict[str, float] = {}
    try:
        row["first start (ensure)"] = timed(local_store.ensure)
        row["reuse, same process (ensure)"] = timed(local_store.ensure)
        row["connect('local'), running"] = timed(lambda: connect("local").close())
        store = local_store.ensure()
        client = redis.Redis(port=store.port, password=store.password, protocol=2)
        with client.pipeline(transaction=False) as pipe:
            for i in range(keys):
                pipe.rpush(f"bench:{i % 1000}", f"message {i}")
            pipe.execute()
        client.close()
        row["stop (SHUTDOWN, AOF flushed)"] = timed(local_store.stop)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keys", type=int, default=100_000, help="messages written before the restart")
    args = parser.parse_args()
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="memstore-nb-bench-store-") as tmp:
        for run in range(args.runs):
            rows.append(one_run(Path(tmp) / f"run{run}", args.keys))
    print(f"server: {find_redis_binary()}; {args.runs} runs, medians")
    print(f"| {'case':<42} | {'median ms':>9} | {'min ms':>8} |")
    print(f"|{'-' * 44}|{'-' * 11}|{'-' * 10}|")
    for case in rows[0]:
        values = [row[case] for row in rows]
        print(f"| {case:<42} | {statistics.median(values):>9.1f} | {min(values):>8.1f} |")


if __name__ == "__main__":
    main()
