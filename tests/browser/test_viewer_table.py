"""Issue 20 items 20 and 22 in Chromium, at 1280x800 and 390x844: a session table that is a table, and a page
that reads well (long answers, Find on Enter, same-page links, the status line, the transcript's height,
dark mode, one set of units). Labelled controls: test_viewer_reading.py (on ipywidgets 8 and 7.7.1).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.viewer.serve import ViewerServer, serve

from .conftest import ROW, SIZES, PageWatch, pick_session, row_texts, session_rows

expect = pytest.importorskip("playwright.sync_api").expect

KERNEL_WAIT_MS = 60_000
TABLE_DB = 13
RECENT = "bulk:recent"  # touched by the app after the others were written: the newest activity
MOST = "bulk:most"  # the most messages
LONG = "read:long-answer"
MONO = ("monospace", "mono", "courier", "consolas", "menlo")


def _conversation() -> list[BaseMessage]:
    call = {"name": "lookup_order", "args": {"order_id": "A-1"}, "id": "call_1", "type": "tool_call"}
    prose = "\n\n".join(f"Paragraph {i}: " + "the carrier's hub in Leipzig was over capacity; " * 30 for i in range(50))
    return [
        HumanMessage("Where is my order? Please explain in detail."),
        AIMessage("", tool_calls=[call]),
        ToolMessage('{"status": "late", "eta": "2026-11-25"}', tool_call_id="call_1"),
        AIMessage(prose),  # over 50,000 characters: past the Markdown limit
        HumanMessage("thanks, the NEEDLE is in this message"),
    ]


@pytest.fixture(scope="module")
def table_page(redis_url: str) -> Iterator[ViewerServer]:
    parts = urlsplit(redis_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{TABLE_DB}", "", ""))
    TABLE_URL[:] = [url]
    client = redis.Redis.from_url(url, protocol=2)
    client.flushdb()
    pipe = client.pipeline(transaction=False)
    for i in range(58):
        pipe.rpush(f"bulk:{i:03d}", encode_message(HumanMessage(f"hello {i}")), encode_message(AIMessage("hi")))
    pipe.rpush(MOST, *[encode_message(HumanMessage(f"turn {j}")) for j in range(40)])
    pipe.execute()
    MemorystoreChatMessageHistory(client, RECENT).add_messages([HumanMessage("first"), AIMessage("second")])
    MemorystoreChatMessageHistory(client, LONG).add_messages(_conversation())
    time.sleep(2.2)
    client.llen(RECENT)  # the app reads it: its last activity is now, the others' two seconds ago
    with serve(url, open_browser=False) as server:
        yield server
    client.flushdb()
    client.close()


def _app_reads(key: str) -> None:
    """The app reads a session (its last activity is now, as Redis counts activity)."""
    client = redis.Redis.from_url(TABLE_URL[0], protocol=2)
    client.llen(key)
    client.close()


TABLE_URL: list[str] = []


def _open(server: ViewerServer, pg: Any, size: str, query: str = "") -> Any:
    pg.set_viewport_size(SIZES[size])
    pg.goto(server.url + (f"&{query}" if query else ""))
    rows = session_rows(pg)
    expect(rows.first).to_be_visible(timeout=KERNEL_WAIT_MS)
    return rows


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None
    return box


# -- item 20: a session table that is a table ----------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_a_table_with_headers_last_activity_and_every_column_in_view(
    table_page: ViewerServer, page: tuple[Any, PageWatch], size: str
) -> None:
    """Before: monospace text in a listbox, no headers, no last activity, the last column cut at 1280 px,
    2 1/2 rows of ids on a phone."""
    pg, watch = page
    _app_reads(RECENT)  # a visit before this one listed (touched) every key: the app reads this one again
    time.sleep(1.1)
    rows = _open(table_page, pg, size)
    headers = ["Session", "Kind", "Messages", "Last activity ▼", "TTL", "Memory", "Last message"]
    for name in headers:
        expect(pg.get_by_role("button", name=name, exact=True)).to_be_visible()
    texts = row_texts(pg)
    assert texts[0][0] == RECENT and texts[0][3].endswith("ago")  # the default order: latest activity first
    expect(rows).to_have_count(10)  # a page of the table; the rows pager shows the rest
    expect(pg.get_by_text("1–10 of 61")).to_be_visible()
    table = _box(pg.locator(".msnb-grid"))
    first = rows.first
    cells = [first.locator(".msnb-pick"), *[first.locator(".msnb-cell").nth(i) for i in range(6)]]
    width = SIZES[size]["width"]
    for cell in cells:  # every column is there, inside the table and the window
        box = _box(cell)
        assert box["width"] >= 20 and box["x"] >= table["x"] - 1 and box["x"] + box["width"] <= width + 1, box
    if size == "wide":
        tops = {round(_box(cell)["y"]) for cell in cells}
        assert len(tops) == 1  # one line: a table row
    else:  # a card: the id on its own line, the other cells under it
        pick = _box(cells[0])
        assert pick["width"] >= table["width"] - 4 and all(_box(c)["y"] > pick["y"] for c in cells[1:])
        assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1
    pg.get_by_role("button", name="Messages", exact=True).click()  # a header sorts the whole set
    expect(rows.first.locator(".msnb-pick")).to_have_text(MOST)
    expect(pg.get_by_role("button", name="Messages ▼", exact=True)).to_be_visible()
    pg.get_by_role("button", name="Rows ›", exact=True).click()
    expect(pg.get_by_text("11–20 of 61")).to_be_visible()
    box = pg.get_by_placeholder("filter the sessions (Enter)")
    box.fill("recent")
    box.press("Enter")
    expect(rows).to_have_count(1)
    assert watch.problems() == []


# -- item 22: reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_reading_long_answers_find_links_status_and_height(
    table_page: ViewerServer, page: tuple[Any, PageWatch], size: str
) -> None:
    pg, watch = page
    _open(table_page, pg, size)
    pick_session(pg, LONG)
    messages = pg.locator(".msnb-msg")
    expect(messages).to_have_count(5)
    # Long answers: "show all" opens readable prose, not a 302 px monospace box.
    answer = pg.locator("#msnb-msg-3")
    answer.locator(".msnb-fold-more").click()
    body = answer.locator(".msnb-plain")
    expect(body).to_be_visible()
    font = body.evaluate("el => getComputedStyle(el.querySelector('p')).fontFamily").lower()
    assert not any(m in font for m in MONO), font
    assert body.evaluate("el => el.scrollHeight <= el.clientHeight + 1 && el.clientHeight > 2000")  # all of it
    # Find runs on Enter, not when the box loses focus.
    find = pg.get_by_placeholder("find text, any case (Enter)")
    find.fill("needle")
    pg.locator(".msnb-scroll").click(position={"x": 5, "y": 5})  # focus leaves the box
    pg.wait_for_timeout(700)
    expect(pg.get_by_role("button", name="Hit ›", exact=True)).to_have_count(0)
    find.press("Enter")
    expect(pg.get_by_text("hit 1 of 1: message #4")).to_be_visible()
    # Same-page tool links: the transcript scrolls to the target, which is highlighted; the header stays.
    link = pg.locator("#msnb-msg-2 a.msnb-jump")
    link.scroll_into_view_if_needed()
    link.click()
    target = pg.locator(":target")
    expect(target).to_have_count(1)
    assert target.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    scroll = _box(pg.locator(".msnb-scroll"))
    spot = _box(target)
    assert scroll["y"] - 2 <= spot["y"] <= scroll["y"] + scroll["height"], (spot, scroll)
    if size == "wide":
        assert _box(pg.locator(".msnb-viewer > .msnb-head"))["y"] >= 0  # the page itself did not scroll it away
        # The transcript fills the window (it was a fixed 60vh box, 213 px short at 1280x800).
        assert scroll["y"] + scroll["height"] >= SIZES[size]["height"] - 48, scroll
    # The status line sits under the controls it speaks about, and a message pushes nothing.
    status = _box(pg.locator(".msnb-status-widget"))
    assert _box(pg.get_by_role("button", name="Next ›", exact=True))["y"] < status["y"] < scroll["y"]
    pg.get_by_role("button", name="More ▾", exact=True).click()
    jump = pg.get_by_placeholder("message # (Enter)")
    expect(jump).to_be_visible()
    pg.wait_for_timeout(300)  # the panel's last state updates
    before = _box(pg.locator(".msnb-scroll"))["y"]
    jump.fill("99999")
    jump.press("Enter")
    expect(pg.locator(".msnb-status [role=alert]")).to_contain_text("out of range")
    assert abs(_box(pg.locator(".msnb-scroll"))["y"] - before) <= 1
    # One set of units: the header's memory is the table row's.
    memory = next(t[5] for t in row_texts(pg) if t[0] == LONG)
    expect(pg.locator(".msnb-viewer > .msnb-head")).to_contain_text(f"· {memory} ·")
    assert watch.problems() == []


@pytest.mark.parametrize(("scheme", "query"), [("dark", ""), ("light", "voila-theme=dark")])
def test_dark_page_has_no_white_frame(
    table_page: ViewerServer, page: tuple[Any, PageWatch], scheme: str, query: str
) -> None:
    """Before: a white frame around the dark viewer, a white loading screen, and ?voila-theme=dark ignored."""
    pg, watch = page
    pg.emulate_media(color_scheme=scheme)
    pg.set_viewport_size(SIZES["wide"])
    pg.goto(table_page.url + (f"&{query}" if query else ""))
    corner = "([x, y]) => getComputedStyle(document.elementFromPoint(x, y)).backgroundColor"
    early = pg.evaluate("getComputedStyle(document.body).backgroundColor")  # while the page loads
    expect(session_rows(pg).first).to_be_visible(timeout=KERNEL_WAIT_MS)
    for colour in [early, *(pg.evaluate(corner, spot) for spot in ([3, 3], [1276, 3], [3, 796], [1276, 796]))]:
        rgb = [int(v) for v in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]
        assert sum(rgb) < 3 * 80, colour
    pg.set_viewport_size(SIZES["phone"])
    assert pg.evaluate(corner, [2, 2]).startswith("rgb(17, 20, 24")
    assert pg.locator(ROW).count() > 0 and watch.problems() == []
