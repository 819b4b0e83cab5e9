"""The records a kind of history answers with: a session's stats, its row in a list, its description."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..codec import escape_controls
from ..units import duration

__all__ = ["MEMSTORE", "SessionInfo", "SessionStats", "SessionSummary"]

MEMSTORE = "memstore"  # the kind of a list MemorystoreChatMessageHistory writes (sources.base names every kind)


@dataclass(frozen=True)
class SessionStats:
    """What the viewer's header shows: size, expiry, memory."""

    session_id: str
    length: int
    ttl: int | None
    memory: int | None
    kind: str = MEMSTORE


@dataclass(frozen=True)
class SessionSummary:
    """One row of a session list: size, expiry and the latest message."""

    session_id: str
    length: int
    ttl: int | None
    last_role: str
    last_preview: str
    kind: str = MEMSTORE
    memory: int | None = None
    #: seconds since Redis last touched the key (``OBJECT IDLETIME``, read before the summary touched it);
    #: None where the server does not track it (an LFU eviction policy) or the kind is not one key
    idle: int | None = None
    #: when the conversation last changed (epoch seconds), where the kind knows it exactly (a LangGraph
    #: thread: its newest checkpoint); None otherwise
    updated: float | None = None

    def label(self) -> str:
        """A one-line plain-text description (for a list row; plain text, so escape it before using it in HTML)."""
        ttl = "no TTL" if self.ttl is None else f"TTL {duration(self.ttl)}"
        name = escape_controls(self.session_id)  # bidi and control characters shown, never obeyed
        if self.length == 0:
            return f"{name} · gone"
        msgs = "message" if self.length == 1 else "messages"
        preview = escape_controls(self.last_preview)
        return f"{name} · {self.length:,} {msgs} · {ttl} · {self.last_role}: {preview}"


@dataclass(frozen=True)
class SessionInfo:
    """A session at a glance, as :func:`~memstore_nb.sources.session_info` returns it.

    Attributes:
        session_id: the id (the key, for list kinds).
        length: number of messages.
        ttl: seconds until it expires, or ``None`` when it has no expiry.
        memory: bytes it uses (MEMORY USAGE), or ``None`` when the server refuses the command.
        first_role, first_preview: who spoke first, and the start of what they said.
        last_role, last_preview: the same for the latest message.
        roles: how many messages of each role the loaded page holds.
        page_size: how many of the latest messages ``roles`` counts.
        kind: ``"memstore"``, ``"community"``, ``"langgraph"`` or a plug-in source's kind.
    """

    session_id: str
    length: int
    ttl: int | None
    memory: int | None
    first_role: str
    first_preview: str
    last_role: str
    last_preview: str
    roles: dict[str, int] = field(default_factory=dict)
    page_size: int = 0
    kind: str = MEMSTORE

    def __repr__(self) -> str:
        return (
            f"SessionInfo(session_id={self.session_id!r}, kind={self.kind!r}, length={self.length}, ttl={self.ttl}, "
            f"memory={self.memory}, roles={self.roles})"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        ttl = "no expiry" if self.ttl is None else duration(self.ttl)
        memory = "unknown (MEMORY USAGE refused)" if self.memory is None else f"{self.memory:,} bytes"
        roles = ", ".join(f"{esc(role)}: {n}" for role, n in sorted(self.roles.items())) or "none"
        rows = [
            ("session", f"<code>{esc(escape_controls(self.session_id))}</code>"),
            ("kind", esc(self.kind)),
            ("messages", f"{self.length:,}"),
            ("TTL", esc(ttl)),
            ("memory", esc(memory)),
            ("first", f"<b>{esc(self.first_role)}</b>: {esc(escape_controls(self.first_preview))}"),
            ("last", f"<b>{esc(self.last_role)}</b>: {esc(escape_controls(self.last_preview))}"),
            (f"roles (last {self.page_size})", roles),
        ]
        cell = 'style="text-align:left;padding-right:1em"'
        body = "".join(f"<tr><th {cell}>{name}</th><td {cell}>{value}</td></tr>" for name, value in rows)
        return f'<table class="msnb-session-info">{body}</table>'
