"""What ``memstore-nb run`` checks before it starts a kernel: the notebook, its parameters, the kernel,
the output file, the modules the notebook imports, and secrets that must not be written into it.

Each problem is one :class:`~memstore_nb.cli.output.CliError` (one line, exit 2) that says what to
type instead; nothing is installed, started or written until every check has passed.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .output import CliError, one_line, safe

__all__ = [
    "Secrets",
    "check_kernel",
    "check_output",
    "declared_parameters",
    "missing_modules",
    "parameter_values",
    "without_secrets",
]

_TRUE_FALSE = {"True": True, "False": False, "true": True, "false": False}


def declared_parameters(source: Path) -> dict[str, Any]:
    """The parameters the notebook declares (papermill's ``inspect_notebook``), name -> its default's text.

    Raises:
        CliError: the file is not a Jupyter notebook.
    """
    import nbformat
    import papermill

    try:
        nbformat.read(str(source), as_version=4)
    except Exception as exc:  # NotJSONError, a validation error, bad UTF-8: the file is not a notebook
        raise CliError(
            f"{safe(str(source))} is not a Jupyter notebook "
            f"({type(exc).__name__}: {safe(one_line(str(exc), 120))}); give an .ipynb file"
        ) from None
    return {name: info.get("default") for name, info in papermill.inspect_notebook(str(source)).items()}


def parameter_values(
    source: Path, declared: dict[str, Any], texts: list[list[str]], yamls: list[str]
) -> dict[str, Any]:
    """``-p NAME VALUE`` read as the type of NAME's default in the notebook, and ``-y NAME=YAML`` as YAML.

    A text parameter (``MATCH = "*"``) takes the value as text, so ``-p MATCH 2024`` is ``"2024"``;
    a boolean takes ``True``/``False``, a number a number, and an untyped one (``None``) papermill's
    own rule (True/False/None, a number, else text). ``-y`` gives any value its type outright.

    Raises:
        CliError: an unknown name (the message lists the declared ones), a value that does not fit
            its parameter's type, or YAML that does not parse.
    """
    values: dict[str, Any] = {}
    for name, text in texts:
        values[name] = _typed(name, text, declared.get(name))
    for item in yamls:
        name, equals, text = item.partition("=")
        if not equals or not name.isidentifier():
            raise CliError(f"-y takes NAME=YAML, such as -y LIMIT=5 or -y TAGS='[a, b]', not {safe(repr(item))}")
        values[name] = _yaml(name, text)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        names = ", ".join(safe(name) for name in unknown)
        known = ", ".join(declared) if declared else "none (it has no cell tagged 'parameters')"
        raise CliError(f"{safe(source.name)} has no parameter {names}; its parameters: {safe(known)}")
    return values


def _typed(name: str, text: str, default_text: Any) -> Any:
    try:
        default = ast.literal_eval(default_text) if isinstance(default_text, str) else None
    except (ValueError, SyntaxError):
        default = None
    if isinstance(default, str):
        return text
    if isinstance(default, bool):
        if text not in _TRUE_FALSE:
            raise CliError(f"-p {safe(name)} takes True or False (its default is {default}), not {safe(repr(text))}")
        return _TRUE_FALSE[text]
    for kind in (int, float):
        if type(default) is kind:
            try:
                return kind(text)
            except ValueError:
                raise CliError(
                    f"-p {safe(name)} takes a number (its default is {default!r}), not {safe(repr(text))}; "
                    f"-y {safe(name)}=VALUE sets a value of another type"
                ) from None
    if default is None:
        return _papermill_literal(text)
    raise CliError(
        f"-p {safe(name)} cannot be given as text (its default is a {type(default).__name__}): "
        f"use -y {safe(name)}=YAML, such as -y {safe(name)}='[a, b]'"
    )


def _papermill_literal(text: str) -> Any:
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _yaml(name: str, text: str) -> Any:
    import yaml  # papermill's own dependency

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CliError(f"-y {safe(name)}=…: not YAML ({safe(one_line(str(exc), 160))})") from None


def check_kernel(kernel: str | None, source: Path) -> str | None:
    """The kernel that will run the notebook: ``kernel``, else the notebook's own; refused when not installed.

    Returns its interpreter when it runs this Python (what :func:`missing_modules` can check), else None.
    """
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    name = kernel or nbformat.read(str(source), as_version=4).metadata.get("kernelspec", {}).get("name") or "python3"
    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        installed = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        whose = "--kernel" if kernel else f"{safe(source.name)}'s kernel"
        raise CliError(
            f"{whose} {safe(repr(name))} is not installed (the installed kernels: {safe(installed)}; "
            "`jupyter kernelspec list`): pick one with --kernel"
        ) from None
    program = spec.argv[0] if spec.argv else ""
    same = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2]), sys.executable}
    return sys.executable if program in same else None


def check_output(path: Path) -> None:
    """Refuse an ``-o`` file whose folder is missing or not writable, before the notebook runs."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CliError(f"-o {safe(str(path))} is a folder: name the file, such as {safe(str(path / 'out.ipynb'))}")
    if not folder.is_dir():
        raise CliError(f"-o {safe(str(path))}: there is no folder {safe(str(folder))}; create it first")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CliError(f"-o {safe(str(path))}: this user cannot write there; choose another -o")


def missing_modules(source: Path) -> list[str]:
    """The top-level modules the notebook's code imports that this Python cannot find.

    IPython's ``%`` and ``!`` lines are left out, and so are imports inside a ``try`` (the
    notebook handles their absence itself); a cell that is not Python is skipped.
    """
    import nbformat

    names: set[str] = set()
    for cell in nbformat.read(str(source), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            names.update(_imported(ast.parse(code)))
        except SyntaxError:
            continue
    return sorted(name for name in names if not _importable(name))


def _imported(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.partition(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom):
        return {node.module.partition(".")[0]} if node.level == 0 and node.module else set()
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.Try):
            found |= _imported(child)
    return found


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@dataclass
class Secrets:
    """What ``run`` takes out of the parameters before they are written into the executed notebook.

    Attributes:
        password: the AUTH string found in an endpoint parameter, handed to the kernel through
            ``$MEMSTORE_NB_PASSWORD`` instead.
    """

    password: str | None = None


def without_secrets(values: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """``values`` with the AUTH string taken out of every endpoint URL (``redis://:PW@host``), and that string.

    papermill writes parameters into the executed notebook twice (the injected cell and its
    metadata); the password goes to the kernel through its environment instead, where
    ``connect()`` finds it.

    Raises:
        CliError: two endpoints with different AUTH strings (one environment variable holds one), or
            user info without a colon (``redis://AUTH@host``) and no ``$MEMSTORE_NB_PASSWORD`` beside it.
    """
    import dataclasses

    from ..connection.advice import PASSWORD_ENV
    from ..connection.endpoint import parse_endpoint
    from ..errors import EndpointError

    found = Secrets()
    out = dict(values)
    for name, value in values.items():
        if not isinstance(value, str) or "@" not in value:
            continue
        try:
            endpoint = parse_endpoint(value)
        except EndpointError:
            continue  # not an endpoint (or one the notebook will refuse itself)
        if endpoint.username and not endpoint.password and not os.environ.get(PASSWORD_ENV):
            raise CliError(
                f"-p {safe(name)}: {endpoint} has user info without a colon, which would be written into the "
                "notebook: an AUTH string goes after a colon (redis://:AUTH@host), or better in "
                f"${PASSWORD_ENV}; a user name alone needs ${PASSWORD_ENV} beside it"
            )
        if not endpoint.password:
            continue
        if found.password not in (None, endpoint.password):
            raise CliError(f"two endpoints with different AUTH strings: run them separately (one ${PASSWORD_ENV})")
        found.password = endpoint.password
        out[name] = dataclasses.replace(endpoint, password=None).to_url(redact=False)
    return out, found
