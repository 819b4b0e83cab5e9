"""``memstore-nb run``: execute a notebook with papermill, its parameters checked against the notebook first."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .output import CliError, note, one_line, safe, say

__all__ = ["check_parameters", "cmd_run", "kernel_transport", "literal"]


def cmd_run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("papermill") is None:
        raise CliError("`memstore-nb run` needs papermill: pip install papermill (or memstore-nb[test])")
    import papermill

    source = Path(args.notebook)
    if not source.is_file():
        raise CliError(f"no notebook at {safe(repr(args.notebook))}")
    parameters = {name: literal(value) for name, value in args.parameters}
    if args.endpoint is not None:
        parameters.setdefault("ENDPOINT", args.endpoint)
    check_parameters(source, parameters)
    if args.output:
        output = Path(args.output)
    else:  # not the current directory: that is often a git checkout
        output = Path(tempfile.mkdtemp(prefix="memstore-nb-run-")) / f"{source.stem}.out.ipynb"
    note(f"running {source} -> {output} with {sorted(parameters) or 'the notebook defaults'}")
    with tempfile.TemporaryDirectory(prefix="memstore-nb-kernel-") as sockets:
        try:
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=parameters,
                cwd=str(source.parent),
                progress_bar=sys.stderr.isatty(),
                kernel_name=args.kernel,
                **kernel_transport(Path(sockets)),
            )
        except papermill.PapermillExecutionError as exc:
            print(
                f"memstore-nb: the notebook failed in cell {exc.exec_count}: {exc.ename}: "
                f"{safe(one_line(exc.evalue, 300))} (the executed notebook with the traceback: {output})",
                file=sys.stderr,
            )
            return 1
    say(f"done: {output}")
    return 0


def check_parameters(source: Path, parameters: dict[str, Any]) -> None:
    """Refuse input that is not a notebook, and parameters the notebook does not declare (one line each)."""
    import nbformat
    import papermill

    try:
        nbformat.read(str(source), as_version=4)
    except Exception as exc:  # NotJSONError, a validation error, bad UTF-8: the file is not a notebook
        raise CliError(
            f"{safe(str(source))} is not a Jupyter notebook "
            f"({type(exc).__name__}: {safe(one_line(str(exc), 120))}); give an .ipynb file"
        ) from None
    declared = papermill.inspect_notebook(str(source))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        names = ", ".join(safe(name) for name in unknown)
        known = ", ".join(declared) if declared else "none (it has no cell tagged 'parameters')"
        raise CliError(f"{source.name} has no parameter {names}; its parameters: {safe(known)}")


def kernel_transport(folder: Path) -> dict[str, Any]:
    """Kernel sockets as files in a private folder (IPC) instead of loopback TCP.

    Other users of the machine cannot reach them, and ipykernel no longer warns that the
    kernel "is running over TCP without encryption". Windows has no IPC transport: TCP there.
    """
    if os.name != "posix":
        return {}
    from traitlets.config import Config

    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(folder / "kernel")
    return {"config": config}


def literal(value: str) -> Any:
    """papermill's rule for -p values: True/False/None, int, float, else the string."""
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
