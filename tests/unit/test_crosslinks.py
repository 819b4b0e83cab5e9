"""Off-page tool links without a server: which messages need a button, how far each read reaches, the markers."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from memstore_nb.render import render_message, render_page
from memstore_nb.viewer.crosslinks import Hop, _windows, hops


def call(call_id: str, name: str = "add") -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": {}, "id": call_id, "type": "tool_call"}])


def test_hops_are_the_counterparts_off_the_page_in_display_order() -> None:
    page: list[tuple[int, Any]] = [
        (9, ToolMessage("r", tool_call_id="a", name="lookup")),  # its call is older than the page
        (8, HumanMessage("hi")),
        (7, ToolMessage("r", tool_call_id="b")),
        (6, call("b")),  # answered on the page: no button
        (5, call("c", name="search")),  # its result is newer than the page
        (4, ToolMessage("r", tool_call_id="")),  # no call id: nothing to find
    ]
    assert hops(page, length=100) == [Hop(9, "a", "call", "lookup"), Hop(5, "c", "result", "search")]
    assert hops([(99, call("z"))], length=100) == []  # the newest message: nothing can answer it yet
    assert Hop(5, "c", "result", "search").label == "#5 search → result"
    assert Hop(9, "a", "call", "").label == "#9 tool → call"
    assert Hop(1, "x", "call", "\u202e" + "n" * 40).label == "#1 \\u202e" + "n" * 17 + "… → call"


def test_windows_grow_from_the_message_outward_and_stop_at_the_ends() -> None:
    forward = list(_windows(11, 2000, 1, 1000))
    assert forward[:3] == [(11, 74), (75, 330), (331, 1330)] and forward[-1] == (1331, 1999)
    backward = list(_windows(99, -1, -1, 1000))
    assert backward == [(36, 99), (0, 35)]
    assert list(_windows(5, 6, 1, 1)) == [(5, 5)]
    assert list(_windows(0, -1, -1, 50)) == [(0, 0)]
    assert list(_windows(0, 0, 1, 50)) == []


def test_a_counterpart_not_on_the_page_is_marked_but_not_a_link() -> None:
    page = render_page([(5, call("c")), (7, ToolMessage("r", tool_call_id="a"))], css=False)
    assert '<span class="msnb-jump msnb-offpage msnb-elsewhere">result: not on this page</span>' in page
    assert '<span class="msnb-jump msnb-offpage msnb-elsewhere">call: not on this page</span>' in page
    assert "<a " not in page
    alone = render_message(call("c"), 5)  # a message alone claims nothing about pages
    assert "not on this page" not in alone
