"""Package faces that load a module only when one of its names is first used, and old module paths that forward.

``import memstore_nb`` (and ``import memstore_nb.connect``…) must stay cheap: redis, langchain-core,
google-auth and ipywidgets load with the first name that needs them, so ``memstore-nb --version``
answers at once. A package's ``__init__`` lists where each public name lives and hands that map
to :func:`face`; a module path that moved in a release keeps working for one more through
:func:`moved`, with a ``DeprecationWarning`` that names the new path.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["face", "moved"]


def face(
    package: str, where: Mapping[str, str], *, requires: tuple[str, str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the package ``package`` whose names live in the modules of ``where``.

    Args:
        package: the package's ``__name__``.
        where: public name -> module relative to the package (``".client"``).
        requires: for a part that needs an optional dependency, ``(module to import first, what it
            is called, the extra)``: when it is missing, using a name raises ``MissingExtraError``
            with the install line (``errors.install_hint``) instead of a bare ``ImportError``.

    Returns:
        The two functions, to assign to the package's ``__getattr__`` and ``__dir__``; a name is
        imported once, then cached in the package's namespace.
    """

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if requires is not None:
            _require(name, *requires)
        module = import_module(package)
        value = getattr(import_module(where[name], package), name)
        setattr(module, name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(import_module(package))) | set(where))

    return __getattr__, __dir__


def _require(name: str, module: str, what: str, extra: str) -> None:
    from .errors import MissingExtraError, install_hint

    try:
        import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{name} needs {what}, which is not installed: {install_hint(extra, what)}, then restart the kernel"
        ) from exc


def moved(old: str, new: str, *, until: str = "0.3") -> Callable[[str], Any]:
    """``__getattr__`` for the module path ``old``, whose names now live in ``new``.

    Every name read through ``old`` is ``new``'s (the same object) and warns once per call site
    with a ``DeprecationWarning`` saying where to import it from.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(import_module(new), name)  # AttributeError: neither path has it
        warnings.warn(
            f"{old} moved to {new} in memstore-nb 0.2 and the old path goes in {until}: import {name} from {new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
