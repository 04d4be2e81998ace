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
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.distribution import download_wheels, fresh_copy

NOBODY = 65534
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

# Runs as the unprivileged user inside the namespace: the demo in its own process group,
# /metrics polled until every demo target has a probe over both families, then Ctrl-C.
WATCH = r"""
set -m
id -u
bash scripts/demo.sh > demo.log 2>&1 &
demo=$!
metrics=""
for _ in $(seq 300); do
  metrics=$(python3 - <<'PY' 2>/dev/null
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=2).read().decode())
PY
) || true
  n=$(printf '%s\n' "$metrics" | grep -c '^probe_success{' || true)
  [ "$n" -ge 6 ] && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
status=""
for _ in $(seq 120); do
  status=$(python3 - <<'PY' 2>/dev/null
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:8080/api/v2/components.json", timeout=2).read().decode())
PY
) && break
  kill -0 $demo 2>/dev/null || break
  sleep 0.5
done
kill -INT -- -$demo 2>/dev/null || true
wait $demo || true
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
        timeout=600,
        check=False,
    )
    log = (clone / "demo.log").read_text() if (clone / "demo.log").exists() else ""
    assert result.returncode == 0, result.stderr + log
    uid, _, rest = result.stdout.partition("\n")
    metrics, _, status = rest.partition("--- components.json\n")
    assert uid == str(NOBODY)
    assert "metrics:  http://127.0.0.1:9464/metrics" in log
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
