"""The ``memstore-nb`` command: demo, run, sessions, show, view, quickstart, local."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import MemstoreError

__all__ = ["main"]

LOCAL = "local"
LOCAL_CLUSTER = "local-cluster"
_PASSWORD_ENV = "MEMSTORE_NB_PASSWORD"


class CliError(MemstoreError, RuntimeError):
    """A command could not do its job; the message says what to do instead."""


# -- output helpers -----------------------------------------------------------------


class ProgressBar:
    """A one-line text progress bar on a stream (stderr by default)."""

    def __init__(self, label: str, unit: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width if total <= 0 else int(self.width * done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done:,}/{total:,} {self.unit}")
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _say(text: str = "") -> None:
    print(text, flush=True)


def _safe(text: str, *, keep_lines: bool = False) -> str:
    """``text`` fit for a terminal: escape sequences and bidi controls shown as ``\\x1b``, ``\\u202e``."""
    from .codec import escape_controls

    return escape_controls(text, keep_lines=keep_lines)


def _json_text(doc: Any, indent: int | None = None) -> str:
    """JSON for a terminal or a script: non-ASCII text stays readable, control and bidi characters are escaped.

    ``json.dumps`` already escapes U+0000-U+001F; the C1 controls and bidi overrides it leaves
    as they are only ever appear inside strings, where ``\\uXXXX`` means the same character.
    """
    import re

    from .codec import escape_controls

    def escaped(match: re.Match[str]) -> str:
        ch = match.group()
        return ch if escape_controls(ch) == ch else f"\\u{ord(ch):04x}"

    # newlines between tokens (indent) stay; inside strings json.dumps has written them as \\n
    return re.sub("[^\n\x20-\x7e]", escaped, json.dumps(doc, ensure_ascii=False, indent=indent))


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- connecting ------------------------------------------------------------------------


@contextlib.contextmanager
def _redis(args: argparse.Namespace) -> Iterator[tuple[Any, str]]:
    """A connected client for ``--endpoint``, and a URL other processes can use to reach the same server.

    ``local`` is the persistent per-user store (started when needed, left
    running); ``local-cluster`` starts an embedded cluster owned by this
    command, stopped when the block ends (also on Ctrl-C). The URL carries
    the AUTH string (it travels to child processes through their
    environment, never their command line); print it only through :func:`_shown`.
    """
    from .endpoint import connect, parse_endpoint
    from .local import start_local_redis

    endpoint = args.endpoint.strip()
    password = os.environ.get(_PASSWORD_ENV) or None
    options: dict[str, Any] = {"ca_certs": getattr(args, "ca_certs", None), "iam": getattr(args, "iam", False)}
    if password:
        options["password"] = password
    with contextlib.ExitStack() as stack:
        if endpoint == LOCAL:
            from . import local_store

            store = local_store.ensure()
            endpoint, password = store.url, store.password
            options["password"] = password
            verb = "started" if store.started else "using"
            print(f"{verb} the local store at {endpoint} (data in {store.directory})", file=sys.stderr)
        elif endpoint == LOCAL_CLUSTER:
            server = start_local_redis(cluster=True)
            stack.callback(server.stop)
            endpoint = server.url
            print(f"started an embedded Redis Cluster at {endpoint} (stopped when this command ends)", file=sys.stderr)
        client = connect(endpoint, **options)
        stack.callback(client.close)
        parsed = parse_endpoint(endpoint)
        if password:
            parsed = dataclasses.replace(parsed, password=password)
        yield client, parsed.to_url(redact=False)


def _shown(url: str) -> str:
    """``url`` fit for printing: the password reads ``***``."""
    from .endpoint import parse_endpoint

    return parse_endpoint(url).to_url()


# -- subcommands ------------------------------------------------------------------------


def cmd_quickstart(args: argparse.Namespace) -> int:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    from .codec import message_role, message_summary
    from .history import MemorystoreChatMessageHistory

    with _redis(args) as (client, _url):
        session_id = f"quickstart-{uuid.uuid4().hex[:8]}"
        history = MemorystoreChatMessageHistory(client, session_id, ttl=600)
        history.add_messages(
            [
                SystemMessage("You are a concise assistant."),
                HumanMessage("What is Memorystore?"),
                AIMessage("Google Cloud's managed Redis and Valkey service."),
                HumanMessage("And where does this chat live?"),
                AIMessage(f"In one Redis LIST, at key {session_id!r}."),
            ]
        )
        _say(f"wrote {len(history)} messages to session {session_id!r}; read back:")
        for i, message in enumerate(history.messages):
            _say(f"  #{i} {_safe(message_role(message)):<6} {_safe(_one_line(message_summary(message)))}")
        if args.keep:
            _say(f"kept (expires in 10 minutes): memstore-nb show {session_id} --endpoint ...")
        else:
            history.clear()
            _say("deleted the quickstart session again (use --keep to keep it)")
    return 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from .kinds import kind_of
    from .sessions import list_sessions, summarize_sessions

    with _redis(args) as (client, _url):
        # Sorted by id, so a listing is the same every time (SCAN's order is not); SCAN may
        # report a key twice, the set keeps it once.
        # A thread may share its id with a list key: (id, kind) is what is unique.
        unique = {(str(s), kind_of(s)): s for s in list_sessions(client, match=args.match)}
        ids = [unique[k] for k in sorted(unique)]
        if args.limit and len(ids) > args.limit:
            print(f"(showing the first {args.limit} of {len(ids)} by id; use --limit 0 for all)", file=sys.stderr)
            ids = ids[: args.limit]
        rows = []
        for low in range(0, len(ids), 200):  # one pipelined round trip per 200 sessions
            rows.extend(summarize_sessions(client, ids[low : low + 200]))
        if args.json:
            _say(_json_text([_session_doc(r) for r in rows], indent=1))
            return 0
        if not rows:
            _say(f"no sessions match {_safe(repr(args.match))}")
            return 0
        shown = [_safe(r.session_id) for r in rows]
        width = max(len("SESSION"), *(len(i) for i in shown))
        kinds = max(len("KIND"), *(len(r.kind) for r in rows))
        _say(f"{'SESSION':<{width}}  {'KIND':<{kinds}}  {'MESSAGES':>8}  {'TTL':>7}  LAST MESSAGE")
        for r, session_id in zip(rows, shown, strict=True):
            ttl = "-" if r.ttl is None else f"{r.ttl}s"
            last = f"{_safe(r.last_role)}: {_safe(_one_line(r.last_preview, 60))}" if r.length else "(gone)"
            _say(f"{session_id:<{width}}  {_safe(r.kind):<{kinds}}  {r.length:>8,}  {ttl:>7}  {last}")
    return 0


SESSION_KEYS = ("session_id", "kind", "length", "ttl", "last_role", "last_preview")


def _session_doc(row: Any) -> dict[str, Any]:
    """One ``sessions --json`` element; docs/cli.md documents these keys, a test pins them."""
    return {key: getattr(row, key) for key in SESSION_KEYS}


def _show_kind(client: Any, session_id: str, asked: str | None) -> str | None:
    """The kind ``show`` reads: the one asked for, a list key's, else a LangGraph thread's (None: nothing)."""
    from .kinds import LANGGRAPH, list_kind, source_for

    if asked:
        return asked
    if client.exists(session_id):
        return list_kind(session_id)
    source = source_for(LANGGRAPH)
    if source is not None:
        from .checkpoint.layout import ThreadKeys

        if client.exists(ThreadKeys(session_id, getattr(source, "key_prefix", "")).thread):
            return LANGGRAPH
    return None


def cmd_show(args: argparse.Namespace) -> int:
    from langchain_core.messages import message_to_dict

    from .codec import message_role, message_summary
    from .errors import MemstoreError
    from .sessions import SessionNotFound
    from .transcript import open_transcript

    with _redis(args) as (client, _url):
        kind = _show_kind(client, args.session_id, args.kind)
        try:
            if kind is None:
                raise SessionNotFound(args.session_id)
            history = open_transcript(client, args.session_id, kind)
            length = history.stats().length
        except SessionNotFound:
            raise CliError(
                f"no session {_safe(repr(args.session_id))}: the key does not exist (it may have expired or been "
                "deleted); list the existing ones with `memstore-nb sessions` (same --endpoint)"
            ) from None
        except MemstoreError as exc:
            raise CliError(_safe(str(exc))) from None
        start = 0 if args.tail is None else max(length - args.tail, 0)
        chunk = 500  # LRANGE windows: a 100,000-message session is never loaded at once
        if args.json:
            sys.stdout.write("[")
        first = True
        for low in range(start, length, chunk):
            for offset, item in enumerate(history.read_range(low, min(low + chunk, length) - 1)):
                index = low + offset
                if args.json:
                    doc = {"index": index, "error": str(item)} if isinstance(item, Exception) else message_to_dict(item)
                    sys.stdout.write(("\n " if first else ",\n ") + _json_text(doc))
                elif isinstance(item, Exception):
                    _say(f"#{index} !! unreadable entry: {_safe(str(item))}")
                else:
                    _say(f"#{index} {_safe(message_role(item))}: {_safe(message_summary(item), keep_lines=True)}")
                first = False
        if args.json:
            sys.stdout.write("\n]\n")
            sys.stdout.flush()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("papermill") is None:
        raise CliError("`memstore-nb run` needs papermill: pip install papermill (or memstore-nb[test])")
    import papermill

    source = Path(args.notebook)
    if not source.is_file():
        raise CliError(f"no notebook at {_safe(repr(args.notebook))}")
    parameters = {name: _literal(value) for name, value in args.parameters}
    if args.endpoint is not None:
        parameters.setdefault("ENDPOINT", args.endpoint)
    _check_parameters(source, parameters)
    if args.output:
        output = Path(args.output)
    else:  # not the current directory: that is often a git checkout
        output = Path(tempfile.mkdtemp(prefix="memstore-nb-run-")) / f"{source.stem}.out.ipynb"
    print(f"running {source} -> {output} with {sorted(parameters) or 'the notebook defaults'}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="memstore-nb-kernel-") as sockets:
        try:
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=parameters,
                cwd=str(source.parent),
                progress_bar=sys.stderr.isatty(),
                kernel_name=args.kernel,
                **_kernel_transport(Path(sockets)),
            )
        except papermill.PapermillExecutionError as exc:
            print(
                f"memstore-nb: the notebook failed in cell {exc.exec_count}: {exc.ename}: "
                f"{_safe(_one_line(exc.evalue, 300))} (the executed notebook with the traceback: {output})",
                file=sys.stderr,
            )
            return 1
    _say(f"done: {output}")
    return 0


def _check_parameters(source: Path, parameters: dict[str, Any]) -> None:
    """Refuse input that is not a notebook, and parameters the notebook does not declare (one line each)."""
    import nbformat
    import papermill

    try:
        nbformat.read(str(source), as_version=4)
    except Exception as exc:  # NotJSONError, a validation error, bad UTF-8: the file is not a notebook
        raise CliError(
            f"{_safe(str(source))} is not a Jupyter notebook "
            f"({type(exc).__name__}: {_safe(_one_line(str(exc), 120))}); give an .ipynb file"
        ) from None
    declared = papermill.inspect_notebook(str(source))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        names = ", ".join(_safe(name) for name in unknown)
        known = ", ".join(declared) if declared else "none (it has no cell tagged 'parameters')"
        raise CliError(f"{source.name} has no parameter {names}; its parameters: {_safe(known)}")


def _kernel_transport(folder: Path) -> dict[str, Any]:
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


def _literal(value: str) -> Any:
    """papermill's rule for -p values: True/False/None, int, float, else the string."""
    if value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[value]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    import urllib.request  # here, not at the top: `--version` and `--help` stay fast

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise CliError(f"the server exited with code {proc.returncode} before answering at {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise CliError(f"nothing answered at {url} within {timeout:.0f}s")


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group it leads, wait, then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # kernels the server may have left behind
    proc.wait()


def _notebooks_dir() -> Path:
    for candidate in (Path.cwd() / "notebooks", Path(__file__).resolve().parent.parent / "notebooks"):
        if candidate.is_dir() and any(candidate.glob("*.ipynb")):
            return candidate
    raise CliError("no notebooks/ folder found: run `memstore-nb demo --lab` from a clone of memstore-nb")


def _lab(url_of_redis: str, args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise CliError('`--lab` needs JupyterLab: pip install "memstore-nb[demo]" (or jupyterlab)')
    from .local import free_port

    folder = _notebooks_dir()
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
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 60, proc)
        url = f"http://127.0.0.1:{port}/lab?token={token}"
        _say(f"JupyterLab: {url}")
        where = "local" if args.endpoint.strip() == LOCAL else _shown(url_of_redis)
        _say(f'in a notebook, set ENDPOINT = "{where}" to see the demo data; Ctrl-C stops everything')
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        return proc.wait()
    finally:
        _stop_process(proc)


def _view(url_of_redis: str, args: argparse.Namespace) -> int:
    from .viewer.serve import serve

    page = serve(url_of_redis, port=args.port, open_browser=not args.no_browser, session_id=args.session)
    try:
        _say(f"viewer page: {page.url}")
        _say("Ctrl-C stops the page (and an embedded cluster, if this command started one)")
        code = page.wait()
    finally:
        page.stop()
    if code is None:
        print("\nmemstore-nb: interrupted, stopped everything it started", file=sys.stderr)
        return 130
    if code not in (None, 0):
        raise CliError(f"the viewer page (Voilà) ended with exit code {code}; run again with --port to pick a port")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import conversations, seed

    with _redis(args) as (client, url):
        if args.endpoint.strip() == LOCAL:
            from .local_store import data_dir

            _say(f"the demo data lives in the local store, {data_dir()} (memstore-nb local status)")
        missing = [c.name for c in conversations() if not client.exists(args.prefix + c.name)]
        if missing:
            ids = seed(client, prefix=args.prefix, progress=ProgressBar("seeding", "messages"), only=missing)
            _say(f"seeded {len(ids)} demo sessions")
        else:
            _say("the demo data is already there: not seeded again")
        ids = [args.prefix + c.name for c in conversations()]
        _say(f"{len(ids)} demo sessions at {_shown(url)}: {', '.join(ids)}")
        return _lab(url, args) if args.lab else _view(url, args)


def cmd_view(args: argparse.Namespace) -> int:
    with _redis(args) as (_client, url):
        return _view(url, args)


def cmd_local(args: argparse.Namespace) -> int:
    from . import local_store

    if args.action == "start":
        store = local_store.ensure()
        verb = "started" if store.started else "already running:"
        _say(f"{verb} the local store at {store.url} ({store.version}, pid {store.pid})")
        _say(f"data in {store.directory}")
        return 0
    if args.action == "stop":
        stopped = local_store.stop()
        _say(f"stopped the local store (data kept in {local_store.data_dir()})" if stopped else "not running")
        return 0
    if args.action == "reset":
        directory = local_store.data_dir()
        if not args.yes:
            if not sys.stdin.isatty():
                raise CliError(f"reset deletes every key in {directory}: confirm with --yes (no terminal to ask)")
            answer = input(f"delete all data of the local store in {directory}? type 'yes' to confirm: ")
            if answer.strip().lower() != "yes":
                _say("nothing deleted")
                return 1
        local_store.reset()
        _say(f"deleted the local store's data in {directory}")
        return 0
    info = local_store.status()
    if args.json:
        _say(json.dumps(info, indent=1))
    else:
        _say(f"data:    {info['directory']} ({info['data_bytes']:,} bytes on disk)")
        if info["running"]:
            _say(f"running: {info['url']} (pid {info['pid']}, {info['version']}, {info.get('keys', '?')} keys)")
            _say(f"binary:  {info['binary']}")
        else:
            _say("stopped (any command with --endpoint local starts it)")
    return 0 if info["running"] else 3


# -- argument parsing -------------------------------------------------------------------------


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _add_connection(parser: argparse.ArgumentParser, *, default: str | None = LOCAL, tls_iam: bool = True) -> None:
    parser.add_argument(
        "--endpoint",
        default=default,
        metavar="URL",
        help="redis://[user@]host[:port][/db], rediss://… (TLS), host:port, or 'local' for the persistent local store "
        "(the default; see `memstore-nb local`); 'local-cluster' for an embedded Redis Cluster. "
        f"The AUTH string may come from ${_PASSWORD_ENV}",
    )
    if not tls_iam:  # the page / notebook connects with the endpoint alone
        return
    parser.add_argument("--ca-certs", metavar="PEM", help="CA certificate (file) for rediss:// endpoints")
    parser.add_argument("--iam", action="store_true", help="authenticate with a Google IAM access token")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="memstore-nb",
        description="LangChain chat message history in Redis / Google Cloud Memorystore: demo, notebooks, viewer.",
    )
    parser.add_argument("--version", action="version", version=f"memstore-nb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("demo", help="seed demo conversations and open the viewer (or JupyterLab with --lab)")
    _add_connection(p, tls_iam=False)
    p.add_argument("--lab", action="store_true", help="open JupyterLab on notebooks/ instead of the viewer page")
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--port", type=int, default=None, help="port of the web page (default: a free one)")
    p.add_argument("--prefix", default="demo:", help="key prefix of the demo sessions (default: demo:)")
    p.set_defaults(session=None)
    p.set_defaults(func=cmd_demo)

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
        help="set a parameter (repeatable); True/False/None and numbers are converted",
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
        help="memstore, community or langgraph (default: a list key's kind, else a LangGraph thread)",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("view", help="serve the chat history viewer as a web page (Voilà)")
    _add_connection(p, tls_iam=False)
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--port", type=int, default=None, help="port of the web page (default: a free one)")
    p.add_argument("--session", default=None, metavar="SESSION_ID", help="open this session at once")
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
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        return int(args.func(args))
    except MemstoreError as exc:
        print(f"memstore-nb: error: {_safe(_one_line(str(exc), 2000))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nmemstore-nb: interrupted, stopped everything it started", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`memstore-nb sessions | head`): stop quietly, as Unix tools do. Point
        # stdout at /dev/null so Python's flush at exit does not fail (and print) a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
