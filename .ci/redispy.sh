#!/usr/bin/env bash
# The exactly-once guarantee under every redis-py a user may have (setup.cfg allows redis>=5):
# each older major, put ahead of this environment's redis-py on PYTHONPATH, runs the write-path (and
# sending.command, which takes connections from redis-py's pool itself, and the store's writes),
# history, aconnect and lost-reply tests (the main run covers the newest, and the long fault
# scenarios). The versions live in a folder of this run (mktemp -d).
#
#   .ci/redispy.sh [versions...]     default: 5.0.8 6.4.0 7.4.1
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
versions=("$@")
((${#versions[@]})) || versions=(5.0.8 6.4.0 7.4.1)
work="$(mktemp -d -t memstore-nb-redispy.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tests=(tests/integration/test_exactly_once.py tests/integration/test_history.py tests/integration/test_aconnect.py
  tests/integration/test_sending.py tests/integration/test_longterm_errors.py)
# The lost-reply tests (each client kind's own retry policy replaying a write); the long fault
# scenarios run once, in the main job.
[[ -f tests/reliability/test_lost_reply.py ]] && tests+=(tests/reliability/test_lost_reply.py)
declare -A result
status=0
for version in "${versions[@]}"; do
  # Only redis-py differs: it goes in a folder of its own, ahead of this environment's on PYTHONPATH
  # (a venv per version would install every test dependency again, minutes each).
  target="$work/redis-$version"
  PYTHONWARNINGS=ignore python -m pip install -q --no-deps --target "$target" "redis==$version"
  got="$(PYTHONPATH="$target" python -c 'import redis; print(redis.__version__)')"
  if [[ "$got" != "$version" ]]; then
    echo "redis-py $version: PYTHONPATH gave $got instead" >&2
    exit 1
  fi
  echo "redis-py $got: ${tests[*]}"
  log="$work/redis-$version.log"
  if PYTHONPATH="$target" python -m pytest -q -p no:cacheprovider --no-cov "${tests[@]}" >"$log" 2>&1; then
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
