#!/usr/bin/env bash
# The test command: install what is missing, lint, check types, then run the whole suite.
#
# The suite runs in parallel worker processes (pytest-xdist): most of its time is spent
# waiting on subprocesses and servers, so more workers than cores pay. UPTIME_SLA_TEST_WORKERS
# sets how many (0: no workers, everything in this process). --dist loadgroup keeps the tests
# of a module with a module-scoped fixture on one worker (tests/conftest.py marks them);
# --no-loadscope-reorder keeps the long tests first, as tests/conftest.py orders them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check monitor sla tests bench
.venv/bin/mypy monitor sla
exec .venv/bin/pytest -q -n "${UPTIME_SLA_TEST_WORKERS:-4}" --dist loadgroup --no-loadscope-reorder "$@"
