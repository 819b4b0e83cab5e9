"""The kinds of chat history found in one database, and the plug-in point for more (LangGraph threads).

Two kinds live in plain Redis lists and are told apart by their key:

* ``"memstore"``: the upstream ``langchain-google-memorystore-redis`` layout that
  :class:`~memstore_nb.MemorystoreChatMessageHistory` writes, one list per session,
  RPUSH, so index 0 is the oldest message.
* ``"community"``: langchain-community's ``RedisChatMessageHistory``, keys
  ``message_store:<session id>``, LPUSH, so index 0 is the *newest* message. These are
  read in conversation order and never written.

Other kinds (LangGraph threads stored by a checkpoint saver) are not lists. A module that
knows how to list and read them registers a :class:`HistorySource`; :func:`~memstore_nb.sessions.list_sessions`
then yields their ids too, labelled with the source's ``kind``, and the viewer opens them
through the source's :meth:`HistorySource.open`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from .errors import CorruptMessageError
    from .sessions import SessionStats, SessionSummary

__all__ = [
    "COMMUNITY",
    "COMMUNITY_PREFIX",
    "LANGGRAPH",
    "MEMSTORE",
    "HistorySource",
    "SessionId",
    "Transcript",
    "list_kind",
    "register_source",
    "registered_sources",
    "unregister_source",
]

MEMSTORE = "memstore"
COMMUNITY = "community"
LANGGRAPH = "langgraph"
COMMUNITY_PREFIX = "message_store:"


class SessionId(str):
    """A session id as :func:`~memstore_nb.sessions.list_sessions` yields it: the key, plus its ``kind``.

    It *is* the key (a ``str``; compares and hashes like one), so code written for
    plain strings keeps working; ``kind`` says how to read it.
    """

    kind: str

    def __new__(cls, key: str, kind: str = MEMSTORE) -> SessionId:
        obj = super().__new__(cls, key)
        obj.kind = kind
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (SessionId, (str(self), self.kind))


def list_kind(key: str) -> str:
    """The kind of a chat history kept in the Redis list ``key``: ``"community"`` or ``"memstore"``."""
    return COMMUNITY if key.startswith(COMMUNITY_PREFIX) else MEMSTORE


def kind_of(session_id: str) -> str:
    """``session_id.kind`` for a :class:`SessionId`, else the kind its key says."""
    return getattr(session_id, "kind", None) or list_kind(session_id)


@runtime_checkable
class Transcript(Protocol):
    """One conversation as the viewer reads it, whatever its storage: index 0 is always the oldest message."""

    kind: str
    session_id: str
    writable: bool

    def stats(self) -> SessionStats:
        """Length, TTL and memory (raises ``SessionNotFound`` when it is gone)."""

    def read_range(self, start: int, end: int) -> list[BaseMessage | CorruptMessageError]:
        """Messages ``start``..``end`` inclusive, oldest first, a bad element as its ``CorruptMessageError``."""

    def find(self, text: str, *, chunk_size: int, progress: Callable[[int, int], None] | None) -> list[int]:
        """Indices (oldest = 0) of the messages containing ``text``, any case."""


@runtime_checkable
class HistorySource(Protocol):
    """A kind of history that is not a plain list; register one with :func:`register_source`.

    A LangGraph saver plugs in like this (a sketch)::

        class LangGraphThreads:
            kind = "langgraph"
            def list(self, client, match, count):      # thread ids matching the glob
                yield from list_threads(client, match)
            def summarize(self, client, ids):          # one SessionSummary per id, kind="langgraph"
                ...
            def open(self, client, session_id):        # a Transcript of the latest checkpoint's messages
                ...
        register_source(LangGraphThreads())
    """

    kind: str

    def list(self, client: Any, match: str, count: int) -> Iterator[str]:
        """Yield the ids of this kind matching the glob ``match``."""

    def summarize(self, client: Any, session_ids: Sequence[str]) -> builtins.list[SessionSummary]:
        """One summary row per id (length 0 when it vanished)."""

    def open(self, client: Any, session_id: str) -> Transcript:
        """The conversation behind ``session_id``."""


_SOURCES: dict[str, HistorySource] = {}
_AUTOLOADED = False


def _autoload() -> None:
    # LangGraph threads join the list when langgraph is installed. Only its presence is checked
    # (find_spec, no import): `import memstore_nb` and listing without it stay light and quiet.
    global _AUTOLOADED
    if _AUTOLOADED:
        return
    _AUTOLOADED = True
    import importlib.util

    try:
        present = importlib.util.find_spec("langgraph") is not None
    except (ImportError, ValueError, AttributeError):
        present = False
    if present and LANGGRAPH not in _SOURCES:
        from .graph_threads import LangGraphThreads

        _SOURCES[LANGGRAPH] = LangGraphThreads()


def register_source(source: HistorySource) -> None:
    """Make :func:`~memstore_nb.sessions.list_sessions` and the viewer list and open ``source.kind`` too."""
    if source.kind in (MEMSTORE, COMMUNITY):
        raise ValueError(f"kind {source.kind!r} is built in; pick another name")
    _autoload()
    _SOURCES[source.kind] = source


def unregister_source(kind: str) -> None:
    """Forget the source registered for ``kind`` (nothing happens when there is none)."""
    _autoload()
    _SOURCES.pop(kind, None)


def registered_sources() -> builtins.list[HistorySource]:
    """The plug-in sources, in registration order (``"langgraph"`` first when LangGraph is installed)."""
    _autoload()
    return list(_SOURCES.values())


def source_for(kind: str) -> HistorySource | None:
    """The plug-in source for ``kind``, or None for the built-in list kinds."""
    _autoload()
    return _SOURCES.get(kind)
