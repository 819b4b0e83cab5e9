"""A search ``filter`` as LangGraph defines it: exact matches (nested dicts and lists too) and
``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``.

The semantics are ``InMemoryStore``'s (which follows PostgreSQL's JSONB), except that a
comparison with a value that is missing or not a number does not match, where ``InMemoryStore``
raises ``TypeError``/``ValueError`` for the whole search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ArgumentError

__all__ = ["check_filter", "compile_filter", "matches"]

_ORDER: dict[str, Callable[[float, float], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_OPERATORS = frozenset({"$eq", "$ne", *_ORDER})


def check_filter(filter: Mapping[str, Any] | None) -> None:
    """Refuse an operator LangGraph does not define, before anything is sent (the message lists them)."""
    if filter is None:
        return
    if not isinstance(filter, Mapping):
        raise ArgumentError(f"filter must be a dict, got {type(filter).__name__}", filter)
    for wanted in filter.values():
        if isinstance(wanted, Mapping):
            unknown = [op for op in wanted if isinstance(op, str) and op.startswith("$") and op not in _OPERATORS]
            if unknown:
                raise ArgumentError(
                    f"unsupported filter operator {unknown[0]!r}; use one of {', '.join(sorted(_OPERATORS))}", filter
                )
            check_filter({k: v for k, v in wanted.items() if not (isinstance(k, str) and k.startswith("$"))})


def matches(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value passes ``filter`` (every condition must hold)."""
    if not filter:
        return True
    return compile_filter(filter)(value)


def compile_filter(filter: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], bool]:
    """``filter`` as a test of a value, built once per search (a search may test thousands of items)."""
    if not filter:
        return lambda value: True
    tests = [(key, _test(wanted)) for key, wanted in filter.items()]
    return lambda value: all(test(value.get(key)) for key, test in tests)


def _test(wanted: Any) -> Callable[[Any], bool]:
    if isinstance(wanted, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            ops = list(wanted.items())
            return lambda actual: all(_operator(actual, op, operand) for op, operand in ops)
        inner = [(k, _test(v)) for k, v in wanted.items()]
        return lambda actual: isinstance(actual, dict) and all(test(actual.get(k)) for k, test in inner)
    if isinstance(wanted, (list, tuple)):
        return lambda actual: _compare(actual, wanted)
    return lambda actual: bool(actual == wanted)


def _compare(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        return _test(wanted)(actual)
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(actual, (list, tuple))
            and len(actual) == len(wanted)
            and all(_compare(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return bool(actual == wanted)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _operator(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(actual == operand)
    if op == "$ne":
        return bool(actual != operand)
    if op not in _ORDER:
        raise ArgumentError(f"unsupported filter operator {op!r}; use one of {', '.join(sorted(_OPERATORS))}", op)
    left, right = _number(actual), _number(operand)
    return left is not None and right is not None and _ORDER[op](left, right)
