#!/usr/bin/env bash
# Command 1: install into ./.venv, build the demo shop in HUITOUKE_HOME (default ./var, SQLite) and serve it
# at http://127.0.0.1:8000. Extra arguments go to `huitouke demo` (e.g. --customers 5000 --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh
export HUITOUKE_HOME=${HUITOUKE_HOME:-$PWD/var}
.venv/bin/huitouke migrate --no-input -v0
exec .venv/bin/huitouke demo "$@"
