"""How the viewer page's Voilà server is set up: its config, its template, the widget front end it needs.

Everything here is decided before Voilà starts: the config file (token, kernel culling, the heated
kernel), the packaged template (no request leaves the machine), whether the installed
``jupyterlab_widgets`` can show this ipywidgets at all, and the private file the browser is opened
with (the token never goes on a command line, where ``ps`` shows it to every local user).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import MemstoreError

__all__ = [
    "CULL_IDLE_SECONDS",
    "CULL_INTERVAL_SECONDS",
    "FILL_DELAY",
    "TEMPLATE",
    "TEMPLATES",
    "WIDGET_EXTENSIONS",
    "PageOptions",
    "WidgetFrontEndMismatch",
    "check_widget_front_end",
    "wait_for_visitor",
    "write_config",
    "write_opener",
]

#: The packaged Voilà template (``jupyter/voila/templates/memstore-nb``): the lab one, with no CDN.
TEMPLATE = "memstore-nb"
#: The data folder that holds it, added to the Voilà process's JUPYTER_PATH.
TEMPLATES = Path(__file__).with_name("jupyter")
# ipywidgets' front end and Voilà's widget managers (Voilà keeps the one for the installed ipywidgets, 7 or 8).
WIDGET_EXTENSIONS = [
    "@jupyter-widgets/jupyterlab-manager",
    "@voila-dashboards/widgets-manager7",
    "@voila-dashboards/widgets-manager8",
]
FILL_DELAY = 3.0  # seconds after a visit before the next kernel is heated
#: A page's kernel with no browser connected and nothing to do for this long is shut down ...
CULL_IDLE_SECONDS = 30
#: ... by a check that runs this often: a closed tab frees its kernel within about 40 seconds.
CULL_INTERVAL_SECONDS = 10


class WidgetFrontEndMismatch(MemstoreError, RuntimeError):
    """The installed ``jupyterlab_widgets`` cannot show this ipywidgets in Voilà (the page would be blank).

    Attributes:
        ipywidgets: the installed ipywidgets version.
        jupyterlab_widgets: the installed jupyterlab_widgets version (None: not installed).
    """

    def __init__(self, ipywidgets: str, jupyterlab_widgets: str | None, pins: str) -> None:
        self.ipywidgets = ipywidgets
        self.jupyterlab_widgets = jupyterlab_widgets
        found = f"jupyterlab_widgets {jupyterlab_widgets}" if jupyterlab_widgets else "no jupyterlab_widgets"
        super().__init__(
            f"the viewer page would be blank: ipywidgets {ipywidgets} with {found} (Voilà picks its widget "
            f"manager from jupyterlab_widgets, and this one cannot show ipywidgets {ipywidgets.split('.')[0]}). "
            f"Install the matching front end: pip install {pins}"
        )


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_widget_front_end() -> None:
    """Raise :class:`WidgetFrontEndMismatch` when ``jupyterlab_widgets`` does not match ipywidgets' major version.

    ipywidgets 7 needs jupyterlab_widgets 1.x (and the classic notebook below 7, whose files Voilà's
    ipywidgets 7 manager loads); ipywidgets 8 needs jupyterlab_widgets 3.x. Installing
    ``ipywidgets==7.7.1`` over an environment with jupyterlab_widgets 3 (what pip does by default)
    leaves the 3.x front end, and Voilà then shows "Click to show javascript error" for every widget.
    """
    ipywidgets = _version("ipywidgets")
    if ipywidgets is None:  # the viewer imports it: its own error says what to install
        return
    front = _version("jupyterlab_widgets")
    major, front_major = ipywidgets.split(".")[0], (front or "0").split(".")[0]
    if major == "7" and front_major != "1":
        raise WidgetFrontEndMismatch(ipywidgets, front, '"jupyterlab_widgets~=1.1" "notebook<7"')
    if major == "8" and front_major != "3":
        raise WidgetFrontEndMismatch(ipywidgets, front, '"jupyterlab_widgets>=3,<4"')


@dataclass(frozen=True)
class PageOptions:
    """How the page's server runs (see :func:`~memstore_nb.viewer.serve.serve`)."""

    timeout: float = 60.0
    preheat: bool = True
    cull_idle: int = CULL_IDLE_SECONDS
    cull_interval: int = CULL_INTERVAL_SECONDS
    community_prefixes: tuple[str, ...] = ()  # to the page's kernel as JSON in $MEMSTORE_NB_COMMUNITY_PREFIXES

    def voila_config(self, token: str) -> dict[str, Any]:
        """The Voilà config file's content: the access token, the widget extensions, the heated kernel, culling."""
        return {
            "Voila": {"token": token},
            # The page needs only the widget manager: other JupyterLab extensions installed beside Voilà
            # would each be fetched and started on every visit, before the first session list shows.
            "VoilaConfiguration": {"extension_allowlist": WIDGET_EXTENSIONS, "template": TEMPLATE},
            # Heat the next kernel a few seconds after a visit takes one, not after 1 s (Voilà's default):
            # heating runs the notebook's first cells, and doing it while the visitor's page starts slows it.
            "VoilaKernelManager": {"fill_delay": FILL_DELAY},
            # Every visit starts a kernel (about 80 MB) that outlived its tab: shut down one that has no
            # browser connected and has been idle this long (the heated kernel waiting for a visitor is
            # never culled by Voilà; a busy one is left to finish).
            "MappingKernelManager": {
                "cull_idle_timeout": self.cull_idle,
                "cull_interval": self.cull_interval,
                "cull_connected": False,
            },
        }


def write_opener(folder: Path, url: str) -> Path:
    """A page only its owner can read (0600) that sends the browser to ``url``: the token stays off argv.

    The browser is started with this file's path; the address with the token is inside it (as
    Jupyter does with its ``*-open.html`` files).
    """
    path = folder / "open.html"
    target = html.escape(url, quote=True)
    text = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={target}"><title>memstore-nb viewer</title></head>'
        f'<body><p><a href="{target}">Open the chat history viewer</a></p></body></html>'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)
    return path


def write_config(folder: Path, config: dict[str, Any]) -> Path:
    """``folder/voila.json`` with ``config``, readable by its owner only (it holds the token)."""
    path = folder / "voila.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(config, out)
    return path


def wait_for_visitor() -> None:
    """In a Voilà pre-heated kernel, block until a visitor's request is handed to this kernel; else return.

    The page's notebook heats (imports, connects, builds the viewer) before anyone visits and calls
    this before it lists the sessions, so the list is as of the visit. It does what Voilà's
    ``voila.utils.wait_for_request`` does (Voilà sends the request's details on a websocket of its
    own, ``/voila/query/<kernel id>``, when it hands the kernel to a visitor) without importing
    Voilà, whose import (its server, nbconvert) took 1.6 s of the heating.
    """
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    base = os.environ.get("VOILA_WS_BASE_URL") or os.environ.get("VOILA_SERVER_URL", "/")
    url = (
        f"{os.environ.get('VOILA_WS_PROTOCOL', 'ws')}://{os.environ.get('VOILA_APP_IP', '127.0.0.1')}:"
        f"{os.environ.get('VOILA_APP_PORT', '8866')}{base}voila/query/{os.environ.get('VOILA_KERNEL_ID', '')}"
    )
    received: list[str | bytes | None] = [None]

    async def receive() -> None:
        from tornado.websocket import websocket_connect  # tornado comes with the kernel

        connection = await websocket_connect(url)
        received[0] = await connection.read_message()
        connection.close()

    # The kernel's own event loop runs this cell: wait on a loop of our own, in a thread.
    worker = threading.Thread(target=lambda: asyncio.run(receive()), name="msnb-wait-for-visitor", daemon=True)
    worker.start()
    worker.join()
    if received[0]:
        for name, value in json.loads(received[0]).items():
            os.environ[name] = value  # QUERY_STRING and the like, as Voilà's helper sets them
