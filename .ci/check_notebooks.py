#!/usr/bin/env python3
"""Check the committed notebooks before a commit (also run by CI): parameters cell, Colab forms, clean outputs,
install lines that never upgrade.

Usage:
    python .ci/check_notebooks.py [--fix] [NOTEBOOK ...]      (default: notebooks/*.ipynb)

Exit status 0 when every notebook passes, 1 otherwise (one line per problem).
``--fix`` first strips what can be stripped safely (widget state, papermill,
execution timing and Colab user metadata), then checks.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAX_PARAM_LINE = 88  # black/ruff's default width: longer `# @param` lines get wrapped and Colab loses the form
PARAM_RE = re.compile(
    r"""^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.+?)\s+\#\s?@param(?:\s+(?P<spec>\{.*\}|\[.*\]))?\s*$"""
)
COLAB_TYPES = {"string", "integer", "number", "boolean", "date", "raw", "slider"}
NB_METADATA_DROP = ("widgets", "papermill", "colab", "accelerator", "gpuClass", "toc", "varInspector")
CELL_METADATA_DROP = ("execution", "papermill", "executionInfo", "outputId", "colab", "collapsed", "scrolled")
SECRET_PATTERNS = {
    "Google OAuth access token": re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "password in a URL": re.compile(r"rediss?://[^\s:/@'\"]*:(?!\*\*\*|<REDACTED>|\*+@)[^\s@'\"]+@"),
    "password value": re.compile(r"""(?i)\bpassword['"]?\s*[:=]\s*['"](?!\*\*\*|<REDACTED>|['"])[^'"]+['"]"""),
}
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/])(?:/(?:root|home|Users|tmp|var/folders|private|work|opt|usr/local|content)/[^\s'\"<>]*"
    r"|[A-Za-z]:\\\\?[^\s'\"<>]+)"
)
TRACEBACK_MARKERS = ("Traceback (most recent call last)", '"ename"', '"evalue"')


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        nb: dict[str, Any] = json.load(fh)
    return nb


def source_of(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def output_texts(cell: dict[str, Any]) -> Iterator[str]:
    for out in cell.get("outputs", []):
        if "text" in out:
            text = out["text"]
            yield "".join(text) if isinstance(text, list) else str(text)
        for mime, value in (out.get("data") or {}).items():
            if mime.startswith("image/"):
                continue
            if isinstance(value, list):
                yield "".join(value)
            else:
                yield value if isinstance(value, str) else json.dumps(value)


def check_parameters(cells: list[dict[str, Any]]) -> Iterator[str]:
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        yield f"expected exactly one cell tagged `parameters`, found {len(tagged)}"
        return
    index = tagged[0]
    cell = cells[index]
    where = f"cell {index} (parameters)"
    if cell.get("cell_type") != "code":
        yield f"{where}: the `parameters` tag is on a {cell.get('cell_type')} cell"
        return
    if index == 0 or cells[index - 1].get("cell_type") != "markdown":
        yield f"{where}: needs a markdown cell right above it saying how to use a real instance"
    src = source_of(cell)
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        yield f"{where}: not valid Python: {exc.msg} (line {exc.lineno})"
        return
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            yield f"{where}: line {node.lineno}: only `NAME = literal  # @param` assignments belong here"
            continue
        try:
            ast.literal_eval(node.value)
        except ValueError:
            yield f"{where}: line {node.lineno}: {node.targets[0].id} must have a literal default (papermill, Colab)"
    if not any(line.lstrip().startswith("# @markdown") for line in src.splitlines()):
        yield f"{where}: add a `# @markdown` line that tells the reader what to fill in"
    params = sum("@param" in line for line in src.splitlines())
    if params == 0:
        yield f"{where}: no `# @param` line: the parameters cell must also be a Colab form"


def check_form_lines(src: str, where: str) -> Iterator[str]:
    """Colab form syntax of every ``# @param`` line of one cell."""
    for lineno, line in enumerate(src.splitlines(), 1):
        if "@param" not in line:
            continue
        if len(line) > MAX_PARAM_LINE:
            yield f"{where}: line {lineno}: `# @param` line is {len(line)} chars (max {MAX_PARAM_LINE})"
        match = PARAM_RE.match(line)
        if not match:
            yield f'{where}: line {lineno}: not Colab form syntax `NAME = value  # @param {{type:"string"}}`'
            continue
        try:
            ast.literal_eval(match.group("value"))
        except (ValueError, SyntaxError):
            yield f"{where}: line {lineno}: a form field's default must be a literal"
        spec = match.group("spec")
        if spec and spec.startswith("{"):
            kind = re.search(r"""type\s*:\s*["'](\w+)["']""", spec)
            if not kind or kind.group(1) not in COLAB_TYPES:
                yield f"{where}: line {lineno}: @param needs type: one of {sorted(COLAB_TYPES)}"


PIP_INSTALL = re.compile(r"^\s*[%!]\s*(?:python3?\s+-m\s+)?pip3?\s+install\b(?P<args>.*)$")
PUBLISHED_NAME = re.compile(r"""(?:^|[\s'"])memstore[-_]nb(?:\[[^\]]*\])?(?=$|[\s'"])""")


def check_installs(src: str, where: str) -> Iterator[str]:
    """A notebook's install lines: never an upgrade (`memstore-nb run` executes them in the user's own
    environment), and never memstore-nb by its PyPI name, which is not published (a wheel or a clone is)."""
    for lineno, line in enumerate(src.splitlines(), 1):
        found = PIP_INSTALL.match(line)
        if not found:
            continue
        args = found.group("args").split("#")[0]
        if re.search(r"(?:^|\s)(?:--upgrade|-U|--force-reinstall)(?:\s|$)", args):
            yield f"{where}: line {lineno}: an install cell must not upgrade or reinstall what is installed"
        if PUBLISHED_NAME.search(args):
            yield f"{where}: line {lineno}: memstore-nb is not on PyPI: install it from a wheel or a clone"


def check_cells(cells: list[dict[str, Any]]) -> Iterator[str]:
    expected = 1
    for index, cell in enumerate(cells):
        src = source_of(cell)
        if "NBVAL_SKIP" in src:
            yield f"cell {index}: NBVAL_SKIP is not allowed (every cell a reader runs is validated)"
        meta = cell.get("metadata", {})
        if "injected-parameters" in meta.get("tags", []):
            yield f"cell {index}: papermill's injected-parameters cell should not be committed"
        for key in CELL_METADATA_DROP:
            if key in meta:
                yield f"cell {index}: metadata.{key} should not be committed (run with --fix)"
        if cell.get("cell_type") != "code":
            continue
        yield from check_form_lines(src, f"cell {index}")
        yield from check_installs(src, f"cell {index}")
        if src.strip():
            count = cell.get("execution_count")
            if count != expected:
                yield f"cell {index}: execution_count {count}, expected {expected}: re-run the notebook top to bottom"
            expected = (count or expected) + 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" or "ename" in out:
                yield f"cell {index}: output is an error ({out.get('ename')}): notebooks are committed clean"
        for text in output_texts(cell):
            for marker in TRACEBACK_MARKERS:
                if marker in text:
                    yield f"cell {index}: output holds a traceback ({marker!r})"
            for name, pattern in SECRET_PATTERNS.items():
                if pattern.search(text):
                    yield f"cell {index}: output looks like it holds a secret ({name})"
            found = ABSOLUTE_PATH.search(text)
            if found:
                yield f"cell {index}: output holds an absolute path ({found.group(0)[:60]!r})"


def check_metadata(nb: dict[str, Any]) -> Iterator[str]:
    meta = nb.get("metadata", {})
    for key in NB_METADATA_DROP:
        if key in meta:
            yield f"notebook metadata.{key} should not be committed (run with --fix)"


def check(path: Path) -> list[str]:
    try:
        nb = load(path)
    except (OSError, json.JSONDecodeError) as exc:
        return [f"cannot read: {exc}"]
    cells = nb.get("cells", [])
    return [*check_metadata(nb), *check_parameters(cells), *check_cells(cells)]


def fix(path: Path) -> bool:
    """Strip widget state, papermill/Colab/timing metadata. Returns True when the file changed."""
    nb = load(path)
    before = json.dumps(nb, sort_keys=True)
    for key in NB_METADATA_DROP:
        nb.get("metadata", {}).pop(key, None)
    for cell in nb.get("cells", []):
        meta = cell.setdefault("metadata", {})
        for key in CELL_METADATA_DROP:
            meta.pop(key, None)
        if meta.get("tags") == []:
            meta.pop("tags")
    if json.dumps(nb, sort_keys=True) == before:
        return False
    with path.open("w", encoding="utf-8") as fh:
        json.dump(nb, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--fix", action="store_true", help="strip metadata that should not be committed, then check")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("*.ipynb"))
    if not paths:
        print("check_notebooks: no notebooks found", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        if args.fix and fix(path):
            print(f"{path}: fixed metadata")
        problems = check(path)
        for problem in problems:
            print(f"{path}: {problem}")
        failed += bool(problems)
    print(f"check_notebooks: {len(paths) - failed}/{len(paths)} notebooks clean", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
