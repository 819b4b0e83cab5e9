"""The ledger of a fault run: every call's unique tokens and outcome, writers that keep it, and the
count of each token's copies as stored (LRANGE), so "stored exactly once" is a number, not an adjective.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from langchain_core.messages import HumanMessage

from memstore_nb import MemorystoreChatMessageHistory
from memstore_nb.errors import WriteUnconfirmed

_RECALLS = 8  # times a call that raised WriteUnconfirmed is made again, at most
_RECALL_PAUSE = 0.3  # seconds between those calls


# -- the ledger ----------------------------------------------------------------


@dataclass
class Call:
    """One call of add_message(s): its tokens, its session key, and what it did."""

    key: str
    tokens: list[str]
    outcome: str = "pending"  # "ok" or the name of the exception it finally raised
    unconfirmed: int = 0  # how many times it raised WriteUnconfirmed before its outcome
    seconds: float = 0.0  # wall time of the call, re-calls included


@dataclass
class Ledger:
    """Every call made by a writer, and its outcome."""

    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    calls: list[Call] = field(default_factory=list)
    _serial: Iterator[int] = field(default_factory=itertools.count)

    def new_call(self, key: str, size: int) -> Call:
        call = Call(key, [f"{self.run}-{next(self._serial)}" for _ in range(size)])
        self.calls.append(call)
        return call


@dataclass
class Tally:
    """What a run did, counted per call (a call of add_messages with two messages counts once)."""

    calls: int = 0
    acknowledged: int = 0
    stored: int = 0
    duplicated: int = 0
    lost: int = 0
    raised: int = 0
    unconfirmed: int = 0  # calls that finally raised WriteUnconfirmed
    recalled_ok: int = 0  # calls that raised WriteUnconfirmed, were made again, and returned
    raised_stored: int = 0  # calls that finally raised and were stored (once): allowed
    definite_but_stored: int = 0  # raised an error other than WriteUnconfirmed, yet stored: a lie
    torn: int = 0  # a batch stored in part
    foreign: int = 0  # elements no call wrote
    stall_ms: float = 0.0
    faults: int = 0  # faults injected during the run (set by the scenario)
    errors: Counter[str] = field(default_factory=Counter)

    def problems(self) -> list[str]:
        """What breaks the guarantees: empty when everything held."""
        out = []
        for name in ("duplicated", "lost", "definite_but_stored", "torn", "foreign"):
            if getattr(self, name):
                out.append(f"{name}={getattr(self, name)}")
        return out


def token_of(raw: bytes | str) -> str:
    return str(json.loads(raw)["data"]["content"])


def tally(ledger: Ledger, stored: dict[str, Sequence[bytes | str]]) -> Tally:
    """Compare the ledger with the lists as stored (``stored[key]`` is LRANGE key 0 -1)."""
    copies: Counter[str] = Counter(token_of(raw) for raws in stored.values() for raw in raws)
    known = {token for call in ledger.calls for token in call.tokens}
    out = Tally(calls=len(ledger.calls))
    out.foreign = sum(n for token, n in copies.items() if token not in known)
    for call in ledger.calls:
        counts = {copies[token] for token in call.tokens}
        out.stall_ms = max(out.stall_ms, call.seconds * 1000.0)
        if len(counts) > 1:
            out.torn += 1
        n = max(counts)
        out.stored += n > 0
        out.duplicated += n > 1
        if call.outcome == "ok":
            out.acknowledged += 1
            out.lost += n == 0
            out.recalled_ok += call.unconfirmed > 0
        else:
            out.raised += 1
            out.errors[call.outcome] += 1
            out.raised_stored += n > 0
            if call.outcome == "WriteUnconfirmed":
                out.unconfirmed += 1
            elif n > 0:
                out.definite_but_stored += 1
    return out


def read_back(client: Any, keys: Sequence[str]) -> dict[str, list[Any]]:
    """LRANGE of every key, through a sync client (standalone or cluster), retried while the server recovers."""
    out = {}
    for key in keys:
        for attempt in range(50):
            try:
                out[key] = client.lrange(key, 0, -1)
                break
            except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterError):
                if attempt == 49:
                    raise
                time.sleep(0.2)
    return out


# -- writers -------------------------------------------------------------------


def _messages(call: Call) -> list[HumanMessage]:
    return [HumanMessage(token) for token in call.tokens]


def write_sync(
    histories: Sequence[MemorystoreChatMessageHistory], ledger: Ledger, *, seconds: float, max_calls: int
) -> None:
    """Append unique messages round-robin until ``seconds`` pass or ``max_calls`` calls are made.

    Every third call is ``add_messages`` of two messages, the others ``add_message``. A call
    that raises WriteUnconfirmed is made again with the same messages on the same history, a few
    times, as the error message tells the caller to do.
    """
    deadline = time.monotonic() + seconds
    for i in range(max_calls):
        if time.monotonic() >= deadline:
            break
        history = histories[i % len(histories)]
        call = ledger.new_call(history.key, 2 if i % 3 == 2 else 1)
        messages = _messages(call)
        started = time.monotonic()
        for recall in range(_RECALLS + 1):
            try:
                if len(messages) == 1:
                    history.add_message(messages[0])
                else:
                    history.add_messages(messages)
                call.outcome = "ok"
                break
            except WriteUnconfirmed:
                call.unconfirmed += 1
                call.outcome = "WriteUnconfirmed"
                if recall < _RECALLS:
                    time.sleep(_RECALL_PAUSE)
            except redis.RedisError as exc:
                # A re-call's own error (say NotSent: that re-call never left) does not settle the
                # earlier send that raised WriteUnconfirmed: the call's outcome stays unknown.
                call.outcome = "WriteUnconfirmed" if call.unconfirmed else type(exc).__name__
                break
        call.seconds = time.monotonic() - started


async def write_async(
    histories: Sequence[MemorystoreChatMessageHistory], ledger: Ledger, *, seconds: float, max_calls: int
) -> None:
    """:func:`write_sync` with ``aadd_messages`` (``redis.asyncio`` clients)."""
    deadline = time.monotonic() + seconds
    for i in range(max_calls):
        if time.monotonic() >= deadline:
            break
        history = histories[i % len(histories)]
        call = ledger.new_call(history.key, 2 if i % 3 == 2 else 1)
        messages = _messages(call)
        started = time.monotonic()
        for recall in range(_RECALLS + 1):
            try:
                await history.aadd_messages(messages)
                call.outcome = "ok"
                break
            except WriteUnconfirmed:
                call.unconfirmed += 1
                call.outcome = "WriteUnconfirmed"
                if recall < _RECALLS:
                    await asyncio.sleep(_RECALL_PAUSE)
            except redis.RedisError as exc:
                # A re-call's own error (say NotSent: that re-call never left) does not settle the
                # earlier send that raised WriteUnconfirmed: the call's outcome stays unknown.
                call.outcome = "WriteUnconfirmed" if call.unconfirmed else type(exc).__name__
                break
        call.seconds = time.monotonic() - started
