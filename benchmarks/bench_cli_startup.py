"""How long `memstore-nb --version` and `--help` take, beside a bare interpreter and a full import.

Run:  python benchmarks/bench_cli_startup.py [--runs 15]

Each row starts a fresh interpreter (`python -m memstore_nb.cli ...`, what the console script
does); rows run interleaved, one round each in turn, so load on a shared machine hits all alike.
Times are medians. The goal (issue 12): `--version` and `--help` under 0.5 s, which needs
`import memstore_nb` to load neither redis, langchain-core nor google-auth.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ROWS = {
    "python -c pass (floor)": ["-c", "pass"],
    "memstore-nb --version": ["-m", "memstore_nb.cli", "--version"],
    "memstore-nb --help": ["-m", "memstore_nb.cli", "--help"],
    "memstore-nb show --help": ["-m", "memstore_nb.cli", "show", "--help"],
    "import memstore_nb": ["-c", "import memstore_nb"],
    "import every public name": ["-c", "from memstore_nb import *"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in ROWS}
    for _ in range(runs):
        for name, argv in ROWS.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, *argv], capture_output=True, check=True, timeout=120)
            times[name].append(time.perf_counter() - started)
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"| command ({runs} runs) | median ms | min ms | × floor |")
    print("| --- | ---: | ---: | ---: |")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"| {name} | {median * 1000:.0f} | {min(samples) * 1000:.0f} | {median / floor:.1f} |")


if __name__ == "__main__":
    main()
