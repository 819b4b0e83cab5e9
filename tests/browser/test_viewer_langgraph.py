"""A LangGraph thread in the viewer page (Chromium): listed as kind "langgraph", read-only, with its checkpoints."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.checkpoint.saver import MemorystoreSaver
from memstore_nb.codec import encode_message
from memstore_nb.viewer.serve import ViewerServer, serve

from .conftest import PageWatch, pick_session, row_texts, session_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from helpers.graphs import agent_graph, human

expect = pytest.importorskip("playwright.sync_api").expect

KERNEL_WAIT_MS = 60_000
MS_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC"
DOCS = Path(__file__).resolve().parents[2] / "docs"
GRAPH_DB = 11  # a database of its own: no other module's sessions, no other module's flush
THREAD = "agent:acme:thread-4c1d"
LIST = "support:acme:alice-7f3a"


@pytest.fixture(scope="module")
def graph_url(redis_url: str) -> Iterator[str]:
    parts = urlsplit(redis_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{GRAPH_DB}", "", ""))
    client = redis.Redis.from_url(url, protocol=2)
    client.flushdb()
    graph = agent_graph(MemorystoreSaver(client))
    config = {"configurable": {"thread_id": THREAD}}
    for text in ("Hi! What is 19 plus 23?", "add 19 23", "Thanks, and <b>bold</b> is shown as text?"):
        graph.invoke(human(text), config)
    MemorystoreChatMessageHistory(client, LIST).add_messages(
        [HumanMessage("Where is my order?"), AIMessage("In transit with DHL.")]
    )
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def graph_page(graph_url: str) -> Iterator[ViewerServer]:
    with serve(graph_url, open_browser=False) as server:
        yield server


def test_a_langgraph_thread_shows_with_its_kind_and_checkpoints(
    graph_page: ViewerServer, page: tuple[Any, PageWatch], tmp_path: Path
) -> None:
    pg, watch = page
    pg.set_viewport_size({"width": 1280, "height": 800})
    pg.goto(graph_page.url)
    rows = session_rows(pg)
    expect(rows).to_have_count(2, timeout=KERNEL_WAIT_MS)
    region = pg.locator('.msnb-status[role="status"][aria-live="polite"]')
    expect(region).to_have_count(1)  # the status line's live region is there before anything is said
    texts = {t[0]: t[1] for t in row_texts(pg)}
    assert texts == {THREAD: "langgraph", LIST: "memstore"}
    pick_session(pg, THREAD)
    head = pg.locator(".msnb-viewer > .msnb-head")
    expect(head).to_contain_text(THREAD)
    expect(head).to_contain_text("langgraph")
    expect(pg.locator(".msnb-msg")).to_have_count(8)  # 3 turns: 2 + 4 (tool call, tool result) + 2
    expect(pg.locator(".msnb-msg").get_by_text("the sum is 42")).to_be_visible()
    expect(pg.locator(".msnb-msg", has_text="<b>bold</b>")).to_have_count(
        2
    )  # question and echo, escaped: shown as text
    panel = pg.locator(".msnb-checkpoints")
    expect(panel).to_be_visible()
    options = panel.locator("select").first.locator("option")  # the steps (the second select compares)
    assert options.count() > 3 and options.first.inner_text() == "newest"
    # One line per step: the node, what it added (a tool call folded to its name), the time to the ms.
    lines = [line.replace("\xa0", " ") for line in options.all_inner_texts()]  # the Select shows spaces as nbsp
    assert re.match(r'1\. step \d+ · model: answer "echo Thanks, and <b>bold</b>', lines[1]), lines[1]
    assert any(re.match(r"\d+\. step \d+ · model: called add · " + MS_TIME + "$", line) for line in lines), lines
    assert any(re.match(r"\d+\. step \d+ · tools: add → 42 · ", line) for line in lines), lines
    expect(pg.locator(".msnb-msg").first).to_contain_text("UTC")  # each message's checkpoint time
    steps = panel.locator(".msnb-steps")
    expect(steps).to_contain_text("Next: nothing (the run ended here)")
    # The step that called the tool, compared with the thread's first checkpoint.
    call = next(i for i, line in enumerate(lines) if "called add" in line)
    panel.locator("select").first.select_option(index=call)
    expect(head).to_contain_text("as of step")
    expect(steps).to_contain_text("Next: tools")
    against = panel.locator("select").nth(1)
    against.select_option(label=against.locator("option").last.inner_text())  # the last listed: the first checkpoint
    expect(steps).to_contain_text("+ 4 messages added")
    expect(steps).to_contain_text('user "add 19 23"')
    shot = DOCS / "viewer-langgraph.png" if os.environ.get("MEMSTORE_NB_UPDATE_SCREENSHOT") else tmp_path / "lg.png"
    pg.screenshot(path=str(shot))
    assert steps.bounding_box()["y"] + 40 < 800  # the comparison shows on the first screen at 1280 x 800
    # The earliest checkpoint of the first turn: the first question only.
    options.last.click()
    expect(head).to_contain_text("as of step -1 · input")
    expect(pg.locator(".msnb-msg")).to_have_count(0)  # the input checkpoint holds no messages yet
    options.first.click()
    expect(pg.locator(".msnb-msg")).to_have_count(8)
    # On a 390 px phone the transcript starts within the first screen (options below it, shorter lists).
    pg.set_viewport_size({"width": 390, "height": 844})
    top = pg.locator(".msnb-scroll").bounding_box()["y"]
    assert top < 844 - 200, top
    pg.get_by_role("button", name="More ▾", exact=True).click()  # the reading options: built on first opening
    expect(pg.get_by_role("button", name="Refresh")).to_be_visible()
    assert pg.get_by_role("button", name="Refresh").bounding_box()["y"] > top  # reading options below
    assert watch.problems() == []


def test_the_page_reads_community_histories_under_the_prefixes_view_names(
    graph_url: str, page: tuple[Any, PageWatch]
) -> None:
    # `memstore-nb view --community-prefix chat:` reaches the page's kernel (issue 20 item 4).
    client = redis.Redis.from_url(graph_url, protocol=2)
    key = "chat:bob-5e1"
    for text in ("first", "second", "third"):
        client.lpush(key, encode_message(HumanMessage(text)))
    try:
        with serve(graph_url, open_browser=False, community_prefixes=["chat:"]) as server:
            pg, watch = page
            pg.set_viewport_size({"width": 1280, "height": 800})
            pg.goto(server.url)
            expect(session_rows(pg)).to_have_count(3, timeout=KERNEL_WAIT_MS)
            assert {t[0]: t[1] for t in row_texts(pg)}[key] == "community"
            pick_session(pg, key)
            expect(pg.locator(".msnb-msg")).to_have_count(3)
            expect(pg.locator(".msnb-msg").first).to_contain_text("third")  # newest on top, as for every list
            assert watch.problems() == []
    finally:
        client.delete(key)
        client.close()
