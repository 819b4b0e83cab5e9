"""Issue 11 in Chromium: a tool call and its result on different pages, and the selected row in dark mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.viewer.serve import ViewerServer, serve

from .conftest import ROW, SHOWCASE, PageWatch, pick_session, seed_viewer_db, session_rows, viewer_db_url

expect = pytest.importorskip("playwright.sync_api").expect

KERNEL_WAIT_MS = 60_000
TRACE = "agent:trace-long-0b7e"
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def trace() -> list[BaseMessage]:
    """120 messages; pages of 50 newest first are #70-#119 and #20-#69, so the pair #69/#70 is split."""
    messages: list[BaseMessage] = [
        HumanMessage(f"step {i}") if i % 2 else AIMessage(f"thinking about step {i}") for i in range(120)
    ]
    call = {"name": "lookup_order", "args": {"order_id": "A-7"}, "id": "call_split", "type": "tool_call"}
    messages[69] = AIMessage("", tool_calls=[call])
    messages[70] = ToolMessage('{"status": "shipped"}', tool_call_id="call_split")
    return messages


@pytest.fixture(scope="module")
def links_page(redis_url: str) -> Iterator[ViewerServer]:
    url = viewer_db_url(redis_url)
    seed_viewer_db(url)
    client = redis.Redis.from_url(url, protocol=2)
    MemorystoreChatMessageHistory(client, TRACE).add_messages(trace())
    with serve(url, open_browser=False) as server:
        yield server
    client.flushdb()
    client.close()


def _open(server: ViewerServer, pg: Any, size: str, query: str = "") -> None:
    pg.set_viewport_size(SIZES[size])
    pg.goto(server.url + (("&" if "?" in server.url else "?") + query if query else ""))
    expect(session_rows(pg).first).to_be_visible(timeout=KERNEL_WAIT_MS)


def _pick(pg: Any, session_id: str) -> None:
    pick_session(pg, session_id)
    expect(pg.locator(".msnb-viewer > .msnb-head")).to_contain_text(session_id[:20])


def _at_top_of_scroll_area(locator: Any) -> bool:
    """The element's top is at the top of the transcript's scroll area, and inside the window."""
    return bool(
        locator.evaluate(
            """el => { const box = el.closest('.msnb-scroll'); const a = el.getBoundingClientRect(),
            b = box.getBoundingClientRect();
            return a.top >= b.top - 1 && a.top < b.top + 40 && a.top < window.innerHeight; }"""
        )
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_tool_call_and_result_on_other_pages(links_page: ViewerServer, page: tuple[Any, PageWatch], size: str):
    """Item 7: from a result to its call on another page and back; each lands at the top, outlined."""
    pg, watch = page
    _open(links_page, pg, size)
    _pick(pg, TRACE)
    result = pg.locator("#msnb-msg-70")  # the oldest message of the newest page: at its bottom
    expect(result).to_contain_text("call: not on this page")
    expect(pg.locator("#msnb-msg-69")).to_have_count(0)
    result.scroll_into_view_if_needed()  # the reader scrolled down to it
    assert pg.locator(".msnb-scroll .msnb-viewer").evaluate("el => el.scrollTop") > 500

    pg.get_by_role("button", name="#70 tool → call").click()
    target = pg.locator(".msnb-hit-current")
    expect(target).to_have_attribute("data-index", "69")
    expect(target).to_contain_text("lookup_order")
    assert _at_top_of_scroll_area(target)
    assert target.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    expect(pg.locator(".msnb-status")).to_contain_text("the call of message #70 is message #69")
    expect(target).to_contain_text("result: not on this page")

    pg.get_by_role("button", name="#69 lookup_order → result").click()
    target = pg.locator(".msnb-hit-current")
    expect(target).to_have_attribute("data-index", "70")
    assert _at_top_of_scroll_area(target)
    expect(pg.locator("#msnb-msg-69")).to_have_count(1)  # and the call right under it: a same-page link now
    expect(target.locator("a.msnb-jump")).to_have_attribute("href", re.compile(r"^#msnb-call-[0-9a-f]{16}$"))
    assert watch.problems() == []


def _rgb(text: str) -> tuple[int, ...]:
    found = re.search(r"rgba?\((\d+), (\d+), (\d+)", text)
    assert found, text
    return tuple(int(v) for v in found.groups())


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    def lum(c: tuple[int, ...]) -> float:
        ch = [v / 255 for v in c]
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# Voilà's own switch is ?theme=dark (JupyterLab's dark theme, as in JupyterLab); ?voila-theme= is no Voilà argument.
THEMES = [("light", ""), ("dark", ""), ("light", "theme=dark"), ("dark", "theme=dark")]


@pytest.mark.parametrize(("scheme", "query"), THEMES)
def test_selected_session_row_contrast(links_page: ViewerServer, page: tuple[Any, PageWatch], scheme: str, query: str):
    """Item 10: the selected row reads at 4.5:1 and stands out from the table at 3:1, and a row's focus ring
    (from the keyboard) shows at 3:1 against that row, selected or not.

    The dark page comes from the browser's preference or from JupyterLab's dark theme (``?theme=dark``).
    """
    pg, watch = page
    pg.emulate_media(color_scheme=scheme)
    _open(links_page, pg, "wide", query)
    _pick(pg, SHOWCASE)
    row = pg.locator(".msnb-trow.msnb-current")
    expect(row).to_have_count(1)
    other = pg.locator(f"{ROW}:not(.msnb-current)").first
    background = "el => getComputedStyle(el).backgroundColor"
    page_bg = _rgb(pg.locator(".msnb-page").evaluate(background))
    dark = scheme == "dark" or bool(query)
    assert (sum(page_bg) < 3 * 128) == dark, page_bg
    row_bg, table_bg = _rgb(row.evaluate(background)), _rgb(other.evaluate(background))
    assert _contrast(row_bg, table_bg) >= 3, (row_bg, table_bg)  # the row stands out from the table
    for cell in (row.locator(".msnb-pick"), row.locator(".msnb-cell").first):
        text = _rgb(cell.evaluate("el => getComputedStyle(el).color"))
        assert _contrast(text, row_bg) >= 4.5, (text, row_bg)
    ring = "el => { const s = getComputedStyle(el, '::after'); return [s.outlineStyle, s.outlineColor]; }"
    for target, under in ((row.locator(".msnb-pick"), row_bg), (other.locator(".msnb-pick"), table_bg)):
        target.focus()
        pg.keyboard.press("Shift+Tab")  # focus from the keyboard: the ring is for keyboard users
        pg.keyboard.press("Tab")
        style, colour = target.evaluate(ring)
        assert style == "solid" and _contrast(_rgb(colour), under) >= 3, (style, colour, under)
    assert watch.problems() == []
