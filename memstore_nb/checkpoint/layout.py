"""Where a LangGraph thread lives in Redis: key names, hash fields and the stored value formats.

Every key of one thread shares the hash tag ``{<escaped thread id>}`` (so one cluster slot):

* ``<prefix>lgraph:{T}:ns`` — SET of the thread's checkpoint namespaces (``""`` is the root graph);
  the thread exists while this key does, and listing threads SCANs for it.
* ``<prefix>lgraph:{T}:i:<ns>`` — ZSET of checkpoint ids, all scored 0, ordered by id (ids are
  time-ordered uuid6 strings): ``ZREVRANGEBYLEX`` gives the newest first.
* ``<prefix>lgraph:{T}:h:<ns>`` — HASH holding everything else of the namespace:
  ``c:<checkpoint id>`` the checkpoint, ``b:<channel>#<version>`` one channel value per version,
  ``w:<checkpoint id>#<task id>#<idx>`` a pending write, ``x:<checkpoint id>`` the list of
  that checkpoint's writes (``<task id>#<idx>``).

Values are ``<JSON header>\\n<serde type>\\n<serde bytes>``; the header is what the Lua scripts
read (a checkpoint's blob fields and run id, a blob's kind and the version it extends).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ArgumentError

__all__ = [
    "BLOB_DELTA",
    "BLOB_EMPTY",
    "BLOB_FULL",
    "ThreadKeys",
    "escape_glob",
    "escape_tag",
    "join_value",
    "split_value",
    "text",
    "thread_pattern",
    "unescape_tag",
]

BLOB_FULL = "f"  # the whole value
BLOB_DELTA = "d"  # a list value stored as the items appended to the version named in the header
BLOB_EMPTY = "e"  # the channel had no value at that version

_NAMESPACE = "lgraph:"
_THREAD_SUFFIX = ":ns"


def text(value: bytes | str) -> str:
    """A reply element as text (clients may or may not decode replies)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def escape_tag(thread_id: str) -> str:
    """The thread id as a hash tag body: ``%``, ``{`` and ``}`` escaped, so the tag ends where it should."""
    if thread_id == "":
        return "%"
    return thread_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def unescape_tag(tag: str) -> str:
    """The inverse of :func:`escape_tag`."""
    if tag == "%":
        return ""
    return tag.replace("%7D", "}").replace("%7B", "{").replace("%25", "%")


def escape_glob(value: str) -> str:
    """``value`` as a literal inside a Redis MATCH pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in value)


def check_prefix(key_prefix: str) -> str:
    """Refuse a key prefix with braces: a ``{`` there would take the hash tag away from the thread id."""
    if not isinstance(key_prefix, str):
        raise ArgumentError(f"key_prefix must be a str, got {type(key_prefix).__name__}", key_prefix)
    if "{" in key_prefix or "}" in key_prefix:
        raise ArgumentError(
            f"key_prefix {key_prefix!r} contains a brace; the saver puts the thread id in the hash tag, "
            "so choose a prefix without '{' and '}'",
            key_prefix,
        )
    return key_prefix


def thread_pattern(key_prefix: str, match: str = "*") -> str:
    """The SCAN MATCH pattern of thread keys whose thread id matches the glob ``match``."""
    tag_glob = match.replace("%", "%25").replace("{", "%7B").replace("}", "%7D") if match != "" else "%"
    return escape_glob(key_prefix) + _NAMESPACE + "{" + tag_glob + "}" + _THREAD_SUFFIX


def thread_id_of(key: bytes | str, key_prefix: str = "") -> str | None:
    """The thread id whose thread key (``...:ns``) ``key`` is, or None if it is not a saver thread key."""
    name = text(key)
    head = key_prefix + _NAMESPACE + "{"
    tail = "}" + _THREAD_SUFFIX
    if not (name.startswith(head) and name.endswith(tail)) or len(name) < len(head) + len(tail):
        return None
    tag = name[len(head) : len(name) - len(tail)]
    if "{" in tag or "}" in tag:
        return None
    return unescape_tag(tag)


class ThreadKeys:
    """The key names of one thread.

    Args:
        thread_id: LangGraph's ``thread_id`` (anything; made a ``str``).
        key_prefix: text in front of every key (no braces).
    """

    __slots__ = ("base", "thread", "thread_id")

    def __init__(self, thread_id: Any, key_prefix: str = "") -> None:
        self.thread_id = str(thread_id)
        self.base = key_prefix + _NAMESPACE + "{" + escape_tag(self.thread_id) + "}:"
        self.thread = self.base + "ns"

    def index(self, ns: str) -> str:
        """The ZSET of checkpoint ids of namespace ``ns``."""
        return self.base + "i:" + ns

    def data(self, ns: str) -> str:
        """The HASH of checkpoints, channel values and writes of namespace ``ns``."""
        return self.base + "h:" + ns


def blob_field(channel: str, version: Any) -> str:
    """The hash field (without its ``b:``) of one channel value at one version."""
    return f"{channel}#{version}"


def join_value(header: Any, typed: tuple[str, bytes]) -> bytes:
    """``header`` (JSON) and a serde ``(type, bytes)`` pair as one stored value."""
    kind, data = typed
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + kind.encode() + b"\n" + bytes(data)


def split_value(raw: bytes | str) -> tuple[Any, tuple[str, bytes]]:
    """The inverse of :func:`join_value`; raises ``ValueError`` on anything else."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    first = raw.index(b"\n")
    second = raw.index(b"\n", first + 1)
    header = json.loads(raw[:first])
    return header, (raw[first + 1 : second].decode(), raw[second + 1 :])
