#!/usr/bin/env bash
# Installs what uptime-sla and its tests need on a fresh Debian machine: the Debian
# packages (PostgreSQL, Prometheus, Alertmanager, Chromium for the HTML report test),
# a virtualenv in .venv with the project and its dev extras, and axe-core (npm) for the
# status page's accessibility tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# runc listed so apt does not pick crun (which fails here) for podman's "crun | runc".
packages=(postgresql prometheus prometheus-alertmanager chromium fonts-dejavu-core
          podman runc mmdebstrap
          zsh  # the zsh completion test
          python3-venv  # the demo test runs scripts/demo.sh with Debian's python3, as a user would
          iproute2  # ip, sysctl and iptables: the network namespace tests
          procps
          iptables
          nginx-light  # the status site served while `run` swaps it
          libpango-1.0-0  # WeasyPrint (PDF statements)
          libpangoft2-1.0-0
          libharfbuzz-subset0
          poppler-utils  # pdftoppm: the PDF statement's page screenshot
)
# npm installs axe-core for the accessibility tests; a machine that has Node.js with its
# own npm (not Debian's packages) keeps it.
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${missing[@]}" >/dev/null
  # The package starts Debian's own services; the tests start their own servers.
  $sudo systemctl disable --now prometheus prometheus-alertmanager postgresql nginx \
    podman.socket podman.service podman-restart.service >/dev/null 2>&1 || true
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"

# axe-core exactly as tests/js/package-lock.json pins it (version and sha512 integrity).
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error >/dev/null
