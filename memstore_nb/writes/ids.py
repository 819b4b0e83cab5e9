"""Write ids and the markers that remember them: one SET per slot tag and ten-minute window."""

from __future__ import annotations

import functools
import itertools
import os
import secrets
import time
from typing import Union

from redis.cluster import key_slot

from ..replies import reply_text

__all__ = [
    "MARKER_TTL_SECONDS",
    "KeyLike",
    "key_text",
    "marker",
    "marker_arg",
    "marker_key",
    "new_write_id",
    "slot_tag",
]

KeyLike = Union[str, bytes]

#: The marker window: a write id is remembered for at least this long (one to two windows), the
#: time in which a replay (by any client's retry, or a caller's retry after WriteUnconfirmed) is
#: recognised.
MARKER_TTL_SECONDS = 600

_MARKER_INFIX = ":memstore-nb:wid:"

# Tags for keys whose slot cannot be reached by wrapping the key in braces (see slot_tag).
_TAGS_BY_SLOT: dict[int, str] = {}


class _Ids:
    """Unique write-id tails without a system call per write: 96 random bits drawn once per process
    (again in a forked child), then a counter.

    ``os.urandom`` per write released the GIL, and a write in one of LangGraph's background threads
    then waited for the main thread to hand it back (up to the 5 ms switch interval) before it sent.
    """

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = secrets.token_urlsafe(12)
        self.counter = itertools.count()
        # (generation, "<generation>.<prefix>"): one attribute, so a thread reads a matching pair
        self.head: tuple[int, str] = (-1, "")

    def next(self, generation: int) -> str:
        """``<generation hex>.<prefix><counter hex>``; the head is formatted once per window."""
        head = self.head
        if head[0] != generation:
            head = self.head = (generation, f"{generation:x}.{self.prefix}")
        return f"{head[1]}{next(self.counter):x}"  # next() of itertools.count is atomic under the GIL


_IDS = _Ids()


def new_write_id() -> str:
    """A new write id: the current window's generation (hex), a dot, then 96 random bits (URL-safe,
    drawn once per process) and a per-process counter (hex), so no two writes share one.

    The generation names the marker the id is recorded in, so a write sent again later — by a
    retry, or by the caller after WriteUnconfirmed — goes to the same marker.
    """
    return _IDS.next(int(time.time()) // MARKER_TTL_SECONDS)


def key_text(key: KeyLike) -> str:
    """A key as text that encodes back to the same bytes (``surrogateescape``)."""
    return reply_text(key, exact=True)


def _hash_tag(key: str) -> str | None:
    """The key's hash tag as Redis Cluster reads it (the text inside the first ``{...}``), if any."""
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1 : end]


@functools.lru_cache(maxsize=4096)
def slot_tag(key: KeyLike) -> str:
    """A hash tag that puts ``"{tag}..."`` in the same cluster slot as ``key``.

    A key with a tag of its own (``"{user1}:chat"``) shares it. A key without one hashes
    whole, so wrapping the key in braces works — unless it contains ``}``, which would end the
    tag early; for those few keys a short tag with the same slot is searched once and cached.
    """
    text = key_text(key)
    tag = _hash_tag(text)
    if tag is not None:
        return tag
    if text and "}" not in text:
        return text
    slot = key_slot(text.encode("utf-8", "surrogateescape"))
    found = _TAGS_BY_SLOT.get(slot)
    if found is None:
        n = 0
        while key_slot(f"s{n}".encode()) != slot:
            n += 1
        found = _TAGS_BY_SLOT[slot] = f"s{n}"
    return found


def marker_key(key: KeyLike, write_id: str) -> str:
    """The marker of a write to ``key``: a SET in the same slot, named by the write id's generation.

    ``{tag}:memstore-nb:wid:<generation>``; it holds the ids of the writes to that slot tag in that
    window and expires by itself two windows after the window began.
    """
    return marker(key, write_id.partition(".")[0] if "." in write_id else "")


_HEX = frozenset("0123456789abcdef")


@functools.lru_cache(maxsize=4096)
def marker(key: KeyLike, generation: str) -> str:
    """The marker of ``key`` for ``generation`` (cached: every write computes it)."""
    if not generation or not _HEX.issuperset(generation):
        raise ValueError(f"not a write id from new_write_id(): generation {generation!r}")
    return "{" + slot_tag(key) + "}" + _MARKER_INFIX + generation


@functools.lru_cache(maxsize=4096)
def marker_arg(key: KeyLike, generation: str) -> bytes | str:
    """The marker as a UTF-8 client sends it, encoded once (redis-py's per-argument encoding costs
    about a microsecond a call); the text itself where it does not encode (redis-py then raises
    as it would have)."""
    name = marker(key, generation)
    try:
        return name.encode("utf-8")
    except UnicodeEncodeError:
        return name
