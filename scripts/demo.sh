#!/usr/bin/env bash
# The main job, offline and without root: a demo API on loopback and `uptime-sla run`
# watching it, with SQLite. Needs only python3 with venv; installs the runtime dependencies
# (and trustme, for the demo API's certificate) into .venv. Ctrl-C stops both.
# Without a network, point pip at a folder of wheels: PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[demo]"
export OUTFAME_API_KEY=${OUTFAME_API_KEY:-demo-key-not-secret}
rm -f demo-data/ca.pem
.venv/bin/python examples/demo_api.py --dir demo-data &
api=$!
# The status site `run` writes every 10 s; a web server serves its `current` folder.
mkdir -p demo-data/status
.venv/bin/python -m http.server 8080 --bind 127.0.0.1 --directory demo-data/status/current \
  >/dev/null 2>&1 &
web=$!
trap 'kill $api $web 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s demo-data/ca.pem ] && break
  kill -0 $api 2>/dev/null || { echo "demo API did not start (is port 8443 taken?)" >&2; exit 1; }
  sleep 0.1
done
cat <<TEXT
uptime-sla demo: probing https://demo.outfame.test:8443 (examples/demo_api.py) every 5 s
  metrics:  http://127.0.0.1:9464/metrics
  status:   http://127.0.0.1:8080/   (the public status page; api-flaky turns Public API
            to a partial outage whenever its latest probe failed, refreshed every 10 s)
  a report: .venv/bin/uptime-sla -c examples/demo.yaml report --month $(date -u +%Y-%m) --format md
Ctrl-C stops the demo.
TEXT
.venv/bin/uptime-sla -c examples/demo.yaml run
