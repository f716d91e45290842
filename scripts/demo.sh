#!/usr/bin/env bash
# Command 1: install into ./.venv, build the demo shop in HUITOUKE_HOME (default ./var, SQLite) and serve it at
# http://127.0.0.1:8000 with the production server (gunicorn, `huitouke serve`) and one background worker.
# Extra arguments go to `huitouke demo` (e.g. --customers 5000 --reset); --no-serve builds only, --addr H:P serves
# elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh
export HUITOUKE_HOME=${HUITOUKE_HOME:-$PWD/var}
.venv/bin/huitouke migrate --no-input -v0
bind=127.0.0.1:8000
serve=1
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-serve) serve=0 ;;
        --addr) bind=$2; shift ;;
        --addr=*) bind=${1#--addr=} ;;
        *) args+=("$1") ;;
    esac
    shift
done
.venv/bin/huitouke demo --no-serve --addr "$bind" ${args[@]+"${args[@]}"}
if [ "$serve" = 1 ]; then
    exec .venv/bin/huitouke serve --bind "$bind" --workers "${HUITOUKE_WEB_WORKERS:-2}" --with-worker
fi
