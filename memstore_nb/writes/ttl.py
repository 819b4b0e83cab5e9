"""The one TTL rule of memstore-nb: whole seconds, from 1 to the largest expiry every Redis accepts."""

from __future__ import annotations

from datetime import timedelta

from ..errors import ArgumentError

__all__ = ["MAX_TTL_SECONDS", "ttl_seconds"]

#: The largest TTL accepted: far below the point where Redis (< 7) silently overflows an expiry
#: into the past and deletes the key, or Redis >= 7 refuses it after a write.
MAX_TTL_SECONDS = 2**62 // 1000


def ttl_seconds(ttl: int | timedelta | None) -> int | None:
    """A TTL as memstore-nb takes it everywhere (history and LangGraph saver alike): whole seconds.

    Redis reports expiry in seconds (``TTL``) and the upstream history class sets it with
    ``EXPIRE``, so a TTL is a whole number of seconds from 1 to :data:`MAX_TTL_SECONDS`, or a
    ``timedelta`` of whole seconds; ``None`` means no expiry.

    Raises:
        ArgumentError: anything else (zero, negative, fractional, too large, not a number), with
            what to pass instead.
    """
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
