#!/usr/bin/env bash
# Command 2: install into ./.venv, install Debian's Chromium and a CJK font for the browser tests when missing,
# run the linters, the type checker, the migrations check and the whole test suite.
# The database is DATABASE_URL when set (PostgreSQL in CI), otherwise SQLite in HUITOUKE_HOME.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/venv.sh
if [[ ! -x /usr/bin/chromium ]] || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
  echo "installing chromium and a CJK font (apt-get)…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
export HUITOUKE_HOME=${HUITOUKE_HOME:-$PWD/var/test}
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread
mkdir -p "$HUITOUKE_HOME"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy huitouke benchmarks conftest.py
.venv/bin/huitouke makemigrations --check --dry-run
# Django's deployment checklist in production mode (a fresh home, a random key, without the tests' async switch):
# any warning fails the run
deploy_home=$(mktemp -d)
env -u DJANGO_ALLOW_ASYNC_UNSAFE HUITOUKE_HOME="$deploy_home/home" HUITOUKE_PRODUCTION=true DJANGO_ALLOWED_HOSTS=crm.example.com DATABASE_URL= \
  DJANGO_SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
  .venv/bin/huitouke check --deploy --fail-level WARNING
rm -rf "$deploy_home"
# Tests run in parallel, one process per core (PYTEST_WORKERS=0 runs them in this process); each gets its own test database.
.venv/bin/pytest --create-db -n "${PYTEST_WORKERS:-auto}" "$@"
