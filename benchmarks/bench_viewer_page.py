"""Benchmark the viewer page in Chromium: navigation to the first session row, with and without pre-heated kernels.

Run:  python benchmarks/bench_viewer_page.py [--runs 5] [--pause 6]

Starts its own redis-server, seeds a few sessions, serves the page (memstore_nb.viewer.serve)
once with Voilà's pre-heated kernels (the default) and once without, and loads it ``--runs``
times in a headless Chromium (/usr/bin/chromium or $CHROMIUM). Between loads it waits
``--pause`` seconds, the time Voilà needs to heat the next kernel. Prints medians and the
ratio to the 1.5 s goal (issue 20: the first session row within 1.5 s of navigation, median of 5).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from typing import Any

import redis
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.local import start_local_redis
from memstore_nb.viewer.serve import serve

GOAL_S = 1.5


def seed(url: str) -> None:
    client = redis.Redis.from_url(url, protocol=2)
    for i in range(40):
        MemorystoreChatMessageHistory(client, f"bench:page:{i:03d}").add_messages(
            [HumanMessage(f"question {i}"), AIMessage(f"answer {i}")]
        )
    client.close()


def load_times(url: str, runs: int, pause: float, preheat: bool) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with serve(url, open_browser=False, preheat=preheat) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox"],
        )
        for _ in range(runs):
            time.sleep(pause)  # let Voilà heat the next kernel (and the machine settle)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            # Requests are watched, not intercepted: routing every request through the driver adds its
            # own delay to each of the page's ~60 scripts (tests/browser checks nothing leaves loopback).
            outside: list[str] = []

            def watch(request: Any, outside: list[str] = outside) -> None:
                if not request.url.startswith("http://127.0.0.1"):
                    outside.append(request.url)

            page.on("request", watch)
            started = time.perf_counter()
            page.goto(server.url)
            first_row = page.locator(".msnb-trow:not(.msnb-thead):not(.msnb-hidden)").first
            first_row.wait_for(state="visible", timeout=120_000)
            times.append(time.perf_counter() - started)
            context.close()
            if outside:
                raise SystemExit(f"the page asked for something off the machine: {outside[:3]}")
        browser.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pause", type=float, default=6.0)
    args = parser.parse_args(argv)
    with start_local_redis() as server:
        seed(server.url)
        rows = []
        for preheat in (True, False):
            times = load_times(server.url, args.runs, args.pause, preheat)
            rows.append((preheat, statistics.median(times), min(times), max(times)))
    print(f"viewer page: navigation -> first session row visible (s, {args.runs} loads, Chromium 1280x800)")
    print(f"{'pre-heated kernel':<18} {'median':>8} {'min':>8} {'max':>8} {'/ goal 1.5 s':>13}")
    for preheat, median, low, high in rows:
        print(f"{'yes' if preheat else 'no':<18} {median:>8.2f} {low:>8.2f} {high:>8.2f} {median / GOAL_S:>13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
