#!/usr/bin/env bash
# The main job, offline: a demo API on loopback and `uptime-sla run` watching it.
# Ctrl-C stops both. Then try: .venv/bin/uptime-sla -c examples/demo.yaml report --month "$(date -u +%Y-%m)" --format md
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OUTFAME_API_KEY=${OUTFAME_API_KEY:-demo-key-not-secret}
rm -f demo-data/ca.pem
.venv/bin/python examples/demo_api.py --dir demo-data &
api=$!
trap 'kill $api 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s demo-data/ca.pem ] && break
  kill -0 $api 2>/dev/null || { echo "demo API did not start (is port 8443 taken?)" >&2; exit 1; }
  sleep 0.1
done
.venv/bin/uptime-sla -c examples/demo.yaml run
