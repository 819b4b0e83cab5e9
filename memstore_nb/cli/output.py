"""What the command prints: one-line errors, text safe for a terminal, JSON for scripts, progress on stderr."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from ..errors import MemstoreError

__all__ = ["CliError", "ProgressBar", "json_text", "note", "one_line", "safe", "say"]


class CliError(MemstoreError, RuntimeError):
    """A command could not do its job; the message says what to do instead."""


# -- output helpers -----------------------------------------------------------------


class ProgressBar:
    """A one-line text progress bar on a stream (stderr by default)."""

    def __init__(self, label: str, unit: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width if total <= 0 else int(self.width * done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done:,}/{total:,} {self.unit}")
        if final:
            self.stream.write("\n")
        self.stream.flush()


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def safe(text: str, *, keep_lines: bool = False) -> str:
    """``text`` fit for a terminal: escape sequences and bidi controls shown as ``\\x1b``, ``\\u202e``."""
    from ..codec import escape_controls

    return escape_controls(text, keep_lines=keep_lines)


def json_text(doc: Any, indent: int | None = None) -> str:
    """JSON for a terminal or a script: non-ASCII text stays readable, control and bidi characters are escaped.

    ``json.dumps`` already escapes U+0000-U+001F; the C1 controls and bidi overrides it leaves
    as they are only ever appear inside strings, where ``\\uXXXX`` means the same character.
    """
    import re

    from ..codec import escape_controls

    def escaped(match: re.Match[str]) -> str:
        ch = match.group()
        return ch if escape_controls(ch) == ch else f"\\u{ord(ch):04x}"

    # newlines between tokens (indent) stay; inside strings json.dumps has written them as \\n
    return re.sub("[^\n\x20-\x7e]", escaped, json.dumps(doc, ensure_ascii=False, indent=indent))


def one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def note(text: str) -> None:
    """A line for the person at the terminal, on stderr (stdout stays for what scripts read)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
