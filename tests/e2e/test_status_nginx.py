"""deploy/nginx/status.conf on Debian's nginx, serving the site while `run` swaps it.

The compose stack's web server cannot be pulled here; the same server block runs on the
system's nginx (root and port pointed at the test's folder), and a client reads the site
as fast as it can while the monitor rewrites it several times a second: no request fails
and every file read is whole.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from support.https import Route
from support.lab import lab_config, target_yaml
from support.nginx import NGINX, running_nginx
from support.processes import SCRAPE_TIMEOUT, Monitor, free_port, wait_for

READ_FOR = 8.0  # seconds of reading while the site is swapped underneath


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (scripts/setup.sh)")
def test_nginx_serves_every_request_whole_while_run_swaps_the_site(https_server, tmp_path: Path):
    api = https_server(routes={"/health": Route()})
    site = tmp_path / "status"
    config = lab_config(
        tmp_path,
        [target_yaml("api", api.url("/health"))],
        ca_file=api.ca_file,
        metrics="sla_refresh: 1h",
        timeout="1s",
        extra=f"status_page: {{output_dir: {site}, refresh: 0.2s, history_days: 1}}\n",
    ).config
    port = free_port()
    monitor = Monitor(config)
    failures: list[str] = []
    versions: set[str] = set()
    reads = 0
    try:
        wait_for((site / "current" / "index.html").exists)
        with (
            running_nginx(tmp_path, site, port),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=SCRAPE_TIMEOUT) as client,
        ):
            wait_for(lambda: client.get("/api/v2/status.json").status_code == 200)
            deadline = time.monotonic() + READ_FOR
            while time.monotonic() < deadline:
                for path in (
                    "/",
                    "/api/v2/summary.json",
                    "/live.json",
                    "/status.css",
                    "/history.atom",
                ):
                    response = client.get(path)
                    reads += 1
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code}")
                    elif path == "/api/v2/summary.json":
                        json.loads(response.text)  # whole, or this raises
                    elif path == "/live.json":
                        # When the site was generated: page.updated_at moves only when
                        # what the page says does.
                        versions.add(json.loads(response.text)["updated_at"])
                    elif path == "/" and not response.text.rstrip().endswith("</html>"):
                        failures.append("/: cut short")
            headers = client.get("/api/v2/summary.json").headers
            page_headers = client.get("/").headers
            assert client.post("/api/v2/summary.json").status_code == 403
    finally:
        assert monitor.stop() == 0, monitor.output()
    assert failures == []
    assert reads > 100
    assert len(versions) >= 3, versions  # the site was swapped while being read
    assert headers["content-type"].startswith("application/json")
    assert headers["access-control-allow-origin"] == "*"
    assert "default-src 'none'" in page_headers["content-security-policy"]
    assert page_headers["content-type"] == "text/html; charset=utf-8"
