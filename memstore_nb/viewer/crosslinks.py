"""Tool calls and tool results on another page: find the counterpart chunk by chunk, and the buttons that go there.

A click inside the transcript's HTML cannot reach Python with stock widgets
and no script, so a counterpart on the same page is an ``<a href>`` (the
browser scrolls to it) and one on another page is a real ``Button`` beside
the pager. Its message is found by call id, reading outward from the message
in growing chunks: nothing is indexed up front, and the usual case (the
counterpart just across the page edge) costs one small LRANGE.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from langchain_core.messages import AIMessage, ToolMessage

from ..codec import escape_controls
from ..errors import MemstoreError
from ..render.fields import visible_surrogates
from ..render.links import tool_links

if TYPE_CHECKING:
    from ..sources.base import Transcript
    from .controls import Looks

__all__ = ["MAX_BUTTONS", "CrossLinks", "Hop", "counterpart", "hops"]

MAX_BUTTONS = 4  # a page edge cuts at most a pair or two; a role filter may cut many, the first ones are enough
_FIRST_CHUNK = 64  # the counterpart is nearly always within a few messages
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")  # ids that appear verbatim in the stored JSON
_NAME_SHOWN = 24


@dataclass(frozen=True)
class Hop:
    """A tool call or tool result on the page whose counterpart is not on it.

    Attributes:
        index: the message on the page (0 is the oldest).
        call_id: the call id that pairs them.
        want: ``"result"`` (``index`` holds the call) or ``"call"`` (``index`` holds the result).
        name: the tool's name, ``""`` when the message does not say.
    """

    index: int
    call_id: str
    want: str
    name: str

    @property
    def label(self) -> str:
        name = visible_surrogates(escape_controls(self.name))
        name = name if len(name) <= _NAME_SHOWN else name[: _NAME_SHOWN - 1] + "…"
        return f"#{self.index:,} {name or 'tool'} → {self.want}"

    @property
    def tooltip(self) -> str:
        what = "the result of this tool call" if self.want == "result" else "the tool call this result answers"
        return f"message #{self.index:,}: show {what}, on another page"


def hops(items: Sequence[tuple[int, Any]], length: int) -> list[Hop]:
    """The page's calls without their result, and results without their call, on the page (display order).

    A call in the newest message is left out: nothing can answer it yet.
    """
    on_page = tool_links(items)
    out: list[Hop] = []
    for index, item in items:
        if isinstance(item, AIMessage) and index < length - 1:
            for call in [*item.tool_calls, *item.invalid_tool_calls]:
                call_id = str(call.get("id") or "")
                if call_id and (index, call_id) not in on_page.results:
                    out.append(Hop(index, call_id, "result", str(call.get("name") or "")))
        elif isinstance(item, ToolMessage) and item.tool_call_id and index not in on_page.calls:
            out.append(Hop(index, str(item.tool_call_id), "call", str(item.name or "")))
    return out


def counterpart(transcript: Transcript, index: int, call_id: str | None, length: int, *, chunk_size: int = 1000) -> int:
    """The index of the tool result answering a call in message ``index``, or of the call a result answers.

    Pairs as :func:`~memstore_nb.render.links.tool_links` does: a result
    belongs to the latest call with its id before it, and a call's result is
    the first result after it, unless the id is called again first.

    Args:
        transcript: the open session.
        index: a message holding a tool call (an AI message) or a tool result.
        call_id: which of the AI message's calls; ``None`` takes its first.
        length: messages in the session.
        chunk_size: the largest read; reads start small and grow toward it.

    Returns:
        The counterpart's index (0 is the oldest).

    Raises:
        MemstoreError: the message has no tool call or result, or its counterpart is not in the session.
    """
    if not 0 <= index < length:
        raise MemstoreError(f"message #{index} is out of range: this session has messages #0 to #{length - 1}")
    found = transcript.read_range(index, index)
    item = found[0] if found else None
    if isinstance(item, ToolMessage):
        wanted = str(item.tool_call_id or "")
        if not wanted:
            raise MemstoreError(f"tool result #{index:,} names no call id, so no tool call can be found for it")
        target = _scan(transcript, wanted, index - 1, -1, chunk_size, want="call")
        if target is None:
            raise MemstoreError(
                f"the tool call {_shown(wanted)} that result #{index:,} answers is not in this session "
                "(trimmed, or written elsewhere): the result is shown as stored"
            )
        return target
    if isinstance(item, AIMessage):
        ids = [str(c.get("id") or "") for c in [*item.tool_calls, *item.invalid_tool_calls]]
        wanted = call_id if call_id is not None else next((i for i in ids if i), "")
        if not wanted or wanted not in ids:
            raise MemstoreError(f"message #{index:,} has no tool call {_shown(wanted)}: pick one of its calls")
        target = _scan(transcript, wanted, index + 1, length, chunk_size, want="result")
        if target is None:
            raise MemstoreError(f"no tool result answers call {_shown(wanted)} of message #{index:,} (yet)")
        return target
    raise MemstoreError(f"message #{index:,} is neither a tool call nor a tool result: it links to nothing")


def _shown(call_id: str) -> str:
    text = visible_surrogates(escape_controls(call_id))
    return repr(text if len(text) <= 60 else text[:59] + "…")


def _scan(transcript: Transcript, call_id: str, start: int, stop: int, chunk_size: int, *, want: str) -> int | None:
    """Walk from ``start`` toward ``stop`` (exclusive) in growing chunks until the pair is decided."""
    step = 1 if stop > start else -1
    for lo, hi in _windows(start, stop, step, max(chunk_size, 1)):
        items = _read(transcript, call_id, lo, hi)
        for i, item in sorted(items, reverse=step < 0):
            calls = (
                {str(c.get("id") or "") for c in [*item.tool_calls, *item.invalid_tool_calls]}
                if isinstance(item, AIMessage)
                else set()
            )
            if want == "call" and call_id in calls:
                return i
            if want == "result":
                if isinstance(item, ToolMessage) and str(item.tool_call_id or "") == call_id:
                    return i
                if call_id in calls:  # called again before any answer: later results belong to that call
                    return None
    return None


def _windows(start: int, stop: int, step: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    size = min(_FIRST_CHUNK, chunk_size)
    pos = start
    while (pos < stop) if step > 0 else (pos > stop):
        if step > 0:
            lo, hi = pos, min(pos + size, stop) - 1
            pos = hi + 1
        else:
            lo, hi = max(pos - size + 1, stop + 1), pos
            pos = lo - 1
        yield lo, hi
        size = min(size * 4, chunk_size)


def _read(transcript: Transcript, call_id: str, lo: int, hi: int) -> list[tuple[int, Any]]:
    # A plain id can be looked for in the stored JSON (a list builds only the messages that hold it);
    # any other is matched on the messages themselves.
    if _PLAIN_ID.fullmatch(call_id):
        return transcript.read_containing(lo, hi, call_id)
    return list(enumerate(transcript.read_range(lo, hi), start=lo))


class CrossLinks:
    """Buttons in the pager's row, one per tool call or result whose counterpart is on another page.

    Plain stock buttons sharing the viewer's button look (no box or layout of their own), made
    when a page needs them; a click asks ``on_hop(index, call_id)`` to show the counterpart.
    """

    def __init__(self, looks: Looks, host: widgets.Box, on_hop: Callable[[int, str], Any]) -> None:
        self.hops: list[Hop] = []
        self.buttons: list[widgets.Button] = []
        self._looks = looks
        self._host = host
        self._on_hop = on_hop

    def _button(self, hop: Hop) -> widgets.Button:
        b = self._looks.button(hop.label, hop.tooltip)
        b.on_click(lambda _: self._on_hop(hop.index, hop.call_id))
        return b

    def show(self, items: Sequence[tuple[int, Any]], length: int) -> None:
        """Offer a button for each off-page counterpart of ``items`` (the page, in display order)."""
        found = hops(items, length)[:MAX_BUTTONS]
        if found == self.hops:
            return
        self.hops = found
        old = self.buttons
        self.buttons = [self._button(hop) for hop in found]
        kept = [child for child in self._host.children if all(child is not b for b in old)]
        self._host.children = (*kept, *self.buttons)
        for b in old:
            b.close()
