"""The list kinds: ``"memstore"`` (oldest first) and langchain-community's ``"community"`` (newest first) sessions.

One Redis LIST per session, one JSON message per element. A community history is read in
conversation order (its window is taken from the other end and reversed) and never written.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import redis

from ..codec import Raw
from ..errors import MemstoreError
from ..history import MemorystoreChatMessageHistory
from ..replies import ttl_of
from ..server_errors import WrongTypeError
from .base import (
    COMMUNITY,
    MEMSTORE,
    BaseTranscript,
    SessionId,
    SessionInfo,
    SessionNotFound,
    SessionStats,
    SessionSummary,
    kind_of,
)
from .entries import Item, decode_entry, entry_role, preview, raw_role, searchable
from .scan import list_keys

__all__ = ["ListSource", "ListTranscript", "find_in_session", "read_raw", "session_stats"]


def read_raw(client: Any, session_id: str, start: int, end: int, kind: str | None = None) -> list[Raw]:
    """Elements ``start``..``end`` (inclusive, 0 = oldest, not negative) as stored, in conversation order.

    A ``"community"`` history is stored newest first, so its window is read from the other end
    (LRANGE with negative indices) and reversed; nothing is rewritten.

    Raises:
        WrongTypeError: the key holds something other than a list.
    """
    try:
        if (kind or kind_of(session_id)) == COMMUNITY:
            return list(client.lrange(session_id, -(end + 1), -(start + 1)))[::-1]
        return list(client.lrange(session_id, start, end))
    except redis.ResponseError as exc:
        raise WrongTypeError.of(client, session_id, exc) from exc


def session_stats(client: Any, session_id: str, kind: str | None = None) -> SessionStats:
    """Length, TTL and memory of one list session in one round trip (LLEN, TTL, MEMORY USAGE).

    Raises:
        SessionNotFound: the key does not exist.
        WrongTypeError: the key holds something other than a list.
    """
    pipe = client.pipeline(transaction=False)
    pipe.llen(session_id)
    pipe.ttl(session_id)
    pipe.memory_usage(session_id)
    length, ttl, memory = pipe.execute(raise_on_error=False)
    return SessionStats(
        session_id=session_id,
        length=_checked_length(client, session_id, length),
        ttl=ttl_of(ttl),
        memory=_memory(memory),
        kind=kind or kind_of(session_id),
    )


def find_in_session(
    client: Any,
    session_id: str,
    text: str,
    *,
    chunk_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
    kind: str | None = None,
) -> list[int]:
    """Indices of the messages whose text contains ``text``, ignoring case.

    Reads the list in LRANGE windows of ``chunk_size``, so memory stays flat
    for any session size; ``progress(done, total)`` is called after each window.
    An unreadable element is searched as its raw text.

    Raises:
        SessionNotFound: the key does not exist.
        WrongTypeError: the key holds something other than a list.
    """
    needle = text.casefold()
    total = session_stats(client, session_id, kind).length
    hits: list[int] = []
    if not needle:
        return hits
    start = 0
    while start < total:
        raws = read_raw(client, session_id, start, start + chunk_size - 1, kind)
        if not raws:  # the list shrank meanwhile
            break
        hits.extend(start + i for i, raw in enumerate(raws) if needle in searchable(raw).casefold())
        start += len(raws)
        if progress is not None:
            progress(min(start, total), total)
    return hits


class ListTranscript(BaseTranscript):
    """A session kept in one Redis list, ``"memstore"`` (oldest first) or ``"community"`` (newest first).

    Index 0 is always the oldest message. Only ``"memstore"`` sessions are
    ``writable``: a langchain-community history is read, never rewritten.
    """

    def __init__(self, client: Any, session_id: str, kind: str | None = None) -> None:
        self.client = client
        self.session_id = str(session_id)
        self.kind = kind or kind_of(session_id)
        self.writable = self.kind == MEMSTORE
        self._history = MemorystoreChatMessageHistory(client, self.session_id) if self.writable else None

    @property
    def history(self) -> MemorystoreChatMessageHistory:
        """The history object for writing (append, clear); only for writable sessions."""
        if self._history is None:
            raise MemstoreError(
                f"{self.session_id!r} is a {self.kind} history: the viewer reads it but never writes it"
            )
        return self._history

    def stats(self) -> SessionStats:
        """Length, TTL and memory in one round trip (raises ``SessionNotFound`` when the key is gone)."""
        return session_stats(self.client, self.session_id, self.kind)

    def read_range(self, start: int, end: int) -> list[Item]:
        """Messages ``start``..``end`` inclusive (0 = oldest), a bad element as its ``CorruptMessageError``."""
        if end < start:
            return []
        if self._history is not None:
            return self._history.read_range(start, end)
        raws = read_raw(self.client, self.session_id, start, end, self.kind)
        return [decode_entry(raw, self.session_id, start + i) for i, raw in enumerate(raws)]  # type: ignore[misc]

    def read_raw(self, start: int, end: int) -> list[Raw]:
        """The stored elements ``start``..``end`` (0 = oldest) as they are, in conversation order."""
        return read_raw(self.client, self.session_id, start, end, self.kind)

    def read_at(self, indices: Sequence[int]) -> list[Item | None]:
        """The messages at ``indices`` (0 = oldest), in one pipelined round trip."""
        if not indices:
            return []
        pipe = self.client.pipeline(transaction=False)
        newest_first = self.kind == COMMUNITY
        for i in indices:
            pipe.lindex(self.session_id, -(i + 1) if newest_first else i)
        raws = pipe.execute(raise_on_error=False)
        return [decode_entry(raw, self.session_id, i) for i, raw in zip(indices, raws, strict=True)]

    def read_containing(self, start: int, end: int, text: str) -> list[tuple[int, Item | None]]:
        """``(index, message)`` for the messages ``start``..``end`` whose stored JSON holds ``text``
        (JSON-escaped text is not found: pass plain ASCII such as a tool call id)."""
        raws = self.read_raw(start, end)
        needle: bytes | str = text.encode() if raws and isinstance(raws[0], bytes) else text
        return [
            (start + k, decode_entry(raw, self.session_id, start + k))
            for k, raw in enumerate(raws)
            if needle in raw  # type: ignore[operator]
        ]

    def roles(self, start: int, end: int) -> list[str]:
        """The role of each message ``start``..``end`` (0 = oldest), read without building the messages."""
        return [raw_role(raw) for raw in self.read_raw(start, end)]

    def find(
        self, text: str, *, chunk_size: int = 1000, progress: Callable[[int, int], None] | None = None
    ) -> list[int]:
        """Indices (0 = oldest) of the messages whose text contains ``text``, any case, chunk by chunk."""
        return find_in_session(
            self.client, self.session_id, text, chunk_size=chunk_size, progress=progress, kind=self.kind
        )


class ListSource:
    """The built-in list kinds: every LIST whose first element is a LangChain message.

    ``"community"`` for keys under langchain-community's ``message_store:`` prefix, else ``"memstore"``.
    """

    kind = MEMSTORE
    kinds = (MEMSTORE, COMMUNITY)

    def list(
        self, client: Any, match: str, count: int, *, community_prefixes: Sequence[str] = ()
    ) -> Iterator[SessionId]:
        """The list sessions matching the glob ``match`` (SCAN on every primary); keys under one of
        ``community_prefixes`` are ``"community"`` sessions, as ``message_store:`` ones are."""
        return list_keys(client, match, count, community_prefixes)

    def exists(self, client: Any, session_id: str) -> bool:
        """Whether a key of that name exists (its kind is then :func:`~memstore_nb.sources.list_kind`'s)."""
        return bool(client.exists(session_id))

    def summarize(
        self, client: Any, session_ids: Sequence[str], *, memory: bool = False
    ) -> builtins.list[SessionSummary]:
        """One summary per id in one pipelined round trip: the idle time, LLEN, TTL, the newest element (and
        MEMORY USAGE). The idle time is asked first: OBJECT does not touch the key, the others do."""
        per = 5 if memory else 4
        pipe = client.pipeline(transaction=False)
        for sid in session_ids:
            pipe.object("idletime", sid)
            pipe.llen(sid)
            pipe.ttl(sid)
            pipe.lindex(sid, 0 if kind_of(sid) == COMMUNITY else -1)
            if memory:
                pipe.memory_usage(sid)
        replies = pipe.execute(raise_on_error=False)
        out = []
        for i, sid in enumerate(session_ids):
            idle, length, ttl, last = replies[per * i : per * i + 4]
            kind = kind_of(sid)
            if isinstance(length, Exception) or not length:
                out.append(SessionSummary(sid, 0, None, "", "", kind))
                continue
            index = int(length) - 1
            role, shown = preview(decode_entry(last, sid, index) if isinstance(last, (bytes, str)) else None)
            size = _memory(replies[per * i + 4]) if memory else None
            idle = None if isinstance(idle, Exception) or idle is None else int(idle)  # LFU servers refuse it
            listed = getattr(sid, "idle", None)  # read by the listing, before it touched the key
            idle = listed if listed is not None else idle
            out.append(SessionSummary(sid, int(length), ttl_of(ttl), role, shown, kind, size, idle))
        return out

    def info(self, client: Any, session_id: str, page_size: int = 50, kind: str | None = None) -> SessionInfo:
        """Describe one list session in one round trip (plus a TYPE when it is not a list)."""
        kind = kind or kind_of(session_id)
        newest_first = kind == COMMUNITY
        pipe = client.pipeline(transaction=False)
        pipe.llen(session_id)
        pipe.ttl(session_id)
        pipe.memory_usage(session_id)
        pipe.lindex(session_id, -1 if newest_first else 0)
        if newest_first:
            pipe.lrange(session_id, 0, max(page_size, 1) - 1)
        else:
            pipe.lrange(session_id, -max(page_size, 1), -1)
        length, ttl, memory, first, page = pipe.execute(raise_on_error=False)
        length = _checked_length(client, session_id, length)
        if newest_first and isinstance(page, list):
            page = page[::-1]
        items = [decode_entry(raw, session_id, length - len(page) + i) for i, raw in enumerate(page)]
        first_role, first_preview = preview(decode_entry(first, session_id, 0))
        last_role, last_preview = preview(items[-1] if items else None)
        return SessionInfo(
            session_id=str(session_id),
            length=length,
            ttl=ttl_of(ttl),
            memory=_memory(memory),
            first_role=first_role,
            first_preview=first_preview,
            last_role=last_role,
            last_preview=last_preview,
            roles=dict(Counter(entry_role(item) for item in items)),
            page_size=len(items),
            kind=kind,
        )

    def open(self, client: Any, session_id: str, kind: str | None = None) -> ListTranscript:
        """The session as a :class:`ListTranscript`."""
        return ListTranscript(client, session_id, kind)


def _checked_length(client: Any, key: str, reply: Any) -> int:
    if isinstance(reply, redis.ResponseError):
        raise WrongTypeError.of(client, key, reply) from reply
    if isinstance(reply, Exception):
        raise reply
    if not reply:  # Redis never keeps an empty list: 0 means no key
        raise SessionNotFound(key)
    return int(reply)


def _memory(reply: Any) -> int | None:
    return None if isinstance(reply, Exception) or reply is None else int(reply)
