#!/usr/bin/env bash
# Refresh the Chinese catalogue after changing user-visible strings: extract, then (after translating the new
# entries in huitouke/locale/zh_Hans/LC_MESSAGES/django.po) run it again with --compile to build the .mo.
set -euo pipefail
cd "$(dirname "$0")/../huitouke"
export HUITOUKE_HOME=${HUITOUKE_HOME:-$PWD/../var}
# --fill FILE.json [...]: extract, fill translations from the JSON files ({msgid: msgstr}) and compile, under a lock
# so that several people adding strings at once do not overwrite each other's entries.
if [[ "${1:-}" == "--fill" ]]; then
  shift
  files=(); for f in "$@"; do files+=("$(realpath "$f")"); done
  exec flock /tmp/huitouke-messages.lock bash -c '
    set -euo pipefail
    ../.venv/bin/python -m django makemessages -l zh_Hans --settings=huitouke.settings -i "*/tests/*" --no-obsolete
    ../.venv/bin/python ../scripts/po_fill.py "$@"
    msgfmt --check --statistics -o locale/zh_Hans/LC_MESSAGES/django.mo locale/zh_Hans/LC_MESSAGES/django.po
  ' _ "${files[@]}"
elif [[ "${1:-}" == "--compile" ]]; then
  msgfmt --check --statistics -o locale/zh_Hans/LC_MESSAGES/django.mo locale/zh_Hans/LC_MESSAGES/django.po
else
  ../.venv/bin/python -m django makemessages -l zh_Hans --settings=huitouke.settings -i "*/tests/*" --no-obsolete
fi
