#!/usr/bin/env bash
# Regenerates the committed monitoring files from examples/demo.yaml: the Prometheus rules
# (prometheus/rules.yml) and the Grafana dashboards (grafana/dashboards/*.json). Tests check
# that the committed files are exactly what this writes. The demo config reads its API key
# from the environment; the generated files never contain it, so any value does.
set -euo pipefail
cd "$(dirname "$0")/.."
export OUTFAME_API_KEY="${OUTFAME_API_KEY:-unused}"
.venv/bin/uptime-sla -c examples/demo.yaml rules -o prometheus/rules.yml
.venv/bin/uptime-sla -c examples/demo.yaml dashboards -o grafana/dashboards
