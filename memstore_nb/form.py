"""Moved to :mod:`memstore_nb.connection.form` in 0.2; this path works, with a DeprecationWarning, until 0.3."""

from __future__ import annotations

from .lazy import moved

__getattr__ = moved("memstore_nb.form", "memstore_nb.connection.form")
