"""Benchmark the pure renderer: render_page for pages of 50 messages of different kinds.

Run:  python benchmarks/bench_render.py [--runs 21]

No server. Rows (medians in ms, cases interleaved within each run):
- agent page:     the four messages bench_viewer.py uses (question, tool call, JSON tool result,
                  answer with a ``text`` fence), repeated to 50; the page bench_viewer.py times.
- code, cold:     25 answers with a distinct 20-line Python block each, highlight cache cleared
                  before every run: what a first look at a code-heavy page costs (bounded by
                  PAGE_HIGHLIGHT_BUDGET).
- code, warm:     the same page again (search marks, raw JSON switch, follow): highlighting is cached.
- long answer:    one 35,000-character answer (folded) and 49 short messages.
Each row also gives raw_json=True, and the ratio to the agent page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb.codec import decode_message
from memstore_nb.render import render_page
from memstore_nb.viewer import highlight

sys.path.insert(0, str(Path(__file__).parent))
from bench_viewer import templates

PAGE = 50


def pages() -> dict[str, list[tuple[int, Any]]]:
    encoded = templates()
    block = "```python\n" + "def scale(x: int) -> int:\n    return x * 2  # double\n" * 10 + "```"
    return {
        "agent page": [(i, decode_message(encoded[i % len(encoded)])) for i in range(PAGE)],
        "code": [
            (
                i,
                AIMessage(f"Here:\n\n{block.replace('double', f'double {i}')}\n\nDone.")
                if i % 2
                else HumanMessage("?"),
            )
            for i in range(PAGE)
        ],
        "long answer": [(i, AIMessage("word " * 7_000) if i == 0 else HumanMessage("short")) for i in range(PAGE)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per case (median reported)")
    args = parser.parse_args()
    data = pages()
    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "agent page": (lambda: render_page(data["agent page"]), lambda: render_page(data["agent page"], raw_json=True)),
        "code, cold": (lambda: render_page(data["code"]), lambda: render_page(data["code"], raw_json=True)),
        "code, warm": (lambda: render_page(data["code"]), lambda: render_page(data["code"], raw_json=True)),
        "long answer": (
            lambda: render_page(data["long answer"]),
            lambda: render_page(data["long answer"], raw_json=True),
        ),
    }
    for plain, raw in cases.values():
        plain(), raw()  # warm-up: imports, lexer lookup
    times: dict[tuple[str, bool], list[float]] = {(name, r): [] for name in cases for r in (False, True)}
    for _ in range(args.runs):
        for name, fns in cases.items():
            for raw_json, fn in zip((False, True), fns, strict=True):
                if name == "code, cold":
                    highlight._cache.clear()
                elif name == "code, warm":
                    fn()  # a page over the budget gets the rest of its blocks highlighted on the next render
                start = time.perf_counter()
                fn()
                times[(name, raw_json)].append(time.perf_counter() - start)
    med = {key: statistics.median(t) * 1000 for key, t in times.items()}
    base = med[("agent page", False)]
    print(f"memstore-nb render_page: ms, median of {args.runs}; page = {PAGE} messages")
    print(f"{'case':<14} {'render':>8} {'raw_json':>9} {'vs agent page':>14}")
    for name in cases:
        print(f"{name:<14} {med[(name, False)]:8.2f} {med[(name, True)]:9.2f} {med[(name, False)] / base:13.2f}x")


if __name__ == "__main__":
    main()
