"""MemorystoreChatMessageHistory: LangChain chat history in one Redis LIST per session."""

from __future__ import annotations

import codecs
import contextlib
import gc
import hashlib
import re
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Union, overload

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage

from .codec import decode_message, encode_message, reply_text
from .errors import ArgumentError, ClientKindError, CorruptMessageError
from .server_errors import WriteUnconfirmed, WrongTypeError
from .writes import MAX_TTL_SECONDS, OnceScript, marker_arg, new_write_id

__all__ = ["MemorystoreChatMessageHistory"]

SyncClient = Union[redis.Redis, redis.cluster.RedisCluster]
AsyncClient = Union[redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster]
Raw = Union[bytes, str]


# Every write is one replay-safe script (memstore_nb.writes), so a write whose reply was lost is
# not stored twice when it is sent again, and a key of another type is never written or expired.
# The append is the record-first form: its first push (its reply in `first`) refuses a key of
# another type (WRONGTYPE) with nothing written, and the write id is taken back; after it nothing
# can fail: the ttl was validated in Python before sending (and is checked again here, before
# anything is written), and the later chunks push to what is now a list. So no TYPE call: two
# commands per append (SADD of the id, RPUSH), plus EXPIRE with a ttl.
# Arguments: the messages, the ttl (0: none), the write id (last). One message, the usual call,
# is pushed without unpack(); more go in chunks of 1,000, as unpack() is bounded by Lua's C stack.
# The ttl check is arithmetic (no pattern match): a whole number in range; EXPIRE gets
# the number back as Redis prints it, so a form such as " 5" or "0x10" never reaches it as text.
_APPEND = OnceScript(
    """
local n = first
for i = 1001, count, 1000 do
  n = redis.call('RPUSH', KEYS[2], unpack(ARGV, i, i + 999 < count and i + 999 or count))
end
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) end
return n
""",
    check="""
local count = last - 2
local ttl = tonumber(ARGV[last - 1])
if count < 1 or ttl == nil or not (ttl >= 0 and ttl <= MAX_TTL and ttl % 1 == 0) then
  return redis.error_reply('ERR memstore-nb: ttl out of range: ' .. tostring(ARGV[last - 1]))
end
""".replace("MAX_TTL", str(MAX_TTL_SECONDS)),
    leading_write="""
if count == 1 then
  first = redis.pcall('RPUSH', KEYS[2], ARGV[1])
else
  first = redis.pcall('RPUSH', KEYS[2], unpack(ARGV, 1, count < 1000 and count or 1000))
end""",
)


# clear() checks the type first: DEL would delete a key of any type.
_CHECK_LIST = """
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'list' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE memstore-nb: the key holds a ' .. kind)
end
"""
# DEL, but only of a list: a hash or string at the key is refused, in the same atomic step.
_CLEAR = OnceScript("return redis.call('DEL', KEYS[2])", check=_CHECK_LIST)
_HOLDS = re.compile(r"WRONGTYPE memstore-nb: the key holds a (\w+)")
_PENDING_LIMIT = 64
# Decoding builds several container objects per message, and the cyclic garbage collector would
# walk every young one many times over while a long session is read (about a third of the time
# for 10,000 messages). None of them can form a cycle that needs collecting before the read
# returns, so the collector pauses for reads of at least this many elements (and only if it
# was on: a caller's gc.disable() is left alone).
_GC_PAUSE_FROM = 1_000


def _is_async(client: object) -> bool:
    return isinstance(client, (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster))


_APPEND_SHA = _APPEND.sha.encode()


def _encodes_utf8(client: object) -> bool:
    """Whether the client encodes text as UTF-8 (redis-py's default), so that text the append
    sends can go as bytes it encoded once: redis-py's per-argument type checks and encoding cost
    about a microsecond per argument, a tenth of what the exactly-once script adds to a write."""
    try:
        return codecs.lookup(client.get_encoder().encoding).name == "utf-8"  # type: ignore[attr-defined]
    except Exception:  # a client without redis-py's encoder: let it encode as it does
        return False


def _ttl_seconds(ttl: int | timedelta | None) -> int | None:
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
        if seconds != int(seconds):
            raise ArgumentError(f"ttl must be a whole number of seconds, got {ttl!r}", ttl)
        ttl = int(seconds)
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise ArgumentError(f"ttl must be a positive number of seconds (int) or None, got {ttl!r}", ttl)
    if ttl <= 0:
        raise ArgumentError(f"ttl must be positive (seconds), got {ttl}; use None for no expiry", ttl)
    if ttl > MAX_TTL_SECONDS:
        raise ArgumentError(
            f"ttl must be at most {MAX_TTL_SECONDS} seconds (the largest expiry every Redis accepts), "
            f"got {ttl}; use None for no expiry",
            ttl,
        )
    return ttl


class MemorystoreChatMessageHistory(BaseChatMessageHistory):
    """Chat message history stored in Redis, one LIST per session.

    Storage is the same as Google's ``langchain-google-memorystore-redis``:
    the list at ``key_prefix + session_id`` holds one
    ``json.dumps(message_to_dict(message))`` document per message, oldest
    first. Either class reads what the other wrote.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` (sync
            methods), or a ``redis.asyncio`` client (the ``a*`` methods).
            ``decode_responses`` may be on or off.
        session_id: the conversation's id; a non-empty string.
        ttl: seconds the session lives after its latest write (sliding), or
            ``None`` to keep it until cleared.
        key_prefix: prepended to ``session_id`` to form the key (upstream uses none).

    Raises:
        ArgumentError: empty or non-string ``session_id``, bad ``ttl``.

    Example:
        >>> history = MemorystoreChatMessageHistory(client, "session1", ttl=3600)  # doctest: +SKIP
        >>> history.add_messages([HumanMessage("hi"), AIMessage("hello!")])  # doctest: +SKIP
        >>> history[-1].content  # doctest: +SKIP
        'hello!'
    """

    def __init__(
        self,
        client: SyncClient | AsyncClient,
        session_id: str,
        ttl: int | timedelta | None = None,
        *,
        key_prefix: str = "",
    ) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise ArgumentError(f"session_id must be a non-empty string, got {session_id!r}", session_id)
        if not isinstance(key_prefix, str):
            raise ArgumentError(f"key_prefix must be a string, got {key_prefix!r}", key_prefix)
        self.client = client
        self.session_id = session_id
        self.key_prefix = key_prefix
        self.key = key_prefix + session_id
        self.ttl = _ttl_seconds(ttl)
        self._async = _is_async(client)
        # The append's key argument, as the client would encode it (see _encodes_utf8)
        self._utf8 = _encodes_utf8(client)
        key_arg: Raw = self.key
        if self._utf8:
            with contextlib.suppress(UnicodeEncodeError):  # else the client refuses it, as it would have
                key_arg = self.key.encode("utf-8")
        self._key_args = (key_arg,)
        # the one-message append's short path (see _direct_argv): a client that takes bytes as they are
        self._direct = self._utf8 and isinstance(key_arg, bytes)
        # Writes whose outcome was unknown, by content: sending the same messages again reuses the
        # write id, so the server recognises the retry instead of storing the messages twice.
        self._pending: dict[bytes, str] = {}
        self._pending_lock = threading.Lock()

    def __repr__(self) -> str:
        kind = "async " if self._async else ""
        return f"<MemorystoreChatMessageHistory {kind}key={self.key!r} ttl={self.ttl}>"

    # -- errors ---------------------------------------------------------------

    def _sync(self) -> SyncClient:
        if self._async:
            raise ClientKindError(
                "this history was made with a redis.asyncio client: use the async methods "
                "(await history.aget_messages(), aadd_messages(), aclear()) or pass a redis.Redis client"
            )
        return self.client  # type: ignore[return-value]

    def _wrong_type(self, exc: redis.ResponseError) -> Exception:
        if "WRONGTYPE" not in str(exc):
            return exc
        said = _HOLDS.search(str(exc))
        if said:
            return WrongTypeError(self.key, said.group(1))
        try:
            actual = reply_text(self._sync().type(self.key))
        except redis.RedisError:
            actual = "non-list value"
        return WrongTypeError(self.key, actual)

    async def _awrong_type(self, exc: redis.ResponseError) -> Exception:
        if "WRONGTYPE" not in str(exc):
            return exc
        said = _HOLDS.search(str(exc))
        if said:
            return WrongTypeError(self.key, said.group(1))
        try:
            actual = reply_text(await self.client.type(self.key))  # type: ignore[misc]
        except redis.RedisError:
            actual = "non-list value"
        return WrongTypeError(self.key, actual)

    def _decode_all(self, raws: Sequence[Raw], first_index: int) -> list[BaseMessage]:
        key = self.key
        if len(raws) < _GC_PAUSE_FROM or not gc.isenabled():
            return [decode_message(raw, key=key, index=first_index + i) for i, raw in enumerate(raws)]
        gc.disable()
        try:
            return [decode_message(raw, key=key, index=first_index + i) for i, raw in enumerate(raws)]
        finally:
            gc.enable()

    def _first_index(self, start: int) -> int:
        # Only error messages need the absolute index of a window that was
        # asked for from the end, so the extra LLEN is paid only then.
        return start if start >= 0 else max(len(self) + start, 0)

    # -- reads ----------------------------------------------------------------

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """Every message of the session, oldest first (one LRANGE)."""
        return self._decode_all(self._lrange(0, -1), 0)

    def _lrange(self, start: int, end: int) -> list[Raw]:
        try:
            return self._sync().lrange(self.key, start, end)  # type: ignore[return-value]
        except redis.ResponseError as exc:
            raise self._wrong_type(exc) from exc

    def __len__(self) -> int:
        """The number of messages (LLEN)."""
        try:
            return int(self._sync().llen(self.key))  # type: ignore[arg-type]
        except redis.ResponseError as exc:
            raise self._wrong_type(exc) from exc

    def __bool__(self) -> bool:
        # Defining __len__ would make `if history:` cost a round trip and be
        # False for a new session; an object that exists stays truthy.
        return True

    @overload
    def __getitem__(self, index: int) -> BaseMessage: ...

    @overload
    def __getitem__(self, index: slice) -> list[BaseMessage]: ...

    def __getitem__(self, index: int | slice) -> BaseMessage | list[BaseMessage]:
        """``history[i]`` reads one element (LINDEX); ``history[a:b:c]`` one range (LRANGE).

        Python's semantics hold: negative indices count from the end, slices
        clamp, and an index out of range raises ``IndexError``.
        """
        if isinstance(index, slice):
            return self._slice(index)
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise TypeError(f"history indices must be integers or slices, not {type(index).__name__}")
        i = index.__index__()
        try:
            raw = self._sync().lindex(self.key, i)
        except redis.ResponseError as exc:
            raise self._wrong_type(exc) from exc
        if raw is None:
            raise IndexError(f"history index {i} out of range for key {self.key!r}")
        return decode_message(raw, key=self.key, index=i if i >= 0 else len(self) + i)  # type: ignore[arg-type]

    def _slice(self, s: slice) -> list[BaseMessage]:
        step = 1 if s.step is None else s.step.__index__()
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step == 1:
            # LRANGE clamps and counts from the end exactly as Python slicing
            # does; only its inclusive end differs, and 0 would mean "last".
            start = 0 if s.start is None else s.start.__index__()
            stop = None if s.stop is None else s.stop.__index__()
            if stop == 0:
                return []
            raws = self._lrange(start, -1 if stop is None else stop - 1)
            try:
                return self._decode_all(raws, start)
            except CorruptMessageError:
                if start >= 0:
                    raise
                return self._decode_all(raws, self._first_index(start))
        wanted = range(*s.indices(len(self)))
        if not wanted:
            return []
        low, high = min(wanted), max(wanted)
        raws = self._lrange(low, high)
        return [decode_message(raws[i - low], key=self.key, index=i) for i in wanted if i - low < len(raws)]

    def read_range(self, start: int, end: int) -> list[BaseMessage | CorruptMessageError]:
        """Elements ``start``..``end`` inclusive (LRANGE), never raising on a bad element.

        Made for viewers: an element that is not a message comes back as the
        :class:`CorruptMessageError` describing it, in its place.

        Args:
            start: first index, LRANGE-style (negative counts from the end).
            end: last index, inclusive.
        """
        raws = self._lrange(start, end)
        out: list[BaseMessage | CorruptMessageError] = []
        base: int | None = start if start >= 0 else None
        for offset, raw in enumerate(raws):
            try:
                out.append(decode_message(raw, key=self.key, index=offset))
            except CorruptMessageError:
                base = self._first_index(start) if base is None else base
                try:
                    decode_message(raw, key=self.key, index=base + offset)
                except CorruptMessageError as exc:
                    out.append(exc)
        return out

    # -- writes ---------------------------------------------------------------

    def add_message(self, message: BaseMessage) -> None:
        """Append one message (one round trip, TTL refreshed); as :meth:`add_messages` with one."""
        if not isinstance(message, BaseMessage):
            raise TypeError(f"expected a LangChain message, got {type(message).__name__}: {message!r:.80}")
        direct = None if self._async else self._direct_argv(message)
        if direct is None:
            self._append([encode_message(message)])
            return
        argv, write_id = direct
        started = time.monotonic()
        try:
            self.client.execute_command("EVALSHA", _APPEND_SHA, *argv)  # type: ignore[union-attr]
        except Exception as exc:
            try:
                _APPEND.recover(self.client, self.key, argv, write_id, started, exc)
            except WriteUnconfirmed:
                self._unconfirmed(None, [reply_text(argv[3])], write_id)
                raise
            except redis.ResponseError as refused:
                raise self._wrong_type(refused) from refused

    def _direct_argv(self, message: BaseMessage) -> tuple[list[Raw], str] | None:
        """What follows ``EVALSHA <sha>`` for appending ``message``, and its write id, built here as
        bytes — or None unless this is the usual call (a client that takes bytes, no unconfirmed
        write pending); then the general path (_append, _APPEND.run) runs.

        The one-message append sends its first EVALSHA itself and hands a failure to
        ``_APPEND.recover``, which does what ``run`` does after a failed first send. On a write this
        short each Python call saved shows: this path is about 4-8 us faster per call
        (``benchmarks/bench_history.py``).
        """
        if not self._direct or self._pending:
            return None
        ttl = self._checked_ttl()  # raises ArgumentError before anything is sent
        write_id = new_write_id()
        argv: list[Raw] = [
            b"2",
            marker_arg(self.key, write_id.partition(".")[0]),
            self._key_args[0],
            encode_message(message).encode(),
            b"%d" % ttl,
            write_id.encode(),
        ]
        return argv, write_id

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append messages in order, in ONE round trip, exactly once.

        One server-side script pushes the whole batch (refused with nothing written if the key
        holds another type), refreshes the TTL, and records the call's write id: if the reply is lost and the call is
        sent again (by the client's retry policy or by this method), the server recognises it
        and does nothing.

        Raises:
            WrongTypeError: the key holds something else; nothing was written.
            ArgumentError: ``ttl`` was set to a value the constructor would refuse; nothing was sent.
            WriteUnconfirmed: the connection failed after the write was sent and kept failing, so
                whether it was stored is unknown (it was stored at most once). Calling
                ``add_messages`` again with the same messages completes it without a duplicate.
        """
        self._append(self._encode(messages))

    def _append(self, encoded: list[str]) -> None:
        # The hot path of a one-at-a-time append: the usual case (no unconfirmed write pending)
        # takes a new id without a call to _write_id.
        if not encoded:
            return
        ttl = self._checked_ttl()
        fingerprint, write_id = self._write_id(encoded) if self._pending else (None, new_write_id())
        client = self.client if not self._async else self._sync()  # _sync() raises ClientKindError
        try:
            _APPEND.run(client, self.key, self._key_args, self._args(encoded, ttl), write_id=write_id, utf8=self._utf8)
        except WriteUnconfirmed:
            self._unconfirmed(fingerprint, encoded, write_id)
            raise
        except redis.ResponseError as exc:
            self._settled(fingerprint)
            raise self._wrong_type(exc) from exc
        if fingerprint is not None:
            self._settled(fingerprint)

    def _args(self, encoded: list[str], ttl: int) -> list[Raw]:
        """The append's arguments: the messages, then the ttl. Bytes for a UTF-8 client (JSON with
        ``ensure_ascii`` is ASCII, so ``str.encode`` gives exactly the client's bytes)."""
        if not self._utf8:
            return [*encoded, str(ttl)]
        if len(encoded) == 1:
            return [encoded[0].encode(), b"%d" % ttl]
        return [*[item.encode() for item in encoded], b"%d" % ttl]

    def _checked_ttl(self) -> int:
        """The ttl to send (0: none), validated before anything is sent: ``ttl`` may have been
        reassigned since the constructor checked it."""
        ttl = self.ttl
        if ttl is None:
            return 0
        if type(ttl) is int and 0 < ttl <= MAX_TTL_SECONDS:
            return ttl
        return _ttl_seconds(ttl) or 0  # raises ArgumentError, or converts a timedelta

    def _write_id(self, encoded: list[str]) -> tuple[bytes | None, str]:
        """The id for writing ``encoded``: a new one, or the id of an unconfirmed write of the same content.

        The content is hashed only while some write of this object is unconfirmed, so the usual
        call pays nothing for the retry bookkeeping.
        """
        if not self._pending:
            return None, new_write_id()
        fingerprint = self._fingerprint(encoded)
        with self._pending_lock:
            return fingerprint, self._pending.get(fingerprint) or new_write_id()

    def _fingerprint(self, encoded: list[str]) -> bytes:
        digest = hashlib.sha256(f"{self.key}\x00{self.ttl}".encode("utf-8", "surrogatepass"))
        for item in encoded:
            digest.update(b"\x1e" + item.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def _unconfirmed(self, fingerprint: bytes | None, encoded: list[str], write_id: str) -> None:
        fingerprint = fingerprint or self._fingerprint(encoded)
        with self._pending_lock:
            if fingerprint not in self._pending and len(self._pending) >= _PENDING_LIMIT:
                self._pending.pop(next(iter(self._pending)))
            self._pending[fingerprint] = write_id

    def _settled(self, fingerprint: bytes | None) -> None:
        if fingerprint is not None:
            with self._pending_lock:
                self._pending.pop(fingerprint, None)

    @staticmethod
    def _encode(messages: Sequence[BaseMessage]) -> list[str]:
        if isinstance(messages, BaseMessage):
            raise TypeError("add_messages takes a sequence of messages; use add_message for one")
        out = []
        for message in messages:
            if not isinstance(message, BaseMessage):
                raise TypeError(f"expected LangChain messages, got {type(message).__name__}: {message!r:.80}")
            out.append(encode_message(message))
        return out

    def clear(self) -> None:
        """Delete the whole session (DEL). The messages are gone for good.

        Raises:
            WrongTypeError: the key holds something other than a list; it was left untouched.
        """
        try:
            _CLEAR.run(self._sync(), self.key, [self.key], [], write_id=new_write_id())
        except redis.ResponseError as exc:
            raise self._wrong_type(exc) from exc

    # -- async ----------------------------------------------------------------

    async def aget_messages(self) -> list[BaseMessage]:
        """Every message, with a ``redis.asyncio`` client (or a sync one, in a thread)."""
        if not self._async:
            return await super().aget_messages()
        try:
            raws = await self.client.lrange(self.key, 0, -1)  # type: ignore[misc]
        except redis.ResponseError as exc:
            raise await self._awrong_type(exc) from exc
        return self._decode_all(raws, 0)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append messages in one round trip, exactly once, with a ``redis.asyncio`` client.

        Same guarantees and errors as :meth:`add_messages`.
        """
        if not self._async:
            return await super().aadd_messages(messages)
        one = type(messages) in (list, tuple) and len(messages) == 1 and isinstance(messages[0], BaseMessage)
        direct = self._direct_argv(messages[0]) if one else None
        if direct is not None:  # one message, the usual call: as add_message does
            argv, write_id = direct
            started = time.monotonic()
            try:
                await self.client.execute_command("EVALSHA", _APPEND_SHA, *argv)  # type: ignore[misc]
            except Exception as exc:
                try:
                    await _APPEND.arecover(self.client, self.key, argv, write_id, started, exc)
                except WriteUnconfirmed:
                    self._unconfirmed(None, [reply_text(argv[3])], write_id)
                    raise
                except redis.ResponseError as refused:
                    raise await self._awrong_type(refused) from refused
            return None
        encoded = self._encode(messages)
        if not encoded:
            return None
        ttl = self._checked_ttl()
        fingerprint, write_id = self._write_id(encoded) if self._pending else (None, new_write_id())
        # _APPEND.arun with its first send made here: one coroutine fewer per call
        argv = _APPEND.argv(self.key, self._key_args, self._args(encoded, ttl), write_id, self._utf8)
        started = time.monotonic()
        try:
            try:
                await self.client.execute_command("EVALSHA", _APPEND_SHA, *argv)  # type: ignore[misc]
            except Exception as exc:
                await _APPEND.arecover(self.client, self.key, argv, write_id, started, exc)
        except WriteUnconfirmed:
            self._unconfirmed(fingerprint, encoded, write_id)
            raise
        except redis.ResponseError as exc:
            self._settled(fingerprint)
            raise await self._awrong_type(exc) from exc
        self._settled(fingerprint)
        return None

    async def aclear(self) -> None:
        """Delete the whole session, with a ``redis.asyncio`` client (a list only, like :meth:`clear`)."""
        if not self._async:
            return await super().aclear()
        try:
            await _CLEAR.arun(self.client, self.key, [self.key], [], write_id=new_write_id())
        except redis.ResponseError as exc:
            raise await self._awrong_type(exc) from exc
        return None
