#!/usr/bin/env bash
# Refresh the Chinese catalogue after changing user-visible strings: extract, then (after translating the new
# entries in huitouke/locale/zh_Hans/LC_MESSAGES/django.po) run it again with --compile to build the .mo.
set -euo pipefail
cd "$(dirname "$0")/../huitouke"
export HUITOUKE_HOME=${HUITOUKE_HOME:-$PWD/../var}
if [[ "${1:-}" == "--compile" ]]; then
  msgfmt --check --statistics -o locale/zh_Hans/LC_MESSAGES/django.mo locale/zh_Hans/LC_MESSAGES/django.po
else
  ../.venv/bin/python -m django makemessages -l zh_Hans --settings=huitouke.settings -i "*/tests/*" --no-obsolete
fi
