#!/usr/bin/env bash
# Regenerates the committed monitoring files from deploy/uptime-sla.yaml, the config that
# deploy/compose.yaml runs: the Prometheus rules (prometheus/rules.yml) and the Grafana
# dashboards (grafana/dashboards/*.json). Run it after editing that config; tests check that
# the committed files are exactly what this writes.
#
#   bash scripts/generate-monitoring.sh [OUT_DIR]    (default: the repository itself)
#
# The ${VARS} of the config (secrets, addresses) never reach the generated files, so
# placeholders stand in for those that are not set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root}" && cd "${1:-$root}" && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
export UPTIME_SLA_LOCATION="${UPTIME_SLA_LOCATION:-unused}" \
  POSTGRES_USER="${POSTGRES_USER:-unused}" POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-unused}" \
  POSTGRES_DB="${POSTGRES_DB:-unused}" API_TOKEN="${API_TOKEN:-unused}" \
  API_BASE_URL="${API_BASE_URL:-https://api.example.com}"
config="$root/deploy/uptime-sla.yaml"
mkdir -p "$out/prometheus"
"$python" -m monitor -c "$config" rules -o "$out/prometheus/rules.yml"
"$python" -m monitor -c "$config" dashboards -o "$out/grafana/dashboards" >/dev/null
