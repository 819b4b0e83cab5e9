"""The ``memstore-nb`` command line: its parser, and ``main()`` (one-line errors, exit codes)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..connection.advice import COMMAND_LINE, speaking
from ..errors import MemstoreError
from .commands import SESSION_KEYS, cmd_quickstart, cmd_sessions, cmd_show
from .connection import LOCAL, PASSWORD_ENV
from .local import cmd_local
from .output import json_text, note, one_line, safe
from .pages import cmd_demo, cmd_view
from .run import cmd_run

__all__ = ["SESSION_KEYS", "build_parser", "json_text", "main", "safe"]


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (exit 2) like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.partition(" ")[2]  # "sessions" in "memstore-nb sessions"
        where = f"{command}: " if command else ""
        text = f"memstore-nb: error: {where}{safe(one_line(message, 500))} (see `{self.prog} --help`)"
        self.exit(2, text + "\n")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535, not {text!r}")
    return value


def _add_community(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--community-prefix",
        dest="community_prefixes",
        action="append",
        default=[],
        metavar="PREFIX",
        help="keys under PREFIX are langchain-community histories (newest first), like message_store: "
        "ones (repeatable; RedisChatMessageHistory's key_prefix)",
    )


def _add_connection(parser: argparse.ArgumentParser, *, default: str | None = LOCAL, tls_iam: bool = True) -> None:
    parser.add_argument(
        "--endpoint",
        default=default,
        metavar="URL",
        help="redis://[user@]host[:port][/db], rediss://… (TLS), host:port, or 'local' for the persistent local store "
        "(the default; see `memstore-nb local`); 'local-cluster' for an embedded Redis Cluster. "
        f"The AUTH string may come from ${PASSWORD_ENV}",
    )
    if not tls_iam:  # the page / notebook connects with the endpoint alone
        return
    parser.add_argument("--ca-certs", metavar="PEM", help="CA certificate (file) for rediss:// endpoints")
    parser.add_argument("--iam", action="store_true", help="authenticate with a Google IAM access token")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(
        prog="memstore-nb",
        description="LangChain chat message history in Redis / Google Cloud Memorystore: demo, notebooks, viewer.",
    )
    parser.add_argument("--version", action="version", version=f"memstore-nb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("demo", help="seed demo conversations and open the viewer (or JupyterLab with --lab)")
    _add_connection(p, tls_iam=False)
    p.add_argument("--lab", action="store_true", help="open JupyterLab on notebooks/ instead of the viewer page")
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--port", type=_port, default=None, help="port of the web page (default: a free one)")
    p.add_argument("--prefix", default="demo:", help="key prefix of the demo sessions (default: demo:)")
    p.set_defaults(session=None)
    p.set_defaults(func=cmd_demo, community_prefixes=[])

    p = sub.add_parser("run", help="execute a notebook with papermill (its ENDPOINT defaults to the local store)")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter (repeatable), read as the type of its default in the notebook: "
        "text stays text, True/False for a boolean, a number for a number",
    )
    p.add_argument(
        "-y",
        "--yaml",
        dest="yaml_parameters",
        action="append",
        default=[],
        metavar="NAME=YAML",
        help="set a parameter to a YAML value, whatever its default (-y LIMIT=5, -y TAGS='[a, b]', "
        "-y MATCH='\"2024\"')",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="where the executed notebook goes (default: NAME.out.ipynb in a new temporary folder; printed)",
    )
    p.add_argument("--kernel", default=None, help="kernel name (default: the notebook's)")
    _add_connection(p, default=None, tls_iam=False)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sessions", help="list the chat sessions at an endpoint")
    _add_connection(p)
    p.add_argument("--match", default="*", help="glob pattern on session ids (default: *)")
    _add_community(p)
    p.add_argument("--limit", type=_count, default=100, help="show at most this many (0: all; default 100)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("show", help="print one session's messages")
    p.add_argument("session_id", metavar="SESSION_ID")
    _add_connection(p)
    p.add_argument("--tail", type=_count, default=None, metavar="N", help="only the last N messages")
    p.add_argument("--json", action="store_true", help="LangChain message dicts as a JSON array")
    p.add_argument(
        "--kind",
        default=None,
        help="memstore, community (langchain-community's LPUSH order, whatever the prefix) or langgraph "
        "(default: a list key's kind, else a LangGraph thread)",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("view", help="serve the chat history viewer as a web page (Voilà)")
    _add_connection(p, tls_iam=False)
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--port", type=_port, default=None, help="port of the web page (default: a free one)")
    p.add_argument("--session", default=None, metavar="SESSION_ID", help="open this session at once")
    _add_community(p)
    p.set_defaults(func=cmd_view)

    p = sub.add_parser("local", help="the persistent local store behind --endpoint local: status, start, stop, reset")
    p.add_argument("action", choices=("status", "start", "stop", "reset"), nargs="?", default="status")
    p.add_argument("--yes", action="store_true", help="reset without asking for confirmation")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=cmd_local)

    p = sub.add_parser("quickstart", help="smoke test: write a short conversation, read it back, print it")
    _add_connection(p)
    p.add_argument("--keep", action="store_true", help="keep the session (10 minutes TTL) instead of deleting it")
    p.set_defaults(func=cmd_quickstart)
    return parser


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``memstore-nb``; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        # Whatever slips past the escaping (an odd locale's encoding, a lone surrogate) prints as
        # an escape instead of ending the command with UnicodeEncodeError.
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        with speaking(COMMAND_LINE):  # errors advise flags and environment variables, not notebook code
            return int(args.func(args))
    except MemstoreError as exc:
        note(f"memstore-nb: error: {safe(one_line(str(exc), 2000))}")
        return 2
    except KeyboardInterrupt:
        note("\nmemstore-nb: interrupted, stopped everything it started")
        return 130
    except BrokenPipeError:
        # The reader went away (`memstore-nb sessions | head`): stop quietly, as Unix tools do. Point
        # stdout at /dev/null so Python's flush at exit does not fail (and print) a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        signal.signal(signal.SIGTERM, previous)
