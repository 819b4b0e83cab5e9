"""Sending the saver's scripts, one round trip each; refusals and damage become CheckpointErrors naming the thread."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.cluster
import redis.exceptions

from ..errors import ArgumentError, CheckpointError
from ..writes import OnceScript
from .layout import ThreadKeys, thread_id_of, thread_pattern
from .scripts import Script

__all__ = ["Call", "Calls", "Refused", "script_error"]

T = TypeVar("T")
_SCAN_COUNT = 1000
# A read that a cluster keeps redirecting (its slot is moving between nodes; redis-py gives up
# after its own retries with "ClusterError: TTL exhausted") is sent again this many times.
_READ_RETRIES = 2
_READ_PAUSE = 0.2


class Refused(Exception):
    """A script refused before writing anything: ``code`` and the JSON ``detail`` it gave."""

    def __init__(self, code: str, detail: Any) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code} {detail!r}")


def script_error(exc: BaseException) -> Refused | None:
    """The structured refusal (``MSNB <CODE> <JSON>``) in a server error, or None for another error."""
    message = str(exc)
    at = message.find("MSNB ")
    if at < 0:
        return None
    code, _, rest = message[at + 5 :].partition(" ")
    try:
        detail, _end = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        detail = rest
    return Refused(code, detail)


@dataclass(frozen=True)
class Call:
    """One script call on one thread's keys."""

    script: Script | OnceScript
    keys: ThreadKeys
    redis_keys: Sequence[str]
    args: Sequence[Any]
    ns: str = ""
    checkpoint_id: str | None = None
    known: dict[str, Any] | None = None  # GET: the cached list values named in its arguments

    def where(self) -> str:
        return f"thread {self.keys.thread_id!r}" + (f" namespace {self.ns!r}" if self.ns else "")

    def failed(self, exc: BaseException) -> BaseException:
        """What to raise for the server error ``exc`` (a CheckpointError when it is about the thread)."""
        message = str(exc)
        refusal = script_error(exc)
        thread, cid = self.keys.thread_id, self.checkpoint_id
        if "WRONGTYPE" in message:
            return CheckpointError(
                f"{self.where()}: a key of the thread holds another type of data ({message}); the saver "
                "wrote nothing. Use another key_prefix or thread id, or inspect the keys matching "
                f"{self.keys.base}* with redis-cli",
                thread,
                cid,
            )
        if refusal is None:
            if isinstance(exc, redis.exceptions.ClusterError):
                return CheckpointError(
                    f"{self.where()}: the cluster kept redirecting the read while the thread's slot moved "
                    f"between nodes ({type(exc).__name__}: {exc}); nothing was changed: try again in a moment",
                    thread,
                    cid,
                )
            return exc
        return self.refusal(refusal.code, refusal.detail)

    def refusal(self, code: str, detail: Any = None) -> CheckpointError:
        """The CheckpointError for a script's refusal ``code`` (PARTIAL, LEGACY, CYCLE, ...)."""
        return CheckpointError(_REFUSALS.get(code, _damaged)(self, detail), self.keys.thread_id, self.checkpoint_id)

    def decoding(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except CheckpointError:
            raise
        except Exception as exc:  # pragma: no cover - decode_item names what failed itself
            raise CheckpointError(f"{self.where()}: {exc}", self.keys.thread_id, self.checkpoint_id) from exc


def _partial(call: Call, detail: Any) -> str:
    found = detail[0] if isinstance(detail, list) and detail else "?"
    said = detail[1] if isinstance(detail, list) and len(detail) > 1 else None
    return (
        f"{call.where()} is incomplete: its index ({call.keys.order}) holds {found} checkpoints but its data "
        f"({call.keys.thread}) counts {said if said not in (None, False) else 'none'}. Part of it was evicted under "
        "memory pressure, expired, or deleted by hand; nothing was written and the saver does not guess. "
        "Delete the thread (saver.delete_thread) or restore it from a backup; docs/langgraph.md says how to "
        "keep threads from being evicted"
    )


def _legacy(call: Call, detail: Any) -> str:
    return (
        f"{call.where()} was stored by an earlier memstore-nb (one pair of keys per namespace, "
        f"{call.keys.legacy}); nothing was changed. Convert such threads once with "
        "memstore_nb.checkpoint.upgrade_threads(client, key_prefix=...) (see docs/langgraph.md)"
    )


def _upgrading(call: Call, detail: Any) -> str:
    return f"{call.where()} is being upgraded from the earlier layout (upgrade_threads); try again when it is done"


def _reused(call: Call, detail: Any) -> str:
    field = detail[0] if isinstance(detail, list) and detail else "?"
    channel, _, version = str(field).rpartition("#")
    return (
        f"{call.where()}: version {version!r} of channel {channel!r} is stored already with another value, "
        "and a later version of the channel extends it: replacing it would change that later "
        "checkpoint's value; nothing was written. Give every new value a new version (LangGraph does, "
        "with saver.get_next_version)"
    )


def _cycle(call: Call, detail: Any) -> str:
    field = detail[0] if isinstance(detail, list) and detail else "?"
    channel, _, version = str(field).rpartition("#")
    return (
        f"{call.where()}: version {version!r} of channel {channel!r} is stored already with another value, "
        "and the new value extends a version that extends it, so the two versions would refer to each "
        "other in a loop; nothing was written. Give every new value a new version (LangGraph does, "
        "with saver.get_next_version)"
    )


def _damaged(call: Call, detail: Any) -> str:
    return (
        f"{call.where()}: a stored value cannot be read ({detail}); nothing was written. Other threads are "
        "unaffected; delete this thread (saver.delete_thread) or restore it from a backup"
    )


_REFUSALS: dict[str, Callable[[Call, Any], str]] = {
    "PARTIAL": _partial,
    "LEGACY": _legacy,
    "UPGRADING": _upgrading,
    "REUSED": _reused,
    "CYCLE": _cycle,
}


def _encoding(call: Call, exc: UnicodeEncodeError) -> ArgumentError:
    return ArgumentError(
        f"{call.where()}: a name or value sent to Redis is not valid text ({exc.reason} at character "
        f"{exc.start} of {exc.object!r}); use text that encodes as UTF-8 (nothing was written)",
        exc.object,
    )


class Calls:
    """Runs :class:`Call` objects on one client (sync or asyncio)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, call: Call) -> Any:
        assert isinstance(call.script, Script)
        for attempt in range(_READ_RETRIES + 1):
            try:
                return call.script.run(self.client, call.redis_keys, call.args)
            except redis.exceptions.ClusterError as exc:
                if attempt == _READ_RETRIES:
                    raise call.failed(exc) from exc
                time.sleep(_READ_PAUSE)
            except redis.exceptions.ResponseError as exc:
                raise call.failed(exc) from exc
            except UnicodeEncodeError as exc:
                raise _encoding(call, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def aread(self, call: Call) -> Any:
        assert isinstance(call.script, Script)
        for attempt in range(_READ_RETRIES + 1):
            try:
                return await call.script.arun(self.client, call.redis_keys, call.args)
            except redis.exceptions.ClusterError as exc:
                if attempt == _READ_RETRIES:
                    raise call.failed(exc) from exc
                await asyncio.sleep(_READ_PAUSE)
            except redis.exceptions.ResponseError as exc:
                raise call.failed(exc) from exc
            except UnicodeEncodeError as exc:
                raise _encoding(call, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def read_many(self, calls: Sequence[Call]) -> list[Any]:
        """Read scripts in one non-transactional pipeline (split by node on a cluster); each reply or its error."""
        replies = self._pipe(calls, "EVALSHA").execute(raise_on_error=False)
        again = [i for i, r in enumerate(replies) if isinstance(r, redis.exceptions.NoScriptError)]
        if again:  # the script is new to a server: EVAL loads it (once per server)
            retried = self._pipe([calls[i] for i in again], "EVAL").execute(raise_on_error=False)
            for i, reply in zip(again, retried, strict=True):
                replies[i] = reply
        return list(replies)

    async def aread_many(self, calls: Sequence[Call]) -> list[Any]:
        """Async :meth:`read_many`."""
        replies = await self._pipe(calls, "EVALSHA").execute(raise_on_error=False)
        again = [i for i, r in enumerate(replies) if isinstance(r, redis.exceptions.NoScriptError)]
        if again:
            retried = await self._pipe([calls[i] for i in again], "EVAL").execute(raise_on_error=False)
            for i, reply in zip(again, retried, strict=True):
                replies[i] = reply
        return list(replies)

    def _pipe(self, calls: Sequence[Call], command: str) -> Any:
        pipe = self.client.pipeline(transaction=False)
        # A sync cluster pipeline would ask a node (COMMAND GETKEYS, one round trip per script call) where each
        # call goes: name the node of its slot instead (a MOVED reply is still retried by key).
        routed = isinstance(self.client, redis.cluster.RedisCluster)
        for call in calls:
            assert isinstance(call.script, Script)
            script = call.script.sha if command == "EVALSHA" else call.script.script
            keys = call.redis_keys
            options: dict[str, Any] = {"NEVER_DECODE": True}
            if routed:
                options["target_nodes"] = self.client.get_node_from_key(keys[0])
            pipe.execute_command(command, script, len(keys), *keys, *call.args, **options)
        return pipe

    def write(self, call: Call, write_id: str) -> Any:
        """Run a write once; the script's reply (None when this write id was applied already).

        Raises:
            Refused: NOBASE (a delta's base is gone: nothing written, the same write id may be sent again).
            CheckpointError: any other refusal, or data of another type.
        """
        assert isinstance(call.script, OnceScript)
        try:
            return call.script.run(self.client, call.keys.thread, call.redis_keys, call.args, write_id=write_id).result
        except redis.exceptions.ResponseError as exc:
            raise self._refused(call, exc) from exc
        except UnicodeEncodeError as exc:
            raise _encoding(call, exc) from exc

    async def awrite(self, call: Call, write_id: str) -> Any:
        """Async :meth:`write`."""
        assert isinstance(call.script, OnceScript)
        try:
            script = call.script
            outcome = await script.arun(self.client, call.keys.thread, call.redis_keys, call.args, write_id=write_id)
        except redis.exceptions.ResponseError as exc:
            raise self._refused(call, exc) from exc
        except UnicodeEncodeError as exc:
            raise _encoding(call, exc) from exc
        return outcome.result

    @staticmethod
    def _refused(call: Call, exc: redis.exceptions.ResponseError) -> BaseException:
        refusal = script_error(exc)
        if refusal is not None and refusal.code == "NOBASE":
            return refusal
        return call.failed(exc)

    def thread_ids(self, key_prefix: str, match: str = "*") -> Iterator[tuple[str, bool]]:
        """Every (thread id, stored in the old layout) (SCAN on every primary), each thread once."""
        seen: set[str] = set()
        for key in self.client.scan_iter(match=thread_pattern(key_prefix, match), count=_SCAN_COUNT):
            found = thread_id_of(key, key_prefix)
            if found is not None and found[0] not in seen:
                seen.add(found[0])
                yield found

    async def athread_ids(self, key_prefix: str, match: str = "*") -> AsyncIterator[tuple[str, bool]]:
        seen: set[str] = set()
        async for key in self.client.scan_iter(match=thread_pattern(key_prefix, match), count=_SCAN_COUNT):
            found = thread_id_of(key, key_prefix)
            if found is not None and found[0] not in seen:
                seen.add(found[0])
                yield found
