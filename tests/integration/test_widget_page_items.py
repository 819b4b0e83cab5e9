"""Issue 20's page items in the viewer, driven from Python against a real redis-server.

Each test names the defect it holds; each fails on the code before the fix.
"""

from __future__ import annotations

import html
import json
import re
import stat
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
import redis
from langchain_core.messages import AIMessage, HumanMessage, message_to_dict, messages_to_dict

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.errors import MemstoreError
from memstore_nb.units import size
from memstore_nb.viewer import ChatHistoryViewer

# -- issue 20 item 5: labels, a hit in a short session, the hit note, the header's stats ---------------


def _head(viewer) -> str:
    return re.sub(r"<[^>]+>", "", viewer._header.value)


def _seed(client: redis.Redis, key: str, n: int) -> MemorystoreChatMessageHistory:
    history = MemorystoreChatMessageHistory(client, key)
    history.add_messages([HumanMessage(f"message {i}") for i in range(n)])
    return history


def test_the_page_label_after_a_jump_and_another_order(client: redis.Redis, session_id: str) -> None:
    """Before: a jump, then "oldest first", kept the old jump's window under "page 1" ("#1,234–#1,283 (page 1
    of 60)")."""
    _seed(client, session_id, 3000)
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        viewer.jump_to(1234)
        viewer.oldest_first = True  # another order starts on its first page, not at the old jump
        assert [i for i, _ in viewer.items] == list(range(50))
        assert "showing #0–#49 (page 1 of 60, oldest first)" in _head(viewer)
        viewer.jump_to(1234)  # a window that starts at a message says so, and where that message is
        assert "showing #1,234–#1,283 (from #1,234, on page 25 of 60, oldest first)" in _head(viewer)
        viewer.oldest_first = False
        viewer.jump_to(1234)
        assert "showing #1,185–#1,234 (from #1,234, on page 36 of 60, newest first)" in _head(viewer)
    finally:
        viewer.close()


def test_a_hit_in_a_short_session_hides_nothing(client: redis.Redis, session_id: str) -> None:
    _seed(client, session_id, 12)
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        viewer.search = "message 5"
        viewer.find()
        assert viewer.hit == 5 and [i for i, _ in viewer.items] == list(range(12))  # #6-#11 stay in view
        assert 'msnb-hit-current" id="msnb-msg-5"' in viewer._transcript.value
        assert "showing #0–#11 (page 1 of 1, newest first)" in _head(viewer)
        assert all(b.disabled for b in (viewer._first_button, viewer._prev_button, viewer._next_button))
    finally:
        viewer.close()


def test_the_hit_note_follows_the_reader_away(client: redis.Redis, session_id: str) -> None:
    _seed(client, session_id, 300)
    viewer = ChatHistoryViewer(client, session_id=session_id, page_size=20)
    try:
        viewer.search = "message 15"
        viewer.find()
        assert "hit 1 of 11: message #159" in viewer._search_status.value
        viewer._next_button.click()
        assert "hit 1 of" not in viewer._search_status.value and "11 hits" in viewer._search_status.value
        viewer._next_hit_button.click()
        assert "hit 2 of 11: message #158" in viewer._search_status.value
    finally:
        viewer.close()


def test_the_header_reads_its_stats_again_and_uses_the_table_units(client: redis.Redis, session_id: str) -> None:
    history = _seed(client, session_id, 3)
    viewer = ChatHistoryViewer(client, session_id=session_id, match=f"{session_id}*")
    try:
        memory = client.memory_usage(session_id)
        assert f"no expiry · {size(memory)} · showing" in _head(viewer)  # the table's units, not "N bytes"
        history.add_messages([AIMessage("x" * 5000)])
        viewer._scan_button.click()  # the header agrees with the fresh row
        memory = client.memory_usage(session_id)
        assert f"4 messages · no expiry · {size(memory)}" in _head(viewer)
        row = next(label for label, value in viewer._session_select.options if value == session_id)
        assert size(memory) in row
        client.expire(session_id, 3300)
        viewer.follow_interval = 0.05
        viewer.follow = True  # a follow step shows a new TTL though no message came
        deadline = time.monotonic() + 5
        while "expires in" not in _head(viewer) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "expires in 54m" in _head(viewer) or "expires in 55m" in _head(viewer)
    finally:
        viewer.close()


# -- item 3: one lone-surrogate message never blanks the page ----------------------------------------------

LONE = chr(0xD800)


def _wire(viewer: ChatHistoryViewer) -> None:
    """Every widget's state packs as the kernel packs a message to the page (jupyter_client's json_packer):
    one string that UTF-8 cannot carry fails the whole state and leaves the page "Loading widget..."."""
    todo, seen = [viewer], []
    while todo:
        widget = todo.pop()
        if any(widget is w for w in seen):
            continue
        seen.append(widget)
        state = widget.get_state()
        json.dumps(state, ensure_ascii=False, allow_nan=False, default=str).encode("utf8", errors="surrogateescape")
        todo += [w for w in (*getattr(widget, "children", ()), getattr(widget, "layout", None)) if w is not None]


def test_a_lone_surrogate_message_is_shown_escaped_and_the_rest_works(client: redis.Redis, session_id: str) -> None:
    bad, good = f"{session_id}:bad", f"{session_id}:good"
    # Valid JSON (an escape), as any client may store it: json.loads gives back the lone surrogate.
    client.rpush(bad, json.dumps(message_to_dict(HumanMessage(f"broken {LONE} text"))))
    _seed(client, good, 2)
    viewer = ChatHistoryViewer(client, match=f"{session_id}*", session_id=bad)
    try:
        _wire(viewer)  # raised UnicodeEncodeError (the table row and the transcript held the character)
        assert "broken \\ud800 text" in viewer._transcript.value
        row = next(label for label, value in viewer._session_select.options if value == bad)
        assert "broken \\ud800 text" in row
        text = viewer.export_json()
        assert json.loads(text)[0]["data"]["content"] == f"broken {LONE} text"  # the same value, encodable
        assert "broken \\ud800 text" in viewer.export_markdown()
        _wire(viewer)
        viewer.session_id = good
        assert [i for i, _ in viewer.items] == [0, 1] and viewer._status_line.text == ""
    finally:
        viewer.close()


# -- item 7: the export note's command is quoted and complete ----------------------------------------------


def _terminal_command(note_html: str) -> str:
    return html.unescape(note_html).split("From a terminal: ", 1)[1].strip()


def test_the_suggested_command_is_quoted_and_names_the_endpoint(
    client: redis.Redis, redis_url: str, session_id: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    sid = f"{session_id}$(touch${{IFS}}{marker})`touch {marker}`"
    _seed(client, sid, 3)
    viewer = ChatHistoryViewer(client, session_id=sid)
    try:
        viewer.max_link_bytes = 10  # a file, and the note with the command
        viewer.export_json(path=tmp_path / "out.json")
        command = _terminal_command(viewer._export_link.value)
        # Pasted into bash, with a harmless program in memstore-nb's place: every word arrives as written.
        run = subprocess.run(
            ["bash", "-c", command.replace("memstore-nb", "printf '%s\\n'", 1)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert run.returncode == 0 and not marker.exists()  # before: bash ran `touch`
        port = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs["port"]
        written = (tmp_path / "out.json").read_text().splitlines()
        assert written == ["show", sid, "--json", "--endpoint", f"redis://127.0.0.1:{port}"]
    finally:
        viewer.close()


def test_a_password_is_never_in_the_note(client: redis.Redis, redis_url: str, session_id: str, tmp_path: Path) -> None:
    client.acl_setuser("msnb-note", enabled=True, passwords=["+n0te-Pa55"], keys="*", commands=["+@all"])
    conn = redis.Redis.from_url(redis_url, protocol=2, username="msnb-note", password="n0te-Pa55")
    try:
        _seed(conn, session_id, 2)
        viewer = ChatHistoryViewer(conn, session_id=session_id)
        viewer.export_json(path=tmp_path / "x.json")
        note = html.unescape(viewer._export_link.value)
        assert "n0te-Pa55" not in note and "MEMSTORE_NB_PASSWORD" in note
        viewer.close()
    finally:
        conn.close()
        client.acl_deluser("msnb-note")


def test_the_local_stores_note_names_endpoint_local_and_the_command_writes_the_same_json(
    session_id: str, tmp_path: Path
) -> None:
    # The local store listens on a unix socket: the note used to compare TCP ports, found none, and
    # suggested `--endpoint redis://127.0.0.1:6379`, another server (or none).
    from memstore_nb import connect

    client = connect("local")
    try:
        _seed(client, session_id, 3)
        viewer = ChatHistoryViewer(client, session_id=session_id)
        viewer.max_link_bytes = 10
        saved = viewer.export_json(path=tmp_path / "viewer.json")
        command = _terminal_command(viewer._export_link.value)
        viewer.close()
        assert "--endpoint local" in command and "MEMSTORE_NB_PASSWORD" not in command
        run = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        out = tmp_path / command.rsplit("> ", 1)[1].strip("'")
        assert json.loads(out.read_text()) == json.loads(Path(saved).read_text())
    finally:
        client.delete(session_id)
        client.close()


def test_the_viewer_lists_and_reads_a_community_history_under_its_own_prefix(
    client: redis.Redis, session_id: str
) -> None:
    # Item 4 in the viewer: RedisChatMessageHistory(key_prefix="chat:") LPUSHes, newest first. Before,
    # the viewer (and `memstore-nb view`) listed it as "memstore" and showed it reversed.
    key = f"{session_id}:chat:alice"
    for text in ["first", "second", "third"]:
        client.lpush(key, encode_message(HumanMessage(text)))
    viewer = ChatHistoryViewer(client, match=f"{session_id}:*", community_prefixes=[f"{session_id}:chat:"])
    try:
        assert [(r.session_id, r.kind, r.last_preview) for r in viewer._table.rows] == [(key, "community", "third")]
        viewer.session_id = key
        viewer.oldest_first = True
        shown = re.findall(r"<p>(first|second|third)</p>", viewer._transcript.value)
        assert shown == ["first", "second", "third"]  # conversation order
        client.lpush(key, encode_message(AIMessage("fourth")))
        viewer.refresh()  # a refreshed row keeps its kind
        row = next(r for r in viewer._table.rows if r.session_id == key)
        assert (row.kind, row.length, row.last_preview) == ("community", 4, "fourth")
    finally:
        viewer.close()
    with pytest.raises(MemstoreError, match="empty community prefix"):
        ChatHistoryViewer(client, match="x", community_prefixes=[""])


def test_view_passes_community_prefixes_to_the_page_and_refuses_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from memstore_nb.cli.parser import build_parser
    from memstore_nb.viewer import serve as serve_module

    args = build_parser().parse_args(["view", "--community-prefix", "chat:", "--community-prefix", "old:"])
    assert args.community_prefixes == ["chat:", "old:"]
    assert build_parser().parse_args(["demo"]).community_prefixes == []
    monkeypatch.setattr(serve_module, "check_widget_front_end", lambda: None)
    with pytest.raises(MemstoreError, match="empty community prefix"):  # before Voilà starts
        serve_module.serve("redis://127.0.0.1:1", open_browser=False, community_prefixes=[""])


# -- item 12: an export is sized first, and a big one streams to a file ---------------------------------


def test_a_big_export_streams_to_a_file_in_bounded_memory(client: redis.Redis, session_id: str, tmp_path: Path) -> None:
    body = "lorem ipsum dolor sit amet, " * 70  # about 2 kB a message
    client.rpush(session_id, *[encode_message(AIMessage(f"{i} {body}")) for i in range(4000)])
    viewer = ChatHistoryViewer(client, session_id=session_id)
    try:
        viewer.max_link_bytes = 1_000_000
        viewer.chunk_size = 200  # memory follows the chunk (200 messages here), not the session
        tracemalloc.start()
        try:
            path = viewer.export_json()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        written = Path(path).stat().st_size
        assert written > 8_000_000 and peak < written / 3, (written, peak)  # before: the whole text, and more
        assert "href" not in viewer._export_link.value  # no huge download link
        assert Path(path).read_bytes() == json.dumps(
            messages_to_dict(MemorystoreChatMessageHistory(client, session_id).messages), ensure_ascii=False, indent=2
        ).encode("utf-8")
        Path(path).unlink()
    finally:
        viewer.close()


# -- item 18: a front end that cannot show this ipywidgets is named, with the pins --------------------------


@pytest.mark.parametrize(
    ("ipywidgets", "front", "pins"),
    [
        ("7.7.1", "3.0.17", '"jupyterlab_widgets~=1.1" "notebook<7"'),  # ipywidgets==7.7.1 installed over 8
        ("8.1.9", "1.1.11", '"jupyterlab_widgets>=3,<4"'),
        ("7.7.1", None, '"jupyterlab_widgets~=1.1" "notebook<7"'),
    ],
)
def test_view_refuses_a_front_end_that_would_show_a_blank_page(
    monkeypatch: pytest.MonkeyPatch, ipywidgets: str, front: str | None, pins: str
) -> None:
    from importlib import metadata

    from memstore_nb.viewer import serve as serve_module

    real = metadata.version

    def version(name: str) -> str:
        found = (
            {"ipywidgets": ipywidgets, "jupyterlab_widgets": front}.get(name)
            if name
            in (
                "ipywidgets",
                "jupyterlab_widgets",
            )
            else real(name)
        )
        if found is None:
            raise metadata.PackageNotFoundError(name)
        return found

    monkeypatch.setattr(metadata, "version", version)
    started = []
    monkeypatch.setattr(serve_module.subprocess, "Popen", lambda *a, **k: started.append(a) or 1 / 0)
    with pytest.raises(MemstoreError, match="would be blank") as caught:
        serve_module.serve("redis://127.0.0.1:1", open_browser=False)
    assert f"pip install {pins}" in str(caught.value) and not started  # said before anything starts


def test_matching_front_ends_pass_the_check() -> None:
    from memstore_nb.viewer.pagesetup import check_widget_front_end

    check_widget_front_end()  # this environment (and the Colab-like one) is a working pair


# -- item 6: the browser is opened through a private file, the token never on a command line ------------


def test_the_browser_gets_a_private_file_not_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    from memstore_nb.viewer.serve import ViewerServer

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    workdir = tempfile.TemporaryDirectory()
    server = ViewerServer(None, 4444, "the-token-x9", workdir)  # type: ignore[arg-type]  # no Voilà needed
    try:
        server.open_browser()
        (arg,) = opened
        assert "the-token-x9" not in arg and arg.startswith("file://")  # argv is readable with `ps`
        path = Path(arg.removeprefix("file://"))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "http://127.0.0.1:4444/?token=the-token-x9" in path.read_text()
    finally:
        workdir.cleanup()


# -- item 20: a session table that is a table ----------------------------------------------------------------


def test_sorting_and_filtering_cover_every_matching_session(client: redis.Redis, session_id: str) -> None:
    """Before: the sort and the filter worked on the rows listed so far (50 of any number)."""
    pipe = client.pipeline(transaction=False)
    for i in range(120):
        pipe.rpush(f"{session_id}:s{i:03d}", *[encode_message(HumanMessage(f"m{j}")) for j in range(1 + i % 7)])
    pipe.execute()
    viewer = ChatHistoryViewer(client, match=f"{session_id}:*", rows_per_scan=20)
    try:
        table = viewer._table
        assert len(table.rows) == 20 and not viewer._more_button.disabled  # SCAN has more
        assert "sorted among these" in viewer._scan_status.value
        table.headers["messages"].click()  # sorting lists the rest first
        assert len(table.rows) == 120 and table.shown[0].length == 7
        assert "120 sessions" in viewer._scan_status.value and "all listed" in viewer._scan_status.value
        viewer.scan()
        assert len(table.rows) == 20
        viewer._filter_text.value = "s119"  # so does filtering
        assert [r.session_id for r in table.shown] == [f"{session_id}:s119"]
    finally:
        viewer.close()


def test_last_activity_is_the_default_order_and_the_viewers_own_reads_do_not_count(
    client: redis.Redis, session_id: str
) -> None:
    for name in ("a", "b", "c"):
        _seed(client, f"{session_id}:{name}", 2)
    time.sleep(2.1)
    client.llen(f"{session_id}:b")  # the app touched b: its last activity is now
    viewer = ChatHistoryViewer(client, match=f"{session_id}:*")
    try:
        table = viewer._table
        assert table.sort_by == "activity" and table.headers["activity"].description == "Last activity ▼"
        assert table.shown[0].session_id == f"{session_id}:b"
        viewer.session_id = f"{session_id}:c"  # the viewer reads c: not activity
        time.sleep(1.1)
        viewer.scan()
        assert table.shown[0].session_id == f"{session_id}:b"
        cells = table.grid.children[1].children[1].value  # the first row's cells
        assert "ago</div>" in cells and 'data-label="last activity"' in cells
    finally:
        viewer.close()


# -- item 1: the page builds the viewer before anyone visits, and lists when someone does ------------------


def test_a_viewer_built_to_list_later_sends_no_scan_until_asked(client: redis.Redis, session_id: str) -> None:
    _seed(client, f"{session_id}:a", 2)
    before = client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)
    viewer = ChatHistoryViewer(client, match=f"{session_id}*", list_now=False)
    try:
        assert client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0) == before
        assert not viewer._table.built
        _seed(client, f"{session_id}:b", 2)  # written after the viewer was built, before the visit
        viewer.scan()  # the page: when a visitor arrives
        assert sorted(r.session_id for r in viewer._table.rows) == [f"{session_id}:a", f"{session_id}:b"]
        assert "all listed at" in viewer._scan_status.value
    finally:
        viewer.close()


def test_waiting_for_a_visitor_returns_at_once_outside_a_heated_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    from memstore_nb.viewer.pagesetup import wait_for_visitor

    monkeypatch.setenv("VOILA_PREHEAT", "False")  # a kernel Voila started for a visit
    started = time.monotonic()
    wait_for_visitor()
    monkeypatch.delenv("VOILA_PREHEAT")  # a notebook, papermill
    wait_for_visitor()
    assert time.monotonic() - started < 1
