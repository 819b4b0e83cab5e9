"""Vectors for semantic search: which texts of an item are embedded, how a vector is stored, and the
exact ranking used on a server without vector search.

Exact search reads a namespace's vectors as int8 rows (a quarter of the bytes), bounds every
row's cosine similarity from them, and reads back in float32 only the rows that could be among
the results: the ranking is the one a full float32 computation gives (``InMemoryStore``'s), at a
fraction of the transfer. Without numpy the float32 rows are read and scored in Python.
"""

from __future__ import annotations

import importlib.util
import math
import struct
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.store.base import get_text_at_path, tokenize_path

from .errors import StoreValueError

__all__ = ["Candidate", "Packed", "exact_scores", "has_numpy", "pack", "rank_bounds", "texts_of"]

_META = struct.Struct("<ff")
_OWNER = struct.Struct("<Iff")
# Bounds are widened by this much (similarity units): float32 norms and sums are not exact.
_SLACK = 1e-6


def has_numpy() -> bool:
    return importlib.util.find_spec("numpy") is not None


def texts_of(value: Mapping[str, Any], paths: Sequence[tuple[str, Any]]) -> list[str]:
    """The texts of ``value`` to embed, in order: one per path, or one per element of a ``[*]`` path."""
    texts: list[str] = []
    for _path, tokens in paths:
        texts.extend(get_text_at_path(value, tokens))
    return texts


def tokenized(fields: Iterable[str]) -> list[tuple[str, Any]]:
    """``(path, tokens)`` pairs as LangGraph's stores prepare them (``"$"`` is the whole value)."""
    return [(p, tokenize_path(p)) if p != "$" else (p, p) for p in fields]


class Packed:
    """One vector as stored: float32 bytes, int8 bytes and the 8 bytes of scale and norm."""

    __slots__ = ("f32", "i8", "meta")

    def __init__(self, f32: bytes, i8: bytes, meta: bytes) -> None:
        self.f32 = f32
        self.i8 = i8
        self.meta = meta


def pack(vector: Sequence[float], dims: int) -> Packed:
    """Pack one embedding; refuses a vector of the wrong length (the message names both)."""
    if len(vector) != dims:
        raise StoreValueError(f"an embedding has {len(vector)} dimensions, the store's index says dims={dims}")
    f32 = array("f", vector)
    peak = max((abs(x) for x in f32), default=0.0)
    norm = math.sqrt(math.fsum(float(x) * float(x) for x in f32))
    scale = float(array("f", [peak / 127.0 if peak > 0 else 1.0])[0])
    i8 = array("b", (max(-127, min(127, round(x / scale))) for x in f32))
    return Packed(f32.tobytes(), i8.tobytes(), _META.pack(scale, norm))


class Candidate:
    """A namespace's vectors as read for ranking: its owners table and int8 (or float32) rows."""

    __slots__ = ("born", "index", "owners", "rows")

    def __init__(self, index: int, born: int, owners: bytes, rows: bytes) -> None:
        self.index = index  # position of the namespace in the search's namespace order
        self.born = born
        self.owners = owners
        self.rows = rows


def rank_bounds(cands: Sequence[Candidate], query: Sequence[float], dims: int, allowed: Any, need: int) -> Any:
    """From int8 rows: the rows worth reading in float32 (``{namespace index: [row, ...]}``).

    ``allowed(index, place)`` says whether an item passes the filter (None: all do); ``need`` is
    how many items the search returns (offset + limit). Every item whose similarity could reach
    the ``need``-th best lower bound is kept, so the exact ranking of what is kept is the ranking.
    """
    import numpy as np

    y = np.asarray(query, dtype=np.float64)
    ynorm = float(np.linalg.norm(y))
    l1 = float(np.abs(y).sum())
    float_err = 1.01 * (dims + 1) * 2.0**-24 * 127
    lows: dict[tuple[int, int], float] = {}
    highs: dict[tuple[int, int], float] = {}
    rows_of: dict[tuple[int, int], list[int]] = {}
    for cand in cands:
        count = len(cand.owners) // 12
        if count == 0:
            continue
        owner = np.frombuffer(cand.owners, dtype=np.dtype([("s", "<u4"), ("scale", "<f4"), ("norm", "<f4")]))
        codes = np.frombuffer(cand.rows, dtype=np.int8, count=count * dims).reshape(count, dims)
        live = owner["s"] != 0
        if allowed is not None:
            live &= np.fromiter((allowed(cand.index, int(s)) for s in owner["s"]), dtype=bool, count=count)
        picked = np.nonzero(live)[0]
        if picked.size == 0:
            continue
        scale = owner["scale"][picked].astype(np.float64)
        norm = owner["norm"][picked].astype(np.float64)
        dots = (codes[picked].astype(np.float32) @ y.astype(np.float32)).astype(np.float64) * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = norm * ynorm
            approx = np.where(denom > 0, dots / denom, 0.0)
            # the int8 code is off by at most scale/2 per coordinate; a float32 dot product of d
            # terms |q_i * y_i| <= 127 |y_i| is off by at most (d + 1) * 2^-24 * 127 * |y|_1
            err = np.where(denom > 0, scale * (0.5 * 1.001 + float_err) * l1 / denom + _SLACK, 0.0)
        for row, seq, a, e in zip(picked.tolist(), owner["s"][picked].tolist(), approx, err, strict=True):
            ident = (cand.index, seq)
            lo, hi = float(a - e), float(a + e)
            if ident not in lows or lo > lows[ident]:
                lows[ident] = lo
            if ident not in highs or hi > highs[ident]:
                highs[ident] = hi
            rows_of.setdefault(ident, []).append(row)
    if len(lows) > need:
        threshold = sorted(lows.values(), reverse=True)[need - 1] if need > 0 else math.inf
        keep = [ident for ident, hi in highs.items() if hi >= threshold]
    else:
        keep = list(highs)
    wanted: dict[int, list[int]] = {}
    for ident in keep:
        wanted.setdefault(ident[0], []).extend(rows_of[ident])
    return wanted


def exact_scores(rows: Sequence[bytes], query: Sequence[float]) -> list[float]:
    """Cosine similarity of each float32 row with the query, as ``InMemoryStore`` computes it (0 for a zero row)."""
    if not rows:
        return []
    if has_numpy():
        import numpy as np

        x = np.asarray(query, dtype=np.float64)
        y = np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), -1).astype(np.float64)
        xnorm = np.linalg.norm(x)
        ynorm = np.linalg.norm(y, axis=1)
        mask = ynorm != 0
        scores = np.zeros_like(ynorm)
        scores[mask] = np.dot(y[mask], x) / (ynorm[mask] * xnorm)
        return [float(s) for s in scores.tolist()]
    qnorm = math.sqrt(sum(a * a for a in query))
    out = []
    for raw in rows:
        vec = array("f")
        vec.frombytes(raw)
        norm = math.sqrt(sum(a * a for a in vec))
        dot = sum(a * b for a, b in zip(query, vec, strict=False))
        out.append(dot / (qnorm * norm) if qnorm > 0 and norm > 0 else 0.0)
    return out


def owners_of(raw: bytes) -> list[int]:
    """The owner (item place) of each row; 0 for a free row."""
    return [entry[0] for entry in _OWNER.iter_unpack(raw[: len(raw) - len(raw) % 12])]
