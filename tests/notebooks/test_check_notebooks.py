"""The notebook check (.ci/check_notebooks.py): the committed notebooks pass, and it catches each problem."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from helpers.cli import NOTEBOOKS, REPO

SCRIPT = REPO / ".ci" / "check_notebooks.py"
EXPECTED = {"chat_message_history.ipynb", "history_viewer.ipynb", "langchain_with_history.ipynb"}


@pytest.fixture(scope="module")
def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_notebooks", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _good() -> Any:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        '# @markdown Your endpoint, or `local`.\nENDPOINT = "local"  # @param {type:"string"}', execution_count=1
    )
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell("print(ENDPOINT)", execution_count=2)
    body.outputs = [nbformat.v4.new_output("stream", name="stdout", text="local\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("Use `redis://IP:6379` for a real instance."), params, body]
    return nb


def _problems(checker: ModuleType, tmp_path: Path, nb: Any) -> list[str]:
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return list(checker.check(path))


def test_committed_notebooks_pass() -> None:
    found = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert found >= EXPECTED
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *sorted(str(p) for p in NOTEBOOKS.glob("*.ipynb"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(found)}/{len(found)} notebooks clean" in done.stderr


def test_a_clean_notebook_passes(checker: ModuleType, tmp_path: Path) -> None:
    assert _problems(checker, tmp_path, _good()) == []


def _edit_params(nb: Any, source: str) -> Any:
    nb.cells[1].source = source
    return nb


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda nb: nb.cells[1].metadata.pop("tags"), "exactly one cell tagged `parameters`"),
        (lambda nb: nb.cells.pop(0), "markdown cell right above"),
        (
            lambda nb: _edit_params(nb, '# @markdown x\nENDPOINT = os.environ["X"]  # @param {type:"string"}'),
            "literal default",
        ),
        (lambda nb: _edit_params(nb, 'ENDPOINT = "local"  # @param {type:"string"}'), "`# @markdown`"),
        (lambda nb: _edit_params(nb, '# @markdown x\nENDPOINT = "local"'), "no `# @param`"),
        (
            lambda nb: _edit_params(nb, f'# @markdown x\nENDPOINT = "{"x" * 80}"  # @param {{type:"string"}}'),
            "chars (max 88)",
        ),
        (lambda nb: _edit_params(nb, '# @markdown x\nENDPOINT = "local"  # @param {type:"text"}'), "needs type"),
        (lambda nb: _edit_params(nb, '# @markdown x\nENDPOINT = "local"  # @param (\n'), "not Colab form syntax"),
        (lambda nb: _edit_params(nb, '# @markdown x\nimport os\nENDPOINT = "local"  # @param'), "only `NAME = literal"),
        (
            lambda nb: nb.cells[2].outputs.append(
                nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=["Traceback"])
            ),
            "output is an error",
        ),
        (
            lambda nb: nb.cells[2].outputs.append(
                nbformat.v4.new_output("stream", text="Traceback (most recent call last):\n")
            ),
            "traceback",
        ),
        (
            lambda nb: nb.cells[2].outputs.append(
                nbformat.v4.new_output("stream", text="redis://u:hunter2@10.0.0.3\n")
            ),
            "secret (password in a URL)",
        ),
        (
            lambda nb: nb.cells[2].outputs.append(
                nbformat.v4.new_output("display_data", data={"text/plain": "token ya29." + "a" * 30})
            ),
            "secret (Google OAuth access token)",
        ),
        (
            lambda nb: nb.cells[2].outputs.append(nbformat.v4.new_output("stream", text="wrote /tmp/abc/x.json\n")),
            "absolute path",
        ),
        (
            lambda nb: nb.cells[2].outputs.append(
                nbformat.v4.new_output("stream", text="/root/.pyenv/lib/python3.11/site-packages/x.py\n")
            ),
            "absolute path",
        ),
        (lambda nb: setattr(nb.cells[2], "source", "# NBVAL_SKIP\nprint(1)"), "NBVAL_SKIP"),
        (lambda nb: setattr(nb.cells[2], "execution_count", 5), "re-run the notebook"),
        (lambda nb: nb.metadata.update(widgets={"state": {}}), "metadata.widgets"),
        (lambda nb: nb.metadata.update(colab={"provenance": []}), "metadata.colab"),
        (lambda nb: nb.cells[2].metadata.update(executionInfo={"user": {"displayName": "x"}}), "executionInfo"),
        (lambda nb: nb.cells[1].metadata["tags"].append("injected-parameters"), "injected-parameters"),
    ],
)
def test_each_problem_is_reported(checker: ModuleType, tmp_path: Path, mutate: Any, expected: str) -> None:
    nb = _good()
    mutate(nb)
    problems = _problems(checker, tmp_path, nb)
    assert any(expected in p for p in problems), problems


def test_urls_and_redacted_passwords_are_not_flagged(checker: ModuleType, tmp_path: Path) -> None:
    nb = _good()
    nb.cells[2].outputs.append(
        nbformat.v4.new_output(
            "stream", text="see https://cloud.google.com/memorystore/docs and redis://default:***@10.0.0.3:6379\n"
        )
    )
    assert _problems(checker, tmp_path, nb) == []


def test_fix_strips_metadata_but_keeps_the_parameters_tag(checker: ModuleType, tmp_path: Path) -> None:
    nb = _good()
    nb.metadata.update(widgets={"application/vnd.jupyter.widget-state+json": {}}, papermill={"duration": 1})
    nb.cells[2].metadata.update(execution={"iopub.status.busy": "2026-01-01"}, papermill={"status": "completed"})
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert checker.check(path)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--fix", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout
    fixed = json.loads(path.read_text())
    assert "widgets" not in fixed["metadata"] and "papermill" not in fixed["metadata"]
    assert fixed["cells"][1]["metadata"]["tags"] == ["parameters"]
    assert fixed["cells"][2]["metadata"] == {}
