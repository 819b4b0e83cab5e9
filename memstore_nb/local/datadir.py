"""The local store's data directory: private to its user, never followed through a symlink, one lock.

Every file the store reads or writes here is opened by name inside the directory with
``O_NOFOLLOW`` (a planted symlink is an error, never a way to write elsewhere), checked to be a
regular file owned by this user and not writable by anyone else, and created with ``O_EXCL``.
Which files the store made is written in its record (``store.json``); a file with one of the
store's names that the record does not list is somebody else's and is refused, never used.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import LocalStoreError

__all__ = ["LOCK", "LOG", "PASSWORD", "RECORD", "SOCKET", "STORE_FILES", "DataDir"]

LOCK = ".lock"  # the same lock file as memstore-nb 0.1's store, so both versions agree on one server
RECORD = "store.json"
PASSWORD = "store.password"
LOG = "store.log"
SOCKET = "store.sock"
# The names the store makes itself; any of them present without the record listing it is refused.
STORE_FILES = (RECORD, PASSWORD, LOG, SOCKET)
_OPEN = os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
_MAX_FILE = 1 << 20  # the store's own files are small; anything bigger is not one of them


class DataDir:
    """The local store's directory, checked: a real directory, owned by this user, writable by nobody else.

    Args:
        path: the directory (absolute, symlinks resolved).
        create: make it (mode 0700) when missing.
    """

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self.made_now = False
        if create and not os.path.lexists(path):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.mkdir(path, 0o700)
                self.made_now = True
            except FileExistsError:
                pass  # another process made it first: checked below like any other
            except OSError as exc:
                raise self.error(f"cannot create the local store's directory {path}: {exc.strerror}", exc) from exc
        self.exists = self.check()

    def error(self, message: str, exc: OSError | None = None) -> LocalStoreError:
        """A :class:`LocalStoreError` about this directory; ``exc`` adds what to do for common causes."""
        hint = ""
        if exc is not None and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = f": make it writable by you (chmod 700 {self.path}) or set MEMSTORE_NB_DATA_DIR to another directory"
        elif exc is not None and exc.errno == errno.ENOSPC:
            hint = ": the disk is full; free some space there"
        return LocalStoreError(message + hint, self.path)

    def check(self) -> bool:
        """Whether the directory exists; raises :class:`LocalStoreError` when it is not one the store may use."""
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self.error(f"cannot read the local store's directory {self.path}: {exc.strerror}", exc) from exc
        where = f"set MEMSTORE_NB_DATA_DIR to a directory of your own, or move {self.path} away"
        if not stat.S_ISDIR(info.st_mode):
            raise LocalStoreError(f"the local store's directory {self.path} is not a directory: {where}", self.path)
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            raise LocalStoreError(
                f"the local store's directory {self.path} belongs to user id {info.st_uid}, not to you: {where}",
                self.path,
            )
        if info.st_mode & 0o022:
            raise LocalStoreError(
                f"the local store's directory {self.path} is writable by others (mode {stat.S_IMODE(info.st_mode):o}): "
                f"`chmod 700 {self.path}`, or {where}",
                self.path,
            )
        return True

    # -- files ------------------------------------------------------------------

    def kind(self, name: str) -> str | None:
        """``"file"``, ``"dir"``, ``"symlink"``, ``"socket"``, ``"other"``, or None when ``name`` is absent."""
        try:
            mode = os.lstat(self.path / name).st_mode
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.error(f"cannot read {self.path / name}: {exc.strerror}", exc) from exc
        for test, label in ((stat.S_ISLNK, "symlink"), (stat.S_ISREG, "file"), (stat.S_ISDIR, "dir")):
            if test(mode):
                return label
        return "socket" if stat.S_ISSOCK(mode) else "other"

    def _checked_fd(self, name: str, flags: int, mode: int = 0o600) -> int:
        path = self.path / name
        try:
            fd = os.open(path, flags | _OPEN, mode)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LocalStoreError(
                    f"{path} is a symlink; the local store never follows one: remove it", self.path
                ) from exc
            if exc.errno in (errno.EISDIR, errno.ENXIO, errno.EEXIST):
                raise LocalStoreError(
                    f"{path} is in the way (a {self.kind(name)} the local store did not make): move it away",
                    self.path,
                ) from exc
            raise self.error(f"cannot open {path}: {exc.strerror}", exc) from exc
        info = os.fstat(fd)
        problem = ""
        if not stat.S_ISREG(info.st_mode):
            problem = "is not a regular file"
        elif hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            problem = f"belongs to user id {info.st_uid}"
        elif info.st_mode & 0o077:
            problem = f"is readable or writable by others (mode {stat.S_IMODE(info.st_mode):o})"
        if problem:
            os.close(fd)
            raise LocalStoreError(
                f"{path} {problem}; the local store did not leave it so and will not use it: move it away", self.path
            )
        return fd

    def read(self, name: str, same_as: list[int] | None = None) -> bytes | None:
        """The bytes of the store's file ``name`` (checked as above), or None when it does not exist.

        With ``same_as`` (``[st_dev, st_ino]`` of the file the store made), any other file by that
        name is refused: the store reads back only what it wrote.
        """
        try:
            fd = self._checked_fd(name, os.O_RDONLY)
        except LocalStoreError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                return None
            raise
        info = os.fstat(fd)
        if same_as is not None and [info.st_dev, info.st_ino] != list(same_as):
            os.close(fd)
            raise LocalStoreError(
                f"{self.path / name} was replaced: it is not the file the local store made, so it is not used. "
                "Stop the store (`memstore-nb local stop`), remove that file and start it again (a new one is made)",
                self.path,
            )
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(_MAX_FILE + 1)
        if len(data) > _MAX_FILE:
            raise LocalStoreError(f"{self.path / name} is too big to be the local store's: move it away", self.path)
        return data

    def create(self, name: str, data: bytes) -> os.stat_result:
        """Make the new file ``name`` (0600) holding ``data``, flushed to disk; it must not exist yet."""
        fd = self._checked_fd(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            os.write(fd, data)
            os.fsync(fd)
            return os.fstat(fd)
        except OSError as exc:
            raise self.error(f"cannot write {self.path / name}: {exc.strerror}", exc) from exc
        finally:
            os.close(fd)

    def replace(self, name: str, data: bytes) -> None:
        """Write ``name`` atomically: a new temporary file, flushed, renamed over it (never through a symlink)."""
        tmp = f"{name}.tmp"
        if self.kind(tmp) not in (None, "file", "symlink"):
            raise LocalStoreError(f"{self.path / tmp} is in the way: move it away", self.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path / tmp)  # a leftover of an interrupted write (unlink never follows a link)
        self.create(tmp, data)
        try:
            os.replace(self.path / tmp, self.path / name)
            self.sync()
        except OSError as exc:
            raise self.error(f"cannot write {self.path / name}: {exc.strerror}", exc) from exc

    def append_fd(self, name: str) -> int:
        """A file descriptor appending to ``name`` (made when missing; checked as above)."""
        return self._checked_fd(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def sync(self) -> None:
        """Flush the directory itself, so a rename or a new file survives a power cut."""
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # -- the record ---------------------------------------------------------------

    def record(self) -> dict[str, Any] | None:
        """The store's record (``store.json``), or None when there is none."""
        raw = self.read(RECORD)
        if raw is None:
            return None
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            record = None
        if not isinstance(record, dict) or record.get("format") != 1 or not isinstance(record.get("made"), list):
            raise LocalStoreError(
                f"{self.path / RECORD} is not a record the local store wrote: move it away (the data next to it "
                "stays; memstore-nb will refuse to start over it until you decide)",
                self.path,
            )
        return record

    def write_record(self, record: dict[str, Any]) -> None:
        self.replace(RECORD, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())

    # -- the lock -----------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, timeout: float) -> Iterator[None]:
        """Hold the store's exclusive lock (``flock`` on ``.lock``; released if this process dies).

        Raises:
            LocalStoreError: another process held it for ``timeout`` seconds.
        """
        import fcntl

        deadline = time.monotonic() + timeout
        while True:
            fd = self._checked_fd(LOCK, os.O_RDWR | os.O_CREAT)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise LocalStoreError(
                                f"another process has held the local store's lock ({self.path / LOCK}) for "
                                f"{timeout:.0f}s (starting or stopping it): try again in a moment",
                                self.path,
                            ) from None
                        time.sleep(0.02)
                # reset() removes the lock file while holding it: a lock on a removed file locks nothing.
                if self._same_file(fd, LOCK):
                    yield
                    return
            finally:
                os.close(fd)

    def _same_file(self, fd: int, name: str) -> bool:
        try:
            now = os.lstat(self.path / name)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)

    def free_bytes(self) -> int:
        """Bytes free for this user on the file system holding the directory."""
        found = os.statvfs(self.path)
        return int(found.f_bavail * found.f_frsize)

    def mount_point(self) -> str:
        """The mount point of the file system holding the directory (what ``df`` shows)."""
        path = os.path.realpath(self.path)
        while not os.path.ismount(path):
            path = os.path.dirname(path)
        return path
