#!/usr/bin/env bash
# The main job, offline and without root: a demo API on loopback and `uptime-sla run`
# watching it, with SQLite. Needs only Python 3.11 or newer with venv; installs the locked
# dependencies (requirements.lock and requirements-demo.lock, hash-checked, as the container
# image does) into .venv. Ctrl-C stops everything.
# Without a network, point pip at a folder of wheels: PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR.
#
# Ports: 8443 (the API), 8080 (the status page) and 9464 (metrics) when they are free, any
# free ones otherwise; the banner says which. One demo runs per checkout (demo-data/ holds its
# certificate and database): a second one says so and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
say() { printf 'demo.sh: %s\n' "$*" >&2; }

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || {
  say "needs Python 3.11 or newer; $python is $("$python" -V 2>&1 || echo missing) (set PYTHON=python3.12, say)"
  exit 1
}

mkdir -p demo-data
lock=demo-data/demo.pid
take_lock() { (set -o noclobber; echo $$ >"$lock") 2>/dev/null; }
if ! take_lock; then
  other=$(cat "$lock" 2>/dev/null || true)
  if [ -n "$other" ] && kill -0 "$other" 2>/dev/null; then
    say "a demo already runs from this folder (pid $other); stop it (Ctrl-C) before starting another"
    exit 1
  fi
  rm -f "$lock" # left by a demo that was killed
  take_lock || { say "another demo is starting from this folder"; exit 1; }
fi
api="" web=""
trap 'kill $api $web 2>/dev/null || true; rm -f "$lock"' EXIT

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes --no-deps -r requirements.lock -r requirements-demo.lock
"${pip[@]}" --no-deps -e .
export OUTFAME_API_KEY=${OUTFAME_API_KEY:-demo-key-not-secret}

# The preferred ports when free, else free ones; the API's on both 127.0.0.1 and [::1].
read -r api_port web_port metrics_port < <(.venv/bin/python - <<'PY'
import socket

def free(preferred, families):
    for port in [preferred] + [0] * 20:
        sockets = []
        try:
            for family, host in families:
                sock = socket.socket(family)
                sockets.append(sock)
                sock.bind((host, port))
                port = sock.getsockname()[1]
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise SystemExit("demo.sh: no free port on loopback")

both = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
v4 = [(socket.AF_INET, "127.0.0.1")]
print(free(8443, both), free(8080, v4), free(9464, v4))
PY
)
# The config the demo runs: examples/demo.yaml with these ports, its paths beside it.
.venv/bin/python - "$api_port" "$web_port" "$metrics_port" <<'PY'
import sys
from pathlib import Path

api, web, metrics = sys.argv[1:]
text = Path("examples/demo.yaml").read_text(encoding="utf-8")
for old, new in [("../demo-data/", ""), (":8443/", f":{api}/"), ("127.0.0.1:8080", f"127.0.0.1:{web}"),
                 ("127.0.0.1:9464", f"127.0.0.1:{metrics}")]:
    text = text.replace(old, new)
Path("demo-data/demo.yaml.partial").write_text(text, encoding="utf-8")
Path("demo-data/demo.yaml.partial").replace("demo-data/demo.yaml")
PY

rm -f demo-data/ca.pem # this demo's API writes its own once it serves
.venv/bin/python examples/demo_api.py --dir demo-data --port "$api_port" &
api=$!
# The status site `run` writes every 10 s; a web server serves its `current` folder.
mkdir -p demo-data/status
.venv/bin/python -m http.server "$web_port" --bind 127.0.0.1 --directory demo-data/status/current \
  >demo-data/http.log 2>&1 &
web=$!
for _ in $(seq 100); do
  [ -s demo-data/ca.pem ] && break
  kill -0 $api 2>/dev/null || { say "the demo API did not start (see above)"; exit 1; }
  sleep 0.1
done
[ -s demo-data/ca.pem ] || { say "the demo API did not start within 10 s"; exit 1; }
.venv/bin/python - "$web_port" <<'PY' || { say "the status page server did not start: $(tail -n 1 demo-data/http.log)"; exit 1; }
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
kill -0 $web 2>/dev/null || { say "the status page server stopped: $(tail -n 1 demo-data/http.log)"; exit 1; }
cat <<TEXT
uptime-sla demo: probing https://demo.outfame.test:$api_port (examples/demo_api.py) every 5 s
  metrics:  http://127.0.0.1:$metrics_port/metrics
  status:   http://127.0.0.1:$web_port/   (the public status page; api-flaky turns Public API
            to a partial outage whenever its latest probe failed, refreshed every 10 s)
  config:   demo-data/demo.yaml (examples/demo.yaml with these ports)
  a report: .venv/bin/uptime-sla -c demo-data/demo.yaml report --month $(date -u +%Y-%m) --format md
            (the running month, from the slices that have ended: wait a minute for the first)
Ctrl-C stops the demo.
TEXT
.venv/bin/uptime-sla -c demo-data/demo.yaml run
