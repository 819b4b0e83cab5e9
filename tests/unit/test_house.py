"""The shape of the package, measured from its source: no import circles, no private names taken across
modules, few private attributes reached on other objects, no module over 400 lines.

Every import counts — at module level, inside functions and under ``TYPE_CHECKING`` — because a
module that names another only for typing still knows it. The layers themselves are held by
import-linter (``lint-imports``, contracts in setup.cfg).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "memstore_nb"
MAX_LINES = 400
MAX_PRIVATE_REACHES = 10
# The one deliberate pair: errors names server_errors' two classes lazily (importing it loads redis).
ALLOWED_CIRCLES = [{"memstore_nb.errors", "memstore_nb.server_errors"}]
# Private attributes of other objects that the code must reach, each for a reason given where it is.
ALLOWED_REACHES = {("memstore_nb.local.server", "os._exit")}
# Being cut (issue 17): the saver's listing calls the saver's private methods. These may only shrink;
# when one is gone, its entry goes too (a test below fails until it does), and the issue is done when
# both are empty. (The viewer's circle and reaches are gone: its panels get a state and callbacks.)
SHRINKING_CIRCLES = []
SHRINKING_REACHES: tuple[str, ...] = ()


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _owner(name: str) -> str | None:
    """The module of ours that ``name`` (a dotted import target) falls in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> Iterator[tuple[str, list[str]]]:
    """(target module, names taken from it) for every import in ``module``."""
    is_package = MODULES[module].name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = here[: len(here) - (node.level - 1)]
                base = ".".join([*prefix, base] if base else prefix)
            names = [alias.name for alias in node.names]
            for name in names:  # `from . import x` may name a submodule
                if f"{base}.{name}" in MODULES:
                    yield f"{base}.{name}", []
            yield base, names


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for module in MODULES:
        for target, _names in _imports(module):
            owner = _owner(target)
            if owner is None or owner == module:
                continue
            if MODULES[module].name == "__init__.py" and owner.startswith(module + "."):
                continue  # a package's face re-exporting its own modules
            edges[module].add(owner)
    return edges


def _circles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_no_import_circle_but_the_errors_pair() -> None:
    circles = [sorted(c) for c in _circles(_edges()) if c not in ALLOWED_CIRCLES]
    growing = [c for c in circles if not any(set(c) <= known for known in SHRINKING_CIRCLES)]
    assert growing == []


def test_the_circles_being_cut_are_listed_as_they_are() -> None:
    """A circle cut (or made smaller) must leave SHRINKING_CIRCLES too, so the list never hides a new one."""
    found = [c for c in _circles(_edges()) if c not in ALLOWED_CIRCLES]
    assert sorted(map(sorted, found)) == sorted(map(sorted, SHRINKING_CIRCLES))


def test_the_circle_finder_finds_a_circle() -> None:
    """The check above could fail: a planted circle is found."""
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_module_takes_another_modules_private_name() -> None:
    taken = [
        f"{module} takes {owner}.{name}"
        for module in MODULES
        for target, names in _imports(module)
        if (owner := _owner(target)) is not None and owner != module
        for name in names
        if name.startswith("_") and not name.startswith("__") and f"{owner}.{name}" not in MODULES
    ]
    assert taken == []


def _private_reaches() -> list[tuple[str, str]]:
    reaches = []
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            reaches.append((module, ast.unparse(node)))
    return reaches


def test_private_attributes_of_other_objects_are_reached_rarely_and_on_purpose() -> None:
    reaches = [r for r in _private_reaches() if not r[0].startswith(SHRINKING_REACHES)]
    assert len(reaches) <= MAX_PRIVATE_REACHES, reaches
    assert [r for r in reaches if r not in ALLOWED_REACHES] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_400_lines(module: str) -> None:
    assert len(MODULES[module].read_text().splitlines()) <= MAX_LINES
