"""The commands that open a page: ``demo`` and ``view`` (the Voilà viewer), ``demo --lab`` (JupyterLab)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from ..errors import install_hint
from ..processes import end_group, wait_http
from .connection import LOCAL, redis_for, shown
from .output import CliError, ProgressBar, note, say

__all__ = ["check_port", "cmd_demo", "cmd_view", "notebooks_dir"]


def notebooks_dir() -> Path:
    for candidate in (Path.cwd() / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"):
        if candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate
    raise CliError("no notebooks/ folder found: run `memstore-nb demo --lab` from a clone of memstore-nb")


def check_port(port: int | None) -> None:
    """Refuse a ``--port`` this command cannot serve on (taken, or privileged), before anything starts."""
    if port is None:
        return
    with socket.socket() as sock:
        # as web servers bind: a port whose last connections linger in TIME_WAIT is free for them
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise CliError(
                f"cannot serve on port {port} of 127.0.0.1 ({exc.strerror or exc}): choose another --port, "
                "or leave --port out for a free one"
            ) from None


def _lab(url_of_redis: str, args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise CliError(f"`--lab` needs JupyterLab: {install_hint('demo', 'jupyterlab')}")
    from ..local.server import free_port

    folder = notebooks_dir()
    check_port(args.port)
    port = args.port or free_port()
    token = secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={folder}",
        f"--IdentityProvider.token={token}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 60, proc)
        except (ChildProcessError, TimeoutError) as exc:
            raise CliError(str(exc)) from None
        url = f"http://127.0.0.1:{port}/lab?token={token}"
        say(f"JupyterLab: {url}")
        where = "local" if args.endpoint.strip() == LOCAL else shown(url_of_redis)
        say(f'in a notebook, set ENDPOINT = "{where}" to see the demo data; Ctrl-C stops everything')
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        return proc.wait()
    finally:
        end_group(proc)


def _view(url_of_redis: str, args: argparse.Namespace) -> int:
    from ..viewer.serve import serve

    check_port(args.port)
    try:
        page = serve(
            url_of_redis,
            port=args.port,
            open_browser=not args.no_browser,
            session_id=args.session,
            community_prefixes=args.community_prefixes,
        )
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while Voilà started: serve() ended all it had started
        note("\nmemstore-nb: interrupted while the viewer page started; stopped it and its kernels")
        return 130
    try:
        say(f"viewer page: {page.url}")
        say("Ctrl-C stops the page (and an embedded cluster, if this command started one)")
        code = page.wait()
    finally:
        left = page.stop()
    if left:  # said only when true: a process refused to end
        raise CliError(f"the viewer page did not stop: processes {', '.join(map(str, left))} still run")
    if code is None:
        note("\nmemstore-nb: interrupted, stopped the viewer page and its kernels")
        return 130
    if code not in (None, 0):
        raise CliError(f"the viewer page (Voilà) ended with exit code {code}; run again with --port to pick a port")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import conversations, seed

    with redis_for(args) as (client, url):
        if args.endpoint.strip() == LOCAL:
            from ..local.store import data_dir

            say(f"the demo data lives in the local store, {data_dir()} (memstore-nb local status)")
        missing = [c.name for c in conversations() if not client.exists(args.prefix + c.name)]
        if missing:
            ids = seed(client, prefix=args.prefix, progress=ProgressBar("seeding", "messages"), only=missing)
            say(f"seeded {len(ids)} demo sessions")
        else:
            say("the demo data is already there: not seeded again")
        ids = [args.prefix + c.name for c in conversations()]
        say(f"{len(ids)} demo sessions at {shown(url)}: {', '.join(ids)}")
        return _lab(url, args) if args.lab else _view(url, args)


def cmd_view(args: argparse.Namespace) -> int:
    with redis_for(args) as (_client, url):
        return _view(url, args)
