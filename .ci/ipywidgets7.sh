#!/usr/bin/env bash
# Run the viewer tests under ipywidgets 7.7.1 (what Colab ships) in a venv of their own.
#
#   .ci/ipywidgets7.sh [extra pytest args]
#
# The venv lives at ${IPYW7_VENV:-/tmp/msnb-ipyw7} and is reused when a previous
# run completed its install for the same setup.cfg; delete it to start over.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${IPYW7_VENV:-/tmp/msnb-ipyw7}"
python="${PYTHON:-python3}"
pin="ipywidgets==7.7.1"
# Anything the test extra lacks for this environment goes here.
extra=""
stamp="$venv/.msnb-complete"
# The editable install points at one checkout: a clone elsewhere needs its own install.
want="$pin $extra $repo $(sha256sum "$repo/setup.cfg" | cut -d" " -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import ipywidgets, memstore_nb, pytest; assert ipywidgets.__version__ == "7.7.1"' 2>/dev/null; then
    echo "ipywidgets7: reusing $venv"
else
    echo "ipywidgets7: building $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$repo[test]" "$pin" $extra
    echo "$want" > "$stamp"
fi

"$venv/bin/python" -c 'import ipywidgets, sys; print(f"ipywidgets {ipywidgets.__version__} on Python {sys.version.split()[0]}")'
cd "$repo"
# ipywidgets 7 creates comms through an API newer ipykernels deprecate: one warning per widget.
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    -W "ignore:The \`ipykernel.comm.Comm\` class has been deprecated:DeprecationWarning" \
    tests/integration/test_widget.py tests/integration/test_form.py tests/unit/test_render.py "$@"
