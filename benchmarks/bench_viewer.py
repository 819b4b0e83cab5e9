"""Benchmark the viewer's time to first page beside the raw Redis commands that page needs.

Run:  python benchmarks/bench_viewer.py [--runs 15] [--keys 100000]

Starts its own redis-server (memstore_nb.local.start_local_redis), seeds it, and prints one
table. Every row is measured in the same run on the same server; times are medians.

Transcript rows (sessions of 100 / 10,000 / 100,000 messages, page size 50):
- ours:      ChatHistoryViewer(client, session_id=..., page_size=50) until the transcript HTML of the
             newest page is set, built inside a running asyncio event loop as in a Jupyter or Voilà
             kernel. There the viewer shows the session first and makes and fills its session table on
             the loop's next turn (after the cell); ``listed`` is the time until that table is listed
             too (the loop given one turn). Closing the viewer is not timed here (it was before the
             table was deferred: figures from then include ~0.5 ms of close()).
             Without a running loop (plain Python) the viewer lists at once: ``ours`` is then ``listed``.
- switch:    an existing viewer opening the session (viewer.session_id = ...): what a click costs.
- raw:       LLEN + LRANGE of the newest 50 elements, with plain redis-py (two round trips).
- render:    decode_message for those 50 elements + render_page (the viewer's HTML), alone.
- ratios:    ours / (raw + render), listed / (raw + render) and switch / (raw + render); the target
             (issue 11) is at most 2 for ours, and flat in session size.

Session-list rows (a database of --keys keys; the first listing: ``rows_per_scan`` rows, 1,000 by default):
- ours:      ChatHistoryViewer(client) until the first listing is in its table (sorted by last activity,
             its first ten rows shown).
- raw:       SCAN ... COUNT 1000 TYPE list until as many lists are found, LINDEX 0 of each (is it a chat
             message?), then LLEN + TTL + LINDEX -1 for those rows, pipelined.
- render:    parsing their latest messages for the row previews, alone.
  (Ours also asks each key's OBJECT IDLETIME and MEMORY USAGE, in the same round trips.)

A last line gives the fixed cost of building the widget itself on an empty database, which every
"ours" time above includes, and how many stock widgets (controls, boxes, shared layouts and styles)
a viewer with a session open puts on the page, with its table listed and before: each is a comm and
a model in the front end. The secondary controls are built on the first click on "More ▾"; that
click's cost is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import orjson
import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from memstore_nb.codec import decode_message, encode_message
from memstore_nb.local import start_local_redis
from memstore_nb.render import render_page
from memstore_nb.viewer.widget import ChatHistoryViewer

try:  # the first listing's size: what the viewer lists before anyone asks for more
    from memstore_nb.viewer.state import ViewerTraits

    ROWS = int(ViewerTraits.class_traits()["rows_per_scan"].default_value)
except ImportError:  # code from before the viewer's state object (issue 17): its default then
    ROWS = int(ChatHistoryViewer.class_traits()["rows_per_scan"].default_value)

PAGE = 50
SIZES = (100, 10_000, 100_000)
SESSIONS_DB = 0
ALL_SESSIONS_DB = 1
MIXED_DB = 2
EMPTY_DB = 3


def templates() -> list[str]:
    """A few encoded messages of realistic shape and size, repeated to fill sessions fast."""
    messages: list[BaseMessage] = [
        HumanMessage("My order A-10293 has not arrived; it was due on Monday. Can you check where it is?"),
        AIMessage(
            "",
            tool_calls=[{"name": "lookup_order", "args": {"order_id": "A-10293"}, "id": "call_1", "type": "tool_call"}],
        ),
        ToolMessage('{"status": "in_transit", "carrier": "DHL", "eta": "2026-11-25"}', tool_call_id="call_1"),
        AIMessage(
            "Here is what I found:\n\n- Status: *in transit* with DHL\n- New estimate: **25 November**\n\n"
            "```text\nhttps://www.dhl.com/redirect?tracking=JD014600003828\n```",
            response_metadata={"model_name": "gemini-2.0-flash", "finish_reason": "STOP"},
            usage_metadata={"input_tokens": 412, "output_tokens": 71, "total_tokens": 483},
        ),
    ]
    return [encode_message(m) for m in messages]


def seed_list(client: redis.Redis, key: str, n: int, encoded: Sequence[str], chunk: int = 10_000) -> None:
    client.delete(key)
    for start in range(0, n, chunk):
        client.rpush(key, *(encoded[i % len(encoded)] for i in range(start, min(start + chunk, n))))


def seed_keys(client: redis.Redis, n: int, session_share: float, encoded: Sequence[str]) -> int:
    """``n`` keys, of which ``session_share`` are chat sessions; the rest are strings, hashes and plain lists."""
    client.flushdb()
    sessions = 0
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        if i < n * session_share:
            pipe.rpush(f"chat:user-{i:06d}", *encoded[: 2 + i % 3])
            sessions += 1
        elif i % 3 == 0:
            pipe.set(f"cache:page:{i}", "x" * 64)
        elif i % 3 == 1:
            pipe.hset(f"user:{i}", mapping={"name": f"user {i}", "plan": "pro"})
        else:
            pipe.rpush(f"queue:{i}", "job-1", "job-2")  # a list that is not a chat session
        if i % 5_000 == 4_999:
            pipe.execute()
    pipe.execute()
    return sessions


def medians_ms(cases: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median time of each case; the cases take turns within each run, so load on the machine hits all alike.

    A case is timed from the outside, unless it returns a dict of its own timings (name -> seconds).
    """
    for fn in cases.values():
        fn()  # warm-up: imports, connections, code paths
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, fn in cases.items():
            start = time.perf_counter()
            timed = fn()
            wall = time.perf_counter() - start
            for key, seconds in (timed if isinstance(timed, dict) else {name: wall}).items():
                times.setdefault(key, []).append(seconds)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def transcript_cases(client: redis.Redis, key: str, n: int, runs: int) -> dict[str, float]:
    loop = asyncio.new_event_loop()

    async def open_in_kernel() -> dict[str, float]:
        start = time.perf_counter()
        viewer = ChatHistoryViewer(client, session_id=key, page_size=PAGE)
        html = viewer._transcript.value
        shown = time.perf_counter()
        await asyncio.sleep(0)  # the loop's next turn, as after a notebook cell: the session table fills
        rows = len(viewer._table.rows)
        listed = time.perf_counter()
        viewer.close()
        assert html.count("data-index=") == PAGE, "the first page was not rendered"
        assert rows == len(SIZES), f"{rows} sessions listed"
        return {"ours": shown - start, "listed": listed - start}

    def ours() -> dict[str, float]:
        return loop.run_until_complete(open_in_kernel())

    switcher = ChatHistoryViewer(client, page_size=PAGE)

    def switch() -> None:
        switcher.session_id = None
        switcher.session_id = key
        assert switcher._transcript.value.count("data-index=") == PAGE

    fetched: list[list[Any]] = []

    def raw() -> None:
        length = client.llen(key)
        fetched[:] = [client.lrange(key, max(length - PAGE, 0), length - 1)]

    def render() -> None:
        base = n - len(fetched[0])
        items = [(base + i, decode_message(r, key=key, index=base + i)) for i, r in enumerate(fetched[0])]
        render_page(items)

    out = medians_ms({"ours": ours, "switch": switch, "raw": raw, "render": render}, runs)
    switcher.close()
    loop.close()
    return out


def session_list_cases(client: redis.Redis, runs: int) -> dict[str, float]:
    def ours() -> None:
        viewer = ChatHistoryViewer(client)
        rows = len(viewer._table.rows)
        viewer.close()
        assert rows == ROWS, f"{rows} rows listed"

    lasts: list[Any] = []

    def raw() -> None:
        found: list[bytes | str] = []
        cursor = 0
        while len(found) < ROWS:
            cursor, keys = client.scan(cursor, match="*", count=1000, _type="list")
            if keys:
                pipe = client.pipeline(transaction=False)
                for key in keys:
                    pipe.lindex(key, 0)
                firsts = pipe.execute()
                found += [k for k, first in zip(keys, firsts, strict=True) if first and first.startswith(b'{"type"')]
            if cursor == 0:
                break
        pipe = client.pipeline(transaction=False)
        for key in found[:ROWS]:
            pipe.llen(key)
            pipe.ttl(key)
            pipe.lindex(key, -1)
        lasts[:] = pipe.execute()[2::3]

    def render() -> None:
        previews = []
        for last in lasts:
            doc = orjson.loads(last)
            previews.append(f"{doc['type']}: {str(doc['data'].get('content'))[:60]}")
        assert len(previews) == ROWS

    return medians_ms({"ours": ours, "raw": raw, "render": render}, runs)


def widget_count(viewer: ChatHistoryViewer) -> int:
    """Distinct widgets on the page: the viewer, its children, and their layouts and styles."""
    seen: dict[int, Any] = {}
    todo: list[Any] = [viewer]
    while todo:
        w = todo.pop()
        if not isinstance(w, widgets.Widget) or id(w) in seen:
            continue
        seen[id(w)] = w
        todo += [*getattr(w, "children", ()), getattr(w, "layout", None), getattr(w, "style", None)]
    return len(seen)


async def _widget_counts(client: redis.Redis, key: str) -> tuple[int, int]:
    """Widgets of a viewer built with a session in a running loop: once its table is listed, and before."""
    viewer = ChatHistoryViewer(client, session_id=key)
    first = widget_count(viewer)
    await asyncio.sleep(0)
    count = widget_count(viewer)
    viewer.close()
    return count, first


_HAS_MORE = hasattr(ChatHistoryViewer, "_more_toggle")


def _first_more_click_ms(client: redis.Redis, key: str, runs: int) -> float:
    """Median time of the first click on More ▾ in a new viewer (the panel is built then)."""
    times = []
    for _ in range(runs):
        viewer = ChatHistoryViewer(client, session_id=key)
        start = time.perf_counter()
        viewer._more_toggle.click()
        times.append(time.perf_counter() - start)
        viewer.close()
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per case (median reported)")
    parser.add_argument("--keys", type=int, default=100_000, help="keys in the session-list databases")
    args = parser.parse_args(argv)
    encoded = templates()

    rows: list[tuple[str, dict[str, float]]] = []
    with start_local_redis() as server:
        client = redis.Redis.from_url(f"{server.url}/{SESSIONS_DB}", protocol=2)
        for n in SIZES:
            seed_list(client, f"chat:session-{n}", n, encoded)
        for n in SIZES:
            rows.append((f"transcript, {n:,} messages", transcript_cases(client, f"chat:session-{n}", n, args.runs)))
        client.close()

        for db, share in ((ALL_SESSIONS_DB, 1.0), (MIXED_DB, 0.1)):
            client = redis.Redis.from_url(f"{server.url}/{db}", protocol=2)
            sessions = seed_keys(client, args.keys, share, encoded)
            label = f"session list, {args.keys:,} keys ({sessions:,} sessions)"
            rows.append((label, session_list_cases(client, args.runs)))
            client.close()

        client = redis.Redis.from_url(f"{server.url}/{EMPTY_DB}", protocol=2)
        client.flushdb()
        widget_only = medians_ms({"widget": lambda: ChatHistoryViewer(client).close()}, args.runs)["widget"]
        client.close()
        client = redis.Redis.from_url(f"{server.url}/{SESSIONS_DB}", protocol=2)
        count, first = asyncio.run(_widget_counts(client, f"chat:session-{SIZES[0]}"))
        more = _first_more_click_ms(client, f"chat:session-{SIZES[0]}", args.runs) if _HAS_MORE else None
        client.close()

    print(f"memstore-nb viewer: time to first page (ms, median of {args.runs}; page = {PAGE}, first listing = {ROWS})")
    print(
        f"{'case':<46} {'ours':>8} {'listed':>8} {'switch':>8} {'raw':>8} {'render':>8} {'raw+render':>11} "
        f"{'ours/floor':>11} {'listed/floor':>13} {'switch/floor':>13}"
    )
    for label, t in rows:
        floor = t["raw"] + t["render"]
        cells = {
            k: (f"{t[k]:8.2f}", f"{t[k] / floor:12.2f}x") if k in t else (f"{'-':>8}", f"{'-':>13}")
            for k in ("listed", "switch")
        }
        (listed, listed_ratio), (switch, switch_ratio) = cells["listed"], cells["switch"]
        print(
            f"{label:<46} {t['ours']:8.2f} {listed} {switch} {t['raw']:8.2f} {t['render']:8.2f} "
            f"{floor:11.2f} {t['ours'] / floor:10.2f}x {listed_ratio} {switch_ratio}"
        )
    print(f"building the widget alone (empty database, no session): {widget_only:.2f} ms")
    print(
        f"widgets on the page with a session open (controls, boxes, layouts, styles): {count} "
        f"({first} until the session table is listed)"
    )
    if more is not None:
        print(f"first click on More ▾ (builds the reading options and export panel): {more:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
