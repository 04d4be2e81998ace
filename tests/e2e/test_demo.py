"""`bash scripts/demo.sh` on a fresh copy, as an unprivileged user, with no network.

It must reach a serving /metrics and a served status page.

The demo runs in a network namespace of its own (loopback only) as uid 65534 with a clean
environment; pip installs from a wheelhouse this test downloads first. Inside, a watcher
waits for /metrics to show the demo API probed over both families and for the status page's
JSON to be served, then stops the demo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.distribution import LOCKS, ROOT, download_wheels, fresh_copy

NOBODY = 65534
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

# Runs as the unprivileged user inside the namespace. 8443 and 8080 are taken first, as on a
# developer's machine (before, the page died silently while the banner advertised it): the
# demo must find other ports and say which. Then /metrics is polled until every demo target
# has a probe over both families, a second demo.sh is started (it must refuse, and leave the
# first one's certificate), and the first gets Ctrl-C.
WATCH = r"""
set -m
id -u
python3 -c '
import socket, time
taken = []
for port in (8443, 8080):
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    taken.append(sock)
print("taken", flush=True)
time.sleep(600)
' > taken.log &
blocker=$!
for _ in $(seq 100); do grep -q taken taken.log 2>/dev/null && break; sleep 0.1; done
bash scripts/demo.sh > demo.log 2>&1 &
demo=$!
for _ in $(seq 1200); do  # up to 10 minutes: demo.sh installs the venv first
  grep -q '^  status:' demo.log 2>/dev/null && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
metrics_port=$(sed -n 's|^  metrics:  http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' demo.log)
status_port=$(sed -n 's|^  status:   http://127.0.0.1:\([0-9]*\)/ .*|\1|p' demo.log)
metrics=""
for _ in $(seq 300); do
  metrics=$(python3 - "$metrics_port" <<'PY' 2>/dev/null
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode())
PY
) || true
  n=$(printf '%s\n' "$metrics" | grep -c '^probe_success{' || true)
  [ "$n" -ge 6 ] && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
status=""
for _ in $(seq 120); do
  status=$(python3 - "$status_port" <<'PY' 2>/dev/null
import sys, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/api/v2/components.json"
print(urllib.request.urlopen(url, timeout=2).read().decode())
PY
) && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
bash scripts/demo.sh > demo2.log 2>&1
echo "second demo: $?" > second.log
[ -s demo-data/ca.pem ] && echo "certificate kept" >> second.log
kill -INT -- -$demo 2>/dev/null || true
wait $demo || true
kill $blocker 2>/dev/null || true
printf '%s\n' "$metrics"
printf '%s\n' "--- components.json" "$status"
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder the unprivileged user can reach (pytest's own tmp is root's, mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="uptime-sla-demo-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def system_python() -> tuple[str, str]:
    """The python3 a fresh machine's user has (not this test's venv, which lives under root)."""
    python = shutil.which("python3", path=SYSTEM_PATH)
    assert python, "no python3 on the system PATH"
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return python, version


@pytest.mark.slow
@pytest.mark.timeout(1500)  # the demo's own install is minutes of pip on a busy machine
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make the namespace and drop to 65534")
def test_demo_serves_metrics_as_nobody_without_network(workdir: Path) -> None:
    _, version = system_python()
    clone = fresh_copy(workdir / "clone")
    wheels = download_wheels(workdir / "wheels", python=version)
    home = workdir / "home"
    home.mkdir()
    for path in (workdir, *workdir.rglob("*")):
        os.lchown(path, NOBODY, NOBODY)
    environment = [
        f"HOME={home}",
        f"PATH={SYSTEM_PATH}",
        "PIP_NO_INDEX=1",
        f"PIP_FIND_LINKS={wheels}",
        "LANG=C.UTF-8",
    ]
    # loopback up in a new network namespace, then uid/gid 65534 and nothing inherited
    namespace = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    unprivileged = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    result = subprocess.run(
        [*namespace, *unprivileged, "--", "env", "-i", *environment, "bash", "-c", WATCH],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    log = (clone / "demo.log").read_text() if (clone / "demo.log").exists() else ""
    assert result.returncode == 0, result.stderr + log
    uid, _, rest = result.stdout.partition("\n")
    metrics, _, status = rest.partition("--- components.json\n")
    assert uid == str(NOBODY)
    assert "metrics:  http://127.0.0.1:9464/metrics" in log  # 9464 was free
    assert "status:   http://127.0.0.1:8080/" not in log  # 8080 and 8443 were taken
    assert "https://demo.outfame.test:8443" not in log
    assert (clone / "second.log").read_text() == "second demo: 1\ncertificate kept\n"
    second = (clone / "demo2.log").read_text()
    assert second.startswith("demo.sh: a demo already runs from this folder"), second
    assert second.count("\n") == 1, second
    success = {
        (sample.labels["target"], sample.labels["ip_family"]): sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "probe_success"
        for sample in family.samples
    }
    assert set(success) == {
        (target, family)
        for target in ("api-health", "api-flaky", "api-search")
        for family in ("ipv4", "ipv6")
    }, log
    assert success[("api-health", "ipv4")] == 1
    assert success[("api-health", "ipv6")] == 1
    page = json.loads(status)  # the status page, served while `run` rewrites it
    assert page["page"]["name"] == "Outfame API status (demo)"
    assert [c["name"] for c in page["components"]] == ["Public API", "Search API"]
    assert (clone / ".venv").stat().st_uid == NOBODY  # made by the demo, not by root


def pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", lock.read_text(), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def test_the_demo_installs_only_locked_hashed_packages() -> None:
    """demo.sh installs both locks with --require-hashes (as the Dockerfile does): the demo
    lock covers the demo extra, every entry hashed, and agrees with the main lock."""
    script = (ROOT / "scripts" / "demo.sh").read_text()
    assert "--require-hashes --no-deps -r requirements.lock -r requirements-demo.lock" in script
    main, demo = (pins(lock) for lock in LOCKS)
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["demo"]
    for requirement in extra:
        assert re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower() in demo
    assert all(main[name] == version for name, version in demo.items() if name in main)
    entries = re.split(r"\n(?=\S)", LOCKS[1].read_text())
    assert all("--hash=sha256:" in e for e in entries if e.strip() and not e.startswith("#"))
