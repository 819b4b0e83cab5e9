"""A conversation read in order, whatever kind of history holds it: what the viewer pages through."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from langchain_core.messages import BaseMessage

from .codec import load_json
from .errors import CorruptMessageError, MemstoreError
from .history import MemorystoreChatMessageHistory
from .kinds import COMMUNITY, MEMSTORE, Transcript, kind_of, source_for
from .sessions import SessionStats, _decode, _wrong_type, entry_role, find_in_session, read_raw, session_stats

__all__ = ["ListTranscript", "open_transcript", "raw_role", "read_at", "role_indices"]

Item = BaseMessage | CorruptMessageError


class ListTranscript:
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
        stats = session_stats(self.client, self.session_id)
        return (
            stats
            if stats.kind == self.kind
            else SessionStats(stats.session_id, stats.length, stats.ttl, stats.memory, self.kind)
        )

    def read_range(self, start: int, end: int) -> list[Item]:
        """Messages ``start``..``end`` inclusive (0 = oldest), a bad element as its ``CorruptMessageError``."""
        if end < start:
            return []
        if self._history is not None:
            return self._history.read_range(start, end)
        try:
            raws = read_raw(self.client, self.session_id, start, end)
        except redis.ResponseError as exc:
            raise _wrong_type(self.client, self.session_id, exc) from exc
        return [_decode(raw, self.session_id, start + i) for i, raw in enumerate(raws)]

    def find(
        self, text: str, *, chunk_size: int = 1000, progress: Callable[[int, int], None] | None = None
    ) -> list[int]:
        """Indices (0 = oldest) of the messages whose text contains ``text``, any case, chunk by chunk."""
        return find_in_session(self.client, self.session_id, text, chunk_size=chunk_size, progress=progress)


_ROLE_OF_TYPE = {
    "human": "human",
    "HumanMessageChunk": "human",
    "ai": "ai",
    "AIMessageChunk": "ai",
    "system": "system",
    "SystemMessageChunk": "system",
    "tool": "tool",
    "ToolMessageChunk": "tool",
    "function": "function",
    "FunctionMessageChunk": "function",
}


def raw_role(raw: object) -> str:
    """The role of a stored element without building the message (a chat message's own role)."""
    try:
        doc = load_json(raw)  # type: ignore[arg-type]
        kind = doc["type"]
        if kind in _ROLE_OF_TYPE:
            return _ROLE_OF_TYPE[kind]
        if kind in ("chat", "ChatMessageChunk"):
            return str(doc["data"]["role"])
    except (ValueError, RecursionError, KeyError, TypeError):
        pass
    return entry_role(_decode(raw, "", -1))


def read_at(transcript: Transcript, indices: Sequence[int]) -> list[Item]:
    """The messages at ``indices`` (0 = oldest): one pipelined round trip for list kinds."""
    if not indices:
        return []
    if isinstance(transcript, ListTranscript):
        pipe = transcript.client.pipeline(transaction=False)
        newest_first = transcript.kind == COMMUNITY
        for i in indices:
            pipe.lindex(transcript.session_id, -(i + 1) if newest_first else i)
        raws = pipe.execute(raise_on_error=False)
        return [_decode(raw, transcript.session_id, i) for i, raw in zip(indices, raws, strict=True)]
    return [transcript.read_range(i, i)[0] for i in indices]


def role_indices(
    transcript: Transcript,
    role: str,
    length: int,
    *,
    chunk_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Indices (0 = oldest) of the messages of ``role`` in the whole conversation, read chunk by chunk."""
    out: list[int] = []
    start = 0
    while start < length:
        end = min(start + chunk_size, length) - 1
        if isinstance(transcript, ListTranscript) and role != "unreadable":
            roles = [raw_role(raw) for raw in read_raw(transcript.client, transcript.session_id, start, end)]
        else:
            roles = [entry_role(item) for item in transcript.read_range(start, end)]
        if not roles:
            break
        out.extend(start + i for i, r in enumerate(roles) if r == role)
        start += len(roles)
        if progress is not None:
            progress(min(start, length), length)
    return out


def open_transcript(client: Any, session_id: str, kind: str | None = None) -> Transcript:
    """The conversation behind ``session_id``: a :class:`ListTranscript`, or a plug-in source's transcript.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``.
        session_id: an id as :func:`~memstore_nb.sessions.list_sessions` yields it.
        kind: its kind, when ``session_id`` is a plain string of a plug-in kind.
    """
    kind = kind or kind_of(session_id)
    source = source_for(kind)
    if source is not None:
        return source.open(client, session_id)
    if kind not in (MEMSTORE, COMMUNITY):
        raise MemstoreError(f"no reader for {kind!r} histories is registered: see memstore_nb.kinds.register_source")
    return ListTranscript(client, session_id, kind)
