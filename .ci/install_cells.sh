#!/usr/bin/env bash
# The notebooks' install cells, run as Colab runs them, against a wheel of this checkout built here
# (memstore-nb is not on PyPI, so that wheel, or a clone, is what a reader installs from).
#
# For each distinct install cell, in a fresh venv with IPython (Colab has it) and the wheel beside
# the cell: with no wheel it says what to do; with the wheel it installs what the notebook needs;
# run again it installs and upgrades nothing (`pip freeze` unchanged). The LangGraph notebook's cell,
# in an environment with memstore-nb but without LangGraph, says what is missing and installs nothing.
#
#   .ci/install_cells.sh        PYTHON picks the interpreter (default: python3.13, Colab's, if there is one)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d -t memstore-nb-install.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=.ci/colab_python.sh
source "$repo/.ci/colab_python.sh"
python="${PYTHON:-$(colab_python)}"
fail() { echo "install cells: $*" >&2; exit 1; }

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$repo"
wheel="$(ls "$work"/dist/memstore_nb-*.whl)"
echo "install cells: built $(basename "$wheel") with $("$python" --version)"

# One .ipy file per distinct install cell (the cell that looks for memstore_nb and runs %pip).
"$python" - "$work/cells" "$repo"/notebooks/*.ipynb <<'EOF'
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
out.mkdir()
seen = {}
for path in sys.argv[2:]:
    for cell in json.loads(pathlib.Path(path).read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and 'find_spec("memstore_nb")' in source and "%pip install" in source:
            if source not in seen:
                seen[source] = "langgraph" if "langgraph" in source else f"plain{len(seen)}"
                (out / f"{seen[source]}.ipy").write_text(source + "\n", encoding="utf-8")
            print(f"install cells: {pathlib.Path(path).name} -> {seen[source]}")
if sorted(seen.values()) != ["langgraph", "plain0"] and sorted(seen.values()) != ["langgraph", "plain1"]:
    sys.exit(f"install cells: expected one plain cell and one LangGraph cell, found {sorted(seen.values())}")
EOF

run_cell() {  # run_cell VENV CELL FOLDER: the cell's output (stdout and stderr)
    (cd "$3" && "$1/bin/ipython" --quick --no-banner --colors=NoColor "$2" 2>&1) || true
}

for cell in "$work"/cells/*.ipy; do
    name="$(basename "$cell" .ipy)"
    venv="$work/venv-$name"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet ipython
    mkdir -p "$work/empty-$name" "$work/colab-$name"
    said="$(run_cell "$venv" "$cell" "$work/empty-$name")"
    grep -q "put memstore_nb-\*.whl next to this notebook" <<<"$said" || fail "$name without a wheel: $said"
    cp "$wheel" "$work/colab-$name/"
    run_cell "$venv" "$cell" "$work/colab-$name" >"$work/$name.log"
    if [[ $name == langgraph ]]; then
        imports="import memstore_nb, langgraph.checkpoint.base, langchain.agents"
    else
        imports="import memstore_nb"
    fi
    "$venv/bin/python" -c "$imports" || fail "$name: after the cell, '$imports' fails: $(tail -5 "$work/$name.log")"
    before="$("$venv/bin/python" -m pip freeze)"
    said="$(run_cell "$venv" "$cell" "$work/colab-$name")"
    grep -q "already installed" <<<"$said" || fail "$name run again: $said"
    [[ "$("$venv/bin/python" -m pip freeze)" == "$before" ]] || fail "$name run again changed the environment"
    if [[ $name != langgraph ]]; then
        said="$(run_cell "$venv" "$work/cells/langgraph.ipy" "$work/colab-$name")"
        grep -q "this notebook needs langgraph, langchain" <<<"$said" || fail "langgraph cell beside memstore-nb: $said"
        [[ "$("$venv/bin/python" -m pip freeze)" == "$before" ]] || fail "the langgraph cell installed something"
    fi
    echo "install cells: $name installs from the wheel, then installs and upgrades nothing"
done
