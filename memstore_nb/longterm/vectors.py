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

__all__ = ["Candidate", "Packed", "exact_scores", "float32", "has_numpy", "pack", "rank_bounds", "texts_of"]

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


def float32(vector: Sequence[float], dims: int) -> bytes:
    """One embedding as float32 bytes (what a vector index and a query take); refuses a wrong length."""
    if len(vector) != dims:
        raise StoreValueError(f"an embedding has {len(vector)} dimensions, the store's index says dims={dims}")
    return array("f", vector).tobytes()


def pack(vector: Sequence[float], dims: int) -> Packed:
    """Pack one embedding for exact search: float32, int8 and the int8 scale and the norm."""
    raw = float32(vector, dims)
    if has_numpy():
        import numpy as np

        row = np.frombuffer(raw, dtype=np.float32)
        peak = float(np.abs(row).max()) if dims else 0.0
        step = np.float32(peak / 127.0 if peak > 0 else 1.0)
        codes = np.clip(np.rint(row / step), -127, 127).astype(np.int8)
        norm = math.sqrt(math.fsum((row.astype(np.float64) ** 2).tolist()))
        return Packed(raw, codes.tobytes(), _META.pack(float(step), norm))
    f32 = array("f")
    f32.frombytes(raw)
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
    All in numpy: a search may bound hundreds of thousands of rows.
    """
    import numpy as np

    y = np.asarray(query, dtype=np.float64)
    y32 = y.astype(np.float32)
    ynorm = float(np.linalg.norm(y))
    l1 = float(np.abs(y).sum())
    # the int8 code is off by at most scale/2 per coordinate; a float32 dot product of d terms
    # |q_i * y_i| <= 127 |y_i| is off by at most (d + 1) * 2^-24 * 127 * |y|_1
    widen = (0.5 * 1.001 + 1.01 * (dims + 1) * 2.0**-24 * 127) * l1
    owner_type = np.dtype([("s", "<u4"), ("scale", "<f4"), ("norm", "<f4")])
    keys, lows, highs, rows = [], [], [], []
    for cand in cands:
        count = len(cand.owners) // 12
        if count == 0:
            continue
        owner = np.frombuffer(cand.owners, dtype=owner_type, count=count)
        codes = np.frombuffer(cand.rows, dtype=np.int8, count=count * dims).reshape(count, dims)
        live = owner["s"] != 0
        if allowed is not None:
            live &= np.fromiter((allowed(cand.index, int(s)) for s in owner["s"]), dtype=bool, count=count)
        picked = np.nonzero(live)[0]
        if picked.size == 0:
            continue
        scale = owner["scale"][picked].astype(np.float64)
        denom = owner["norm"][picked].astype(np.float64) * ynorm
        # einsum's own loop, not BLAS: on a busy machine BLAS threads took milliseconds to wake, per call
        dots = np.einsum("ij,j->i", codes[picked], y32).astype(np.float64) * scale
        safe = np.where(denom > 0, denom, 1.0)
        approx = np.where(denom > 0, dots / safe, 0.0)
        err = np.where(denom > 0, scale * widen / safe + _SLACK, 0.0)
        keys.append((np.int64(cand.index) << 32) | owner["s"][picked].astype(np.int64))
        lows.append(approx - err)
        highs.append(approx + err)
        rows.append(picked)
    if not keys:
        return {}
    key, low, high, row = (np.concatenate(part) for part in (keys, lows, highs, rows))
    items, inverse = np.unique(key, return_inverse=True)
    item_low = np.full(items.size, -np.inf)
    item_high = np.full(items.size, -np.inf)
    np.maximum.at(item_low, inverse, low)  # an item's bounds: the best of its vectors'
    np.maximum.at(item_high, inverse, high)
    if items.size > need:
        threshold = np.partition(item_low, items.size - need)[items.size - need] if need > 0 else np.inf
        keep = (item_high >= threshold)[inverse]
    else:
        keep = np.ones(key.size, dtype=bool)
    wanted: dict[int, list[int]] = {}
    for index, number in zip((key[keep] >> 32).tolist(), row[keep].tolist(), strict=True):
        wanted.setdefault(index, []).append(number)
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
