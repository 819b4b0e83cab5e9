"""The viewer's panels on their own: a ViewerState, an OpenSession and callbacks are all they need."""

from __future__ import annotations

import redis
from langchain_core.messages import AIMessage, HumanMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.sources import open_transcript
from memstore_nb.viewer.controls import Looks
from memstore_nb.viewer.finder import Finder
from memstore_nb.viewer.session import OpenSession
from memstore_nb.viewer.state import ViewerState, ViewerTraits, mirror
from memstore_nb.viewer.transcript_view import TranscriptView


def test_a_transcript_view_and_find_work_without_a_viewer(client: redis.Redis, session_id: str) -> None:
    history = MemorystoreChatMessageHistory(client, session_id)
    history.add_messages([HumanMessage(f"q{i}") if i % 2 == 0 else AIMessage(f"a{i} <b>") for i in range(25)])
    state = ViewerState(page_size=10)
    session = OpenSession(state)
    asked: list[int] = []
    shown: list[int] = []
    view = TranscriptView(state, session, Looks(), on_page=asked.append, on_hop=lambda i, c: None)
    finder = Finder(state, session, Looks(), view.pager, on_find=lambda: shown.append(-1), on_show=shown.append)
    session.open(open_transcript(client, session_id))
    state.session_id = session_id
    session.restat()
    assert (state.total, state.pages) == (25, 3)  # the open session sets what the pager walks
    state.page = 7
    assert state.page == 2  # clamped by the same rules as the viewer's trait
    session.load()
    view.render_header()
    view.render()
    assert [i for i, _ in session.items] == list(range(5))
    assert "page 3 of 3" in view.header.value and "a1 &lt;b&gt;" in view.html.value
    assert view.next_button.disabled and not view.prev_button.disabled
    view.prev_button.click()
    assert asked == [1]  # the pager asks; whoever wired it decides
    finder.text.value = "A2"  # typed: the box is the state's search at once
    assert state.search == "A2" and shown == []
    enter = {"content": {"data": {"method": "custom", "content": {"event": "submit"}}}, "buffers": []}
    finder.text._handle_msg(enter)  # Enter, as the page reports it
    assert shown == [-1]  # Find is asked for
    assert finder.run() == 23 and finder.hits == [23, 21]  # newest first, like the pages
    finder.step(1)
    assert shown[-1] == 21
    state.session_id = None
    assert finder.hits == [] and finder.find_button.disabled  # another session forgets the hits


def test_mirror_keeps_both_sides_equal_and_checked() -> None:
    a, b = ViewerTraits(), ViewerState()
    a.page_size = 20
    mirror(a, b, ["page_size", "search", "session_id"])
    assert b.page_size == 20
    b.search = "x"
    assert a.search == "x"
    a.page_size = 5000
    assert (a.page_size, b.page_size) == (1000, 1000)
    b.session_id = ""
    assert a.session_id is None and b.session_id is None
