"""Listing namespaces: the registry's names that match, kept if the namespace still has items.

Prefix and suffix conditions (``"*"`` matches any label), ``max_depth``, ``offset`` and ``limit``
behave as in ``InMemoryStore``, except that a namespace whose items are all gone (deleted or
expired) is not listed. Registry entries found empty are removed, unless they were registered
lately (a put may be on its way).
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.store.base import ListNamespacesOp, MatchCondition

from .calls import Call, Flow
from .layout import namespace_text
from .scripts import LIVE, UNREGISTER
from .search import fail, namespaces_flow
from .settings import UNREGISTER_AFTER_MS, Settings, now_ms

__all__ = ["list_flow", "matches_condition", "unregister_call"]


def matches_condition(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """Whether ``namespace`` starts (``"prefix"``) or ends (``"suffix"``) with the condition's path."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(want == "*" or have == want for have, want in pairs)


def _literal_prefix(conditions: Sequence[MatchCondition]) -> tuple[str, ...]:
    """The leading labels every listed namespace has (the registry range to read)."""
    best: tuple[str, ...] = ()
    for condition in conditions:
        if condition.match_type == "prefix":
            labels = []
            for label in condition.path:
                if label == "*":
                    break
                labels.append(label)
            if len(labels) > len(best):
                best = tuple(labels)
    return best


def list_flow(settings: Settings, op: ListNamespacesOp, dead: list[str]) -> Flow:
    """One ListNamespacesOp: its result list."""
    conditions = tuple(op.match_conditions or ())
    names = yield from namespaces_flow(settings, _literal_prefix(conditions))
    names = [ns for ns in names if all(matches_condition(c, ns) for c in conditions)]
    live = []
    if names:
        calls = [Call.read(LIVE, [settings.keys(ns).order], []) for ns in names]
        for namespace, reply in zip(names, (yield calls), strict=True):
            fail(reply)
            if int(reply):
                live.append(namespace)
            else:
                dead.append(namespace_text(namespace))
    if op.max_depth is not None:
        live = sorted({ns[: op.max_depth] for ns in live})
    else:
        live.sort()
    return live[op.offset : op.offset + op.limit]


def unregister_call(settings: Settings, dead: Sequence[str]) -> Call:
    """Remove namespaces found empty from the registry (those not registered lately)."""
    settings.unregistered(list(dead))
    registry = settings.registry
    args = [now_ms() - UNREGISTER_AFTER_MS, *sorted(set(dead))]
    return Call.read(UNREGISTER, [registry.names, registry.seen], args)
