"""Tool call <-> tool result across pages in ChatHistoryViewer, against a real redis-server."""

from __future__ import annotations

import re
from typing import Any

import ipywidgets as widgets
import pytest
import redis
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.codec import encode_message
from memstore_nb.viewer import ChatHistoryViewer
from memstore_nb.viewer.crosslinks import Hop

LENGTH = 200
ODD_ID = "c 1/ü\u202e"  # not a plain id: found by building every message, not by the substring fast path


def call(name: str, call_id: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": {"x": 1}, "id": call_id, "type": "tool_call"}])


def agent_session() -> list[BaseMessage]:
    """Chat turns with tool pairs placed across page edges (pages of 10) and far apart."""
    messages: list[BaseMessage] = [HumanMessage(f"turn {i}") for i in range(LENGTH)]
    messages[49], messages[50] = call("add", "c-add"), ToolMessage("3", tool_call_id="c-add")  # across an edge
    messages[100], messages[180] = call("search", "c-far"), ToolMessage("found", tool_call_id="c-far")  # 80 apart
    messages[150] = ToolMessage("orphan", tool_call_id="ghost")  # its call was trimmed away
    messages[120], messages[125] = call("first", "dup"), call("second", "dup")  # the id called again...
    messages[130] = ToolMessage("answer", tool_call_id="dup")  # ...so this answers #125, and #120 has none
    messages[60], messages[75] = call("odd", ODD_ID), ToolMessage("odd result", tool_call_id=ODD_ID)
    return messages


@pytest.fixture()
def viewer(client: redis.Redis, session_id: str) -> Any:
    MemorystoreChatMessageHistory(client, session_id).add_messages(agent_session())
    made = ChatHistoryViewer(client, session_id=session_id, page_size=10)
    yield made
    made.close()


def shown(v: ChatHistoryViewer) -> list[int]:
    """Indices in display order (newest first unless oldest first)."""
    order = [i for i, _ in v.items]
    return order if v.oldest_first else order[::-1]


def link_buttons(v: ChatHistoryViewer) -> list[widgets.Button]:
    """The cross-link buttons, as the pager row shows them (after its page buttons and the More toggle)."""
    buttons = list(v._view.crosslinks.buttons)
    pager = list(v._view.pager.children)
    assert pager[len(pager) - len(buttons) :] == buttons
    return buttons


def outlined(v: ChatHistoryViewer) -> list[str]:
    return re.findall(r'class="msnb-msg [^"]*msnb-hit-current" id="msnb-msg-(\d+)"', v._transcript.value)


def test_call_and_result_on_different_pages_newest_first(viewer: ChatHistoryViewer):
    v = viewer
    v.page = (LENGTH - 1 - 49) // 10  # the page #40-#49: the call at its oldest end, its result on the next one up
    assert shown(v) == list(range(49, 39, -1))
    assert "result: not on this page" in v._transcript.value
    assert v._view.crosslinks.hops == [Hop(49, "c-add", "result", "add")]
    (go,) = link_buttons(v)
    assert go.description == "#49 add → result" and go.tooltip.startswith("message #49")
    go.click()
    assert shown(v)[0] == 50 and 49 in shown(v)  # the result at the top, its call right under it
    assert outlined(v) == ["50"] and v._session.current == 50
    assert v._status_line.text == "the result of message #49 is message #50"
    assert link_buttons(v) == [] and go not in v._view.pager.children

    v._view.go_page((LENGTH - 1 - 50) // 10)  # #50-#59, not anchored: the call is on the next page
    assert shown(v)[-1] == 50 and 49 not in shown(v)
    assert "call: not on this page" in v._transcript.value
    (back,) = [b for b in link_buttons(v) if b.description.startswith("#50")]
    assert back.description == "#50 tool → call"  # the result does not name its tool; the call does
    back.click()
    assert shown(v)[0] == 49 and outlined(v) == ["49"]
    assert v._status_line.text == "the call of message #50 is message #49"


def test_far_apart_both_ways_and_oldest_first(viewer: ChatHistoryViewer):
    v = viewer
    assert v.show_counterpart(100) == 180
    assert v.page == (LENGTH - 1 - 180) // 10 and shown(v)[0] == 180 and outlined(v) == ["180"]
    assert v.show_counterpart(180) == 100
    assert shown(v)[0] == 100 and outlined(v) == ["100"]

    v.oldest_first = True
    v._view.go_page(4)  # #40-#49 again, now paged from the oldest
    assert shown(v) == list(range(40, 50))
    (go,) = link_buttons(v)
    go.click()
    assert shown(v)[0] == 50 and outlined(v) == ["50"] and v.page == 5
    assert v.show_counterpart(60, ODD_ID) == 75 and shown(v)[0] == 75
    assert v.show_counterpart(75) == 60 and shown(v)[0] == 60


def test_repeated_ids_pair_by_position(viewer: ChatHistoryViewer):
    v = viewer
    assert v.show_counterpart(130) == 125  # the latest call with the id before the result
    assert v.show_counterpart(125, "dup") == 130
    before = shown(v)
    assert v.show_counterpart(120) is None  # the id was called again before any result came
    assert v._status_line.error == "no tool result answers call 'dup' of message #120 (yet)"
    assert shown(v) == before  # nothing moved


def test_result_whose_call_is_missing_says_so(viewer: ChatHistoryViewer):
    v = viewer
    v.jump_to(150)
    assert shown(v)[0] == 150 and "call: not on this page" in v._transcript.value
    (orphan,) = [b for b in link_buttons(v) if b.description.startswith("#150")]
    orphan.click()  # reads back to #0 in growing chunks, finds nothing, and the widget lives on
    assert "the tool call 'ghost' that result #150 answers is not in this session" in v._status_line.error
    assert shown(v)[0] == 150
    assert v.show_counterpart(3) is None
    assert "#3 is neither a tool call nor a tool result" in v._status_line.error
    v._next_button.click()  # still usable; the next success clears the error
    assert v._status_line.error == ""


def test_community_history_newest_first_storage(client: redis.Redis, session_id: str):
    """An LPUSH history (stored newest first) pairs by conversation order just the same."""
    key = f"message_store:{session_id}"
    for message in agent_session()[:60]:  # #49/#50 are the pair across an edge
        client.lpush(key, encode_message(message))
    v = ChatHistoryViewer(client, session_id=key, page_size=10)
    try:
        v.page = (60 - 1 - 49) // 10
        (go,) = link_buttons(v)
        go.click()
        assert shown(v)[0] == 50 and outlined(v) == ["50"]
        assert v.show_counterpart(50) == 49
    finally:
        v.close()
        client.delete(key)
