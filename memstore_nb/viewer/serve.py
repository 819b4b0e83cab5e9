"""The standalone viewer page: run the packaged Voilà app on loopback and hand back its URL."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path
from types import TracebackType

from ..errors import MemstoreError
from ..local.server import free_port
from ..processes import answers_http, end_group, process_tree, same_process

__all__ = [
    "APP_NOTEBOOK",
    "ENDPOINT_ENV",
    "SESSION_ENV",
    "ViewerServeError",
    "ViewerServer",
    "VoilaNotInstalled",
    "serve",
]

log = logging.getLogger(__name__)

APP_NOTEBOOK = Path(__file__).with_name("app.ipynb")
#: The app notebook reads its endpoint (and the session to open) from these variables.
ENDPOINT_ENV = "MEMSTORE_NB_ENDPOINT"
SESSION_ENV = "MEMSTORE_NB_SESSION"
# ipywidgets' front end and Voilà's widget managers (Voilà keeps the one for the installed ipywidgets, 7 or 8).
WIDGET_EXTENSIONS = [
    "@jupyter-widgets/jupyterlab-manager",
    "@voila-dashboards/widgets-manager7",
    "@voila-dashboards/widgets-manager8",
]
FILL_DELAY = 3.0  # seconds after a visit before the next kernel is heated
_READY_PATH = "/voila/static/voila.js"  # GET / would start a kernel; this one only proves the server is up
_HOST = "127.0.0.1"
_PORT_TAKEN = "is already in use"  # what Voilà logs when it cannot bind the port


class VoilaNotInstalled(MemstoreError, ModuleNotFoundError):
    """Voilà, which serves the viewer page, is not installed."""

    def __init__(self) -> None:
        super().__init__(
            'the standalone viewer page needs Voilà: run `pip install "memstore-nb[demo]"` '
            "(or `pip install voila`), then try again",
            name="voila",
        )


class ViewerServeError(MemstoreError, RuntimeError):
    """The Voilà server behind the viewer page did not start.

    Attributes:
        log_tail: the last lines Voilà wrote before it gave up.
    """

    def __init__(self, message: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        super().__init__(message + (f"\n--- voila log (tail) ---\n{log_tail}" if log_tail else ""))


class ViewerServer:
    """A running Voilà server that shows :class:`~memstore_nb.viewer.widget.ChatHistoryViewer` as a web page.

    Made by :func:`serve`. Stop it with :meth:`stop`, at the end of a ``with``
    block, or let :meth:`wait` block until Ctrl-C.

    Attributes:
        url: the page's address, with the one-time access token of this run.
        port: the TCP port on 127.0.0.1.
    """

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, token: str, workdir: tempfile.TemporaryDirectory[str]
    ):
        self.port = port
        self._token = token
        self._process: subprocess.Popen[bytes] | None = process
        self._workdir = workdir
        self.log_path = Path(workdir.name) / "voila.log"

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}/?token={self._token}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        # The access token stays out of reprs and logs; .url has it for whoever opens the page.
        state = "running" if self.running else "stopped"
        return f"<ViewerServer http://{_HOST}:{self.port}/ {state}>"

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines Voilà wrote."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.replace(self._token, "<REDACTED>").splitlines()[-lines:])

    def wait(self) -> int | None:
        """Block until the server ends or the user presses Ctrl-C, then stop it.

        Returns:
            Voilà's exit code, or ``None`` when it was stopped by Ctrl-C.
        """
        try:
            code = self._process.wait() if self._process else None
        except KeyboardInterrupt:
            code = None
        self.stop()
        return code

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Voilà and every kernel it started; nothing is left running. Safe to call twice."""
        proc, self._process = self._process, None
        if proc is not None:
            tree = process_tree(proc.pid)
            if proc.poll() is None:
                end_group(proc, timeout)
            # Kernels run in sessions of their own, outside Voilà's process group.
            for pid, start in tree:
                if same_process(pid, start):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            log.info("stopped the viewer page on port %s", self.port)
        self._workdir.cleanup()

    def __enter__(self) -> ViewerServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _start(endpoint_url: str, session_id: str | None, port: int, timeout: float, preheat: bool) -> ViewerServer:
    workdir = tempfile.TemporaryDirectory(prefix="memstore-nb-viewer-")
    token = secrets.token_urlsafe(24)
    config_dir = Path(workdir.name) / "config"
    config_dir.mkdir()
    # Secrets travel through the environment and a private file, never argv, which `ps` shows to everyone.
    config = {
        "Voila": {"token": token},
        # The page needs only the widget manager: other JupyterLab extensions installed beside Voilà
        # would each be fetched and started on every visit, before the first session list shows.
        "VoilaConfiguration": {"extension_allowlist": WIDGET_EXTENSIONS},
        # Heat the next kernel a few seconds after a visit takes one, not after 1 s (Voilà's default):
        # heating runs the whole notebook, and doing it while the visitor's page starts slows that page.
        "VoilaKernelManager": {"fill_delay": FILL_DELAY},
    }
    (config_dir / "voila.json").write_text(json.dumps(config))
    os.chmod(config_dir / "voila.json", 0o600)
    env = dict(os.environ)
    env[ENDPOINT_ENV] = endpoint_url
    env.pop(SESSION_ENV, None)
    if session_id:
        env[SESSION_ENV] = session_id
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(config_dir), env.get("JUPYTER_CONFIG_PATH")) if p)
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(APP_NOTEBOOK),
        "--no-browser",
        "--port",
        str(port),
        f"--Voila.ip={_HOST}",
        "--Voila.port_retries=0",
    ]
    if preheat:
        # A kernel that has already run the notebook waits for the next visitor, so the page shows its
        # session list without the kernel start and the imports (a fresh one is heated after each visit).
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    log_path = Path(workdir.name) / "voila.log"
    with open(log_path, "wb") as logfile:
        process = subprocess.Popen(
            cmd,
            cwd=str(APP_NOTEBOOK.parent),
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: stop() ends Voilà and everything it spawned, and a Ctrl-C meant for
            # the caller does not kill the page behind its back.
            start_new_session=True,
        )
    server = ViewerServer(process, port, token, workdir)
    deadline = time.monotonic() + timeout
    ready = f"http://{_HOST}:{port}{_READY_PATH}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log_tail()
            server.stop()
            if _PORT_TAKEN in tail:
                raise ViewerServeError(
                    f"port {port} is already in use: choose another one (--port), or leave it out to get a free one",
                    tail,
                )
            raise ViewerServeError(f"voila exited with code {process.returncode} before serving on port {port}", tail)
        if answers_http(ready):
            log.info("viewer page ready on port %s (voila pid %s)", port, process.pid)
            return server
        time.sleep(0.1)
    tail = server.log_tail()
    server.stop()
    raise ViewerServeError(f"voila did not answer on port {port} within {timeout:.0f}s", tail)


def serve(
    endpoint: str = "local",
    *,
    port: int | None = None,
    open_browser: bool = True,
    session_id: str | None = None,
    timeout: float = 60.0,
    preheat: bool = True,
) -> ViewerServer:
    """Serve the chat history viewer as a web page (Voilà) on 127.0.0.1.

    The endpoint reaches the page's kernel through the environment, never the
    command line. With ``endpoint="local"`` the persistent local store is
    started (or found) here and the page's kernel connects to it.

    Args:
        endpoint: what :func:`memstore_nb.connect` accepts (``"local"``,
            ``redis://...``, ``rediss://...``, ``host:port``).
        port: TCP port for the page; a free one when ``None``.
        open_browser: open the page in the default web browser.
        session_id: open this session at once.
        timeout: seconds to wait for Voilà to answer.
        preheat: keep one kernel that has already run the page waiting (Voilà's pre-heated kernels), so
            the first session list shows within about a second of navigation; its list is as of when it
            was heated (press Scan for the current one).

    Returns:
        A running :class:`ViewerServer` (``.url``, ``.wait()``, ``.stop()``, context manager).

    Raises:
        VoilaNotInstalled: Voilà is missing; the message says what to install.
        ViewerServeError: Voilà did not start; the message holds its log tail.

    Example:
        >>> with serve("local", open_browser=False) as page:  # doctest: +SKIP
        ...     print(page.url)
        ...     page.wait()
    """
    if importlib.util.find_spec("voila") is None:
        raise VoilaNotInstalled()
    if endpoint == "local":
        from ..local.store import ensure

        ensure()  # started here, so a failure shows in this process; the page's kernel reuses it
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        try:
            server = _start(endpoint, session_id, port if port is not None else free_port(), timeout, preheat)
            break
        except ViewerServeError as exc:
            # Another process may have taken the port between our probe and Voilà's bind.
            if attempt + 1 == attempts or _PORT_TAKEN not in exc.log_tail:
                raise
    if open_browser:
        try:
            webbrowser.open(server.url)
        except webbrowser.Error as exc:
            log.warning("could not open a web browser (%s); open the page's URL yourself", exc)
    return server
