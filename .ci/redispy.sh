#!/usr/bin/env bash
# The exactly-once guarantee under every redis-py a user may have (setup.cfg allows redis>=5):
# each older major in a venv of its own runs the write-path, history, aconnect and lost-reply
# tests (the main run covers the newest, and the long fault scenarios). Venvs live in a folder of this run (mktemp -d).
#
#   .ci/redispy.sh [versions...]     default: 5.0.8 6.4.0 7.4.1
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
versions=("$@")
((${#versions[@]})) || versions=(5.0.8 6.4.0 7.4.1)
work="$(mktemp -d -t memstore-nb-redispy.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tests=(tests/integration/test_exactly_once.py tests/integration/test_history.py tests/integration/test_aconnect.py)
# The lost-reply tests (each client kind's own retry policy replaying a write); the long fault
# scenarios run once, in the main job.
[[ -f tests/reliability/test_lost_reply.py ]] && tests+=(tests/reliability/test_lost_reply.py)
declare -A result
status=0
for version in "${versions[@]}"; do
  venv="$work/redis-$version"
  python3 -m venv "$venv"
  PYTHONWARNINGS=ignore "$venv/bin/python" -m pip install -q -e ".[embedded,test]" "redis==$version"
  got="$("$venv/bin/python" -c 'import redis; print(redis.__version__)')"
  echo "redis-py $got: ${tests[*]}"
  log="$work/redis-$version.log"
  if "$venv/bin/python" -m pytest -q -p no:cacheprovider --no-cov "${tests[@]}" >"$log" 2>&1; then
    result[$version]="$(tail -n 1 "$log")"
  else
    result[$version]="FAILED: $(tail -n 1 "$log")"
    tail -n 40 "$log"
    status=1
  fi
done
printf '\n| redis-py | result |\n| --- | --- |\n'
for version in "${versions[@]}"; do printf '| %s | %s |\n' "$version" "${result[$version]}"; done
exit $status
