"""How numbers read on a screen: durations and sizes, the same in a session table, a header and the CLI."""

from __future__ import annotations

__all__ = ["duration", "size"]


def duration(seconds: int | float | None) -> str:
    """A short duration: ``"45s"``, ``"55m"``, ``"3h"``, ``"12d"`` (rounded down); ``"—"`` for ``None``.

    Example:
        >>> duration(3300)
        '55m'
    """
    if seconds is None:
        return "—"
    whole = int(seconds)
    if whole < 120:
        return f"{whole}s"
    if whole < 7200:
        return f"{whole // 60}m"
    if whole < 172800:
        return f"{whole // 3600}h"
    return f"{whole // 86400}d"


def size(n: int | None) -> str:
    """A byte count in decimal units: ``"812 B"``, ``"3.1 kB"``, ``"48 MB"``; ``"—"`` for ``None``.

    Example:
        >>> size(3224)
        '3.2 kB'
    """
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1000
    return f"{value:.0f} GB"  # pragma: no cover - the loop returns at GB
