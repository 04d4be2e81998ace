"""deploy/nginx/status.conf on Debian's nginx, serving the site while `run` swaps it.

The compose stack's web server cannot be pulled here; the same server block runs on the
system's nginx (root and port pointed at the test's folder), and a client reads the site
as fast as it can while the monitor rewrites it several times a second: no request fails
and every file read is whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from support.https import Route
from support.processes import Monitor, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVER_BLOCK = ROOT / "deploy" / "nginx" / "status.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
READ_FOR = 8.0  # seconds of reading while the site is swapped underneath


def nginx_config(tmp_path: Path, site: Path, port: int) -> Path:
    block = SERVER_BLOCK.read_text()
    block = block.replace("root /srv/status/current;", f"root {site}/current;")
    block = re.sub(r"listen 8080;", f"listen 127.0.0.1:{port};", block)
    block = re.sub(r"listen \[::\]:8080;", f"listen [::1]:{port};", block)
    (tmp_path / "status.conf").write_text(block)
    config = tmp_path / "nginx.conf"
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the test's folders
    config.write_text(
        textwrap.dedent(f"""\
        {user}
        daemon off;
        worker_processes 1;
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/nginx-error.log;
        events {{ worker_connections 64; }}
        http {{
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log {tmp_path}/nginx-access.log;
            client_body_temp_path {temp}/body;
            proxy_temp_path {temp}/proxy;
            fastcgi_temp_path {temp}/fastcgi;
            uwsgi_temp_path {temp}/uwsgi;
            scgi_temp_path {temp}/scgi;
            include {tmp_path}/status.conf;
        }}
        """)
    )
    return config


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (scripts/setup.sh)")
def test_nginx_serves_every_request_whole_while_run_swaps_the_site(https_server, tmp_path: Path):
    api = https_server(routes={"/health": Route()})
    site = tmp_path / "status"
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{tmp_path / "uptime-sla.db"}", batch_interval: 0.2s}}
        metrics: {{listen: "127.0.0.1:{free_port()}", sla_refresh: 1h}}
        defaults: {{interval: 1s, timeout: 1s, ca_file: {api.ca_file},
                    resolve: {{ipv4: ["127.0.0.1"], ipv6: ["::1"]}}}}
        targets: [{{name: api, url: "{api.url("/health")}"}}]
        sla: {{slice: 1s}}
        status_page: {{output_dir: {site}, refresh: 0.2s, history_days: 1}}
        """)
    )
    port = free_port()
    monitor = Monitor(config)
    nginx = None
    failures: list[str] = []
    versions: set[str] = set()
    reads = 0
    try:
        wait_for((site / "current" / "index.html").exists)
        nginx = subprocess.Popen(
            [NGINX, "-c", str(nginx_config(tmp_path, site, port)), "-p", str(tmp_path)],
            stderr=subprocess.PIPE,
        )
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            wait_for(lambda: client.get("/api/v2/status.json").status_code == 200)
            deadline = time.monotonic() + READ_FOR
            while time.monotonic() < deadline:
                for path in ("/", "/api/v2/summary.json", "/status.css", "/history.atom"):
                    response = client.get(path)
                    reads += 1
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code}")
                    elif path == "/api/v2/summary.json":
                        versions.add(json.loads(response.text)["page"]["updated_at"])
                    elif path == "/" and not response.text.rstrip().endswith("</html>"):
                        failures.append("/: cut short")
            headers = client.get("/api/v2/summary.json").headers
            page_headers = client.get("/").headers
            assert client.post("/api/v2/summary.json").status_code == 403
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        assert monitor.stop() == 0, monitor.output()
    assert failures == []
    assert reads > 100
    assert len(versions) >= 3, versions  # the site was swapped while being read
    assert headers["content-type"].startswith("application/json")
    assert headers["access-control-allow-origin"] == "*"
    assert "default-src 'none'" in page_headers["content-security-policy"]
    assert page_headers["content-type"] == "text/html; charset=utf-8"
