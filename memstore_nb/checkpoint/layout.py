"""Where a LangGraph thread lives in Redis: two keys per thread, whatever its namespaces, and the value formats.

Both keys of a thread share the hash tag ``{<escaped thread id>}`` (so one cluster slot):

* ``<prefix>lgraph:{T}:h`` — HASH holding the whole thread; the thread exists while it does, and
  listing threads SCANs for it. Fields (``<n>`` is the namespace's number, ``0`` for the root graph):

  - ``c:<n>:<checkpoint id>`` a checkpoint, ``b:<n>:<channel>#<version>`` one channel value per
    version, ``w:<n>:<checkpoint id>#<task id>#<idx>`` a pending write, ``x:<n>:<checkpoint id>``
    the JSON list of that checkpoint's writes (``<task id>#<idx>``);
  - ``s:<namespace>`` its number and ``S:<n>`` its name (child namespaces), ``S`` the highest number;
  - ``m`` how many checkpoints the index holds (a thread whose two keys disagree was partly
    evicted or damaged), ``e`` the thread's edit token: a new value whenever stored data is
    changed or removed (not when data is added), so a process that caches what it stored can
    tell; ``u`` set while an old-layout thread is being upgraded.

* ``<prefix>lgraph:{T}:i`` — ZSET of ``<n>:<checkpoint id>``, all scored 0: ``ZREVRANGEBYLEX``
  gives a namespace's newest checkpoints first (ids are time-ordered uuid6 strings).

So TTL, deletion and eviction act on a thread as a whole, and the key count never grows with its
namespaces. Values are ``<JSON header>\\n<serde type>\\n<serde bytes>``; the header is what the
Lua scripts read (a checkpoint's blob fields, parent, run id and time; a blob's kind and the
version it extends).

Threads written by memstore-nb before layout 2 (``lgraph:{T}:ns``, ``:i:<ns>``, ``:h:<ns>`` per
namespace) are recognised and upgraded by :mod:`memstore_nb.checkpoint.legacy`.
"""

from __future__ import annotations

import json
from typing import Any

from ..clients import checked_key_prefix, checked_text
from ..errors import ArgumentError
from ..replies import escape_glob, reply_text

__all__ = [
    "BLOB_DELTA",
    "BLOB_EMPTY",
    "BLOB_FULL",
    "ThreadKeys",
    "check_thread_id",
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
_THREAD_SUFFIX = ":h"
_LEGACY_SUFFIX = ":ns"


def text(value: bytes | str) -> str:
    """A reply element as text that encodes back to the same bytes (clients may or may not decode replies)."""
    return reply_text(value, exact=True)


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


def check_prefix(key_prefix: str) -> str:
    """Refuse a key prefix with braces: a ``{`` there would take the hash tag away from the thread id."""
    return checked_key_prefix(key_prefix, "thread id")


def check_text(value: str, what: str) -> str:
    """``value`` if Redis can be sent it (UTF-8), else an ArgumentError naming ``what`` (the door check of
    :func:`memstore_nb.clients.checked_text`)."""
    return checked_text(what, value)


def check_thread_id(thread_id: Any) -> str:
    """LangGraph's ``thread_id`` as the text the keys use; None and unencodable text are refused."""
    if thread_id is None:
        raise ArgumentError(
            "thread_id is None: give every run a thread id, e.g. "
            '{"configurable": {"thread_id": "user-42"}} (nothing was read or written)',
            thread_id,
        )
    return check_text(str(thread_id), "thread_id")


def thread_pattern(key_prefix: str, match: str = "*") -> str:
    """The SCAN MATCH pattern of thread keys (layout 2's ``:h`` and old ``:ns``) whose thread id matches ``match``."""
    tag_glob = match.replace("%", "%25").replace("{", "%7B").replace("}", "%7D") if match != "" else "%"
    return escape_glob(key_prefix) + _NAMESPACE + "{" + tag_glob + "}:[hn]*"


def thread_id_of(key: bytes | str, key_prefix: str = "") -> tuple[str, bool] | None:
    """(thread id, is an old-layout thread) of a thread key, or None if ``key`` is not one."""
    name = text(key)
    head = key_prefix + _NAMESPACE + "{"
    if not name.startswith(head):
        return None
    for tail, legacy in (("}" + _THREAD_SUFFIX, False), ("}" + _LEGACY_SUFFIX, True)):
        if name.endswith(tail) and len(name) >= len(head) + len(tail):
            tag = name[len(head) : len(name) - len(tail)]
            if "{" in tag or "}" in tag:
                return None
            return unescape_tag(tag), legacy
    return None


class ThreadKeys:
    """The key names of one thread.

    Attributes:
        thread_id: the thread id as text.
        thread: the HASH holding the thread (it exists while the thread does).
        order: the ZSET of its checkpoints.
        base: the text every key of the thread starts with.

    Args:
        thread_id: LangGraph's ``thread_id`` (anything but None; made a ``str``).
        key_prefix: text in front of every key (no braces).
    """

    __slots__ = ("base", "order", "thread", "thread_id")

    def __init__(self, thread_id: Any, key_prefix: str = "") -> None:
        self.thread_id = check_thread_id(thread_id)
        self.base = key_prefix + _NAMESPACE + "{" + escape_tag(self.thread_id) + "}:"
        self.thread = self.base + "h"
        self.order = self.base + "i"

    def data(self, ns: str = "") -> str:
        """The HASH holding namespace ``ns``: the thread's one hash, whatever the namespace."""
        return self.thread

    def index(self, ns: str = "") -> str:
        """The ZSET ordering namespace ``ns``'s checkpoints: the thread's one index."""
        return self.order

    # -- the keys of layout 1 (memstore-nb before layout 2), for recognising and upgrading them --

    @property
    def legacy(self) -> str:
        """The old layout's SET of namespaces (its thread key)."""
        return self.base + "ns"

    def legacy_index(self, ns: str) -> str:
        """The old layout's ZSET of namespace ``ns``."""
        return self.base + "i:" + ns

    def legacy_data(self, ns: str) -> str:
        """The old layout's HASH of namespace ``ns``."""
        return self.base + "h:" + ns


def blob_field(channel: str, version: Any) -> str:
    """The hash field (without its ``b:<n>:``) of one channel value at one version."""
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
