"""What the store asks of Redis, as data: calls grouped into round trips, shared by the sync and async fronts.

The store's logic is written as generators that yield a list of :class:`Call` (one round trip:
a pipeline, split by node on a cluster) or an :class:`Embed` request, and receive the replies.
:mod:`memstore_nb.longterm.front` runs them on a sync or an asyncio client, so the logic exists once.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from ..writes import OnceScript
from .scripts import ReadScript

__all__ = ["ALL", "ANY", "Call", "Embed", "Flow", "Step", "lockstep"]

ALL = "\x00all"  # route: every primary (the reply is a list, one per primary)
ANY = "\x00any"  # route: any one node


@dataclass
class Call:
    """One command of a round trip.

    Exactly one of ``script`` (a replay-safe script), ``once`` (an exactly-once write) or neither
    (a plain command in ``args``) is set. ``route`` is a key (its slot picks the node), or
    :data:`ALL` / :data:`ANY` for commands without keys (``FT.*``).
    """

    route: str
    args: tuple[Any, ...] = ()
    script: ReadScript | None = None
    once: OnceScript | None = None
    keys: Sequence[str] = ()
    write_id: str = ""
    note: Any = field(default=None, compare=False)  # the caller's own bookkeeping

    @classmethod
    def read(cls, script: ReadScript, keys: Sequence[str], args: Sequence[Any], note: Any = None) -> Call:
        return cls(route=keys[0], script=script, keys=keys, args=tuple(args), note=note)

    @classmethod
    def command(cls, route: str, *args: Any, note: Any = None) -> Call:
        return cls(route=route, args=args, note=note)

    @classmethod
    def write(cls, script: OnceScript, keys: Sequence[str], args: Sequence[Any], write_id: str, note: Any) -> Call:
        return cls(route=keys[0], once=script, keys=keys, args=tuple(args), write_id=write_id, note=note)

    def evalsha(self) -> tuple[Any, ...]:
        """The full command as sent in a pipeline."""
        if self.once is not None:
            return ("EVALSHA", self.once.sha, *self.once.argv(self.route, self.keys, self.args, self.write_id, False))
        if self.script is not None:
            return ("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.args)
        return self.args

    def eval(self) -> tuple[Any, ...]:
        """The command with the script's text (it loads the script on that server)."""
        assert self.script is not None
        return ("EVAL", self.script.script, len(self.keys), *self.keys, *self.args)


@dataclass
class Embed:
    """Embed ``texts`` (documents) or each of ``queries``; the reply is a list of vectors in order."""

    texts: list[str]
    query: bool = False


Step = Union[list[Call], Embed]
Flow = Generator[Step, list[Any], Any]


def lockstep(flows: Sequence[Flow]) -> Generator[list[Call], list[Any], list[Any]]:
    """Run several flows that only yield calls, their calls of each step sent as one round trip.

    Returns the flows' return values, in order.
    """
    results: list[Any] = [None] * len(flows)
    pending: dict[int, list[Call]] = {}
    for i, flow in enumerate(flows):
        try:
            pending[i] = _calls(next(flow))
        except StopIteration as stop:
            results[i] = stop.value
    while pending:
        batch = [call for calls in pending.values() for call in calls]
        replies = yield batch
        at = 0
        following: dict[int, list[Call]] = {}
        for i, calls in pending.items():
            mine = replies[at : at + len(calls)]
            at += len(calls)
            try:
                following[i] = _calls(flows[i].send(mine))
            except StopIteration as stop:
                results[i] = stop.value
        pending = following
    return results


def _calls(step: Step) -> list[Call]:
    if not isinstance(step, list):  # pragma: no cover - a programming error
        raise TypeError("flows run in lockstep only send calls")
    return step
