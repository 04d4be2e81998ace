#!/usr/bin/env bash
# The test command: install what is missing, lint, check types, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check monitor sla tests bench
.venv/bin/mypy monitor sla
exec .venv/bin/pytest -q "$@"
