"""The kinds of chat history one database holds, what every kind answers, and the records it answers with.

Two kinds live in plain Redis lists and are told apart by their key:

* ``"memstore"``: the upstream ``langchain-google-memorystore-redis`` layout that
  :class:`~memstore_nb.MemorystoreChatMessageHistory` writes, one list per session,
  RPUSH, so index 0 is the oldest message.
* ``"community"``: langchain-community's ``RedisChatMessageHistory``, keys
  ``message_store:<session id>``, LPUSH, so index 0 is the *newest* message. These are
  read in conversation order and never written.

Other kinds (LangGraph threads stored by a checkpoint saver) are not lists. Every kind is read
through a :class:`HistorySource` (list its ids, summarize them, describe one, open one as a
:class:`Transcript`); :mod:`memstore_nb.sources.catalog` asks each source in turn, so
``list_sessions``, ``session_info``, the CLI and the viewer treat every kind alike.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..codec import escape_controls
from ..errors import MemstoreError
from ..replies import escape_glob
from .entries import entry_role, preview
from .records import MEMSTORE, SessionInfo, SessionStats, SessionSummary

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from ..errors import CorruptMessageError

__all__ = [
    "COMMUNITY",
    "COMMUNITY_PREFIX",
    "LANGGRAPH",
    "MEMSTORE",
    "BaseTranscript",
    "HistorySource",
    "SessionId",
    "SessionInfo",
    "SessionNotFound",
    "SessionStats",
    "SessionSummary",
    "SourceDefaults",
    "Transcript",
    "kind_of",
    "list_kind",
]

COMMUNITY = "community"
LANGGRAPH = "langgraph"
COMMUNITY_PREFIX = "message_store:"
_NO_CHECKPOINTS = "only a LangGraph thread has checkpoints: open one first"


class SessionId(str):
    """A session id as :func:`~memstore_nb.sources.list_sessions` yields it: the key, plus its ``kind``.

    It *is* the key (a ``str``; compares and hashes like one), so code written for
    plain strings keeps working; ``kind`` says how to read it.
    """

    kind: str
    #: seconds since Redis last touched the key when it was listed (read before the listing touched it), or None
    idle: int | None = None

    def __new__(cls, key: str, kind: str = MEMSTORE) -> SessionId:
        obj = super().__new__(cls, key)
        obj.kind = kind
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (SessionId, (str(self), self.kind))


def list_kind(key: str, community_prefixes: Sequence[str] = ()) -> str:
    """The kind of a chat history kept in the Redis list ``key``: ``"community"`` (under
    ``message_store:`` or one of ``community_prefixes``) or ``"memstore"``."""
    return COMMUNITY if key.startswith((COMMUNITY_PREFIX, *community_prefixes)) else MEMSTORE


def kind_of(session_id: str) -> str:
    """``session_id.kind`` for a :class:`SessionId`, else the kind its key says."""
    return getattr(session_id, "kind", None) or list_kind(session_id)


class SessionNotFound(MemstoreError, KeyError):
    """The session does not exist (never written, deleted, or expired).

    Attributes:
        session_id: the id that was looked up.
    """

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"no session {escape_controls(repr(str(session_id)))}: it does not exist (it may have expired or "
            "been deleted); list the existing ones with list_sessions(client)"
        )

    def __str__(self) -> str:  # KeyError would show the repr of the whole message
        return str(self.args[0])


# -- what a source answers with ------------------------------------------------------------------


# -- what every kind answers ---------------------------------------------------------------------


@runtime_checkable
class Transcript(Protocol):
    """One conversation as the viewer reads it, whatever its storage: index 0 is always the oldest message.

    Every ability is declared here; a kind without checkpoints answers ``has_checkpoints = False``,
    ``checkpoints() == []`` and ``times() == {}`` (:class:`BaseTranscript` gives those defaults).
    """

    kind: str
    session_id: str
    writable: bool
    #: whether :meth:`checkpoints` can list anything and :meth:`at_checkpoint` move (a LangGraph thread)
    has_checkpoints: bool
    #: the checkpoint shown (None: the newest); always None without checkpoints
    checkpoint_id: str | None
    #: how the shown checkpoint reads to a person ("step 4 · model · 10:00:01.234"), when known
    checkpoint_label: str | None

    def stats(self) -> SessionStats:
        """Length, TTL and memory (raises ``SessionNotFound`` when it is gone)."""

    def read_range(self, start: int, end: int) -> list[BaseMessage | CorruptMessageError]:
        """Messages ``start``..``end`` inclusive, oldest first, a bad element as its ``CorruptMessageError``."""

    def find(self, text: str, *, chunk_size: int, progress: Callable[[int, int], None] | None) -> list[int]:
        """Indices (oldest = 0) of the messages containing ``text``, any case."""

    def checkpoints(self, limit: int | None = 50, before: str | None = None) -> list[Any]:
        """The conversation's checkpoints, newest first, older than ``before`` (``[]`` for a kind without them)."""

    def added_by(self, checkpoint: Any) -> list[Any] | None:
        """The messages a listed checkpoint added, when the kind can tell (None otherwise)."""

    def compare(self, older_id: str, newer_id: str) -> Any:
        """What changed between two checkpoints (messages added, removed; other channels)."""

    def tasks(self, checkpoint_id: str | None) -> Any:
        """A checkpoint's next nodes and pending writes."""

    def times(self, checkpoints: Sequence[Any] = ()) -> dict[int, str]:
        """Message index -> when it was first stored, where the kind knows it (``{}`` otherwise)."""

    def at_checkpoint(self, checkpoint_id: str | None, label: str | None = None) -> None:
        """Read the conversation as of ``checkpoint_id`` from now on (None: the newest), shown as ``label``."""

    def read_at(self, indices: Sequence[int]) -> list[Any]:
        """The messages at ``indices`` (0 = oldest), each a message or its ``CorruptMessageError``."""

    def role_indices(
        self, role: str, length: int, *, chunk_size: int = 1000, progress: Callable[[int, int], None] | None = None
    ) -> list[int]:
        """Indices (0 = oldest) of the messages of ``role`` among the first ``length``, read chunk by chunk."""

    def read_containing(self, start: int, end: int, text: str) -> list[tuple[int, Any]]:
        """``(index, message)`` for the messages ``start``..``end`` that may hold ``text`` (a superset: every
        message, for a kind that cannot look into what it stores)."""


class BaseTranscript:
    """What every :class:`Transcript` can do from ``read_range`` alone, and the defaults of a kind without
    checkpoints; a kind overrides what it does better (a list reads roles without building messages)."""

    def read_range(self, start: int, end: int) -> list[Any]:  # pragma: no cover - every kind has its own
        raise NotImplementedError

    def read_at(self, indices: Sequence[int]) -> list[Any]:
        """The messages at ``indices`` (0 = oldest), one read each."""
        return [self.read_range(i, i)[0] for i in indices]

    def read_containing(self, start: int, end: int, text: str) -> list[tuple[int, Any]]:
        """Every message ``start``..``end``, with its index (a kind that can look into its storage reads fewer)."""
        return list(enumerate(self.read_range(start, end), start=start))

    def roles(self, start: int, end: int) -> list[str]:
        """The role of each message ``start``..``end`` (0 = oldest)."""
        return [entry_role(item) for item in self.read_range(start, end)]

    def role_indices(
        self, role: str, length: int, *, chunk_size: int = 1000, progress: Callable[[int, int], None] | None = None
    ) -> list[int]:
        """Indices (0 = oldest) of the messages of ``role`` among the first ``length``, read chunk by chunk."""
        out: list[int] = []
        start = 0
        while start < length:
            end = min(start + chunk_size, length) - 1
            # "unreadable" is decided by decoding; a role can be read from the stored JSON alone
            if role == "unreadable":
                roles = [entry_role(item) for item in self.read_range(start, end)]
            else:
                roles = self.roles(start, end)
            if not roles:
                break
            out.extend(start + i for i, r in enumerate(roles) if r == role)
            start += len(roles)
            if progress is not None:
                progress(min(start, length), length)
        return out

    has_checkpoints = False
    checkpoint_id: str | None = None
    checkpoint_label: str | None = None

    def checkpoints(self, limit: int | None = 50, before: str | None = None) -> list[Any]:
        """No checkpoints: ``[]``."""
        return []

    def added_by(self, checkpoint: Any) -> list[Any] | None:
        """No checkpoints: nothing to tell."""
        return None

    def compare(self, older_id: str, newer_id: str) -> Any:
        """No checkpoints to compare: ``MemstoreError``."""
        raise MemstoreError(_NO_CHECKPOINTS)

    def tasks(self, checkpoint_id: str | None) -> Any:
        """No checkpoints, no tasks: ``MemstoreError``."""
        raise MemstoreError(_NO_CHECKPOINTS)

    def times(self, checkpoints: Sequence[Any] = ()) -> dict[int, str]:
        """No known times: ``{}``."""
        return {}

    def at_checkpoint(self, checkpoint_id: str | None, label: str | None = None) -> None:
        """Only ``None`` (the conversation as it is) makes sense without checkpoints."""
        if checkpoint_id is not None:
            raise MemstoreError(_NO_CHECKPOINTS)


@runtime_checkable
class HistorySource(Protocol):
    """One kind of history that is not a plain list: how to list, summarize, find, describe and open it.

    Register one with :func:`~memstore_nb.sources.register_source`; a sketch::

        class MyThreads(SourceDefaults):
            kind = "mine"
            def list(self, client, match, count): ...          # ids matching the glob
            def summarize(self, client, ids): ...              # one SessionSummary per id
            def open(self, client, session_id): ...            # a Transcript
            # exists() and info() come from SourceDefaults unless the source does better

    A source written for memstore-nb 0.1 (``list``, ``summarize``, ``open`` only) still works:
    the registry gives it :class:`SourceDefaults`' ``exists`` and ``info``.
    """

    #: its kind, and its name in the registry
    kind: str

    def list(self, client: Any, match: str, count: int) -> Iterator[str]:
        """Yield the ids matching the glob ``match``."""

    def summarize(self, client: Any, session_ids: Sequence[str]) -> builtins.list[SessionSummary]:
        """One summary row per id (length 0 when it vanished)."""

    def open(self, client: Any, session_id: str) -> Transcript:
        """The conversation behind ``session_id``."""

    def exists(self, client: Any, session_id: str) -> bool:
        """Whether this source holds ``session_id``."""

    def info(self, client: Any, session_id: str, page_size: int) -> SessionInfo:
        """Describe one session (raises ``SessionNotFound`` when it is gone)."""


class SourceDefaults:
    """``exists`` and ``info`` for a :class:`HistorySource`, from its ``list``, ``open`` and a transcript's reads."""

    kind: str

    def list(self, client: Any, match: str, count: int) -> Iterator[str]:  # pragma: no cover - every source has one
        raise NotImplementedError

    def open(self, client: Any, session_id: str) -> Any:  # pragma: no cover - every source has one
        raise NotImplementedError

    def exists(self, client: Any, session_id: str) -> bool:
        """Whether :meth:`list` yields ``session_id`` for a pattern that matches only it."""
        pattern = escape_glob(str(session_id))
        return any(str(found) == str(session_id) for found in self.list(client, pattern, 100))

    def info(self, client: Any, session_id: str, page_size: int = 50) -> SessionInfo:
        """Describe the session from its transcript (raises ``SessionNotFound`` when it is gone)."""
        transcript = self.open(client, session_id)
        stats = transcript.stats()
        first = transcript.read_range(0, 0) if stats.length else []
        page = transcript.read_range(max(stats.length - max(page_size, 1), 0), stats.length - 1)
        first_role, first_preview = preview(first[0] if first else None)
        last_role, last_preview = preview(page[-1] if page else None)
        return SessionInfo(
            session_id=str(session_id),
            length=stats.length,
            ttl=stats.ttl,
            memory=stats.memory,
            first_role=first_role,
            first_preview=first_preview,
            last_role=last_role,
            last_preview=last_preview,
            roles=dict(Counter(entry_role(m) for m in page)),
            page_size=len(page),
            kind=self.kind,
        )
