# shellcheck shell=bash
# Sourced by the Colab-like scripts: colab_python prints Colab's Python (3.13) if this machine has it,
# on PATH or installed by pyenv but not selected; else python3 (with a note on stderr).
colab_python() {
    local candidate
    for candidate in python3.13 "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13; do
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "no Python 3.13 here, using python3" >&2
    echo python3
}
