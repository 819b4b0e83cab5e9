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

from .ids import MARKER_TTL_SECONDS, marker_arg, marker_key, new_write_id, slot_tag
from .ledger import Ledger
from .once import OnceScript, Outcome
from .ttl import MAX_TTL_SECONDS, ttl_seconds

__all__ = [
    "MARKER_TTL_SECONDS",
    "MAX_TTL_SECONDS",
    "Ledger",
    "OnceScript",
    "Outcome",
    "marker_arg",
    "marker_key",
    "new_write_id",
    "slot_tag",
    "ttl_seconds",
]
