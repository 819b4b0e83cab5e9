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
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ..errors import MemstoreError, install_hint
from ..local.server import free_port
from ..processes import alive, answers_http, end_group, marked, process_tree, same_process
from ..sources.catalog import checked_community_prefixes
from .pagesetup import (
    CULL_IDLE_SECONDS,
    CULL_INTERVAL_SECONDS,
    TEMPLATES,
    PageOptions,
    WidgetFrontEndMismatch,
    check_widget_front_end,
    write_config,
    write_opener,
)
from .saving import EXPORT_DIR_ENV

__all__ = [
    "APP_NOTEBOOK",
    "ENDPOINT_ENV",
    "SESSION_ENV",
    "ViewerServeError",
    "ViewerServer",
    "VoilaNotInstalled",
    "WidgetFrontEndMismatch",
    "serve",
]

log = logging.getLogger(__name__)

APP_NOTEBOOK = Path(__file__).with_name("app.ipynb")
#: The app notebook reads its endpoint (and the session to open) from these variables.
ENDPOINT_ENV = "MEMSTORE_NB_ENDPOINT"
SESSION_ENV = "MEMSTORE_NB_SESSION"
COMMUNITY_ENV = "MEMSTORE_NB_COMMUNITY_PREFIXES"
PAGE_ENV = "MEMSTORE_NB_PAGE"  # a random value per page, inherited by Voilà's kernels: stop() finds them all
_READY_PATH = "/voila/static/voila.js"  # GET / would start a kernel; this one only proves the server is up
_HOST = "127.0.0.1"
_PORT_TAKEN = "is already in use"  # what Voilà logs when it cannot bind the port


class VoilaNotInstalled(MemstoreError, ModuleNotFoundError):
    """Voilà, which serves the viewer page, is not installed."""

    def __init__(self) -> None:
        super().__init__(
            f"the standalone viewer page needs Voilà: {install_hint('demo', 'voila')}, then try again",
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
        self,
        process: subprocess.Popen[bytes],
        port: int,
        token: str,
        workdir: tempfile.TemporaryDirectory[str],
        mark: str = "",
    ):
        self.port = port
        self._token = token
        self._mark = mark  # $MEMSTORE_NB_PAGE of Voilà and everything it starts (see stop)
        self._process: subprocess.Popen[bytes] | None = process
        self._workdir = workdir
        self._tree: dict[int, str] = {}  # every process of Voilà's tree seen so far: pid -> start time
        self.left: list[int] = []  # what the last stop() could not end (see stop)
        self.log_path = Path(workdir.name) / "voila.log"
        self.opener: Path | None = None  # the 0600 file that sends a browser to .url (see open_browser)

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

    def open_browser(self) -> Path:
        """Open the page in the default web browser, through a file only you can read: the browser's
        command line (which ``ps`` shows every local user) holds the file's path, not the token."""
        self.opener = write_opener(Path(self._workdir.name), self.url)
        try:
            webbrowser.open(self.opener.as_uri())
        except webbrowser.Error as exc:
            log.warning("could not open a web browser (%s); open the page's URL yourself", exc)
        return self.opener

    def _watch_tree(self) -> None:
        # Kernels run in sessions of their own, outside Voilà's process group: remember each one seen,
        # by pid and start time, so stop() can end them even after Voilà is gone.
        if self._process is not None:
            self._tree.update(process_tree(self._process.pid))

    def wait(self) -> int | None:
        """Block until the server ends or the user presses Ctrl-C, then stop it.

        Returns:
            Voilà's exit code, or ``None`` when it was stopped by Ctrl-C.
        """
        proc = self._process
        try:
            while proc is not None:
                try:
                    code = proc.wait(timeout=1.0)
                    break
                except subprocess.TimeoutExpired:
                    self._watch_tree()
            else:
                code = None
        except KeyboardInterrupt:
            code = None
        self.stop()
        return code

    def stop(self, timeout: float = 10.0) -> list[int]:
        """Stop Voilà and every kernel it started; safe to call twice.

        Returns:
            The pids of the processes that are still running afterwards (none, unless a signal was
            refused): what a caller needs to say "stopped everything" only when it is true.
        """
        proc, self._process = self._process, None
        if proc is None:
            return self.left
        left: list[int] = []
        if proc is not None:
            self._tree.update(process_tree(proc.pid))
            if proc.poll() is None:
                end_group(proc, timeout)
            deadline = time.monotonic() + timeout
            while True:
                # A kernel Voilà spawned while it was being stopped is reparented but still marked, and
                # a kernel launcher may start its kernel after the first look: look again each round
                # until nothing marked is alive.
                if self._mark:
                    self._tree.update(marked(PAGE_ENV, self._mark))
                for pid, start in self._tree.items():
                    if same_process(pid, start):
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                left = [pid for pid, start in self._tree.items() if same_process(pid, start) and alive(pid)]
                if not left or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            if proc.poll() is None:
                left.append(proc.pid)
            log.info("stopped the viewer page on port %s%s", self.port, f" (still running: {left})" if left else "")
        self._workdir.cleanup()
        self.left = left
        return left

    def __enter__(self) -> ViewerServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _start(endpoint_url: str, session_id: str | None, port: int, options: PageOptions) -> ViewerServer:
    workdir = tempfile.TemporaryDirectory(prefix="memstore-nb-viewer-")
    token = secrets.token_urlsafe(24)
    config_dir = Path(workdir.name) / "config"
    config_dir.mkdir()
    # Secrets travel through the environment and a private file, never argv, which `ps` shows to everyone.
    write_config(config_dir, options.voila_config(token))
    env = dict(os.environ)
    env[ENDPOINT_ENV] = endpoint_url
    env.pop(SESSION_ENV, None)
    if session_id:
        env[SESSION_ENV] = session_id
    env[COMMUNITY_ENV] = json.dumps(list(options.community_prefixes))
    mark = env[PAGE_ENV] = secrets.token_hex(8)
    env.setdefault(EXPORT_DIR_ENV, os.getcwd())  # big exports land where `memstore-nb view` was run
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(config_dir), env.get("JUPYTER_CONFIG_PATH")) if p)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATES), env.get("JUPYTER_PATH")) if p)
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
    if options.preheat:
        # A kernel that has imported and connected waits for the next visitor and lists the sessions
        # when one arrives (app.ipynb waits for the request), so the list is fresh and shows within
        # about a second of navigation (a new one is heated after each visit).
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
    server = ViewerServer(process, port, token, workdir, mark)
    try:
        _wait_ready(server, process, port, options.timeout)
    except BaseException as exc:  # Ctrl-C (or SIGTERM made one) while it starts: nothing may be left running
        left = server.stop()
        if left and isinstance(exc, KeyboardInterrupt):
            raise ViewerServeError(f"interrupted while the page started; these processes did not stop: {left}") from exc
        raise
    return server


def _wait_ready(server: ViewerServer, process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    ready = f"http://{_HOST}:{port}{_READY_PATH}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log_tail()
            if _PORT_TAKEN in tail:
                raise ViewerServeError(
                    f"port {port} is already in use: choose another one (--port), or leave it out to get a free one",
                    tail,
                )
            raise ViewerServeError(f"voila exited with code {process.returncode} before serving on port {port}", tail)
        if answers_http(ready):
            log.info("viewer page ready on port %s (voila pid %s)", port, process.pid)
            return
        time.sleep(0.1)
    raise ViewerServeError(f"voila did not answer on port {port} within {timeout:.0f}s", server.log_tail())


def serve(
    endpoint: str = "local",
    *,
    port: int | None = None,
    open_browser: bool = True,
    session_id: str | None = None,
    timeout: float = 60.0,
    preheat: bool = True,
    cull_idle: int = CULL_IDLE_SECONDS,
    cull_interval: int = CULL_INTERVAL_SECONDS,
    community_prefixes: Sequence[str] = (),
) -> ViewerServer:
    """Serve the chat history viewer as a web page (Voilà) on 127.0.0.1.

    The endpoint reaches the page's kernel through the environment, never the
    command line. With ``endpoint="local"`` the persistent local store is
    started (or found) here and the page's kernel connects to it. Nothing the
    page loads comes from outside the machine, and a browser is opened through a
    private file, so the access token never appears on a command line.

    Args:
        endpoint: what :func:`memstore_nb.connect` accepts (``"local"``,
            ``redis://...``, ``rediss://...``, ``host:port``).
        port: TCP port for the page; a free one when ``None``.
        open_browser: open the page in the default web browser.
        session_id: open this session at once.
        timeout: seconds to wait for Voilà to answer.
        preheat: keep one kernel that has imported and connected waiting (Voilà's pre-heated kernels);
            it lists the sessions when a visitor arrives, so the list is fresh and shows within about
            a second of navigation.
        cull_idle: seconds a page's kernel may sit idle with no browser connected before it is shut
            down (a closed tab frees its kernel within ``cull_idle + cull_interval`` seconds).
        cull_interval: seconds between two checks for such kernels.
        community_prefixes: key prefixes of langchain-community histories besides ``message_store:``
            (listed as ``community``, read in order).

    Returns:
        A running :class:`ViewerServer` (``.url``, ``.wait()``, ``.stop()``, context manager).

    Raises:
        VoilaNotInstalled: Voilà is missing; the message says what to install.
        WidgetFrontEndMismatch: the installed jupyterlab_widgets cannot show this ipywidgets (the page
            would be blank); the message gives the pins.
        ViewerServeError: Voilà did not start; the message holds its log tail.

    Example:
        >>> with serve("local", open_browser=False) as page:  # doctest: +SKIP
        ...     print(page.url)
        ...     page.wait()
    """
    if importlib.util.find_spec("voila") is None:
        raise VoilaNotInstalled()
    check_widget_front_end()
    if endpoint == "local":
        from ..local.store import ensure

        ensure()  # started here, so a failure shows in this process; the page's kernel reuses it
    prefixes = checked_community_prefixes(community_prefixes)  # refused here, not in the page's kernel
    options = PageOptions(timeout, preheat, cull_idle, cull_interval, prefixes)
    attempts = 1 if port is not None else 3
    for attempt in range(attempts):
        try:
            server = _start(endpoint, session_id, port if port is not None else free_port(), options)
            break
        except ViewerServeError as exc:
            # Another process may have taken the port between our probe and Voilà's bind.
            if attempt + 1 == attempts or _PORT_TAKEN not in exc.log_tail:
                raise
    if open_browser:
        server.open_browser()
    return server
