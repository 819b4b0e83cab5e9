"""`memstore_nb.cli.parser()` in-process, for what needs no server: bad input, unknown parameters, output escaping."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from memstore_nb.cli import parser as cli
from memstore_nb.errors import MemstoreError


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("memstore-nb: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _notebook(path: Path, parameters: str = 'ENDPOINT = "local"\nSESSION = "unset"') -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(SESSION)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "--version")
    assert code == 0 and out.startswith("memstore-nb ")
    code, out, _err = _run(capsys, "run", "--help")
    assert code == 0 and "temporary folder" in out


@pytest.mark.parametrize("content", ["# a README\n\nnot a notebook\n", '{"cells": 3}', "\xff\xfe garbage"])
def test_run_on_something_that_is_not_a_notebook_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    path = tmp_path / "README.md"
    path.write_text(content, encoding="latin-1")
    code, _out, err = _run(capsys, "run", str(path))
    assert code == 2
    assert "is not a Jupyter notebook" in _one_error_line(err)


def test_run_with_an_unknown_parameter_lists_the_known_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = _notebook(tmp_path / "nb.ipynb")
    code, _out, err = _run(capsys, "run", str(source), "-p", "NOPE", "1", "-p", "SESSION", "x")
    assert code == 2
    line = _one_error_line(err)
    assert "no parameter NOPE" in line and "its parameters: ENDPOINT, SESSION" in line

    bare = tmp_path / "bare.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, bare)
    code, _out, err = _run(capsys, "run", str(bare), "--endpoint", "local")
    assert code == 2
    assert "no parameter ENDPOINT" in _one_error_line(err) and "no cell tagged 'parameters'" in err


def test_run_missing_notebook(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = _run(capsys, "run", str(tmp_path / "missing.ipynb"))
    assert code == 2 and "no notebook at" in _one_error_line(err)


def test_json_text_escapes_terminal_controls_and_stays_json() -> None:
    doc = {"id": "evil\u202ecod.exe", "text": "\x1b]0;pwned\x07 \x1b[2J \x9b1m caf\u00e9 \\x41 \u2066", "n": [1, 2]}
    text = cli.json_text(doc, indent=1)
    assert json.loads(text) == doc
    assert all(ch == "\n" or 0x20 <= ord(ch) < 0x7F or ch == "\u00e9" for ch in text), repr(text)
    assert "café" in text and "\\u202e" in text and "\\u009b" in text


def test_safe_escapes_but_keeps_lines_when_asked() -> None:
    assert cli.safe("a\x1b[2Jb\nc") == "a\\x1b[2Jb\\x0ac"
    assert cli.safe("a\x1b[2Jb\nc", keep_lines=True) == "a\\x1b[2Jb\nc"


def test_session_json_keys_are_pinned() -> None:
    assert cli.SESSION_KEYS == ("session_id", "kind", "length", "ttl", "last_role", "last_preview")


# -- usage errors: one line, exit 2, in the command's own words (issue 20, items 14 and 15) ------


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["sessions", "--limit", "abc"], "argument --limit: not a whole number: 'abc'"),
        (["show", "x", "--tail", "-1"], "argument --tail: must be 0 or more, got -1"),
        (["view", "--port", "70000"], "a port is a whole number from 1 to 65535, not '70000'"),
        (["view", "--port", "-1"], "not '-1'"),
        (["demo", "--port", "70000"], "not '70000'"),
        (["demo", "--lab", "--port", "0"], "not '0'"),
        (["show"], "the following arguments are required: SESSION_ID"),
        (["nope"], "invalid choice: 'nope'"),
    ],
)
def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert said in line and "_count" not in line and "_port" not in line
    assert "usage:" not in err and "(see `memstore-nb" in line


def test_a_port_in_use_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from memstore_nb.cli.pages import check_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MemstoreError, match=f"cannot serve on port {port}.*choose another --port"):
            check_port(port)
    check_port(None)


def test_an_unknown_kind_lists_the_kinds_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    # --endpoint names a port nothing listens on: the kind is refused before any connection is tried
    code, _out, err = _run(capsys, "show", "x", "--kind", "nope", "--endpoint", "redis://127.0.0.1:1")
    assert code == 2
    line = _one_error_line(err)
    assert "unknown --kind 'nope': the kinds are community, langgraph, memstore" in line
    assert "127.0.0.1:1" not in line and "register_source" not in line


def test_an_unknown_kind_without_langgraph_says_how_to_get_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    hide = (
        "import importlib.abc, sys\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'langgraph' or name.startswith('langgraph.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from memstore_nb.cli import main\n"
        "sys.exit(main(['show', 'x', '--kind', 'langgraph', '--endpoint', 'redis://127.0.0.1:1']))\n"
    )
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    line = _one_error_line(done.stderr)
    assert "the kinds are community, memstore" in line and "pip install langgraph-checkpoint" in line


# -- run: checked before a kernel starts ---------------------------------------------------------


def test_run_refuses_a_kernel_that_is_not_installed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = _notebook(tmp_path / "nb.ipynb")
    code, _out, err = _run(capsys, "run", str(source), "--kernel", "nope")
    assert code == 2
    line = _one_error_line(err)
    assert "--kernel 'nope' is not installed" in line and "python3" in line and "--kernel" in line

    nb = nbformat.read(source, as_version=4)
    nb.metadata["kernelspec"] = {"name": "someone-elses-env", "display_name": "x", "language": "python"}
    nbformat.write(nb, source)
    code, _out, err = _run(capsys, "run", str(source))
    assert code == 2 and "nb.ipynb's kernel 'someone-elses-env' is not installed" in _one_error_line(err)


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("missing/out.ipynb", "there is no folder"),
        ("file.txt/out.ipynb", "there is no folder"),
        (".", "is a folder: name the file"),
        ("/proc/sys/out.ipynb", "this user cannot write there"),  # read-only even for root
    ],
)
def test_run_refuses_an_output_it_cannot_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str, said: str
) -> None:
    source = _notebook(tmp_path / "nb.ipynb")
    (tmp_path / "file.txt").write_text("x")
    output = where if where.startswith("/") else str(tmp_path / where)
    code, _out, err = _run(capsys, "run", str(source), "-o", output)
    assert code == 2 and said in _one_error_line(err)


def test_run_parameters_take_the_type_of_their_default(tmp_path: Path) -> None:
    from memstore_nb.cli.preflight import declared_parameters, parameter_values

    source = _notebook(
        tmp_path / "typed.ipynb", 'MATCH = "*"\nSEED = False\nLIMIT = 200\nRATIO = 0.5\nANY = None\nTAGS = ["a"]'
    )
    declared = declared_parameters(source)

    def values(*texts: list[str], yamls: tuple[str, ...] = ()) -> dict[str, object]:
        return parameter_values(source, declared, list(texts), list(yamls))

    # before: -p MATCH 2024 became the int 2024, with no way to say "the text 2024"
    assert values(["MATCH", "2024"], ["SEED", "True"], ["LIMIT", "5"], ["RATIO", "2"]) == {
        "MATCH": "2024",
        "SEED": True,
        "LIMIT": 5,
        "RATIO": 2.0,
    }
    assert values(["ANY", "3"], ["MATCH", "True"]) == {"ANY": 3, "MATCH": "True"}  # untyped: papermill's rule
    assert values(yamls=("MATCH=2024", "TAGS=[a, b]", "ANY=null")) == {"MATCH": 2024, "TAGS": ["a", "b"], "ANY": None}
    for texts, said in (
        ([["SEED", "yes"]], "-p SEED takes True or False"),
        ([["LIMIT", "many"]], "-p LIMIT takes a number"),
        ([["TAGS", "a,b"]], "use -y TAGS=YAML"),
    ):
        with pytest.raises(MemstoreError, match=said):
            values(*texts)
    with pytest.raises(MemstoreError, match="-y takes NAME=YAML"):
        values(yamls=("LIMIT",))
    with pytest.raises(MemstoreError, match="not YAML"):
        values(yamls=("TAGS=[a",))


def test_run_refuses_a_notebook_that_imports_what_is_missing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Before: the notebook's own install cell pip-installed (and upgraded) into this environment.
    source = _notebook(tmp_path / "needs.ipynb")
    nb = nbformat.read(source, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "%time x = 1\n!true\nimport json, surely_not_installed_pkg\n"
            "try:\n    import optional_and_handled\nexcept ImportError:\n    pass\n"
            "from another_missing_one.sub import x\nfrom . import relative"
        )
    )
    nbformat.write(nb, source)
    code, _out, err = _run(capsys, "run", str(source))
    assert code == 2
    line = _one_error_line(err)
    assert "imports another_missing_one, surely_not_installed_pkg, which this Python" in line
    assert "installs nothing" in line
