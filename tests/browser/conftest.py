"""Browser-test harness: Debian's Chromium driven by Playwright, and a seeded database for the viewer page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from memstore_nb.history import MemorystoreChatMessageHistory

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = (
    "the browser tests need Debian's Chromium: `apt-get install -y chromium` "
    "(Playwright's own browser download is not used); CI installs it"
)
# ipywidgets 7 typesets every widget description with MathJax.Hub.Queue, which Voilà's page does not load:
# a harmless uncaught error per description (the widgets still work). Nothing else is excused.
IPYWIDGETS_7_MATHJAX = "Cannot read properties of undefined (reading 'Queue')"
VIEWER_DB = 9  # a database of its own, so sessions other tests write never show in the page


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the viewer page in a real Chromium (Playwright)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return path


# Module scope: Playwright's sync API keeps an event loop running in this thread
# while it is alive, which would break asyncio.run() in every later test.
@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason='the browser tests need Playwright: pip install -e ".[test]"'
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageWatch:
    """What a page did that a test must see: console errors, uncaught exceptions, dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *(f"dialog: {d}" for d in self.dialogs)]


SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname
    return url.startswith(("data:", "blob:", "about:", "file:")) or host in {"127.0.0.1", "localhost"}


def watched(browser: Any) -> tuple[Any, Any, PageWatch]:
    """A new browser context and page that may only reach loopback, and record trouble: (context, page, watch).

    Any request off the machine is blocked (and recorded: issue 20 item 9, the page once loaded Font
    Awesome from a CDN on every visit).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    pg = context.new_page()
    watch = PageWatch()

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if _loopback(url):
            request_route.continue_()
        else:
            watch.blocked.append(url)
            request_route.abort()

    def console(message: Any) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        # A request we aborted on purpose logs "Failed to load resource"; nothing else is excused.
        if "Failed to load resource" in message.text and where in watch.blocked:
            return
        watch.console_errors.append(f"{message.text} ({where})")

    def dialog(d: Any) -> None:
        watch.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    def page_error(exc: Any) -> None:
        # Nothing is excused: the viewer gives no widget a description under ipywidgets 7, where
        # typesetting it threw IPYWIDGETS_7_MATHJAX.
        watch.page_errors.append(str(exc))

    pg.route("**/*", route)
    pg.on("console", console)
    pg.on("pageerror", page_error)
    pg.on("dialog", dialog)
    return context, pg, watch


@pytest.fixture()
def page(browser: Any) -> Iterator[tuple[Any, PageWatch]]:
    """A fresh page that may only reach loopback (see :func:`watched`); a request off the machine fails the test."""
    context, pg, watch = watched(browser)
    yield pg, watch
    context.close()
    assert watch.blocked == [], f"requests left the machine: {watch.blocked}"


def viewer_db_url(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{VIEWER_DB}", "", ""))


# -- seed data ---------------------------------------------------------------------------------------------

SHOWCASE = "support:acme:alice-7f3a"
LONG = "support:acme:bob-19c2"
LONG_LENGTH = 120
XSS = "support:acme:mallory-x55"
FAQ = "faq:returns:carol-aa01"
SMALL_TALK = {  # more realistic rows for the session list in the screenshot
    "support:acme:dmitri-31be": [
        HumanMessage("Do you ship to Norway?"),
        AIMessage("Yes — 3 to 5 working days, duties included."),
    ],
    "sales:acme:erin-0c77": [
        HumanMessage("Is there a student discount on the Pro plan?"),
        AIMessage("Yes, 40% off with a valid student e-mail address."),
        HumanMessage("Great, how do I apply it?"),
    ],
    "onboarding:frank-5d20": [
        SystemMessage("Guide new users through their first project."),
        HumanMessage("Where do I find my API key?"),
        AIMessage("Settings → Developer → API keys. Keep it secret; you can rotate it any time."),
    ],
}
SEEDED = (SHOWCASE, LONG, XSS, FAQ, *SMALL_TALK)
NOT_A_SESSION = "jobs:queue"
XSS_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[click me](javascript:alert(1))",
]


def showcase_messages() -> list[BaseMessage]:
    call = {"name": "lookup_order", "args": {"order_id": "A-10293"}, "id": "call_7Qd2", "type": "tool_call"}
    return [
        SystemMessage("You are Acme's support assistant. Be brief, cite order data, never invent tracking numbers."),
        HumanMessage("Hi! My order A-10293 hasn't arrived yet. It was supposed to be here on Monday."),
        AIMessage("", tool_calls=[call], id="run-1"),
        ToolMessage(
            '{"order_id": "A-10293", "status": "in_transit", "carrier": "DHL", "eta": "2026-11-25", '
            '"last_scan": "Leipzig hub, 2026-11-23 06:12"}',
            tool_call_id="call_7Qd2",
            name="lookup_order",
        ),
        AIMessage(
            "Thanks for waiting — here is what I found for **A-10293**:\n\n"
            "- Status: *in transit* with DHL\n"
            "- Last scan: Leipzig hub, today at 06:12\n"
            "- New estimated delivery: **Wednesday, 25 November**\n\n"
            "The delay comes from the carrier's hub, not from our warehouse.",
            usage_metadata={"input_tokens": 412, "output_tokens": 71, "total_tokens": 483},
            response_metadata={"model_name": "gemini-2.0-flash", "finish_reason": "STOP"},
        ),
        HumanMessage("Can I change the delivery address to my office instead?"),
        AIMessage(
            "Yes, while the parcel is in transit you can redirect it with DHL. Use the tracking link, or:\n\n"
            "```text\nhttps://www.dhl.com/redirect?tracking=JD014600003828\n```\n\n"
            "If that fails, reply here and I will open a ticket with the carrier.",
        ),
        HumanMessage("Perfect, thank you!"),
        AIMessage("You're welcome! Anything else I can help with?"),
    ]


def seed_viewer_db(url: str) -> None:
    client = redis.Redis.from_url(url, protocol=2)
    try:
        client.flushdb()
        MemorystoreChatMessageHistory(client, SHOWCASE).add_messages(showcase_messages())
        long_history = MemorystoreChatMessageHistory(client, LONG)
        turns: list[BaseMessage] = []
        for i in range(LONG_LENGTH):
            turns.append(HumanMessage(f"question number {i}") if i % 2 == 0 else AIMessage(f"answer number {i}"))
        long_history.add_messages(turns)
        MemorystoreChatMessageHistory(client, XSS).add_messages(
            [HumanMessage(text) for text in XSS_PAYLOADS] + [AIMessage("I can only help with orders.")]
        )
        MemorystoreChatMessageHistory(client, FAQ, ttl=86_400).add_messages(
            [HumanMessage("How long do I have to return shoes?"), AIMessage("30 days from delivery, unworn.")]
        )
        for sid, messages in SMALL_TALK.items():
            MemorystoreChatMessageHistory(client, sid, ttl=7 * 86_400).add_messages(messages)
        client.rpush(NOT_A_SESSION, "job-1", "job-2")
    finally:
        client.close()


# -- the session table, as the page shows it (viewer/session_table.py) ---------------------------------------

ROW = ".msnb-trow:not(.msnb-thead):not(.msnb-hidden)"  # a session's row (hidden slots are spare rows)


def session_rows(pg: Any) -> Any:
    """The rows of the session table on screen."""
    return pg.locator(ROW)


def pick_session(pg: Any, session_id: str) -> None:
    """Open a session by clicking its row (on the id; the whole row is the target); a session on another page
    of the table is found with the filter box first, as a reader would."""
    row = pg.locator(f"{ROW} .msnb-pick", has_text=session_id).first
    if row.count() == 0:
        box = pg.get_by_placeholder("filter the sessions (Enter)")
        box.fill(session_id)
        box.press("Enter")
    row.click()


def row_texts(pg: Any) -> list[list[str]]:
    """Each row's cells as text: id, kind, messages, last activity, TTL, memory, last message."""
    return pg.locator(ROW).evaluate_all(
        "rows => rows.map(r => [r.querySelector('.msnb-pick').innerText,"
        " ...[...r.querySelectorAll('.msnb-cell')].map(c => c.innerText)].map(t => t.replace(/\\u00a0/g, ' ')))"
    )
