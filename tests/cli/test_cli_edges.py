"""`memstore-nb` on awkward input: escape sequences in data, missing sessions, bad notebooks, secrets in URLs."""

from __future__ import annotations

import json
import os
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


# -- data no terminal can print, and what a terminal would hide (issue 20, items 3 and 19) -------

SURROGATE = '{"type": "human", "data": {"content": "half an emoji \\ud83d, then more", "type": "human"}}'


def test_a_lone_surrogate_never_fails_sessions_or_show(client: redis.Redis, redis_url: str, session_id: str) -> None:
    # json.loads reads "\ud83d" as a lone surrogate, which no UTF-8 terminal takes: before, exit 1
    # with UnicodeEncodeError from sessions, show and show --json.
    client.rpush(f"{session_id}:s", SURROGATE, _message("ai", "after"))
    listed = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*")
    assert listed.returncode == 0, listed.stderr
    assert "half an emoji \\ud83d, then more" not in listed.stdout and "after" in listed.stdout
    shown = run_cli("show", f"{session_id}:s", "--endpoint", redis_url)
    assert shown.returncode == 0, shown.stderr
    assert "#0 human: half an emoji \\ud83d, then more" in shown.stdout
    docs = run_cli("show", f"{session_id}:s", "--json", "--endpoint", redis_url)
    assert docs.returncode == 0, docs.stderr
    assert json.loads(docs.stdout)[0]["data"]["content"] == "half an emoji \ud83d, then more"  # the same data
    client.rpush(f"{session_id}:t", _message("ai", "x"))
    client.lpush(f"{session_id}:t", SURROGATE)  # the newest message a listing previews
    rows = json.loads(run_cli("sessions", "--json", "--endpoint", redis_url, "--match", f"{session_id}:t").stdout)
    assert rows[0]["session_id"] == f"{session_id}:t"


def test_invisible_characters_are_shown(client: redis.Redis, redis_url: str, session_id: str) -> None:
    sneaky = f"{session_id}:adm\u200bin"
    text = "zero\u200bwidth, soft\u00adhyphen, line\u2028sep, tag\U000e0041, bom\ufeff"
    client.rpush(sneaky, _message("human", text))
    listed = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*")
    assert f"{session_id}:adm\\u200bin" in listed.stdout and "admin" not in listed.stdout
    shown = run_cli("show", sneaky, "--endpoint", redis_url)
    assert shown.returncode == 0, shown.stderr
    assert "zero\\u200bwidth, soft\\xadhyphen, line\\u2028sep, tag\\U000e0041, bom\\ufeff" in shown.stdout
    as_json = run_cli("show", sneaky, "--json", "--endpoint", redis_url).stdout
    assert "\\u200b" in as_json and "\\udb40\\udc41" in as_json  # JSON escapes, the same characters
    assert json.loads(as_json)[0]["data"]["content"] == text
    for out in (listed.stdout, shown.stdout, as_json):
        assert not re.search("[\u200b\u00ad\u2028\ufeff\U000e0041]", out)


def test_an_id_that_is_not_text_is_refused_in_one_line(redis_url: str) -> None:
    # A shell passes bytes; Python turns what is not UTF-8 into lone surrogates. Before: a traceback.
    for command, shown in (
        (["show", os.fsdecode(b"chat-\xff")], "\\udcff"),
        (["sessions", "--match", os.fsdecode(b"x\xfe*")], "\\udcfe"),
    ):
        line = _error_line(run_cli(*command, "--endpoint", redis_url))
        assert "cannot be sent to Redis" in line and shown in line


def test_a_community_prefix_lists_and_reads_newest_first_histories(
    client: redis.Redis, redis_url: str, session_id: str
) -> None:
    # langchain-community's RedisChatMessageHistory(..., key_prefix="chat:"): LPUSH, newest first.
    key = f"{session_id}:chat:alice"
    for text in ["first", "second", "third"]:
        client.lpush(key, _message("human", text))
    plain = run_cli("sessions", "--endpoint", redis_url, "--match", f"{session_id}:*")
    assert plain.stdout.splitlines()[1].split()[1] == "memstore"
    given = run_cli(
        "sessions", "--endpoint", redis_url, "--match", f"{session_id}:*", "--community-prefix", f"{session_id}:chat:"
    )
    row = given.stdout.splitlines()[1].split()
    assert row[:3] == [key, "community", "3"] and given.stdout.rstrip().endswith("human: third")
    as_stored = run_cli("show", key, "--endpoint", redis_url).stdout.splitlines()
    in_order = run_cli("show", key, "--kind", "community", "--endpoint", redis_url).stdout.splitlines()
    assert [line.split(": ", 1)[1] for line in as_stored] == ["third", "second", "first"]
    assert [line.split(": ", 1)[1] for line in in_order] == ["first", "second", "third"]
    last = run_cli("show", key, "--kind", "community", "--tail", "1", "--json", "--endpoint", redis_url)
    tail = json.loads(last.stdout)
    assert [d["data"]["content"] for d in tail] == ["third"]


# -- advice in command-line terms, and a binary named but missing (issue 20, item 15) ------------


def test_connection_errors_advise_flags_not_notebook_code(redis_url: str) -> None:
    line = _error_line(run_cli("sessions", "--endpoint", f"redis://127.0.0.1:{_closed_port()}"))
    assert "--endpoint local" in line and "ENDPOINT = 'local'" not in line
    line = _error_line(run_cli("sessions", "--endpoint", redis_url, env={"MEMSTORE_NB_PASSWORD": "unneeded"}))
    assert "unset $MEMSTORE_NB_PASSWORD" in line and "unneeded" not in line


def test_a_missing_server_binary_named_in_the_environment_is_said(tmp_path: Path) -> None:
    env = {"MEMSTORE_NB_DATA_DIR": str(tmp_path / "store"), "MEMSTORE_NB_REDIS_SERVER": "/nonexistent/redis-server"}
    try:
        for command in (["sessions"], ["local", "start"]):
            line = _error_line(run_cli(*command, env=env))  # before: silently started another binary
            assert "$MEMSTORE_NB_REDIS_SERVER is '/nonexistent/redis-server'" in line and "unset" in line
    finally:  # what code that ignored the variable started is stopped again
        run_cli("local", "stop", env={"MEMSTORE_NB_DATA_DIR": str(tmp_path / "store")})


# -- run: no AUTH string in the executed notebook, a private file (issue 20, item 8) -------------


def test_run_hands_the_auth_string_to_the_kernel_not_the_notebook(tmp_path: Path) -> None:
    from memstore_nb.local import start_local_redis

    secret = "Run-S3cret-AUTH"
    source = _notebook(tmp_path / "auth.ipynb")
    nb = nbformat.read(source, as_version=4)
    nb.cells[-1].source = "from memstore_nb import connect\nprint('ping', connect(ENDPOINT).ping(), SESSION)"
    nbformat.write(nb, source)
    output = tmp_path / "out" / "auth.out.ipynb"
    output.parent.mkdir()
    with start_local_redis(args=["--requirepass", secret]) as server:
        url = server.url.replace("redis://", f"redis://:{secret}@")
        done = run_cli("run", str(source), "--endpoint", url, "-p", "SESSION", "s1", "-o", str(output))
    assert done.returncode == 0, done.stderr
    written = output.read_text()
    assert "ping True s1" in written  # the kernel connected, with the AUTH string from its environment
    assert secret not in written and secret not in done.stdout + done.stderr
    injected = [c.source for c in nbformat.read(output, as_version=4).cells if "injected-parameters" in c.metadata.tags]
    assert f'ENDPOINT = "{server.url}"' in injected[0]  # the endpoint, without its password
    assert output.stat().st_mode & 0o777 == 0o600
