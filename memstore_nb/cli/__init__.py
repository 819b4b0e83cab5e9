"""The ``memstore-nb`` command: demo, view, lab, sessions, show, run, quickstart, local."""

from __future__ import annotations

from .parser import main

__all__ = ["main"]
