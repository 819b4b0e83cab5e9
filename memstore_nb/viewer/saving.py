"""Exports of any size: estimate one before reading it, write a big one to a file chunk by chunk.

A session of a million messages is hundreds of megabytes of JSON: built as one string (and again as
base64 for a download link) it took minutes and gigabytes. Here the size is estimated first, from
the length and a sample of messages; what would not fit a download link is written to a file one
chunk at a time, so memory stays at a chunk's worth whatever the session's size. The file's bytes
are exactly what the in-memory export would have been.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from langchain_core.messages import BaseMessage, message_to_dict

from ..render.fields import visible_surrogates
from ..render.transcript_md import markdown_heading, markdown_section
from ..sources.base import COMMUNITY, MEMSTORE, Transcript

__all__ = [
    "EXPORT_DIR_ENV",
    "FORMATS",
    "estimate_size",
    "export_name",
    "export_path",
    "json_element",
    "show_command",
    "write_export",
]

#: Where exports written to a file go (default: the current working directory).
EXPORT_DIR_ENV = "MEMSTORE_NB_EXPORT_DIR"
#: format -> (file extension, MIME type)
FORMATS = {"json": ("json", "application/json"), "markdown": ("md", "text/markdown")}
_SAMPLE = 16  # messages read at each of the start, middle and end of a session to estimate its export
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def json_element(message: BaseMessage) -> str:
    """One message as it sits in ``json.dumps(messages_to_dict(...), ensure_ascii=False, indent=2)``."""
    text = json.dumps(message_to_dict(message), ensure_ascii=False, indent=2)
    return visible_surrogates("  " + text.replace("\n", "\n  "))


def _chunks(transcript: Transcript, total: int, chunk_size: int) -> Iterator[tuple[int, list[Any]]]:
    done = 0
    while done < total:
        chunk = transcript.read_range(done, min(done + chunk_size, total) - 1)
        if not chunk:
            return
        yield done, chunk
        done += len(chunk)


def _pieces(fmt: str, items: list[tuple[int, Any]]) -> list[str]:
    if fmt == "json":
        return [json_element(m) for _, m in items if isinstance(m, BaseMessage)]
    return [markdown_section(i, m) for i, m in items]


def estimate_size(transcript: Transcript, total: int, fmt: str) -> int:
    """Bytes the export of ``total`` messages will take: ``total`` times the mean of a sample.

    Reads at most 48 messages (16 at the start, the middle and the end), whatever the session's size.
    """
    if total <= 0:
        return 2
    starts = sorted({0, max(total // 2 - _SAMPLE // 2, 0), max(total - _SAMPLE, 0)})
    sample: list[tuple[int, Any]] = []
    seen: set[int] = set()
    for start in starts:
        for offset, item in enumerate(transcript.read_range(start, min(start + _SAMPLE, total) - 1)):
            if start + offset not in seen:
                seen.add(start + offset)
                sample.append((start + offset, item))
    if not sample:
        return 2
    pieces = _pieces(fmt, sample)
    per = sum(len(p.encode("utf-8")) + 2 for p in pieces) / len(sample)
    return int(per * total) + 64


def write_export(
    transcript: Transcript,
    total: int,
    fmt: str,
    out: IO[str],
    *,
    title: str = "",
    chunk_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Write the export of the first ``total`` messages to ``out``, one chunk of messages at a time.

    The text is what the whole-string export gives: ``messages_to_dict`` JSON (``indent=2``, unreadable
    entries left out) or the Markdown transcript (:func:`~memstore_nb.render.to_markdown`).

    Returns:
        ``(messages written, unreadable entries left out)`` (Markdown writes every entry).
    """
    written = skipped = 0
    first = True
    if fmt == "markdown" and title.strip():
        out.write(markdown_heading(title))
        first = False
    elif fmt == "json":
        out.write("[")
    for start, chunk in _chunks(transcript, total, chunk_size):
        items = list(enumerate(chunk, start=start))
        pieces = _pieces(fmt, items)
        skipped += len(items) - len(pieces)
        for piece in pieces:
            if fmt == "json":
                out.write(("\n" if first else ",\n") + piece)
            else:
                out.write(piece if first else "\n\n" + piece)
            first = False
        written += len(pieces)
        if progress is not None:
            progress(min(start + len(chunk), total), total)
    out.write(("\n]" if not first else "]") if fmt == "json" else "\n")
    return written, skipped


def export_name(session_id: str, fmt: str) -> str:
    """The file name of an export: the session id with anything but letters, digits, ``._-`` as ``_``."""
    stem = (_UNSAFE_FILENAME.sub("_", session_id).strip("._") or "session")[:80]
    return f"{stem}.{FORMATS[fmt][0]}"


def export_path(session_id: str, fmt: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """A new file for the export of ``session_id``: in ``folder`` (default: $MEMSTORE_NB_EXPORT_DIR, else the
    current directory), named after the session, never over an existing file."""
    where = Path(folder or os.environ.get(EXPORT_DIR_ENV) or Path.cwd())
    name = export_name(session_id, fmt)
    stem, ext = name.rsplit(".", 1)
    path = where / name
    n = 1
    while path.exists():
        path = where / f"{stem}-{n}.{ext}"
        n += 1
    return path


def _settings(client: Any) -> tuple[str, int, int, bool, bool, str | None]:
    # (host, port, db, tls, has a password, unix socket path) of a Redis or RedisCluster client, from its
    # pool's settings.
    pool = getattr(client, "connection_pool", None)
    nodes = getattr(client, "nodes_manager", None)
    kwargs: dict[str, Any] = dict(getattr(pool or nodes, "connection_kwargs", None) or {})
    host, port = kwargs.get("host"), kwargs.get("port")
    startup = getattr(nodes, "startup_nodes", None)
    if host is None and startup:  # a cluster client: a node it started from
        node = next(iter(startup.values()))
        host, port = node.host, node.port
    connection_class = getattr(pool, "connection_class", None)
    tls = bool(kwargs.get("ssl")) or "SSL" in getattr(connection_class, "__name__", "")
    path = kwargs.get("path")
    return (
        str(host or "127.0.0.1"),
        int(port or 6379),
        int(kwargs.get("db") or 0),
        tls,
        bool(kwargs.get("password")),
        None if path is None else str(path),
    )


def _local_store_socket() -> str | None:
    # The socket of the persistent local store when it runs (then `--endpoint local` needs no password).
    try:
        from ..local.store import running

        store = running()
    except Exception:  # no local store, or one this version cannot read: suggest the socket's URL instead
        return None
    return None if store is None else str(store.socket)


def show_command(client: Any, session_id: str, kind: str, out_file: str) -> str:
    """The ``memstore-nb show`` command that writes the same JSON from a terminal, every argument quoted.

    The endpoint is ``local`` for the persistent local store (its unix socket), ``unix://PATH`` for
    another socket, else the client's host, port and database (``rediss://`` with TLS), never its
    password: a client with one says to set ``MEMSTORE_NB_PASSWORD`` first.
    """
    host, port, db, tls, password, path = _settings(client)
    if path is not None and path == _local_store_socket():
        endpoint, password = "local", False
    elif path is not None:
        endpoint = f"unix://{path}" + (f"?db={db}" if db else "")
    else:
        endpoint = f"{'rediss' if tls else 'redis'}://{host}:{port}" + (f"/{db}" if db else "")
    words = ["memstore-nb", "show", str(session_id), "--json", "--endpoint", endpoint]
    if kind not in (MEMSTORE, COMMUNITY):  # a list key tells its kind; a thread id does not
        words += ["--kind", kind]
    command = " ".join(shlex.quote(visible_surrogates(w)) for w in words) + " > " + shlex.quote(out_file)
    return f"with the AUTH string in MEMSTORE_NB_PASSWORD, {command}" if password else command
