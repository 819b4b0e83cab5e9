"""``memstore-nb run``: execute a notebook with papermill, once :mod:`~memstore_nb.cli.preflight` has checked it.

The executed copy is private (0600, in a 0700 folder unless ``-o`` says where), holds no AUTH
string (it reaches the kernel through ``$MEMSTORE_NB_PASSWORD``), and nothing is installed: a
notebook that imports what this environment lacks is refused with the list of what is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import install_hint
from .output import CliError, note, one_line, safe, say
from .preflight import (
    check_kernel,
    check_output,
    declared_parameters,
    missing_modules,
    parameter_values,
    without_secrets,
)

__all__ = ["cmd_run", "kernel_transport"]


def cmd_run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("papermill") is None:
        raise CliError(f"`memstore-nb run` needs papermill: {install_hint('demo', 'papermill')}")
    import papermill
    from nbclient.exceptions import DeadKernelError

    source = Path(args.notebook)
    if not source.is_file():
        raise CliError(f"no notebook at {safe(repr(args.notebook))}")
    declared = declared_parameters(source)
    texts = list(args.parameters)
    if args.endpoint is not None and not any(name == "ENDPOINT" for name, _value in texts):
        texts.insert(0, ["ENDPOINT", args.endpoint])  # -p ENDPOINT, when given too, wins
    parameters, secrets = without_secrets(parameter_values(source, declared, texts, args.yaml_parameters))
    interpreter = check_kernel(args.kernel, source)
    if interpreter is not None:  # the kernel is this Python: what it lacks is known before it starts
        missing = missing_modules(source)
        if missing:
            raise CliError(
                f"{safe(source.name)} imports {', '.join(missing)}, which this Python ({safe(interpreter)}) lacks: "
                f"install {'it' if len(missing) == 1 else 'them'} first (`memstore-nb run` installs nothing)"
            )
    if args.output:
        output = Path(args.output)
        check_output(output)
    else:  # not the current directory: that is often a git checkout
        output = Path(tempfile.mkdtemp(prefix="memstore-nb-run-")) / f"{source.stem}.out.ipynb"
    _private_file(output)
    note(f"running {source} -> {output} with {sorted(parameters) or 'the notebook defaults'}")
    with tempfile.TemporaryDirectory(prefix="memstore-nb-kernel-") as sockets, _kernel_password(secrets.password):
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
        except DeadKernelError as exc:
            detail = safe(one_line(str(exc), 200))
            raise CliError(f"the kernel died while running the notebook ({detail}); what it did: {output}") from None
        except papermill.PapermillExecutionError as exc:
            note(
                f"memstore-nb: the notebook failed in cell {exc.exec_count}: {exc.ename}: "
                f"{safe(one_line(exc.evalue, 300))} (the executed notebook with the traceback: {output})"
            )
            return 1
    say(f"done: {output}")
    return 0


def _private_file(path: Path) -> None:
    """Create ``path`` as 0600 (or make it so) before papermill writes into it: the outputs are the
    user's data. papermill truncates and rewrites the file; its mode stays."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CliError(f"cannot write {safe(str(path))} ({exc.strerror or exc}): choose another -o") from None
    try:
        if os.name == "posix":
            os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _kernel_password(password: str | None) -> Iterator[None]:
    """``$MEMSTORE_NB_PASSWORD`` set for the kernel (it inherits this process's environment) while it runs."""
    from ..connection.advice import PASSWORD_ENV

    if password is None:
        yield
        return
    before = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = password
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = before


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
