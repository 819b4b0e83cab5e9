"""Chaos run: the reliability scenarios of tests/reliability/, longer, with one table per scenario.

Run:  python benchmarks/chaos.py [--seconds 20] [--quick] [--scenario NAME ...]

Every scenario starts its own servers on free loopback ports and writes unique messages (each
call's tokens are unique, so LRANGE counts copies) under one fault, with each client kind:

- reply-dropping proxy: a TCP proxy drops 20% of the successful write replies and resets the client
  (the server applied the write, the client never heard);
- SIGKILL + restart (AOF always): the server is killed every second and restarted 0.3 s later on
  the same port with ``appendfsync always``;
- CLIENT KILL storm: ``CLIENT KILL TYPE normal`` every 20 ms;
- SIGSTOP > client timeout: the server is stopped for 1 s (client timeout 0.4 s), then continued;
- cluster primary killed and paused: 3 shards with a replica each, six sessions over every shard;
  a primary is SIGKILLed (failover, then it rejoins as a replica), another SIGSTOPped for 4.5 s
  (failover), repeated while time remains;
- the local store (``connect("local")`` / ``aconnect("local")``, a data directory of the run's own):
  its server SIGKILLed every second and started again 0.3 s later by another caller; SIGSTOPped for
  1 s (client timeout 0.4 s); on a small tmpfs that fills up three times, each time a ballast file is
  removed and the store started again (needs root; skipped otherwise).

Columns (per call; an add_messages of two messages is one call):
  calls, acknowledged (returned normally, possibly after re-calling it following WriteUnconfirmed),
  stored (found at least once), duplicated (found more than once), lost (acknowledged, not found),
  raised (finally raised), of which WriteUnconfirmed, re-called OK (WriteUnconfirmed, then the same
  call again returned), faults injected, and the longest stall (the slowest call, re-calls included).
Exit status 1 if any call was duplicated or lost (or torn, or a definite error was stored anyway).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from reliability.ledger import Tally
from reliability.local_store import LOCAL_KINDS, LOCAL_SCENARIOS
from reliability.scenarios import (
    CLUSTER_KINDS,
    STANDALONE_KINDS,
    STANDALONE_SCENARIOS,
    cluster_primary_faults,
    start_fault_cluster,
)

from memstore_nb.local import find_redis_binary

CLUSTER_SCENARIO = "cluster primary killed and paused"
COLUMNS = (
    "client",
    "calls",
    "acknowledged",
    "stored",
    "duplicated",
    "lost",
    "raised",
    "WriteUnconfirmed",
    "re-called OK",
    "faults",
    "longest stall (ms)",
)


def row(kind: str, r: Tally) -> list[str]:
    return [
        kind,
        f"{r.calls:,}",
        f"{r.acknowledged:,}",
        f"{r.stored:,}",
        str(r.duplicated),
        str(r.lost),
        str(r.raised),
        str(r.unconfirmed),
        str(r.recalled_ok),
        f"{r.faults:,}",
        f"{r.stall_ms:,.0f}",
    ]


def print_table(title: str, rows: list[list[str]]) -> None:
    widths = [max(len(COLUMNS[i]), *(len(r[i]) for r in rows)) for i in range(len(COLUMNS))]
    print(f"\n### {title}\n")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        print("| " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="writing time per scenario and client (20)")
    parser.add_argument("--quick", action="store_true", help="3 s per scenario and client (a smoke run)")
    choices = [*STANDALONE_SCENARIOS, CLUSTER_SCENARIO, *LOCAL_SCENARIOS]
    parser.add_argument("--scenario", action="append", choices=choices, help="run only these (repeatable)")
    args = parser.parse_args(argv)
    seconds = 3.0 if args.quick else args.seconds
    if not 0 < seconds <= 600:
        parser.error("--seconds must be in (0, 600]")
    chosen = args.scenario or choices
    python = platform.python_version()
    print(f"redis-server {find_redis_binary()}; redis-py {redis.__version__}; Python {python}; {seconds:g} s per run")
    failures: list[str] = []
    for name in chosen:
        rows = []
        started = time.monotonic()
        if name == CLUSTER_SCENARIO:
            with start_fault_cluster() as cluster:
                for kind in CLUSTER_KINDS:
                    result = cluster_primary_faults(cluster, kind, seconds)
                    rows.append(row(kind, result))
                    failures += [f"{name} / {kind}: {p} {dict(result.errors)}" for p in result.problems()]
        elif name in LOCAL_SCENARIOS:
            if "full disk" in name and os.geteuid() != 0:
                print(f"\n### {name}: skipped (mounting a tmpfs needs root)")
                continue
            for kind in LOCAL_KINDS:
                result = LOCAL_SCENARIOS[name](kind, seconds)
                rows.append(row(kind, result))
                failures += [f"{name} / {kind}: {p} {dict(result.errors)}" for p in result.problems()]
        else:
            for kind in STANDALONE_KINDS:
                result = STANDALONE_SCENARIOS[name](kind, seconds)
                rows.append(row(kind, result))
                failures += [f"{name} / {kind}: {p} {dict(result.errors)}" for p in result.problems()]
        print_table(f"{name} ({time.monotonic() - started:.0f} s)", rows)
        sys.stdout.flush()
    if failures:
        print("\nGUARANTEE BROKEN:\n" + "\n".join(failures))
        return 1
    print("\nEvery acknowledged call stored exactly once; every call that raised stored at most once.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
