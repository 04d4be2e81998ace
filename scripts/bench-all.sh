#!/usr/bin/env bash
# Every benchmark (see BENCHMARKS.md). Installs what is missing (Debian packages as root,
# the venv, py-spy) and runs bench/run_all.py; extra arguments go to it (--quick, --out FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q -e '.[postgres,dev]'
fi
.venv/bin/python -c 'import trustme, psycopg' 2>/dev/null || .venv/bin/pip install -q trustme 'psycopg[binary]'
exec .venv/bin/python bench/run_all.py "$@"
