"""Sending the saver's scripts: one round trip each, server errors turned into CheckpointErrors naming the thread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import redis.cluster
import redis.exceptions

from ..errors import CheckpointError
from ..writes import OnceScript
from .layout import ThreadKeys, thread_id_of, thread_pattern
from .scripts import ReadScript

__all__ = ["Call", "Calls"]

T = TypeVar("T")
_SCAN_COUNT = 1000
_SPACES = 4096  # threads whose namespaces are remembered
_REDECLARE = 5  # sends of one call with more namespaces' keys, when the thread gains namespaces meanwhile


def _missing_spaces(exc: redis.exceptions.ResponseError) -> list[str] | None:
    """The namespaces a script refused to touch undeclared (``NSKEYS [...]``), or None for another error."""
    message = str(exc)
    at = message.find("NSKEYS [")
    if at < 0:
        return None
    start = at + len("NSKEYS ")
    found, _end = json.JSONDecoder().raw_decode(message[start:])
    return [str(ns) for ns in found]


@dataclass(frozen=True)
class Call:
    """One script call on one thread's keys."""

    script: ReadScript | OnceScript
    keys: ThreadKeys
    redis_keys: Sequence[str]
    args: Sequence[Any]
    ns: str = ""
    checkpoint_id: str | None = None
    known: dict[str, Any] | None = None  # GET: the cached list values named in its arguments

    def declaring(self, spaces: Sequence[str]) -> Call:
        """This call with the (index, hash) keys of more namespaces."""
        extra = [key for ns in spaces for key in (self.keys.index(ns), self.keys.data(ns))]
        return replace(self, redis_keys=[*self.redis_keys, *extra])

    def where(self) -> str:
        return f"thread {self.keys.thread_id!r}" + (f" namespace {self.ns!r}" if self.ns else "")

    def failed(self, exc: redis.exceptions.ResponseError) -> BaseException:
        message = str(exc)
        if "WRONGTYPE" in message:
            return CheckpointError(
                f"{self.where()}: a key of the thread holds another type of data ({message}); the saver "
                "wrote nothing. Use another key_prefix or thread id, or inspect the keys matching "
                f"{self.keys.base}* with redis-cli",
                self.keys.thread_id,
                self.checkpoint_id,
            )
        return exc

    def decoding(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except CheckpointError:
            raise
        except Exception as exc:  # pragma: no cover - decode_item names what failed itself
            raise CheckpointError(f"{self.where()}: {exc}", self.keys.thread_id, self.checkpoint_id) from exc


class Calls:
    """Runs :class:`Call` objects on one client (sync or asyncio)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        # thread id -> namespaces; each value is replaced whole, never changed in place, so a reader in
        # another thread (LangGraph saves from background threads) never sees a set change size.
        self._spaces: dict[str, frozenset[str]] = {}

    # Scripts declare every key they touch, so a call that walks a thread's namespaces names their
    # keys: the namespaces this saver has seen for the thread (and the root one). A script that
    # finds more refuses before touching anything, naming them, and the call is sent again.

    def spaces(self, thread_id: str) -> list[str]:
        """The thread's namespaces as far as this saver knows (the root namespace always)."""
        known = self._spaces.get(thread_id)
        return ["", *sorted(ns for ns in known if ns != "")] if known else [""]

    def learn(self, thread_id: str, spaces: Sequence[str]) -> None:
        known = self._spaces.get(thread_id)
        if known is not None and known.issuperset(spaces):
            return
        if known is None and len(self._spaces) >= _SPACES:
            self._spaces.clear()
        self._spaces[thread_id] = (known or frozenset()).union(spaces)

    def forget(self, thread_id: str) -> None:
        self._spaces.pop(thread_id, None)

    def _redeclared(self, call: Call, exc: redis.exceptions.ResponseError, attempt: int) -> Call:
        missing = _missing_spaces(exc)
        if missing is None or attempt >= _REDECLARE:
            raise call.failed(exc) from exc
        self.learn(call.keys.thread_id, missing)
        return call.declaring(missing)

    def read(self, call: Call) -> Any:
        assert isinstance(call.script, ReadScript)
        for attempt in range(1, _REDECLARE + 1):
            try:
                return call.script.run(self.client, call.redis_keys, call.args)
            except redis.exceptions.ResponseError as exc:
                call = self._redeclared(call, exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aread(self, call: Call) -> Any:
        assert isinstance(call.script, ReadScript)
        for attempt in range(1, _REDECLARE + 1):
            try:
                return await call.script.arun(self.client, call.redis_keys, call.args)
            except redis.exceptions.ResponseError as exc:
                call = self._redeclared(call, exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def read_many(self, calls: Sequence[Call]) -> list[Any]:
        """Read scripts in one non-transactional pipeline (split by node on a cluster); each reply or its error."""
        replies = self._pipe(calls, "EVALSHA").execute(raise_on_error=False)
        again = [i for i, r in enumerate(replies) if isinstance(r, redis.exceptions.NoScriptError)]
        if again:  # the script is new to a server: EVAL loads it (once per server)
            retried = self._pipe([calls[i] for i in again], "EVAL").execute(raise_on_error=False)
            for i, reply in zip(again, retried, strict=True):
                replies[i] = reply
        for i, reply in enumerate(replies):  # a thread with namespaces not declared: on its own
            missing = _missing_spaces(reply) if isinstance(reply, redis.exceptions.ResponseError) else None
            if missing is not None:
                self.learn(calls[i].keys.thread_id, missing)
                try:
                    replies[i] = self.read(calls[i].declaring(missing))
                except Exception as exc:
                    replies[i] = exc
        return list(replies)

    async def aread_many(self, calls: Sequence[Call]) -> list[Any]:
        """Async :meth:`read_many`."""
        replies = await self._pipe(calls, "EVALSHA").execute(raise_on_error=False)
        again = [i for i, r in enumerate(replies) if isinstance(r, redis.exceptions.NoScriptError)]
        if again:
            retried = await self._pipe([calls[i] for i in again], "EVAL").execute(raise_on_error=False)
            for i, reply in zip(again, retried, strict=True):
                replies[i] = reply
        for i, reply in enumerate(replies):
            missing = _missing_spaces(reply) if isinstance(reply, redis.exceptions.ResponseError) else None
            if missing is not None:
                self.learn(calls[i].keys.thread_id, missing)
                try:
                    replies[i] = await self.aread(calls[i].declaring(missing))
                except Exception as exc:
                    replies[i] = exc
        return list(replies)

    def _pipe(self, calls: Sequence[Call], command: str) -> Any:
        pipe = self.client.pipeline(transaction=False)
        # A sync cluster pipeline would ask a node (COMMAND GETKEYS, one round trip per script call) where each
        # call goes: name the node of its slot instead (a MOVED reply is still retried by key).
        routed = isinstance(self.client, redis.cluster.RedisCluster)
        for call in calls:
            assert isinstance(call.script, ReadScript)
            script = call.script.sha if command == "EVALSHA" else call.script.script
            keys = call.redis_keys
            options: dict[str, Any] = {"NEVER_DECODE": True}
            if routed:
                options["target_nodes"] = self.client.get_node_from_key(keys[0])
            pipe.execute_command(command, script, len(keys), *keys, *call.args, **options)
        return pipe

    def write(self, call: Call, write_id: str) -> bool:
        """Run a write once; False when PUT refused a delta whose base is gone (nothing written).

        A refusal (NOBASE, NSKEYS) comes from the check, before the write id is recorded: sending the
        same write id again is safe.
        """
        assert isinstance(call.script, OnceScript)
        for attempt in range(1, _REDECLARE + 1):
            try:
                call.script.run(self.client, call.keys.thread, call.redis_keys, call.args, write_id=write_id)
                return True
            except redis.exceptions.ResponseError as exc:
                if "NOBASE" in str(exc):
                    return False
                call = self._redeclared(call, exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def awrite(self, call: Call, write_id: str) -> bool:
        assert isinstance(call.script, OnceScript)
        for attempt in range(1, _REDECLARE + 1):
            try:
                await call.script.arun(self.client, call.keys.thread, call.redis_keys, call.args, write_id=write_id)
                return True
            except redis.exceptions.ResponseError as exc:
                if "NOBASE" in str(exc):
                    return False
                call = self._redeclared(call, exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def thread_ids(self, key_prefix: str, match: str = "*") -> Iterator[str]:
        """Every thread id (SCAN on every primary), each once."""
        seen: set[str] = set()
        for key in self.client.scan_iter(match=thread_pattern(key_prefix, match), count=_SCAN_COUNT):
            thread_id = thread_id_of(key, key_prefix)
            if thread_id is not None and thread_id not in seen:
                seen.add(thread_id)
                yield thread_id

    async def athread_ids(self, key_prefix: str, match: str = "*") -> AsyncIterator[str]:
        seen: set[str] = set()
        async for key in self.client.scan_iter(match=thread_pattern(key_prefix, match), count=_SCAN_COUNT):
            thread_id = thread_id_of(key, key_prefix)
            if thread_id is not None and thread_id not in seen:
                seen.add(thread_id)
                yield thread_id
