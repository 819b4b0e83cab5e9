"""LangGraph threads stored by MemorystoreSaver as a kind of history: ``"langgraph"``, read-only.

Registered by :mod:`memstore_nb.sources.catalog` on first use when ``langgraph`` can be imported,
so :func:`~memstore_nb.sources.list_sessions`, :func:`~memstore_nb.sources.session_info`, the CLI
and the viewer list and read threads beside the chat lists. Nothing here imports LangGraph until a
thread is listed or read; every read goes through :mod:`memstore_nb.checkpoint.threads`. A saver
that uses a ``key_prefix`` is listed once its own source is registered::

    from memstore_nb.sources import LangGraphThreads, register_source
    register_source(LangGraphThreads(key_prefix="app:"))  # replaces the default one
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..codec import message_text
from ..errors import CorruptMessageError, MemstoreError
from ..replies import ttl_of
from .base import LANGGRAPH, BaseTranscript, SessionId, SessionNotFound, SessionStats, SessionSummary, SourceDefaults
from .entries import preview

__all__ = ["LangGraphThreads", "ThreadTranscript"]

log = logging.getLogger(__name__)


class ThreadTranscript(BaseTranscript):
    """The messages of a thread's newest checkpoint (or of one named checkpoint), oldest first, read-only.

    The messages are read once when opened and again by :meth:`stats` (the viewer's refresh
    and follow call it), so paging never re-reads the checkpoint.

    Attributes:
        checkpoint_id: the checkpoint shown, or None for the newest one.
    """

    writable = False
    has_checkpoints = True

    def __init__(self, client: Any, thread_id: str, *, key_prefix: str = "", checkpoint_id: str | None = None) -> None:
        self.client = client
        self.session_id = str(thread_id)
        self.kind = LANGGRAPH
        self.key_prefix = key_prefix
        self.checkpoint_id = checkpoint_id
        self.checkpoint_label: str | None = None
        self._messages: list[Any] = []
        self._loaded = False
        # checkpoint id -> (time, the messages it first held), and the newest id in it, as last read
        self._held: dict[str, tuple[str, list[Any]]] | None = None
        self._held_upto = ""

    def checkpoints(self, limit: int | None = 50, before: str | None = None) -> list[Any]:
        """The thread's checkpoints, newest first, older than ``before`` when given
        (:class:`~memstore_nb.checkpoint.threads.CheckpointSummary`, one round trip)."""
        from ..checkpoint.threads import thread_checkpoints

        return thread_checkpoints(self.client, self.session_id, key_prefix=self.key_prefix, limit=limit, before=before)

    def at_checkpoint(self, checkpoint_id: str | None, label: str | None = None) -> None:
        """Read the thread as of ``checkpoint_id`` from now on (None: the newest checkpoint), shown as ``label``."""
        self.checkpoint_id = checkpoint_id
        self.checkpoint_label = label if checkpoint_id is not None else None
        self._loaded = False

    def added_by(self, checkpoint: Any) -> list[Any] | None:
        """The messages ``checkpoint`` (a summary from :meth:`checkpoints`) was the first to hold: what its step
        added, on whichever branch, whatever was removed later (the pass :meth:`times` reads, once)."""
        cid = checkpoint.checkpoint_id
        if self._held is None or (cid not in self._held and cid > self._held_upto):  # newer than the last read
            self._read_held()
            self._held_upto = max(self._held_upto, cid)
        held = self._held or {}
        return [_as_message(m, self.session_id, i) for i, m in enumerate(held[cid][1])] if cid in held else []

    def compare(self, older_id: str, newer_id: str) -> Any:
        """Messages added and removed from ``older_id`` to ``newer_id`` and the other channels that changed
        (:class:`~memstore_nb.checkpoint.diff.CheckpointDiff`)."""
        from ..checkpoint.diff import compare_checkpoints

        return compare_checkpoints(self.client, self.session_id, older_id, newer_id, key_prefix=self.key_prefix)

    def tasks(self, checkpoint_id: str | None) -> Any:
        """The nodes ``checkpoint_id`` (None: the newest) runs next and its pending writes
        (:class:`~memstore_nb.checkpoint.diff.CheckpointTasks`)."""
        from ..checkpoint.diff import checkpoint_tasks

        return checkpoint_tasks(self.client, self.session_id, checkpoint_id, key_prefix=self.key_prefix)

    def _read_held(self) -> dict[str, tuple[str, list[Any]]]:
        from ..checkpoint.views import messages_first_held

        self._held = messages_first_held(self.client, self.session_id, key_prefix=self.key_prefix)
        self._held_upto = max(self._held, default="")
        return self._held

    def times(self, checkpoints: Sequence[Any] = ()) -> dict[int, str]:
        """Message index -> the time of the checkpoint that first held the message (exact, for every message
        with an id), read in one pass over the thread's checkpoint index (``checkpoints`` is not needed)."""
        messages = self._messages if self._loaded else self._load()
        first_seen = {getattr(m, "id", None): ts for ts, fresh in self._read_held().values() for m in fresh}
        return {
            i: first_seen[m.id]
            for i, m in enumerate(messages)
            if isinstance(getattr(m, "id", None), str) and m.id in first_seen
        }

    def _load(self) -> list[Any]:
        from ..checkpoint.threads import thread_messages

        raw = thread_messages(
            self.client, self.session_id, key_prefix=self.key_prefix, checkpoint_id=self.checkpoint_id
        )
        self._messages = [_as_message(m, self.session_id, i) for i, m in enumerate(raw)]
        self._loaded = True
        return self._messages

    def stats(self) -> SessionStats:
        """Message count, and TTL / MEMORY USAGE of the thread's keys (raises ``SessionNotFound`` when gone)."""
        from ..checkpoint.layout import ThreadKeys

        keys = ThreadKeys(self.session_id, self.key_prefix)
        pipe = self.client.pipeline(transaction=False)
        pipe.ttl(keys.thread)
        pipe.memory_usage(keys.data(""))
        ttl, memory = pipe.execute(raise_on_error=False)
        messages = self._load()
        if not messages and isinstance(ttl, int) and ttl == -2:
            raise SessionNotFound(self.session_id)
        used = None if isinstance(memory, Exception) or memory is None else int(memory)
        return SessionStats(self.session_id, len(messages), ttl_of(ttl), used, LANGGRAPH)

    def read_range(self, start: int, end: int) -> list[Any]:
        """Messages ``start``..``end`` inclusive (0 = oldest) of the checkpoint read last."""
        messages = self._messages if self._loaded else self._load()
        if end < start:
            return []
        return messages[max(start, 0) : end + 1]

    def find(
        self, text: str, *, chunk_size: int = 1000, progress: Callable[[int, int], None] | None = None
    ) -> list[int]:
        """Indices (0 = oldest) of the messages whose text contains ``text``, any case."""
        messages = self._messages if self._loaded else self._load()
        needle = text.casefold()
        if not needle:
            return []
        hits = [
            i
            for i, m in enumerate(messages)
            if needle in (m.preview if isinstance(m, CorruptMessageError) else message_text(m)).casefold()
        ]
        if progress is not None:
            progress(len(messages), len(messages))
        return hits


class LangGraphThreads(SourceDefaults):
    """The ``"langgraph"`` kind: MemorystoreSaver's threads under ``key_prefix``.

    Args:
        key_prefix: the saver's ``key_prefix``.
    """

    kind = LANGGRAPH

    def __init__(self, key_prefix: str = "") -> None:
        self.key_prefix = key_prefix

    def list(self, client: Any, match: str, count: int) -> Iterator[SessionId]:
        """Thread ids matching the glob ``match`` (SCAN on every primary); nothing when LangGraph is missing."""
        try:
            from ..checkpoint.threads import list_threads
        except ImportError:  # langgraph went missing after registration: list nothing
            return
        for thread_id in list_threads(client, match, key_prefix=self.key_prefix):
            yield SessionId(thread_id, LANGGRAPH)

    def exists(self, client: Any, session_id: str) -> bool:
        """Whether a thread of that id is stored."""
        try:
            from ..checkpoint.layout import ThreadKeys
        except ImportError:
            return False
        keys = ThreadKeys(str(session_id), self.key_prefix)
        # a thread of the earlier layout is found too: reading it says how to upgrade it
        return bool(client.exists(keys.thread, keys.legacy))

    def summarize(self, client: Any, session_ids: Sequence[str]) -> builtins.list[SessionSummary]:
        """One row per thread: its newest checkpoint's message count and last message (length 0 when gone)."""
        out = []
        for sid in session_ids:
            transcript = self.open(client, sid)
            try:
                stats = transcript.stats()
            except MemstoreError as exc:
                log.warning("thread %r cannot be summarized: %s", str(sid), exc)
                out.append(SessionSummary(str(sid), 0, None, "", "", LANGGRAPH))
                continue
            last = transcript.read_range(stats.length - 1, stats.length - 1) if stats.length else []
            role, shown = preview(last[0] if last else None)
            updated = _newest_time(transcript)
            out.append(
                SessionSummary(str(sid), stats.length, stats.ttl, role, shown, LANGGRAPH, stats.memory, None, updated)
            )
        return out

    def open(self, client: Any, session_id: str, checkpoint_id: str | None = None) -> ThreadTranscript:
        """The thread's newest checkpoint's messages (or checkpoint ``checkpoint_id``'s) as a transcript."""
        return ThreadTranscript(client, str(session_id), key_prefix=self.key_prefix, checkpoint_id=checkpoint_id)


def _newest_time(transcript: ThreadTranscript) -> float | None:
    # When the thread last changed: its newest checkpoint's time (epoch seconds), or None.
    try:
        newest = transcript.checkpoints(1)
        ts = newest[0].ts if newest else None
        return dt.datetime.fromisoformat(ts).timestamp() if ts else None
    except (MemstoreError, ValueError, TypeError, AttributeError):
        return None


def _as_message(value: Any, thread_id: str, index: int) -> Any:
    from langchain_core.messages import BaseMessage, convert_to_messages

    if isinstance(value, BaseMessage):
        return value
    try:
        return convert_to_messages([value])[0]
    except Exception as exc:  # anything LangChain cannot read shows as an unreadable entry
        return CorruptMessageError(f"thread {thread_id}", index, repr(value)[:200], type(exc).__name__)
