"""Exactly-once writes: each call carries a write id, the server remembers it, and a replay is a no-op.

A client (redis-py's default retry, a cluster client after a failover, our own retry) may send a
command again when the reply was lost although the server had applied it. Every write of the
history and of the LangGraph saver therefore runs as one small Lua script that

1. returns at once if the write id is in its *marker* (this write was applied already),
2. validates everything (key types, TTL) before it writes anything,
3. records the write id in the marker and writes.

The marker — a small SET per slot tag and ten-minute window (:data:`MARKER_TTL_SECONDS`) — lives
in the same hash slot as the data it guards (so the script is legal on a Redis Cluster, and moves
with the session when a slot migrates), is never a list (so it never shows up as a session), and
expires by itself. A script runs atomically: a replay sees either nothing or the marker with all
the writes.

A third form (``add_messages``) records the id first, with one SADD that also tells a replay
apart, and takes it back if the body's first write is refused (``WRONGTYPE``: a key of another
type), so no key type check is needed; memory (``OOM``) is checked by Redis before a script's
first write only, so an OOM refusal comes before anything is written.

Sending is one round trip (``EVALSHA``; ``EVAL`` once per server to load the script). On a
connection failure (after the client's own retries, which are replay-safe too) the same write —
same id — is sent once more; if the outcome still cannot be known,
:class:`~memstore_nb.server_errors.WriteUnconfirmed` says so.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import logging
import os
import secrets
import time
from collections.abc import Sequence
from typing import Any, NamedTuple, Union

import redis
import redis.exceptions
from redis.cluster import key_slot

from .server_errors import WriteUnconfirmed

__all__ = [
    "MARKER_TTL_SECONDS",
    "MAX_TTL_SECONDS",
    "OnceScript",
    "marker_arg",
    "marker_key",
    "new_write_id",
    "slot_tag",
]

log = logging.getLogger(__name__)

KeyLike = Union[str, bytes]

#: The marker window: a write id is remembered for at least this long (one to two windows), the
#: time in which a replay (by any client's retry, or a caller's retry after WriteUnconfirmed) is
#: recognised.
MARKER_TTL_SECONDS = 600

#: The largest TTL accepted: far below the point where Redis (< 7) silently overflows an expiry
#: into the past and deletes the key, or Redis >= 7 refuses it after a write.
MAX_TTL_SECONDS = 2**62 // 1000

_MARKER_INFIX = ":memstore-nb:wid:"
# Extra sends of the same write after a connection failure. The client's own retry policy has
# usually re-sent it already (safely: same id); one more send, after a short pause, settles most
# lost replies without multiplying the client's wait on a server that is down.
_RETRY_BUDGET = 1
_RETRY_WINDOW = 5.0  # seconds since the first send after which no new send starts
_TRANSIENT = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)
# Refusals that come before the script runs, so they say nothing about an earlier send of the same
# write — one by the client's own retry, or by us — which may have been applied: the outcome is unknown.
_NOT_RUN = ("BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY")


def _says_nothing(exc: redis.exceptions.RedisError) -> bool:
    if isinstance(exc, redis.exceptions.ClusterError):  # ClusterDownError, SlotNotCovered, redirections
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and str(exc).startswith(_NOT_RUN)


# The wrappers. KEYS[1] is the marker: a small SET per slot tag and time window
# ("generation"), whose members are the write ids applied in that window. (A SET, not a HASH:
# adding a member to a big one costs the server less than a field and its value. Earlier
# builds kept HASH markers named "...:memstore-nb:w:<generation>"; the new name keeps a process
# still running that code and one running this from ever meeting in one key.) The write id travels as
# the last argument and is taken off ARGV first, so the body sees its own keys from KEYS[2] and
# its arguments from ARGV[1]. The marker expires two windows after its generation began.
#
# One marker per session and window, not one key per write, matters on a Redis Cluster being
# resharded: while a slot migrates, a multi-key script is served only where all its keys exist,
# and a marker that already exists beside the session moves with it (a new key per write would
# be missing on both nodes, and every write would get TRYAGAIN until the slot had moved).
#
# The replay test comes first, so a resend of an applied write is recognised whatever happened
# to the key since. With a separate check (the fast form), the check then runs and may refuse
# with redis.error_reply(...); the write id is recorded before the body writes — safe because the
# body cannot fail any more: the check ruled out the errors, and Redis checks memory (OOM) only
# before a script's first write.
_PROLOGUE = """
local wid = table.remove(ARGV)
local at = (tonumber(string.match(KEYS[1], ':wid:(%x+)$'), 16) + 2) * WINDOW_MS
"""
_CHECKED = (
    _PROLOGUE
    + """
if redis.call('SISMEMBER', KEYS[1], wid) == 1 then return redis.status_reply('REPLAY') end
CHECK
redis.call('SADD', KEYS[1], wid)
redis.call('PEXPIREAT', KEYS[1], at)
BODY
"""
)
# Without one (the general form), the body may refuse after reading, so the write id is recorded
# only after the body has written.
_GENERAL = (
    _PROLOGUE
    + """
if redis.call('SISMEMBER', KEYS[1], wid) == 1 then return {0} end
local function body()
BODY
end
local result = body()
if type(result) == 'table' and result.err then return result end
redis.call('SADD', KEYS[1], wid)
redis.call('PEXPIREAT', KEYS[1], at)
return {1, result}
"""
)
# The record-first form (leading_write): one SADD both records the write id and tells a replay
# (no new member) from a new write, and says whether the marker is new; then the body writes. Its
# first write (FIRST: Lua that sets `first` to the reply of a redis.pcall) may be refused
# (WRONGTYPE: that write wrote nothing): then the id is taken back — the marker is left exactly as
# it was, or gone if this call created it — and the script returns that error. Nothing after that
# first write may fail. OOM cannot strike after the SADD: Redis and Valkey check memory only
# before a script's first write (the SADD, which then fails with nothing written). The member
# "expires" marks a marker whose expiry is set: it is added in the same step as the PEXPIREAT and
# only ever removed with the id that added it, so PEXPIREAT runs once per marker, not once per
# write. A write id is only ever sent by one script, so a replay of a write of this form finds
# both members. The id stays in ARGV (at `last`): no table.remove, which, like every call into a C
# function, is measurable on a write this short.
_LEADING = """
local last = #ARGV
local wid = ARGV[last]
CHECK
local added = redis.call('SADD', KEYS[1], wid, 'expires')
if added == 0 then return redis.status_reply('REPLAY') end
if added == 2 then
  redis.call('PEXPIREAT', KEYS[1], (tonumber(string.match(KEYS[1], ':wid:(%x+)$'), 16) + 2) * WINDOW_MS)
end
local first
FIRST
if type(first) == 'table' and first.err then
  if added == 2 then redis.call('SREM', KEYS[1], wid, 'expires') else redis.call('SREM', KEYS[1], wid) end
  return first
end
BODY
"""

# Tags for keys whose slot cannot be reached by wrapping the key in braces (see slot_tag).
_TAGS_BY_SLOT: dict[int, str] = {}


class _Ids:
    """Unique write-id tails without a system call per write: 96 random bits drawn once per process
    (again in a forked child), then a counter.

    ``os.urandom`` per write released the GIL, and a write in one of LangGraph's background threads
    then waited for the main thread to hand it back (up to the 5 ms switch interval) before it sent.
    """

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = secrets.token_urlsafe(12)
        self.counter = itertools.count()
        # (generation, "<generation>.<prefix>"): one attribute, so a thread reads a matching pair
        self.head: tuple[int, str] = (-1, "")

    def next(self, generation: int) -> str:
        """``<generation hex>.<prefix><counter hex>``; the head is formatted once per window."""
        head = self.head
        if head[0] != generation:
            head = self.head = (generation, f"{generation:x}.{self.prefix}")
        return f"{head[1]}{next(self.counter):x}"  # next() of itertools.count is atomic under the GIL


_IDS = _Ids()


def new_write_id() -> str:
    """A new write id: the current window's generation (hex), a dot, then 96 random bits (URL-safe,
    drawn once per process) and a per-process counter (hex), so no two writes share one.

    The generation names the marker the id is recorded in, so a write sent again later — by a
    retry, or by the caller after WriteUnconfirmed — goes to the same marker.
    """
    return _IDS.next(int(time.time()) // MARKER_TTL_SECONDS)


def _text(key: KeyLike) -> str:
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key


def _hash_tag(key: str) -> str | None:
    """The key's hash tag as Redis Cluster reads it (the text inside the first ``{...}``), if any."""
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1 : end]


@functools.lru_cache(maxsize=4096)
def slot_tag(key: KeyLike) -> str:
    """A hash tag that puts ``"{tag}..."`` in the same cluster slot as ``key``.

    A key with a tag of its own (``"{user1}:chat"``) shares it. A key without one hashes
    whole, so wrapping the key in braces works — unless it contains ``}``, which would end the
    tag early; for those few keys a short tag with the same slot is searched once and cached.
    """
    text = _text(key)
    tag = _hash_tag(text)
    if tag is not None:
        return tag
    if text and "}" not in text:
        return text
    slot = key_slot(text.encode("utf-8", "surrogateescape"))
    found = _TAGS_BY_SLOT.get(slot)
    if found is None:
        n = 0
        while key_slot(f"s{n}".encode()) != slot:
            n += 1
        found = _TAGS_BY_SLOT[slot] = f"s{n}"
    return found


def marker_key(key: KeyLike, write_id: str) -> str:
    """The marker of a write to ``key``: a SET in the same slot, named by the write id's generation.

    ``{tag}:memstore-nb:wid:<generation>``; it holds the ids of the writes to that slot tag in that
    window and expires by itself two windows after the window began.
    """
    return _marker(key, write_id.partition(".")[0] if "." in write_id else "")


_HEX = frozenset("0123456789abcdef")


@functools.lru_cache(maxsize=4096)
def _marker(key: KeyLike, generation: str) -> str:
    """The marker of ``key`` for ``generation`` (cached: every write computes it)."""
    if not generation or not _HEX.issuperset(generation):
        raise ValueError(f"not a write id from new_write_id(): generation {generation!r}")
    return "{" + slot_tag(key) + "}" + _MARKER_INFIX + generation


@functools.lru_cache(maxsize=4096)
def marker_arg(key: KeyLike, generation: str) -> bytes | str:
    """The marker as a UTF-8 client sends it, encoded once (redis-py's per-argument encoding costs
    about a microsecond a call); the text itself where it does not encode (redis-py then raises
    as it would have)."""
    marker = _marker(key, generation)
    try:
        return marker.encode("utf-8")
    except UnicodeEncodeError:
        return marker


_NUMKEYS = [str(1 + n).encode() for n in range(16)]  # EVALSHA's numkeys for n keys besides the marker


class Outcome(NamedTuple):
    """What a write did: ``applied`` is False when the server had already applied this write id."""

    applied: bool
    result: Any


class OnceScript:
    """A Lua write body, made replay-safe by one of the wrappers above, and its sync and async runners.

    Args:
        body: Lua code that writes. Its keys are ``KEYS[2..]`` and its arguments ``ARGV[1..]``.
            In the general form (neither ``check`` nor ``leading_write``) it is a function body:
            it validates before writing, returns ``redis.error_reply(...)`` to refuse, and returns
            its result.
        check: Lua code run before anything is written, which refuses with
            ``return redis.error_reply(...)``. With it, the body must not refuse or fail (the
            write id is recorded just before it runs) — one command fewer per write.
            With ``leading_write`` the check must not call Redis at all (it may only look at
            its arguments).
        leading_write: the record-first form: Lua that runs the body's first write with
            ``redis.pcall`` and puts its reply in ``first``, such as
            ``"first = redis.pcall('RPUSH', KEYS[2], ARGV[1])"``. The write id is recorded, then
            that write runs; if it is refused (it must then have written nothing, as
            ``WRONGTYPE``), the id is taken back and the script returns the error. Otherwise the
            body runs; nothing in it may fail. The body returns the result. In this form the
            write id stays in ``ARGV``, as its last element, whose index is ``last``: the check
            and the body see their own arguments as ``ARGV[1 .. last - 1]``.
    """

    def __init__(self, body: str, *, check: str | None = None, leading_write: str | None = None) -> None:
        if leading_write is not None:
            template = _LEADING.replace("CHECK", check or "").replace("FIRST", leading_write)
        else:
            template = _GENERAL if check is None else _CHECKED.replace("CHECK", check)
        self.checked = check is not None or leading_write is not None
        self.script = template.replace("BODY", body).replace("WINDOW_MS", str(MARKER_TTL_SECONDS * 1000))
        self.sha = hashlib.sha1(self.script.encode()).hexdigest()
        self._sha = self.sha.encode()  # bytes go through the client's encoder untouched

    def argv(self, key: KeyLike, keys: Sequence[KeyLike], args: Sequence[Any], write_id: str, utf8: bool) -> list[Any]:
        """What follows ``EVALSHA <sha>`` for this write (see :meth:`run`)."""
        # numkeys as bytes: the client passes bytes through without its per-argument type checks;
        # with utf8 (the client encodes text as UTF-8) the marker and the write id go as bytes too
        numkeys = _NUMKEYS[len(keys)] if len(keys) < len(_NUMKEYS) else str(1 + len(keys)).encode()
        generation = write_id.partition(".")[0]
        if utf8:
            return [numkeys, marker_arg(key, generation), *keys, *args, write_id.encode()]
        return [numkeys, _marker(key, generation), *keys, *args, write_id]

    def run(
        self,
        client: Any,
        key: KeyLike,
        keys: Sequence[KeyLike],
        args: Sequence[Any],
        *,
        write_id: str,
        utf8: bool = False,
    ) -> Outcome:
        """Run once on a sync client (``redis.Redis`` / ``RedisCluster``); ``key`` decides the slot.

        ``utf8=True`` says the client encodes text as UTF-8 (redis-py's default): the marker and
        the write id are then sent as bytes, which the client passes through unchecked (the
        caller may do the same with its keys and arguments).

        Raises:
            WriteUnconfirmed: the connection kept failing after the write was sent, or the server
                refused a send before running it (``BUSY``, ``CLUSTERDOWN``, ``TRYAGAIN``, ``READONLY``...),
                which says nothing about an earlier send that may have been applied.
            redis.ResponseError: the body refused (nothing was written).
        """
        argv = self.argv(key, keys, args, write_id, utf8)
        started = time.monotonic()
        try:
            reply = client.execute_command("EVALSHA", self._sha, *argv)
        except Exception as exc:
            reply = self.recover(client, key, argv, write_id, started, exc)
        return self._outcome(reply)

    def recover(self, client: Any, key: KeyLike, argv: list[Any], write_id: str, started: float, exc: Exception) -> Any:
        """What :meth:`run` does when the first send of ``argv`` (made at ``started``) raised ``exc``.

        A caller that sends the first ``EVALSHA`` itself (the history's one-message append does)
        hands its failure here: the script is loaded if the server lacks it, the write is sent
        again after a connection failure, and the outcome is the server's reply or an exception
        as :meth:`run` raises it.
        """
        if isinstance(exc, redis.exceptions.NoScriptError):
            try:
                return client.eval(self.script, *argv)  # loads it on that server for the next time
            except Exception as again:
                exc = again
        failure = self._failure(key, write_id, 1, exc)
        deadline = started + _RETRY_WINDOW
        attempt = 1
        while True:
            if attempt > _RETRY_BUDGET or time.monotonic() >= deadline:
                raise WriteUnconfirmed(_text(key), write_id, attempt, failure) from failure
            log.debug("write %s to %r: %s; sending it again (replay-safe)", write_id, _text(key), failure)
            time.sleep(0.1)
            attempt += 1
            try:
                return self._send(client, argv)
            except Exception as exc:
                failure = self._failure(key, write_id, attempt, exc)

    @staticmethod
    def _failure(key: KeyLike, write_id: str, attempt: int, exc: Exception) -> Exception:
        """``exc`` if the write may be sent again (a connection failure); else what to raise, raised."""
        if isinstance(exc, _TRANSIENT):
            return exc
        if isinstance(exc, redis.exceptions.RedisError) and _says_nothing(exc):
            raise WriteUnconfirmed(_text(key), write_id, attempt, exc) from exc
        raise exc

    def _send(self, client: Any, argv: list[Any]) -> Any:
        try:
            return client.execute_command("EVALSHA", self._sha, *argv)
        except redis.exceptions.NoScriptError:
            return client.eval(self.script, *argv)  # loads it on that server for the next time

    async def arun(
        self,
        client: Any,
        key: KeyLike,
        keys: Sequence[KeyLike],
        args: Sequence[Any],
        *,
        write_id: str,
        utf8: bool = False,
    ) -> Outcome:
        """:meth:`run` for ``redis.asyncio`` clients."""
        argv = self.argv(key, keys, args, write_id, utf8)
        started = time.monotonic()
        try:
            reply = await client.execute_command("EVALSHA", self._sha, *argv)
        except Exception as exc:
            reply = await self.arecover(client, key, argv, write_id, started, exc)
        return self._outcome(reply)

    async def arecover(
        self, client: Any, key: KeyLike, argv: list[Any], write_id: str, started: float, exc: Exception
    ) -> Any:
        """:meth:`recover` for ``redis.asyncio`` clients."""
        if isinstance(exc, redis.exceptions.NoScriptError):
            try:
                return await client.eval(self.script, *argv)
            except Exception as again:
                exc = again
        failure = self._failure(key, write_id, 1, exc)
        deadline = started + _RETRY_WINDOW
        attempt = 1
        while True:
            if attempt > _RETRY_BUDGET or time.monotonic() >= deadline:
                raise WriteUnconfirmed(_text(key), write_id, attempt, failure) from failure
            log.debug("write %s to %r: %s; sending it again (replay-safe)", write_id, _text(key), failure)
            await asyncio.sleep(0.1)
            attempt += 1
            try:
                return await self._asend(client, argv)
            except Exception as exc:
                failure = self._failure(key, write_id, attempt, exc)

    async def _asend(self, client: Any, argv: list[Any]) -> Any:
        try:
            return await client.execute_command("EVALSHA", self._sha, *argv)
        except redis.exceptions.NoScriptError:
            return await client.eval(self.script, *argv)

    def _outcome(self, reply: Any) -> Outcome:
        if self.checked:
            if reply == b"REPLAY" or reply == "REPLAY":
                return Outcome(False, None)
            return Outcome(True, reply)
        applied = bool(int(reply[0]))
        return Outcome(applied, reply[1] if applied and len(reply) > 1 else None)
