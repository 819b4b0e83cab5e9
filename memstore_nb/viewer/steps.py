"""A LangGraph thread's steps in words: one line per checkpoint, what a step added, a comparison, what is pending.

Pure text and HTML from the saver's viewer data (``CheckpointSummary``, ``CheckpointDiff``,
``CheckpointTasks``); the checkpoint panel puts them on screen. Every stored text is escaped,
control and bidi characters shown (``codec.escape_controls``), lone surrogates as their escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..codec import escape_controls
from ..render.fields import esc, exact_time_text, visible_surrogates

__all__ = ["added_text", "comparison_html", "internal_channel", "step_line", "step_name", "tasks_html"]

_CUT = 48  # characters of a message shown in a step line


def _plain(value: object, width: int = _CUT) -> str:
    text = escape_controls(" ".join(str(value).split()))  # line breaks and tabs as spaces, the rest shown
    return visible_surrogates(text if len(text) <= width else text[: width - 1] + "…")


def _content(message: Any) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, list):  # content blocks: their text parts
        content = " ".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content)
    return str(content)


def _one(message: Any) -> str:
    kind = getattr(message, "type", None)
    calls = getattr(message, "tool_calls", None) or []
    if kind == "ai" and calls:  # tool calls folded: the names, not the arguments
        names = ", ".join(dict.fromkeys(str(c.get("name", "?")) for c in calls))
        return f"called {_plain(names)}"
    text = _content(message)
    if kind == "tool":
        return f"{_plain(getattr(message, 'name', None) or 'tool')} → {_plain(text, 32)}"
    who = {"human": "user", "ai": "answer", "system": "system"}.get(str(kind), str(kind or "?"))
    return f'{who} "{_plain(text)}"'


def added_text(summary: Any, added: Sequence[Any] | None) -> str:
    """What a step added: its messages in a few words each (``user "…"``, ``called add``, ``add → 42``), or
    how many when the thread does not tell which (``+2 messages``); and how many it removed (``−1 message``)."""
    parts = [_one(m) for m in added or ()]
    n = summary.messages_added
    if added is None and n is not None and n > 0:
        parts.append(f"+{n} message{'s' if n != 1 else ''}")
    if n is not None and n < 0:
        parts.append(f"−{-n} message{'s' if n != -1 else ''}")
    return "; ".join(parts)


def step_name(summary: Any) -> str:
    """``step 4 · model``: the node that wrote it, or what did (``input``, ``update``: ``update_state``, ``fork``)."""
    step = "step ?" if summary.step is None else f"step {summary.step}"
    writers = [w for w in summary.writers if w != "__input__"]
    node_wrote = writers and summary.source not in ("input", "update", "fork")  # else say what did
    who = ", ".join(writers) if node_wrote else summary.source or "?"
    return _plain(f"{step} · {who}", 80)


def step_line(summary: Any, added: Sequence[Any] | None) -> str:
    """One checkpoint as one plain-text line: ``step 4 · model: called add · 2026-01-01 10:00:01.234 UTC``."""
    what = added_text(summary, added)
    return f"{step_name(summary)}{': ' + what if what else ''} · {exact_time_text(summary.ts)}"


def internal_channel(name: str) -> bool:
    """LangGraph's own channels (``__start__``, ``branch:to:model``...), not the graph's state."""
    return name.startswith(("__", "branch:"))


def comparison_html(diff: Any, older: str, newer: str) -> str:
    """The messages added and removed between two checkpoints, and the state channels that changed."""
    rows = [f"<div><b>From</b> {esc(older)} <b>to</b> {esc(newer)}</div>"]
    for sign, label, messages in (("+", "added", diff.added), ("−", "removed", diff.removed)):
        if messages:
            items = "".join(f"<li>{esc(_one(m))}</li>" for m in messages)
            rows.append(f"<div>{sign} {len(messages)} message{'s' if len(messages) != 1 else ''} {label}:</div>")
            rows.append(f'<ul class="msnb-steplist">{items}</ul>')
    if not diff.added and not diff.removed:
        rows.append("<div>the same messages</div>")
    state = {k: v for k, v in diff.changed.items() if not internal_channel(k)}
    for name, (was, now) in state.items():
        rows.append(f"<div>{esc(_plain(name, 40))}: {esc(_plain(was, 80))} → {esc(_plain(now, 80))}</div>")
    internal = len(diff.changed) - len(state)
    if internal:
        rows.append(f'<div class="msnb-muted">and {internal} of LangGraph\'s own channels</div>')
    return "".join(rows)


def tasks_html(tasks: Any) -> str:
    """What a checkpoint still has to do: the nodes it runs next and the writes stored for them."""
    nxt = ", ".join(_plain(n, 40) for n in tasks.next) or "nothing (the run ended here)"
    rows = [f"<div><b>Next:</b> {esc(nxt)}</div>"]
    shown = [w for w in tasks.writes if not internal_channel(w.channel) or w.channel == "__interrupt__"]
    if shown:
        items = "".join(
            f"<li>{esc(_plain(w.node or w.task_id, 40))} → {esc(_plain(w.channel, 40))}: "
            f"{esc(_plain(w.value, 80))}</li>"
            for w in shown
        )
        rows.append(f'<div><b>Pending writes</b> ({len(shown)}):</div><ul class="msnb-steplist">{items}</ul>')
    if len(shown) < len(tasks.writes):
        rows.append(f'<div class="msnb-muted">and {len(tasks.writes) - len(shown)} to LangGraph\'s own channels</div>')
    return "".join(rows)
