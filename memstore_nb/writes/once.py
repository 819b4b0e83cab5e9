"""OnceScript: a write body made replay-safe, and the send that recovers from a lost reply without a duplicate."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import redis
import redis.exceptions

from ..clients import acall_when_free, call_when_free
from ..sending import command
from ..server_errors import POOL_ADVICE, NotSent, PoolExhausted, WriteUnconfirmed, no_free_connection
from .ids import MARKER_TTL_SECONDS, KeyLike, key_text, marker, marker_arg
from .templates import CHECKED, GENERAL, LEADING, RECORDED

__all__ = ["OnceScript", "Outcome"]

log = logging.getLogger(__name__)

# Extra sends of the same write after a connection failure. The client's own retry policy has
# usually re-sent it already (safely: same id); one more send, after a short pause, settles most
# lost replies without multiplying the client's wait on a server that is down.
_RETRY_BUDGET = 1
_RETRY_WINDOW = 5.0  # seconds since the first send after which no new send starts
# A send that found no free connection in its client's pool never left (redis-py takes a connection
# before it writes anything), so it may wait for one and try again, as often as it takes within
# this many seconds; then it fails as "not sent", never as "unconfirmed".
_POOL_WAIT = 10.0
_TRANSIENT = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionError, TimeoutError)
# Refusals that come before the script runs, so they say nothing about an earlier send of the same
# write — one by the client's own retry, or by us — which may have been applied: the outcome is unknown.
_NOT_RUN = ("BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY")


def _says_nothing(exc: redis.exceptions.RedisError) -> bool:
    if isinstance(exc, redis.exceptions.ClusterError):  # ClusterDownError, SlotNotCovered, redirections
        return True
    return isinstance(exc, redis.exceptions.ResponseError) and str(exc).startswith(_NOT_RUN)


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
        record_first: with ``check``: record the write id first, then run the check, which may
            read and refuses with ``return refuse(message)`` (the id is taken back); then the
            body, which must not refuse or fail. Two commands fewer per write than ``check`` alone.
    """

    def __init__(
        self, body: str, *, check: str | None = None, leading_write: str | None = None, record_first: bool = False
    ) -> None:
        if leading_write is not None:
            template = LEADING.replace("CHECK", check or "").replace("FIRST", leading_write)
        elif record_first:
            if check is None:
                raise ValueError("record_first needs a check (without one, use leading_write)")
            template = RECORDED.replace("CHECK", check)
        else:
            template = GENERAL if check is None else CHECKED.replace("CHECK", check)
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
        return [numkeys, marker(key, generation), *keys, *args, write_id]

    def send(self, client: Any, key: KeyLike, argv: list[Any], write_id: str) -> Any:
        """Send a write whose arguments :meth:`argv` prepared, on a sync client, and recover as :meth:`run` does.

        The lowest-level entry: one call and one round trip on the usual path (a caller on a hot
        path prepares ``argv`` itself once per write). Returns the server's raw reply.

        Raises:
            WriteUnconfirmed, redis.ResponseError: as :meth:`run`.
        """
        started = time.monotonic()
        try:
            return command(client, "EVALSHA", self._sha, *argv)
        except Exception as exc:
            return self.recover(client, key, argv, write_id, started, exc)

    async def asend(self, client: Any, key: KeyLike, argv: list[Any], write_id: str) -> Any:
        """:meth:`send` for ``redis.asyncio`` clients."""
        started = time.monotonic()
        try:
            return await client.execute_command("EVALSHA", self._sha, *argv)
        except Exception as exc:
            return await self.arecover(client, key, argv, write_id, started, exc)

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
        return self._outcome(self.send(client, key, self.argv(key, keys, args, write_id, utf8), write_id))

    def recover(self, client: Any, key: KeyLike, argv: list[Any], write_id: str, started: float, exc: Exception) -> Any:
        """What :meth:`run` does when the first send of ``argv`` (made at ``started``) raised ``exc``.

        A caller that sends the first ``EVALSHA`` itself (the history's one-message append does)
        hands its failure here: the script is loaded if the server lacks it, the write is sent
        again after a connection failure, and the outcome is the server's reply or an exception
        as :meth:`run` raises it.
        """
        if isinstance(exc, PoolExhausted):  # the client's own pool waited for a connection already
            raise _not_sent(key, exc) from exc
        if no_free_connection(exc):  # it never left: send it once a connection is free, or fail as not sent
            try:
                return call_when_free(lambda: self._send(client, argv), _POOL_WAIT, since=started)
            except PoolExhausted as full:
                raise _not_sent(key, full) from full
            except Exception as again:  # the send happened this time, and failed: recover from that
                exc, started = again, time.monotonic()
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
                raise WriteUnconfirmed(key_text(key), write_id, attempt, failure) from failure
            log.debug("write %s to %r: %s; sending it again (replay-safe)", write_id, key_text(key), failure)
            time.sleep(0.1)
            attempt += 1
            try:  # waits for a free connection only until the window closes: then it is unconfirmed
                return call_when_free(lambda: self._send(client, argv), max(deadline - time.monotonic(), 0.0))
            except Exception as exc:
                failure = self._failure(key, write_id, attempt, exc)

    @staticmethod
    def _failure(key: KeyLike, write_id: str, attempt: int, exc: Exception) -> Exception:
        """``exc`` if the write may be sent again (a connection failure); else what to raise, raised."""
        if attempt == 1 and isinstance(exc, NotSent):
            raise exc  # the first send never left: nothing was stored, and the caller is told so
        if isinstance(exc, _TRANSIENT):
            return exc
        if isinstance(exc, redis.exceptions.RedisError) and _says_nothing(exc):
            raise WriteUnconfirmed(key_text(key), write_id, attempt, exc) from exc
        raise exc

    def _send(self, client: Any, argv: list[Any]) -> Any:
        try:
            return command(client, "EVALSHA", self._sha, *argv)
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
        return self._outcome(await self.asend(client, key, self.argv(key, keys, args, write_id, utf8), write_id))

    async def arecover(
        self, client: Any, key: KeyLike, argv: list[Any], write_id: str, started: float, exc: Exception
    ) -> Any:
        """:meth:`recover` for ``redis.asyncio`` clients."""
        if isinstance(exc, PoolExhausted):
            raise _not_sent(key, exc) from exc
        if no_free_connection(exc):
            try:
                return await acall_when_free(lambda: self._asend(client, argv), _POOL_WAIT, since=started)
            except PoolExhausted as full:
                raise _not_sent(key, full) from full
            except Exception as again:
                exc, started = again, time.monotonic()
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
                raise WriteUnconfirmed(key_text(key), write_id, attempt, failure) from failure
            log.debug("write %s to %r: %s; sending it again (replay-safe)", write_id, key_text(key), failure)
            await asyncio.sleep(0.1)
            attempt += 1
            try:
                return await acall_when_free(lambda: self._asend(client, argv), max(deadline - time.monotonic(), 0.0))
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


def _not_sent(key: KeyLike, full: PoolExhausted) -> PoolExhausted:
    error = PoolExhausted(
        f"the write to {key_text(key)!r} was not sent: no connection of its client's pool was free for "
        f"{full.waited:.1f} s, so nothing was stored and calling again is safe; {POOL_ADVICE}",
        full.waited,
        full.limit,
    )
    error.__cause__ = full
    return error
