"""ChatHistoryViewer driven from Python (traits and .click()) against a real redis-server."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest
import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, messages_to_dict

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.local import start_local_redis
from memstore_nb.render import to_markdown
from memstore_nb.sources import open_transcript
from memstore_nb.viewer import ChatHistoryViewer
from memstore_nb.viewer.parts import _redact as redact

XSS = "<img src=x onerror=alert(1)>"


def conversation(n: int) -> list[BaseMessage]:
    return [HumanMessage(f"question {i}") if i % 2 == 0 else AIMessage(f"answer {i}") for i in range(n)]


def seed(client: redis.Redis, key: str, messages: list[BaseMessage]) -> MemorystoreChatMessageHistory:
    history = MemorystoreChatMessageHistory(client, key)
    history.add_messages(messages)
    return history


@pytest.fixture()
def viewers() -> Iterator[list[ChatHistoryViewer]]:
    """Viewers made by a test are closed after it, and no follow thread may outlive them."""
    made: list[ChatHistoryViewer] = []
    yield made
    for viewer in made:
        viewer.close()
    assert not [t for t in threading.enumerate() if t.name == "msnb-viewer-follow"]


@pytest.fixture()
def make(client: redis.Redis, viewers: list[ChatHistoryViewer]):
    def factory(**kwargs) -> ChatHistoryViewer:
        viewer = ChatHistoryViewer(kwargs.pop("client", client), **kwargs)
        viewers.append(viewer)
        return viewer

    return factory


def shown(viewer: ChatHistoryViewer) -> list[int]:
    return [i for i, _ in viewer.items]


def status(viewer: ChatHistoryViewer) -> str:
    """The status line's text; the live region itself is always there."""
    assert 'role="status" aria-live="polite"' in viewer._status.value
    return viewer._status_line.text


def tree(viewer: ChatHistoryViewer) -> list[widgets.Widget]:
    """The viewer and every widget it shows (children, layouts and styles), found by walking the page."""
    found: list[widgets.Widget] = []
    todo: list[widgets.Widget] = [viewer]
    while todo:
        child = todo.pop()
        if any(child is w for w in found):
            continue
        found.append(child)
        todo += [*getattr(child, "children", ()), getattr(child, "layout", None), getattr(child, "style", None)]
        todo = [w for w in todo if isinstance(w, widgets.Widget)]
    return found


def open_more(viewer: ChatHistoryViewer) -> None:
    """Open the "More ▾" panel (reading options, export) the way a reader does: click its toggle."""
    assert not viewer._more.expanded and viewer._more_toggle.description == "More ▾"
    viewer._more_toggle.click()
    assert viewer._more.expanded and viewer._more_toggle.description == "Less ▴"
    assert any(w is viewer._more.box for w in tree(viewer)) and viewer._more.box.layout.display is None


def buttons(viewer: ChatHistoryViewer) -> list[widgets.Button]:
    return [w for w in tree(viewer) if isinstance(w, widgets.Button)]


def html_values(viewer: ChatHistoryViewer) -> str:
    return "\n".join(w.value for w in tree(viewer) if isinstance(w, widgets.HTML))


def snapshot(client: redis.Redis, sid: str) -> tuple[int, dict[bytes, bytes | None]]:
    return client.dbsize(), {k: client.dump(k) for k in sorted(client.scan_iter(match=f"*{sid}*"))}


def download(viewer: ChatHistoryViewer) -> tuple[str, str, str]:
    found = re.search(r'download="([^"]+)" href="data:([^;]+);charset=utf-8;base64,([^"]+)"', viewer._export_link.value)
    assert found, viewer._export_link.value
    return found.group(1), found.group(2), base64.b64decode(found.group(3)).decode("utf-8")


def commandstats(client: redis.Redis) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in client.info("commandstats").items()}


# -- session list ---------------------------------------------------------------


def test_session_list(client: redis.Redis, session_id: str, make):
    seed(client, f"{session_id}:a", conversation(3))
    seed(client, f"{session_id}:b", [SystemMessage("only one")])
    client.expire(f"{session_id}:b", 500)
    client.rpush(f"{session_id}:plain", "not", "messages")
    client.set(f"{session_id}:string", "x")
    viewer = make(match=f"{session_id}*")
    rows = dict((value, label) for label, value in viewer._session_select.options)
    assert set(rows) == {f"{session_id}:a", f"{session_id}:b"}
    a, b = rows[f"{session_id}:a"].split(" · "), rows[f"{session_id}:b"].split(" · ")
    assert a[:3] == [f"{session_id}:a", "memstore", "3 messages"] and a[4:] == ["no TTL", a[5], "human: question 2"]
    assert b[:3] == [f"{session_id}:b", "memstore", "1 message"] and b[4] == "TTL 8m" and b[-1] == "system: only one"
    assert a[3].startswith("last activity ") and a[3].endswith(" ago")
    assert viewer.session_id is None and viewer._session_select.index is None
    assert "2 sessions" in viewer._scan_status.value and viewer._more_button.disabled
    viewer._session_select.value = f"{session_id}:b"
    assert viewer.session_id == f"{session_id}:b" and shown(viewer) == [0]


def test_scan_more_and_pattern(client: redis.Redis, session_id: str, make):
    for i in range(5):
        seed(client, f"{session_id}:s{i}", conversation(1))
    seed(client, f"{session_id}-other", conversation(1))
    viewer = make(match=f"{session_id}:*")
    viewer.rows_per_scan = 2
    viewer._scan_button.click()
    assert len(viewer._session_select.options) == 2 and not viewer._more_button.disabled
    viewer._more_button.click()
    viewer._more_button.click()
    values = [v for _, v in viewer._session_select.options]
    assert sorted(values) == [f"{session_id}:s{i}" for i in range(5)] and len(set(values)) == 5
    assert viewer._more_button.disabled
    viewer._match_text.value = f"{session_id}-*"  # the text box drives the trait, which rescans
    assert viewer.match == f"{session_id}-*"
    assert [v for _, v in viewer._session_select.options] == [f"{session_id}-other"]


def test_sort_box_and_controls_made_when_needed(client: redis.Redis, session_id: str, make):
    for name, n in (("a", 3), ("b", 1), ("c", 5)):
        seed(client, f"{session_id}:{name}", conversation(n))
    viewer = make(match=f"{session_id}*", rows_per_scan=50)
    ids = lambda: [v.rsplit(":", 1)[1] for _, v in viewer._session_select.options]  # noqa: E731
    labels = {b.description for b in buttons(viewer)}
    assert "Scan more" not in labels and viewer._table._more is None  # everything listed: never made
    assert "‹ Hit" not in labels and "Hit ›" not in labels  # made by the first search
    headers = viewer._table.headers
    assert viewer._table.sort_by == "activity" and headers["activity"].description == "Last activity ▼"
    headers["messages"].click()  # the column header sorts, most first
    assert ids() == ["c", "a", "b"] and headers["messages"].description == "Messages ▼"
    headers["messages"].click()  # the same column again reverses
    assert ids() == ["b", "a", "c"] and headers["messages"].description == "Messages ▲"
    assert headers["activity"].description == "Last activity"
    viewer._table.sort("session")
    assert ids() == ["a", "b", "c"]
    viewer.session_id = f"{session_id}:c"
    viewer.search = "answer"
    viewer._find_button.click()
    row = list(viewer._finder.widget.children)
    find = row.index(viewer._find_button)
    assert row[find + 1 : find + 3] == [viewer._prev_hit_button, viewer._next_hit_button]
    assert viewer.hit == 3
    viewer._next_hit_button.click()
    assert viewer.hit == 1


def test_session_id_with_html_is_escaped(client: redis.Redis, session_id: str, make):
    key = f"{session_id}{XSS}"
    seed(client, key, [HumanMessage(XSS), AIMessage("<script>alert(2)</script>")])
    viewer = make(match=f"{session_id}*")
    label, value = viewer._session_select.options[0]
    assert value == key and label.startswith(key)  # a Select shows labels as text, never as HTML
    viewer.session_id = key
    viewer._export_json_button.click()
    everything = html_values(viewer)
    assert "<img" not in everything and "<script" not in everything
    assert html_values(viewer).count("&lt;img src=x onerror=alert(1)&gt;") >= 2  # header and message
    assert 'download="test-' in viewer._export_link.value and "<img" not in viewer._export_link.value


# -- reading ------------------------------------------------------------------------


def test_paging_newest_first(client: redis.Redis, session_id: str, make):
    seed(client, session_id, conversation(120))
    viewer = make(session_id=session_id, page_size=50)
    assert (viewer.page, viewer.pages, shown(viewer)) == (0, 3, list(range(70, 120)))
    assert "120 messages" in viewer._header.value and "page 1 of 3, newest first" in viewer._header.value
    assert viewer._first_button.disabled and viewer._prev_button.disabled
    viewer._next_button.click()
    assert shown(viewer) == list(range(20, 70))
    viewer._next_button.click()
    assert shown(viewer) == list(range(20)) and viewer._next_button.disabled
    viewer._next_button.click()
    assert viewer.page == 2
    viewer._first_button.click()
    assert shown(viewer)[0] == 70
    viewer._last_button.click()
    assert shown(viewer) == list(range(20))
    viewer._prev_button.click()
    assert viewer.page == 1
    viewer.page = 99  # clamped
    assert viewer.page == 2
    assert "question 0" in viewer._transcript.value and "answer 119" not in viewer._transcript.value


def test_paging_oldest_first_and_jump(client: redis.Redis, session_id: str, make):
    seed(client, session_id, conversation(120))
    viewer = make(session_id=session_id, page_size=50)
    open_more(viewer)
    viewer._order_checkbox.value = True
    assert viewer.oldest_first and viewer.page == 0 and shown(viewer) == list(range(50))
    viewer._last_button.click()
    assert shown(viewer) == list(range(100, 120))
    viewer._jump_input.value = "75"  # Enter in "message #" jumps: the message comes first, at the top
    assert shown(viewer) == list(range(75, 120))
    viewer._prev_button.click()  # back to page-aligned paging: the page before #75's page
    assert shown(viewer) == list(range(0, 50))
    viewer.jump_to(-1)
    assert shown(viewer) == [119]
    viewer._jump_input.value = "120"
    assert "out of range" in status(viewer) and shown(viewer) == [119]
    viewer.jump_to(100)
    viewer.page_size = 10  # keeps the oldest message shown in view
    assert shown(viewer) == list(range(100, 110))
    viewer.page_size = 0
    assert viewer.page_size == 1


def test_refresh_sees_new_messages(client: redis.Redis, session_id: str, make):
    history = seed(client, session_id, conversation(3))
    viewer = make(session_id=session_id)
    history.add_message(AIMessage("late answer"))
    assert "late answer" not in viewer._transcript.value
    open_more(viewer)
    viewer._refresh_button.click()
    assert "late answer" in viewer._transcript.value and viewer.length == 4


def test_role_filter(client: redis.Redis, session_id: str, make):
    seed(client, session_id, [SystemMessage("rules"), *conversation(6)])
    viewer = make(session_id=session_id)
    open_more(viewer)
    viewer._role_dropdown.value = "ai"
    assert viewer.role_filter == "ai"
    page = viewer._transcript.value
    assert "answer 1" in page and "answer 5" in page and "question" not in page and "rules" not in page
    viewer.role_filter = "critic"  # a custom ChatMessage role joins the choices
    assert viewer._role_dropdown.value == "critic"
    assert "No critic messages in this session" in viewer._transcript.value
    viewer.role_filter = ""
    assert "rules" in viewer._transcript.value and "question 0" in viewer._transcript.value


def test_more_panel_is_built_on_first_click_and_its_controls_work(client: redis.Redis, session_id: str, make):
    messages = conversation(120)
    history = seed(client, session_id, messages)
    viewer = make(session_id=session_id, page_size=50)
    more = viewer._more
    toggle = viewer._more_toggle
    before = tree(viewer)
    # Not built: none of its controls exists, on the page or off it.
    assert not more.built and "_box" in vars(more) and "order_checkbox" not in vars(more)
    assert not any(isinstance(w, widgets.ToggleButton) for w in before)
    assert [w for w in before if isinstance(w, widgets.Dropdown)] == []  # no role box
    assert not {"Refresh", "Go to #", "Export JSON", "Export Markdown"} & {b.description for b in buttons(viewer)}
    # The toggle: in the pager's row, 32 px, its state in its text and tooltip (its accessible name and description).
    assert any(toggle is w for w in viewer._view.pager.children)  # 32 px: the stylesheet (tests/browser)
    assert toggle.description == "More ▾" and "collapsed" in toggle.tooltip and "export" in toggle.tooltip
    open_more(viewer)
    after = tree(viewer)
    assert more.built and "expanded" in toggle.tooltip and len(after) > len(before)
    box = more.box
    assert {"Refresh", "Go to #", "Export JSON", "Export Markdown"} <= {b.description for b in buttons(viewer)}
    for control in (viewer._jump_input, viewer._page_size_input):  # Enter submits; each has an accessible name
        assert control.continuous_update is False and control.placeholder
    assert not viewer._jump_button.disabled and not viewer._export_json_button.disabled
    # Its controls work once opened.
    viewer._order_checkbox.value = True
    assert viewer.oldest_first and shown(viewer) == list(range(50))
    viewer._page_size_input.value = "10"
    assert viewer.page_size == 10 and shown(viewer) == list(range(10))
    viewer._jump_input.value = "77"
    assert shown(viewer)[0] == 77
    assert "msnb-raw" not in viewer._transcript.value
    viewer._raw_toggle.value = True
    assert "msnb-raw" in viewer._transcript.value and viewer._raw_toggle.value
    viewer._role_dropdown.value = "human"
    assert viewer.role_filter == "human" and all(i % 2 == 0 for i in shown(viewer))
    viewer._role_dropdown.value = ""
    history.add_message(AIMessage("late answer"))
    viewer._refresh_button.click()
    assert viewer.length == 121
    viewer._export_md_button.click()
    assert download(viewer)[0] == f"{session_id}.md"
    # Traits set from code show in the panel (the links run both ways).
    viewer.oldest_first = False
    assert viewer._order_checkbox.value is False
    # Closing hides it (its space too); opening again shows the same panel, not a new one.
    toggle.click()
    assert not more.expanded and box.layout.display == "none" and toggle.description == "More ▾"
    assert "collapsed" in toggle.tooltip
    toggle.click()
    assert more.expanded and more.box is box and box.layout.display is None


def test_more_panel_controls_asked_for_from_code_build_it_closed(client: redis.Redis, session_id: str, make):
    seed(client, session_id, conversation(30))
    viewer = make(session_id=session_id, page_size=10)
    viewer.role_filter = "critic"  # set before the panel exists: the dropdown starts with it
    viewer.role_filter = ""
    assert not viewer._more.built
    viewer._order_checkbox.value = True  # code asking for a control builds the panel, closed
    assert viewer._more.built and not viewer._more.expanded and viewer._more.box.layout.display == "none"
    assert viewer.oldest_first and shown(viewer) == list(range(10))
    assert ("critic", "critic") not in viewer._role_dropdown.options
    viewer.role_filter = "critic"
    assert viewer._role_dropdown.value == "critic"


def test_search_jumps_to_hits(client: redis.Redis, session_id: str, make):
    messages = conversation(300)
    messages[5] = HumanMessage("Where is the NEEDLE?")
    messages[250] = AIMessage("found the needle")
    messages[260] = AIMessage("nothing here")
    seed(client, session_id, messages)
    viewer = make(session_id=session_id, page_size=20)
    viewer.chunk_size = 64
    viewer._search_text.value = "nEEdle"  # typed: the page marks it; Find waits for Enter
    assert viewer._hits == []
    page_enter(viewer._search_text)  # Enter in the box runs Find
    assert viewer._hits == [250, 5]  # newest first, like the pages
    assert viewer._search_progress.value == viewer._search_progress.max == 300
    viewer._find_button.click()
    assert viewer._hits == [250, 5]
    assert viewer.hit == 250 and 250 in shown(viewer)
    assert "hit 1 of 2" in viewer._search_status.value
    assert viewer._search_progress.value == viewer._search_progress.max == 300
    assert "<mark" in viewer._transcript.value
    viewer._next_hit_button.click()
    assert viewer.hit == 5 and 5 in shown(viewer) and viewer.page == (299 - 5) // 20
    viewer._next_hit_button.click()
    assert viewer.hit == 250
    viewer._prev_hit_button.click()
    assert viewer.hit == 5
    viewer.search = "<b>absent</b>"
    viewer._find_button.click()
    assert viewer.hit is None and "no message contains" in viewer._search_status.value
    assert "<b>absent" not in viewer._search_status.value


def test_corrupt_entries_show_as_unreadable(client: redis.Redis, session_id: str, make):
    client.rpush(session_id, encode_message(HumanMessage("fine")), "{broken <script>", json.dumps({"type": "ai"}))
    viewer = make(session_id=session_id)
    page = viewer._transcript.value
    assert "unreadable entry #1" in page and "unreadable entry #2" in page and "fine" in page
    assert "<script" not in page and "{broken &lt;script&gt;" in page
    assert status(viewer) == ""
    viewer.role_filter = "unreadable"
    assert shown(viewer) == [1, 2] and "fine" not in viewer._transcript.value


# -- export ---------------------------------------------------------------------


def test_export_json_and_markdown(client: redis.Redis, session_id: str, make):
    messages = [SystemMessage("be nice"), *conversation(45), AIMessage("ünïcödé ✓")]
    history = seed(client, session_id, messages)
    viewer = make(session_id=session_id)
    viewer.chunk_size = 10
    open_more(viewer)
    viewer._export_json_button.click()
    name, mime, text = download(viewer)
    assert (name, mime) == (f"{session_id}.json", "application/json")
    assert json.loads(text) == messages_to_dict(history.messages)
    assert viewer._export_progress.value == viewer._export_progress.max == 47
    viewer._export_md_button.click()
    name, mime, text = download(viewer)
    assert (name, mime) == (f"{session_id}.md", "text/markdown")
    assert text == to_markdown(history.messages, title=session_id)
    assert "ünïcödé ✓" in text


def test_export_too_large_for_a_link_is_written_to_a_file(
    client: redis.Redis, session_id: str, make, tmp_path, monkeypatch
):
    monkeypatch.setenv("MEMSTORE_NB_EXPORT_DIR", str(tmp_path))
    history = seed(client, session_id, conversation(40))
    viewer = make(session_id=session_id)
    viewer.max_link_bytes = 1000
    path = viewer.export_json()
    assert path == str(tmp_path / f"{session_id}.json")
    assert json.loads(Path(path).read_text()) == messages_to_dict(history.messages)  # everything, in the file
    link = viewer._export_link.value
    assert "href" not in link and "too large for a download link" in link and path in link
    assert f"memstore-nb show {session_id} --json --endpoint redis://127.0.0.1:" in link
    assert viewer.export_json() == str(tmp_path / f"{session_id}-1.json")  # never over another file
    md = tmp_path / "chosen.md"
    assert viewer.export_markdown(path=md) == str(md)
    assert md.read_text() == to_markdown(history.messages, title=session_id)


def test_export_notes_unreadable_entries(client: redis.Redis, session_id: str, make):
    client.rpush(session_id, encode_message(HumanMessage("fine")), "garbage")
    viewer = make(session_id=session_id)
    viewer._export_json_button.click()
    assert json.loads(download(viewer)[2]) == messages_to_dict([HumanMessage("fine")])
    assert "1 unreadable entries left out" in viewer._export_link.value


# -- safety ---------------------------------------------------------------------


def test_read_only_by_default(client: redis.Redis, session_id: str, make):
    seed(client, f"{session_id}:a", conversation(30))
    seed(client, f"{session_id}:b", conversation(3))
    before = snapshot(client, session_id)
    viewer = make(match=f"{session_id}*", session_id=f"{session_id}:a", page_size=7)
    assert not hasattr(viewer, "_edit_box") and not hasattr(viewer, "_delete_button")  # no editing widgets at all
    viewer.search = "answer"
    open_more(viewer)  # its buttons are clicked too
    clicked = buttons(viewer)
    assert len(clicked) > 10
    for _ in range(2):
        for button in clicked:
            button.click()
    for handler in (viewer._append_clicked, viewer._delete_clicked, viewer._confirm_delete_clicked):
        handler()
        assert "read-only" in status(viewer)
    assert snapshot(client, session_id) == before
    viewer._next_button.click()  # still usable
    assert viewer.session_id == f"{session_id}:a" and len(shown(viewer)) == 7


def test_editable_delete_needs_confirmation(client: redis.Redis, session_id: str, make):
    seed(client, f"{session_id}:keep", conversation(2))
    history = seed(client, f"{session_id}:del", conversation(12))
    viewer = make(match=f"{session_id}*", session_id=f"{session_id}:del", editable=True)
    assert viewer._edit_box in viewer._reader.children and viewer._reader in viewer.children
    viewer._confirm_delete_button.click()  # no question asked yet: nothing happens
    assert len(history) == 12 and "first" in status(viewer)
    viewer._delete_button.click()
    assert len(history) == 12
    assert viewer._confirm_box.layout.display is None
    assert "12 messages" in viewer._confirm_html.value and viewer._confirm_delete_button.description == (
        "Yes, delete 12 messages"
    )
    viewer._cancel_delete_button.click()
    viewer._confirm_delete_button.click()
    assert len(history) == 12
    viewer._delete_button.click()
    history.add_message(AIMessage("written meanwhile"))
    viewer._confirm_delete_button.click()  # the count changed: ask again
    assert len(history) == 13 and "13 messages" in viewer._confirm_delete_button.description
    viewer._confirm_delete_button.click()
    assert not client.exists(f"{session_id}:del") and client.exists(f"{session_id}:keep")
    assert viewer.session_id is None
    assert [v for _, v in viewer._session_select.options] == [f"{session_id}:keep"]
    assert "deleted session" in status(viewer)


def test_editable_append(client: redis.Redis, session_id: str, make):
    seed(client, session_id, conversation(60))
    viewer = make(session_id=session_id, editable=True)
    viewer._next_button.click()
    viewer._append_role.value = "ai"
    viewer._append_text.value = "<i>appended</i> by hand"
    viewer._append_button.click()
    assert MemorystoreChatMessageHistory(client, session_id)[-1] == AIMessage("<i>appended</i> by hand")
    assert viewer.page == 0 and shown(viewer)[-1] == 60 and "&lt;i&gt;appended" in viewer._transcript.value
    viewer._append_button.click()  # empty text: refused, nothing written
    assert client.llen(session_id) == 61 and "type the message text" in status(viewer)


def test_session_deleted_while_open(client: redis.Redis, session_id: str, make):
    seed(client, f"{session_id}:a", conversation(120))
    seed(client, f"{session_id}:b", conversation(2))
    viewer = make(match=f"{session_id}*", session_id=f"{session_id}:a")
    client.delete(f"{session_id}:a")
    viewer._next_button.click()
    assert "does not exist any more" in status(viewer)
    # The vanished session leaves the screen: its row, header and transcript.
    assert viewer.session_id is None and shown(viewer) == [] and "question" not in viewer._transcript.value
    assert [v for _, v in viewer._session_select.options] == [f"{session_id}:b"]
    assert f"{session_id}:a" not in viewer._header.value
    viewer._export_json_button.click()
    assert "open a session first" in status(viewer) or viewer._export_json_button.disabled
    viewer._session_select.value = f"{session_id}:b"
    assert status(viewer) == "" and shown(viewer) == [0, 1]


def test_wrong_type_key(client: redis.Redis, session_id: str, make):
    client.hset(session_id, "a", "b")
    viewer = make(session_id=session_id)
    assert "holds a Redis hash" in status(viewer) and shown(viewer) == []
    seed(client, f"{session_id}:ok", conversation(1))
    viewer.session_id = f"{session_id}:ok"
    assert status(viewer) == "" and shown(viewer) == [0]


def test_connection_lost_and_back(make, viewers):
    with start_local_redis() as server:
        conn = redis.Redis.from_url(server.url, protocol=2, retry=None, socket_timeout=2)
        seed(conn, "s1", conversation(4))
        viewer = make(client=conn, session_id="s1")
        server.kill()  # as a crash would
        viewer._refresh_button.click()
        assert "Lost the connection to Redis" in status(viewer)
        viewer._scan_button.click()
        assert "Lost the connection to Redis" in status(viewer)
        server.start()
        seed(conn, "s1", conversation(2))
        viewer._refresh_button.click()
        assert status(viewer) == "" and shown(viewer) == [0, 1]
        viewer.close()
        conn.close()


def test_no_secret_in_widget_state(client: redis.Redis, redis_url: str, session_id: str, make):
    client.acl_setuser("msnb-viewer", enabled=True, passwords=["+s3cret-Pa55"], keys="*", commands=["+@all"])
    try:
        conn = redis.Redis.from_url(redis_url, protocol=2, username="msnb-viewer", password="s3cret-Pa55")
        seed(conn, session_id, conversation(2))
        viewer = make(client=conn, session_id=session_id, match=f"{session_id}*")
        state = json.dumps([w.get_state() for w in tree(viewer)])
        assert session_id in state and "s3cret" not in state and "s3cret" not in repr(viewer)
        assert redact("AUTH msnb-viewer s3cret-Pa55 failed", viewer._client) == "AUTH <REDACTED> <REDACTED> failed"
        conn.close()
    finally:
        client.acl_deluser("msnb-viewer")


def _in_a_kernel_loop(build):
    """Run ``build()`` inside a running asyncio loop, as a notebook or Voilà cell runs; returns what it
    returned and what ``after()`` (given that) returned on the loop's next turn."""

    async def cell():
        made = build()
        before = after(made)
        await asyncio.sleep(0)
        return made, before, after(made)

    def after(viewer):
        return len(viewer._table.widget.children), viewer._table.built

    return asyncio.run(cell())


def test_in_a_kernel_the_session_shows_first_and_the_table_fills_on_the_next_turn(
    client: redis.Redis, session_id: str, make
):
    seed(client, f"{session_id}:a", conversation(3))
    seed(client, f"{session_id}:b", conversation(2))
    viewer, before, after = _in_a_kernel_loop(lambda: make(match=f"{session_id}*", session_id=f"{session_id}:b"))
    assert before == (0, False)  # the cell ends with the transcript on the page and the column still empty
    assert after == (3, True)  # then the table is made and listed, without anyone touching it
    assert shown(viewer) == [0, 1] and status(viewer) == ""
    assert sorted(v for _, v in viewer._session_select.options) == [f"{session_id}:a", f"{session_id}:b"]  # SCAN order
    assert viewer._session_select.value == f"{session_id}:b"  # the open session's row is highlighted
    assert viewer._match_text.value == f"{session_id}*"
    viewer._session_select.value = f"{session_id}:a"
    assert viewer.session_id == f"{session_id}:a" and shown(viewer) == [0, 1, 2]


def test_in_a_kernel_code_that_reads_the_table_at_once_finds_it_listed(client: redis.Redis, session_id: str, make):
    seed(client, f"{session_id}:a", conversation(1))

    async def cell():
        viewer = make(match=f"{session_id}*", session_id=f"{session_id}:a")
        return [v for _, v in viewer._session_select.options]  # before the loop's next turn

    assert asyncio.run(cell()) == [f"{session_id}:a"]


def test_in_a_kernel_a_viewer_closed_at_once_lists_nothing(client: redis.Redis, session_id: str, make):
    seed(client, f"{session_id}:a", conversation(1))

    def build_and_close() -> ChatHistoryViewer:
        viewer = make(match=f"{session_id}*", session_id=f"{session_id}:a")
        viewer.close()
        return viewer

    _, before, after = _in_a_kernel_loop(build_and_close)
    assert before == after == (0, False)


def test_in_a_kernel_an_error_opening_the_session_stays_after_the_listing(client: redis.Redis, session_id: str, make):
    client.hset(session_id, "a", "b")
    viewer, _, after = _in_a_kernel_loop(lambda: make(match=f"{session_id}*", session_id=session_id))
    assert after == (3, True) and "holds a Redis hash" in status(viewer)


# -- cost and live follow ---------------------------------------------------------


def test_opening_100k_session_costs_one_llen_and_one_lrange(client: redis.Redis, session_id: str, make):
    template = encode_message(HumanMessage("MSG"))
    client.rpush(session_id, *[template.replace("MSG", f"message {i}") for i in range(100_000)])
    viewer = make(match=f"{session_id}-none*", page_size=50)
    before = commandstats(client)
    started = time.perf_counter()
    viewer.session_id = session_id
    elapsed = time.perf_counter() - started
    after = commandstats(client)
    delta = {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0)}
    delta.pop("info", None)
    assert delta.pop("llen") == 1 and delta.pop("lrange") == 1
    assert set(delta) <= {"ttl", "memory", "memory|usage"} and all(n == 1 for n in delta.values())
    assert shown(viewer) == list(range(99_950, 100_000)) and "100,000 messages" in viewer._header.value
    assert elapsed < 1.0


def test_follow_polls_and_stops(client: redis.Redis, session_id: str, make):
    history = seed(client, session_id, conversation(3))
    viewer = make(session_id=session_id)
    assert not viewer.following
    viewer.follow_interval = 0.05
    open_more(viewer)
    viewer._follow_checkbox.value = True
    assert viewer.follow and viewer.following
    history.add_message(AIMessage("live update"))
    deadline = time.monotonic() + 5
    while "live update" not in viewer._transcript.value and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "live update" in viewer._transcript.value and viewer.length == 4
    viewer.follow = False
    assert not viewer.following
    viewer.follow = True
    assert viewer.following
    viewer.close()
    assert not viewer.following and not viewer.follow


# -- Redis Cluster ------------------------------------------------------------------


def test_viewer_on_standalone_and_cluster(any_client, any_session_id: str, viewers):
    sid = any_session_id
    history = seed(any_client, f"{sid}:a", conversation(130))
    for i in range(6):
        seed(any_client, f"{sid}:s{i}", conversation(2))
    any_client.rpush(f"{sid}:plain", "x")
    viewer = ChatHistoryViewer(any_client, match=f"{sid}*", page_size=50)
    viewers.append(viewer)
    assert {v for _, v in viewer._session_select.options} == {f"{sid}:a"} | {f"{sid}:s{i}" for i in range(6)}
    viewer._session_select.value = f"{sid}:a"
    assert shown(viewer) == list(range(80, 130)) and status(viewer) == ""
    viewer._last_button.click()
    assert shown(viewer) == list(range(30))
    viewer.search = "answer 101"
    viewer._find_button.click()
    assert viewer.hit == 101 and 101 in shown(viewer)
    viewer._export_json_button.click()
    assert json.loads(download(viewer)[2]) == messages_to_dict(history.messages)
    any_client.delete(f"{sid}:a")
    viewer._refresh_button.click()
    assert "does not exist any more" in status(viewer)


def from_page(widget: widgets.Widget, data: dict) -> None:
    """Deliver a comm message to ``widget`` exactly as the page's widget manager sends it."""
    msg = {"content": {"comm_id": widget.model_id, "data": data}, "buffers": [], "metadata": {}}
    comm = widget.comm
    handle = getattr(comm, "handle_msg", None)
    if handle is not None and getattr(comm, "_msg_callback", None) is not None:
        handle(msg)
    else:
        widget._handle_msg(msg)


def page_update(widget: widgets.Widget, state: dict) -> None:
    from_page(widget, {"method": "update", "state": state, "buffer_paths": []})


def page_click(button: widgets.Button) -> None:
    from_page(button, {"method": "custom", "content": {"event": "click"}})


def page_enter(box: widgets.Text) -> None:
    """Enter in a text box, as the page's widget manager reports it."""
    from_page(box, {"method": "custom", "content": {"event": "submit"}})


def test_page_cannot_turn_writing_on(client: redis.Redis, session_id: str, make):
    """Issue 9 part 4: read-only is decided in Python; no comm message from the page can turn writing on."""
    history = seed(client, session_id, conversation(6))
    seed(client, f"{session_id}:other", conversation(3))
    viewer = make(match=f"{session_id}*", session_id=session_id)
    assert viewer.editable is False
    page_update(viewer, {"editable": True})
    viewer.set_state({"editable": True, "session_id": f"{session_id}:other"})
    for state in ({"editable": True}, {"_editable": True}):
        page_update(viewer, state)
    assert viewer.editable is False and viewer.session_id == session_id
    # A read-only viewer has no editing widgets the page could click; its handlers refuse too.
    assert not hasattr(viewer, "_delete_button") and not hasattr(viewer, "_edit_box")
    page_click(viewer._more_toggle)  # the More panel's buttons too
    assert viewer._more.expanded
    for button in buttons(viewer):
        page_click(button)
    viewer._delete_clicked()
    viewer._confirm_delete_clicked()
    assert len(history) == 6 and client.exists(f"{session_id}:other")
    assert "read-only" in status(viewer)
    assert "editable" not in viewer.keys and "session_id" not in viewer.keys


def test_confirm_applies_only_to_the_session_asked_about(client: redis.Redis, session_id: str, make):
    first = seed(client, f"{session_id}:a", conversation(4))
    second = seed(client, f"{session_id}:b", conversation(4))
    viewer = make(match=f"{session_id}*", session_id=f"{session_id}:a", editable=True)
    page_click(viewer._delete_button)
    assert "4 messages" in viewer._confirm_html.value
    viewer._session.transcript = open_transcript(client, f"{session_id}:b")  # swapped under the question
    page_click(viewer._confirm_delete_button)
    assert len(first) == 4 and len(second) == 4
    assert "nothing was deleted" in status(viewer)


def test_redis_down_is_said_within_the_client_timeout(make, viewers):
    """Issue 11 item 5: with a retrying client, the status says Redis is not answering within its timeout."""
    from memstore_nb import connect

    with start_local_redis() as server:
        conn = connect(server.url, timeout=1.0)  # retries refused connections for up to 5 s
        seed(conn, "s1", conversation(4))
        viewer = make(client=conn, session_id="s1")
        server.kill()
        conn.connection_pool.disconnect()
        worker = threading.Thread(target=viewer.refresh, daemon=True)
        started = time.monotonic()
        worker.start()
        said = None
        while time.monotonic() - started < 8 and said is None:
            if "has not answered" in status(viewer) or "Lost the connection" in status(viewer):
                said = time.monotonic() - started
            time.sleep(0.02)
        worker.join(timeout=10)
        assert said is not None and said < 1.6, (said, status(viewer))
        assert "Lost the connection to Redis" in status(viewer)  # and the final word, once the client gives up
        server.start()  # an empty server: the test's data went with the old process
        seed(conn, "s1", conversation(2))
        viewer.refresh()
        assert status(viewer) == "" and shown(viewer) == [0, 1]  # the error clears on the next success
        conn.close()


def test_busy_note_for_slow_steps_only(client: redis.Redis, session_id: str, make):
    from memstore_nb.viewer.parts import StatusLine

    line = StatusLine()
    with line.working("reading", timeout=5):
        assert line.text == "" and 'role="status"' in line.widget.value
    seen = []
    with line.working("reading", timeout=5, after=0.05):
        time.sleep(0.3)
        seen.append(line.widget.value)
    assert 'role="status"' in seen[0] and "reading…" in seen[0] and line.text == ""
    assert 'role="status" aria-live="polite"' in line.widget.value  # the region stays, empty
