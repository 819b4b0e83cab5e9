"""What Redis replies mean, once for every module: reply text, server versions, TTLs; literal MATCH patterns."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["escape_glob", "reply_text", "ttl_of", "version_tuple"]

_DIGITS = re.compile(r"\d+")


def reply_text(value: object, *, exact: bool = False) -> str:
    """A Redis reply (or a key) as ``str``, whether the client decodes responses or not.

    Args:
        value: ``bytes`` from a client that does not decode, or anything else (``str()`` of it).
        exact: keep bytes that are not UTF-8 as lone surrogates (``surrogateescape``), so the
            text encodes back to the very same bytes — for keys that are sent again. Without it,
            such bytes read as U+FFFD, which is what a screen wants.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape" if exact else "replace")
    return value if isinstance(value, str) else str(value)


def version_tuple(text: object) -> tuple[int, ...]:
    """``"7.0.15"`` -> ``(7, 0, 15)``; the numbers of a version string, at most three (``(0,)`` when none)."""
    parts = _DIGITS.findall(reply_text(text))[:3]
    return tuple(int(p) for p in parts) or (0,)


def ttl_of(reply: Any) -> int | None:
    """The seconds a TTL reply says a key has left, or ``None`` for no expiry, no key, or an error reply."""
    if isinstance(reply, Exception) or reply is None or int(reply) < 0:
        return None
    return int(reply)


def escape_glob(value: str) -> str:
    """``value`` as a literal inside a Redis ``MATCH`` pattern (``*``, ``?``, ``[``, ``]`` and ``\\`` escaped)."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in value)
