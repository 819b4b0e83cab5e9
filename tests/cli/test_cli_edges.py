"""`memstore-nb` on awkward input: escape sequences in data, missing sessions, bad notebooks, secrets in URLs."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import redis
from helpers.cli import REPO, cli_env, run_cli

pytestmark = pytest.mark.integration

# What must never reach a terminal raw: ESC, BEL, C1 controls, bidi overrides and isolates.
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"


def _message(kind: str, text: str) -> str:
    return json.dumps({"type": kind, "data": {"content": text, "type": kind}})


def _error_line(done: object) -> str:
    stderr = done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 2, stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("memstore-nb: error: "), stderr
    return lines[0]


def test_show_and_sessions_escape_terminal_controls(client: redis.Redis, redis_url: str, session_id: str) -> None:
    evil = f"{session_id}:evil\u202ecod.exe"
    client.rpush(evil, _message("human", f"set title {TITLE}"), _message("ai", f"line one\nthen {CLEAR} cleared"))
    shown = run_cli("show", evil, "--endpoint", redis_url)
    assert shown.returncode == 0, shown.stderr
    assert not RAW_CONTROLS.search(shown.stdout + shown.stderr), repr(shown.stdout)
    assert "#0 human: set title \\x1b]0;pwned\\x07" in shown.stdout
    assert "#1 ai: line one\nthen \\x1b[2J cleared" in shown.stdout  # newlines in a message stay

    listed = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*")
    assert listed.returncode == 0, listed.stderr
    assert not RAW_CONTROLS.search(listed.stdout), repr(listed.stdout)
    assert f"{session_id}:evil\\u202ecod.exe" in listed.stdout and "\\x1b[2J" in listed.stdout

    as_json = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*", "--json")
    assert not RAW_CONTROLS.search(as_json.stdout) and "\\u202e" in as_json.stdout
    assert [doc["session_id"] for doc in json.loads(as_json.stdout)] == [evil]

    docs = run_cli("show", evil, "--json", "--endpoint", redis_url)
    assert not RAW_CONTROLS.search(docs.stdout)
    assert [d["data"]["content"] for d in json.loads(docs.stdout)] == [
        f"set title {TITLE}",
        f"line one\nthen {CLEAR} cleared",
    ]

    missing = run_cli("show", f"{session_id}:gone\u202e\x1b[2J", "--endpoint", redis_url)
    line = _error_line(missing)
    assert not RAW_CONTROLS.search(missing.stderr)
    assert "`memstore-nb sessions`" in line and "list_sessions(client)" not in line


def test_sessions_sorted_by_id_and_json_shapes_pinned(client: redis.Redis, redis_url: str, session_id: str) -> None:
    names = ["m", "b", "z", "a", "k"]
    for name in names:
        client.rpush(f"{session_id}:{name}", _message("human", f"hi {name}"))
    client.rpush(f"{session_id}:k", "not json")
    done = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*")
    assert [row.split()[0] for row in done.stdout.splitlines()[1:]] == [f"{session_id}:{n}" for n in sorted(names)]
    limited = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*", "--limit", "2", "--json")
    docs = json.loads(limited.stdout)
    assert [d["session_id"] for d in docs] == [f"{session_id}:a", f"{session_id}:b"]
    assert "first 2 of 5" in limited.stderr
    for doc in docs:  # docs/cli.md documents this shape
        assert list(doc) == ["session_id", "kind", "length", "ttl", "last_role", "last_preview"]
        assert doc["length"] == 1 and doc["ttl"] is None and doc["last_role"] == "human"

    shown = json.loads(run_cli("show", f"{session_id}:k", "--json", "--endpoint", redis_url).stdout)
    assert list(shown[0]) == ["type", "data"] and shown[0]["type"] == "human"
    assert list(shown[1]) == ["index", "error"] and shown[1]["index"] == 1


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('ENDPOINT = "local"\nSESSION = "unset"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(SESSION)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_run_bad_input_is_exit_2(tmp_path: Path) -> None:
    assert "is not a Jupyter notebook" in _error_line(run_cli("run", str(REPO / "README.md")))
    source = _notebook(tmp_path / "nb.ipynb")
    line = _error_line(run_cli("run", str(source), "-p", "NOPE", "1"))
    assert "no parameter NOPE" in line and "ENDPOINT, SESSION" in line


def test_run_writes_outside_the_cwd_and_the_kernel_is_quiet(tmp_path: Path) -> None:
    source = _notebook(tmp_path / "quiet.ipynb")
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = run_cli("run", str(source), "-p", "SESSION", "hello", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert list(workdir.iterdir()) == []  # nothing in the current directory
    output = Path(done.stdout.split("done: ", 1)[1].strip())
    assert output.name == "quiet.out.ipynb" and output.is_file() and output.parent != workdir
    assert f"-> {output}" in done.stderr
    assert "hello" in json.dumps(nbformat.read(output, as_version=4).cells[-1].outputs)
    assert "without encryption" not in done.stderr and "WARNING" not in done.stderr, done.stderr
    output.unlink()
    output.parent.rmdir()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("password", ["abc?Pw-S3cr3t", "a#b?c/d:e@f", "p@ss:w/rd?q=9#zz9"])
def test_stderr_never_shows_the_password(password: str) -> None:
    port = _closed_port()
    for url in (f"redis://:{password}@127.0.0.1:{port}", f"redis://:{password}@127.0.0.1:notaport"):
        done = run_cli("sessions", "--endpoint", url)
        _error_line(done)
        for sep in "?#/:@=":
            for piece in [password, *(p for p in password.split(sep) if len(p) >= 3)]:
                assert piece not in done.stdout + done.stderr, (piece, done.stderr)


def test_a_web_server_is_named_in_one_line(tmp_path: Path) -> None:
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        line = _error_line(run_cli("sessions", "--endpoint", f"redis://127.0.0.1:{server.server_address[1]}"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert "not a Redis server (it answered HTTP" in line


@pytest.mark.parametrize("command", ["sessions", "show"])
def test_a_reader_that_goes_away_is_not_a_traceback(
    client: redis.Redis, redis_url: str, session_id: str, command: str
) -> None:
    # `memstore-nb sessions | head -1`: more output than a pipe holds (64 KiB), and the reader
    # closes after one line. Before: BrokenPipeError and a traceback on stderr, exit 1.
    pipe = client.pipeline(transaction=False)
    for i in range(1_500):
        pipe.rpush(f"{session_id}:{i:05}", _message("human", f"message {i} " + "x" * 80))
    pipe.rpush(f"{session_id}:long", *[_message("ai", f"reply {i} " + "y" * 80) for i in range(1_500)])
    pipe.execute()
    what = ["--match", f"{session_id}:*", "--limit", "0"] if command == "sessions" else [f"{session_id}:long"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "memstore_nb.cli", command, *what, "--endpoint", redis_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(None),
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # one line, then the reader is gone
    proc.stdout.close()
    try:
        status = proc.wait(timeout=60)
    finally:
        proc.kill()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert status == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
