"""MemorystoreChatMessageHistory: LangChain chat history in one Redis LIST per session."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Sequence
from datetime import timedelta
from typing import overload

import redis
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage

from ..clients import AsyncClient, SyncClient, checked_text, encodes_utf8, is_async
from ..codec import Raw, decode_message, encode_message
from ..errors import ArgumentError, ClientKindError, CorruptMessageError
from ..server_errors import WriteUnconfirmed, WrongTypeError
from ..writes import MAX_TTL_SECONDS, Ledger, new_write_id, ttl_seconds
from .scripts import APPEND, CLEAR

__all__ = ["MemorystoreChatMessageHistory"]


# Decoding builds several container objects per message, and the cyclic garbage collector would
# walk every young one many times over while a long session is read (about a third of the time
# for 10,000 messages). None of them can form a cycle that needs collecting before the read
# returns, so the collector pauses for reads of at least this many elements (and only if it
# was on: a caller's gc.disable() is left alone).
_GC_PAUSE_FROM = 1_000


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
        ArgumentError: empty or non-string ``session_id`` (or one the client cannot encode, such as a
            lone surrogate), bad ``ttl``.

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
        checked_text("session_id", session_id, client)  # a lone surrogate: refused here, not at every call
        checked_text("key_prefix", key_prefix, client)
        self.client = client
        self.session_id = session_id
        self.key_prefix = key_prefix
        self.key = key_prefix + session_id
        self.ttl = ttl_seconds(ttl)
        self._async = is_async(client)
        # The append's key argument, as the client would encode it (see clients.encodes_utf8)
        self._utf8 = encodes_utf8(client)
        key_arg: Raw = self.key
        if self._utf8:
            with contextlib.suppress(UnicodeEncodeError):  # else the client refuses it, as it would have
                key_arg = self.key.encode("utf-8")
        self._key_args = (key_arg,)
        # add_message's one-frame path (arguments prepared as bytes): a client that takes bytes as they are
        self._direct = self._utf8 and isinstance(key_arg, bytes)
        # Writes whose outcome was unknown, by content: sending the same messages again reuses the
        # write id, so the server recognises the retry instead of storing the messages twice.
        self._ledger = Ledger()

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

    def _wrong_type(self, exc: redis.ResponseError) -> BaseException:
        return WrongTypeError.of(self._sync(), self.key, exc)

    async def _awrong_type(self, exc: redis.ResponseError) -> BaseException:
        return await WrongTypeError.aof(self.client, self.key, exc)

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
        if self._async or not self._direct or self._ledger:
            self._append([encode_message(message)])
            return
        # The usual call in one frame: arguments prepared as bytes here, sent by APPEND.send.
        encoded = encode_message(message)
        write_id = new_write_id()
        argv = APPEND.argv(self.key, self._key_args, (encoded.encode(), b"%d" % self._checked_ttl()), write_id, True)
        try:
            APPEND.send(self.client, self.key, argv, write_id)
        except WriteUnconfirmed:
            self._unconfirmed(None, [encoded], write_id)
            raise
        except redis.ResponseError as refused:
            raise self._wrong_type(refused) from refused

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
        if not encoded:
            return
        client = self._sync()  # ClientKindError for an asyncio client
        fingerprint, write_id, argv = self._prepared(encoded)
        try:
            APPEND.send(client, self.key, argv, write_id)
        except WriteUnconfirmed:
            self._unconfirmed(fingerprint, encoded, write_id)
            raise
        except redis.ResponseError as exc:
            self._ledger.settled(fingerprint)
            raise self._wrong_type(exc) from exc
        self._ledger.settled(fingerprint)

    def _prepared(self, encoded: list[str]) -> tuple[bytes | None, str, list[Raw]]:
        """The write's content fingerprint (None unless some write is unconfirmed), id and arguments."""
        ttl = self._checked_ttl()  # ArgumentError before anything is sent
        if self._ledger:
            fingerprint: bytes | None = self._fingerprint(encoded)
            write_id = self._ledger.id_for(fingerprint)  # type: ignore[arg-type]
        else:
            fingerprint, write_id = None, new_write_id()
        return (
            fingerprint,
            write_id,
            APPEND.argv(self.key, self._key_args, self._args(encoded, ttl), write_id, self._utf8),
        )

    def _args(self, encoded: list[str], ttl: int) -> list[Raw]:
        """The append's arguments: the messages, then the ttl. Bytes for a UTF-8 client (JSON with
        ``ensure_ascii`` is ASCII, so ``str.encode`` gives exactly the client's bytes)."""
        if not self._utf8:
            return [*encoded, str(ttl)]
        return [*[item.encode() for item in encoded], b"%d" % ttl]

    def _checked_ttl(self) -> int:
        """The ttl to send (0: none), validated before anything is sent: ``ttl`` may have been
        reassigned since the constructor checked it."""
        ttl = self.ttl
        if ttl is None:
            return 0
        if type(ttl) is int and 0 < ttl <= MAX_TTL_SECONDS:
            return ttl
        return ttl_seconds(ttl) or 0  # raises ArgumentError, or converts a timedelta

    def _fingerprint(self, encoded: list[str]) -> bytes:
        return Ledger.fingerprint([f"{self.key}\x00{self.ttl}", *encoded])

    def _unconfirmed(self, fingerprint: bytes | None, encoded: list[str], write_id: str) -> None:
        self._ledger.unconfirmed(fingerprint or self._fingerprint(encoded), write_id)

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
            CLEAR.run(self._sync(), self.key, [self.key], [], write_id=new_write_id())
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
        if self._direct and not self._ledger and type(messages) in (list, tuple) and len(messages) == 1:
            message = messages[0]
            if isinstance(message, BaseMessage):  # the usual call, prepared as add_message prepares it
                one = encode_message(message)
                wid = new_write_id()
                direct = APPEND.argv(self.key, self._key_args, (one.encode(), b"%d" % self._checked_ttl()), wid, True)
                try:
                    await APPEND.asend(self.client, self.key, direct, wid)
                except WriteUnconfirmed:
                    self._unconfirmed(None, [one], wid)
                    raise
                except redis.ResponseError as refused:
                    raise await self._awrong_type(refused) from refused
                return None
        encoded = self._encode(messages)
        if not encoded:
            return None
        fingerprint, write_id, argv = self._prepared(encoded)
        try:
            await APPEND.asend(self.client, self.key, argv, write_id)
        except WriteUnconfirmed:
            self._unconfirmed(fingerprint, encoded, write_id)
            raise
        except redis.ResponseError as exc:
            self._ledger.settled(fingerprint)
            raise await self._awrong_type(exc) from exc
        self._ledger.settled(fingerprint)
        return None

    async def aclear(self) -> None:
        """Delete the whole session, with a ``redis.asyncio`` client (a list only, like :meth:`clear`)."""
        if not self._async:
            return await super().aclear()
        try:
            await CLEAR.arun(self.client, self.key, [self.key], [], write_id=new_write_id())
        except redis.ResponseError as exc:
            raise await self._awrong_type(exc) from exc
        return None
