"""`memstore_nb.cli.parser()` in-process, for what needs no server: bad input, unknown parameters, output escaping."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from memstore_nb.cli import parser as cli


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
