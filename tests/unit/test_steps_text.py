"""The words of a thread's steps (viewer/steps.py): nothing stored is obeyed, every channel named safely."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from memstore_nb.checkpoint.diff import CheckpointDiff, CheckpointTasks, PendingWrite
from memstore_nb.checkpoint.views import CheckpointSummary
from memstore_nb.viewer.steps import added_text, comparison_html, step_line, step_name, tasks_html

TS = "2026-01-02T03:04:05.678901+00:00"


def _summary(**kw: object) -> CheckpointSummary:
    base = {
        "checkpoint_id": "1f0",
        "ts": TS,
        "parent_id": "1ef",
        "step": 4,
        "source": "loop",
        "metadata": {},
        "writers": ("model",),
        "message_count": 4,
        "messages_added": 1,
    }
    base.update(kw)
    return CheckpointSummary(**base)  # type: ignore[arg-type]


def test_a_line_names_the_node_what_it_added_and_the_time_to_the_millisecond() -> None:
    call = AIMessage(
        "", tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c1"}, {"name": "add", "args": {}, "id": "c2"}]
    )
    assert step_line(_summary(), [call]) == "step 4 · model: called add · 2026-01-02 03:04:05.678 UTC"
    tool = ToolMessage("42", tool_call_id="c1", name="add")
    assert added_text(_summary(), [tool, HumanMessage("hi\nthere")]) == 'add → 42; user "hi there"'
    assert added_text(_summary(messages_added=2), None) == "+2 messages"  # the thread cannot tell which
    assert added_text(_summary(messages_added=-1), []) == "−1 message"
    assert step_name(_summary(source="update", writers=("__interrupt__",))) == "step 4 · update"
    assert step_name(_summary(source="input", step=-1, writers=("__input__",))) == "step -1 · input"


def test_control_bidi_and_markup_are_shown_never_obeyed() -> None:
    evil = HumanMessage("\u202eevil <script>x</script>\x1b[2J")
    line = step_line(_summary(writers=("no\u200bde",)), [evil])
    assert "\u202e" not in line and "\\u202e" in line and "\x1b" not in line and "\u200b" not in line
    diff = CheckpointDiff([evil], [AIMessage("<b>gone</b>")], {"<i>ch</i>": ("<a>", "</a>"), "branch:to:x": ("", "")})
    page = comparison_html(diff, "<older>", "newer")
    assert "<script>" not in page and "<b>gone" not in page and "<i>ch" not in page and "&lt;older&gt;" in page
    assert "and 1 of LangGraph's own channels" in page
    tasks = CheckpointTasks("1f0", ("<tools>",), [PendingWrite("t1", "<n>", "messages", "<img src=x>")])
    page = tasks_html(tasks)
    assert "<tools>" not in page and "<img" not in page and "&lt;img src=x&gt;" in page
    assert "nothing (the run ended here)" in tasks_html(CheckpointTasks("1f0", (), []))
