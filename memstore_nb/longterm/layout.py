"""Where the long-term memory store keeps a namespace in Redis: key names, item fields, time and TTL units.

Every key of one namespace shares the hash tag ``{<namespace>}`` (the labels joined with ``.``,
``%``, ``{`` and ``}`` escaped), so a namespace lives in one cluster slot:

* ``<prefix>ltm:{N}:i:<key>`` — HASH, one item: ``v`` its value (JSON), ``c`` / ``u`` created and
  updated (microseconds since the epoch), ``s`` its place in the namespace, ``t`` its TTL in
  minutes (absent: no TTL; the key then has no expiry), ``nv`` how many vectors it has.
* ``<prefix>ltm:{N}:z`` — ZSET of the namespace's item keys scored by ``s`` (insertion order).
* ``<prefix>ltm:{N}:m`` — HASH: ``seq`` (the last ``s`` given), ``born`` (when the namespace last
  became non-empty, the order of namespaces in a search), ``np`` (items without a TTL), ``r<s>``
  (the vector rows or vector documents of item ``s``), ``f`` (free vector rows).
* ``<prefix>ltm:{N}:vm`` / ``:vq`` / ``:vo`` — STRINGs, exact search on a server without vector
  search: every vector as a float32 row, as an int8 row, and the row's owner (``s``), scale and norm.
* ``<prefix>ltmv:{N}:<n>:<key>`` — HASH, vector ``n`` of an item (``vec`` float32, ``p`` the
  namespace's prefixes as TAG digests), indexed by ``FT.CREATE`` where the server has vector search.
* ``<prefix>ltm:{<prefix>%reg}:names`` / ``:seen`` — the registry: a ZSET of namespaces (all
  scored 0, so ``ZRANGEBYLEX`` finds a prefix's namespaces) and a HASH of when each was last
  registered (milliseconds), so listing never SCANs the keyspace.

The namespace keys expire with their items: while every item has a TTL they expire when the last
item would, and they have no expiry while any item has none.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from ..clients import checked_key_prefix
from ..errors import ArgumentError
from ..replies import reply_text

__all__ = [
    "NamespaceKeys",
    "Registry",
    "check_prefix",
    "from_micros",
    "namespace_text",
    "parse_vector_key",
    "prefix_digests",
    "text",
    "ttl_millis",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A TTL is given in minutes; Redis keeps milliseconds. Far below redis' own limit (and the point
# where Redis < 7 overflows an expiry into the past), the same bound the history uses.
_MAX_TTL_MS = 2**62 // 1000


def text(value: bytes | str) -> str:
    """A reply element as text that encodes back to the same bytes (clients may or may not decode replies)."""
    return reply_text(value, exact=True)


def check_prefix(key_prefix: str) -> str:
    """Refuse a key prefix with braces: a ``{`` there would take the hash tag away from the namespace."""
    return checked_key_prefix(key_prefix, "namespace")


def namespace_text(namespace: tuple[str, ...]) -> str:
    """The labels joined with ``.`` (labels never contain one, so this names the namespace uniquely)."""
    return ".".join(namespace)


def _tag(ns_text: str) -> str:
    return ns_text.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _untag(tag: str) -> str:
    return tag.replace("%7D", "}").replace("%7B", "{").replace("%25", "%")


def prefix_digests(namespace: tuple[str, ...]) -> str:
    """The TAG value of a vector document: a digest of each leading part of its namespace, comma-joined.

    Digests (16 hex digits) need no escaping in a query, whatever characters the labels hold.
    """
    return ",".join(digest(namespace[: n + 1]) for n in range(len(namespace)))


def digest(namespace: tuple[str, ...]) -> str:
    """The TAG digest of one namespace prefix (see :func:`prefix_digests`)."""
    return hashlib.sha1(namespace_text(namespace).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def ttl_millis(minutes: Any) -> int:
    """A TTL in minutes (LangGraph's unit) as milliseconds; refuses what Redis could not keep."""
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        raise ArgumentError(f"ttl must be a number of minutes or None, got {minutes!r}", minutes)
    millis = round(minutes * 60_000) if math.isfinite(minutes) else 0
    if not (minutes > 0 and 1 <= millis <= _MAX_TTL_MS):
        raise ArgumentError(
            f"ttl must be a positive number of minutes (at least 1 ms, at most {_MAX_TTL_MS // 60_000} minutes), "
            f"got {minutes!r}; use ttl=None for an item that never expires",
            minutes,
        )
    return millis


def from_micros(value: bytes | str | int) -> datetime:
    """A stored timestamp (microseconds since the epoch) as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=int(value))


def micros(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch (exact: no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


class NamespaceKeys:
    """The key names of one namespace.

    Args:
        namespace: the LangGraph namespace (validated by the caller).
        key_prefix: text in front of every key (no braces).
    """

    __slots__ = ("base", "meta", "namespace", "order", "owners", "quantized", "rows", "vbase")

    def __init__(self, namespace: tuple[str, ...], key_prefix: str = "") -> None:
        self.namespace = namespace
        tag = "{" + _tag(namespace_text(namespace)) + "}:"
        self.base = key_prefix + "ltm:" + tag
        self.vbase = key_prefix + "ltmv:" + tag
        self.order = self.base + "z"
        self.meta = self.base + "m"
        self.rows = self.base + "vm"
        self.quantized = self.base + "vq"
        self.owners = self.base + "vo"

    def item(self, key: str) -> str:
        """The HASH of the item ``key``."""
        return self.base + "i:" + key

    @property
    def item_prefix(self) -> str:
        return self.base + "i:"

    def vector(self, n: int, key: str) -> str:
        """The HASH of vector ``n`` of item ``key`` (stores with a vector index)."""
        return f"{self.vbase}{n}:{key}"

    def all(self) -> list[str]:
        """The namespace's own keys (not its items): order, meta and the three matrices."""
        return [self.order, self.meta, self.rows, self.quantized, self.owners]


def parse_vector_key(name: bytes | str, key_prefix: str) -> tuple[tuple[str, ...], str] | None:
    """``(namespace, item key)`` of a vector document's key name, or None if it is not one."""
    value = text(name)
    head = key_prefix + "ltmv:{"
    if not value.startswith(head):
        return None
    end = value.find("}:", len(head))
    if end < 0:
        return None
    rest = value[end + 2 :]
    number, colon, key = rest.partition(":")
    if not colon or not number.isdigit():
        return None
    return tuple(_untag(value[len(head) : end]).split(".")), key


class Registry:
    """The registry of namespaces of one key prefix (see the module docstring).

    Args:
        key_prefix: text in front of every key (no braces).
    """

    __slots__ = ("names", "seen")

    def __init__(self, key_prefix: str = "") -> None:
        base = key_prefix + "ltm:{" + key_prefix + "%reg}:"
        self.names = base + "names"
        self.seen = base + "seen"

    @staticmethod
    def ranges(prefix: tuple[str, ...]) -> list[tuple[str, str]]:
        """``ZRANGEBYLEX`` bounds that together give the namespaces equal to or under ``prefix``."""
        if not prefix:
            return [("-", "+")]
        head = namespace_text(prefix)
        # children start with "head." ; "/" is the character after "."
        return [("[" + head, "[" + head), ("(" + head + ".", "(" + head + "/")]
