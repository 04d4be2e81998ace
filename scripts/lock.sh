#!/usr/bin/env bash
# Regenerates requirements.lock: the exact versions (and their files' sha256 hashes) of the
# runtime dependencies and the postgres extra that the container image installs (and
# scripts/demo.sh, with requirements-demo.lock for the demo extra). Run it after
# changing dependencies in pyproject.toml; tests/e2e/test_container.py checks the lock
# against pyproject.toml and the built image against the lock.
#
#   bash scripts/lock.sh
#
# The image's Python is 3.11 on x86_64 Linux (see the Dockerfile's BASE_IMAGE).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install -q --disable-pip-version-check "uv>=0.4"
cd "$root"
"$tools/venv/bin/uv" pip compile pyproject.toml --extra postgres --generate-hashes \
  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
  --custom-compile-command "bash scripts/lock.sh" --output-file requirements.lock
# The demo's own extra (trustme, for the demo API's certificate), pinned with the packages it
# shares with the lock above: scripts/demo.sh installs both files, hash-checked.
"$tools/venv/bin/python" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["demo"]))' \
  >"$tools/demo.in"
"$tools/venv/bin/uv" pip compile "$tools/demo.in" --constraint requirements.lock --generate-hashes \
  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu --no-annotate \
  --custom-compile-command "bash scripts/lock.sh" --output-file requirements-demo.lock
