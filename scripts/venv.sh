#!/usr/bin/env bash
# Create ./.venv (once) and install Huitouke into it with the development extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [[ ! -f $stamp ]]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
