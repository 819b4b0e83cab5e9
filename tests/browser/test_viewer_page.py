"""The standalone viewer page (Voilà) in a real Chromium: list, open, page, and no script from message text."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from memstore_nb.errors import MemstoreError
from memstore_nb.processes import process_tree as _process_tree
from memstore_nb.viewer import serve as serve_module
from memstore_nb.viewer.serve import ViewerServeError, ViewerServer, VoilaNotInstalled, serve

from .conftest import (
    LONG,
    LONG_LENGTH,
    NOT_A_SESSION,
    SEEDED,
    SHOWCASE,
    XSS,
    XSS_PAYLOADS,
    PageWatch,
    pick_session,
    row_texts,
    seed_viewer_db,
    session_rows,
    viewer_db_url,
)

expect = pytest.importorskip("playwright.sync_api").expect

# The README's picture. The session list comes in SCAN order, which varies from run to run, so the file is
# only rewritten on request: MEMSTORE_NB_UPDATE_SCREENSHOT=1 python -m pytest tests/browser
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "viewer.png"
KERNEL_WAIT_MS = 60_000  # each page load starts a kernel; on a busy 2-core machine that can take a while
PAGE_SIZE = 50  # the viewer's default


@pytest.fixture(scope="module")
def seeded_url(redis_url: str) -> Iterator[str]:
    """The URL of the viewer's own database on the suite's server, seeded (and emptied afterwards)."""
    url = viewer_db_url(redis_url)
    seed_viewer_db(url)
    yield url
    client = redis.Redis.from_url(url, protocol=2)
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def viewer_page(seeded_url: str) -> Iterator[ViewerServer]:
    with serve(seeded_url, open_browser=False) as server:
        yield server


def _open_page(viewer_page: ViewerServer, page: Any) -> Any:
    page.goto(viewer_page.url)
    sessions = session_rows(page)
    expect(sessions.first).to_be_visible(timeout=KERNEL_WAIT_MS)
    return sessions


def _open_session(page: Any, session_id: str) -> None:
    pick_session(page, session_id)
    expect(page.locator(".msnb-viewer > .msnb-head")).to_contain_text(session_id)


def _indices(page: Any) -> list[int]:
    return [int(i) for i in page.locator(".msnb-msg").evaluate_all("els => els.map(e => e.dataset.index)")]


def _assert_clean(watch: PageWatch) -> None:
    assert watch.problems() == []


def test_session_list_shows_the_seeded_sessions(viewer_page: ViewerServer, page: tuple[Any, PageWatch]) -> None:
    pg, watch = page
    sessions = _open_page(viewer_page, pg)
    expect(sessions).to_have_count(len(SEEDED))
    texts = row_texts(pg)
    for sid in SEEDED:  # table rows: id, kind, messages, last activity, TTL, memory, last message
        assert any(t[:2] == [sid, "memstore"] for t in texts), (sid, texts)
    assert not any(NOT_A_SESSION in " ".join(t) for t in texts)  # a LIST of non-messages is not a session
    assert any(t[2] == "120" for t in texts)
    expect(pg.get_by_text(f"{len(SEEDED)} sessions matching")).to_be_visible()
    _assert_clean(watch)


def test_clicking_a_session_shows_its_messages(
    viewer_page: ViewerServer, page: tuple[Any, PageWatch], tmp_path: Path
) -> None:
    pg, watch = page
    _open_page(viewer_page, pg)
    _open_session(pg, SHOWCASE)
    expect(pg.locator(".msnb-msg")).to_have_count(9)
    assert _indices(pg) == list(range(9))[::-1]  # newest first: the newest message on top
    expect(pg.locator(".msnb-viewer > .msnb-head")).to_contain_text("9 messages")
    transcript = pg.locator(".msnb-viewer").filter(has=pg.locator(".msnb-msg"))
    expect(transcript).to_contain_text("Leipzig hub")  # the tool result
    expect(transcript.locator("strong", has_text="Wednesday, 25 November")).to_be_visible()  # Markdown rendered
    expect(transcript.locator("code", has_text="https://www.dhl.com/redirect")).to_be_visible()  # fenced code kept
    expect(transcript).to_contain_text("lookup_order")  # the AI tool call
    # Tall enough for the whole conversation: Voilà scrolls inside its own panel, so full_page would not do.
    pg.set_viewport_size({"width": 1280, "height": 1500})
    shot = SCREENSHOT if os.environ.get("MEMSTORE_NB_UPDATE_SCREENSHOT") else tmp_path / "viewer.png"
    pg.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000  # a real rendering, not a blank page
    _assert_clean(watch)


def test_paging_changes_the_indices_shown(viewer_page: ViewerServer, page: tuple[Any, PageWatch]) -> None:
    pg, watch = page
    _open_page(viewer_page, pg)
    _open_session(pg, LONG)
    first = pg.locator(".msnb-msg").first  # the newest of the page: on top
    newest = LONG_LENGTH - PAGE_SIZE
    expect(first).to_have_attribute("data-index", str(LONG_LENGTH - 1))
    assert _indices(pg) == list(range(newest, LONG_LENGTH))[::-1]
    expect(pg.locator(".msnb-viewer > .msnb-head")).to_contain_text("page 1 of 3")
    expect(pg.get_by_role("button", name="‹ Prev")).to_be_disabled()

    pg.get_by_role("button", name="Next ›").click()
    expect(first).to_have_attribute("data-index", str(newest - 1))
    assert _indices(pg) == list(range(newest - PAGE_SIZE, newest))[::-1]
    expect(pg.locator(".msnb-viewer > .msnb-head")).to_contain_text("page 2 of 3")

    pg.get_by_role("button", name="Next ›").click()
    expect(first).to_have_attribute("data-index", str(newest - PAGE_SIZE - 1))
    assert _indices(pg) == list(range(newest - PAGE_SIZE))[::-1]
    expect(pg.get_by_role("button", name="Next ›")).to_be_disabled()

    pg.get_by_role("button", name="‹ Prev").click()
    expect(first).to_have_attribute("data-index", str(newest - 1))
    expect(pg.get_by_text("question number 20", exact=True)).to_be_visible()
    _assert_clean(watch)


def test_xss_message_shows_as_text_and_runs_nothing(viewer_page: ViewerServer, page: tuple[Any, PageWatch]) -> None:
    pg, watch = page
    _open_page(viewer_page, pg)
    _open_session(pg, XSS)
    messages = pg.locator(".msnb-msg")
    count = len(XSS_PAYLOADS) + 1
    expect(messages).to_have_count(count)
    for i, payload in enumerate(XSS_PAYLOADS[:2]):
        expect(messages.nth(count - 1 - i)).to_contain_text(payload)  # shown literally (newest on top)
    expect(messages.nth(count - 3)).to_contain_text("click me")
    transcript = pg.locator(".msnb-viewer").filter(has=messages)
    assert transcript.locator("img, script, iframe, object, embed, svg").count() == 0
    hrefs = transcript.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")]
    handlers = transcript.evaluate(
        "root => [...root.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name))"
        ".filter(n => n.startsWith('on'))"
    )
    assert handlers == []
    messages.nth(count - 3).locator("p", has_text="click me").click()  # whatever it is, clicking it must not run script
    pg.wait_for_timeout(500)
    assert watch.dialogs == []
    _assert_clean(watch)


def test_connection_failure_shows_a_friendly_error_without_the_secret(
    redis_url: str, page: tuple[Any, PageWatch]
) -> None:
    pg, watch = page
    secret = "s3cret-Pa55word"
    # The suite's server has no password: AUTH fails, the page must explain it and never show the password.
    endpoint = viewer_db_url(redis_url).replace("redis://", f"redis://:{secret}@", 1)
    server = serve(endpoint, open_browser=False)
    try:
        assert server.pid is not None
        assert secret not in Path(f"/proc/{server.pid}/cmdline").read_text()  # `ps` shows argv to everyone
        assert secret not in repr(server)
        pg.goto(server.url)
        problem = pg.get_by_text("Could not open the chat history viewer")
        expect(problem).to_be_visible(timeout=KERNEL_WAIT_MS)
        body = pg.locator("body").inner_text()
        assert secret not in body
        assert secret not in server.log_tail(200)
        processes = [server.pid, *(pid for pid, _ in _process_tree(server.pid))]
        assert len(processes) >= 2  # Voilà and the page's kernel
    finally:
        server.stop()
    assert not [pid for pid in processes if Path(f"/proc/{pid}").exists()]  # nothing left running
    assert not server.running
    _assert_clean(watch)


def test_the_harness_notices_console_errors_exceptions_and_dialogs(page: tuple[Any, PageWatch]) -> None:
    # The checks above pass only when nothing is recorded; prove that something would be.
    pg, watch = page
    pg.set_content(
        "<script>console.error('seen'); setTimeout(() => { throw new Error('boom') }); alert('xss')</script>"
    )
    pg.wait_for_timeout(300)
    assert any("seen" in e for e in watch.console_errors)
    assert any("boom" in e for e in watch.page_errors)
    assert watch.dialogs == ["alert: xss"]


def test_session_id_opens_that_session_at_once(seeded_url: str, page: tuple[Any, PageWatch]) -> None:
    pg, watch = page
    with serve(seeded_url, open_browser=False, session_id=LONG) as server:
        pg.goto(server.url)
        head = pg.locator(".msnb-viewer > .msnb-head")
        expect(head).to_contain_text(LONG, timeout=KERNEL_WAIT_MS)
        expect(head).to_contain_text(f"{LONG_LENGTH} messages")
        expect(pg.locator(".msnb-msg")).to_have_count(PAGE_SIZE)
        # The session table is made and listed right after the transcript, with nobody touching the page,
        # and the open session's row is the selected one.
        expect(pg.locator(".msnb-trow.msnb-current")).to_contain_text(LONG, timeout=KERNEL_WAIT_MS)
        assert session_rows(pg).count() > 1
    _assert_clean(watch)


def test_wait_returns_when_voila_ends_and_cleans_up(redis_url: str) -> None:
    server = serve(viewer_db_url(redis_url), open_browser=False)
    pid = server.pid
    assert pid is not None
    workdir = server.log_path.parent
    assert workdir.is_dir()
    threading.Timer(0.5, os.killpg, (pid, signal.SIGTERM)).start()
    assert server.wait() == 0  # Voilà exits cleanly on SIGTERM
    assert not server.running
    assert not Path(f"/proc/{pid}").exists()
    assert not workdir.exists()
    server.stop()  # a second stop is harmless


def test_a_taken_port_is_reported_with_the_next_step(redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ViewerServeError, match=f"port {port} is already in use: choose another one"):
            serve(viewer_db_url(redis_url), port=port, open_browser=False)


def test_serve_without_voila_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        serve_module.importlib.util, "find_spec", lambda name, *a: None if name == "voila" else real(name, *a)
    )
    # memstore-nb is not on PyPI: the advice installs what exists (Voilà, or the extra from a clone)
    with pytest.raises(VoilaNotInstalled, match=r'pip install voila .*pip install -e "\.\[demo\]"') as caught:
        serve("local", open_browser=False)
    assert isinstance(caught.value, MemstoreError)
    assert isinstance(caught.value, ModuleNotFoundError)
