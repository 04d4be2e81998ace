"""The compose stack's nginx server block (deploy/nginx/status.conf) on this machine's nginx.

The stack's web server cannot be pulled here; the same server block runs on Debian's
nginx with its root pointed at the test's site folder, loopback ports, and the
subscription service's upstream (`uptime-sla:8081` in the stack) on a local port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from support.processes import SCRAPE_TIMEOUT, wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVER_BLOCK = ROOT / "deploy" / "nginx" / "status.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(tmp_path: Path, site: Path, port: int, service_port: int = 9) -> Path:
    """nginx.conf for the server block: `site`'s `current` on 127.0.0.1 and [::1] `port`,
    /subscriptions/ proxied to 127.0.0.1 `service_port`."""
    block = SERVER_BLOCK.read_text()
    block = block.replace("root /srv/status/current;", f"root {site}/current;")
    block = re.sub(r"listen 8080;", f"listen 127.0.0.1:{port};", block)
    block = re.sub(r"listen \[::\]:8080;", f"listen [::1]:{port};", block)
    block = block.replace("http://uptime-sla:8081", f"http://127.0.0.1:{service_port}")
    (tmp_path / "status.conf").write_text(block)
    config = tmp_path / "nginx.conf"
    temp = tmp_path / "nginx-temp"
    temp.mkdir(exist_ok=True)
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


@contextmanager
def running_nginx(
    tmp_path: Path, site: Path, port: int, service_port: int = 9
) -> Iterator[subprocess.Popen[bytes]]:
    """nginx with the server block until the block ends (answering once it is up)."""
    process = subprocess.Popen(
        [NGINX, "-c", str(nginx_config(tmp_path, site, port, service_port)), "-p", str(tmp_path)],
        stderr=subprocess.PIPE,
    )
    try:

        def answers() -> bool:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=SCRAPE_TIMEOUT)
            except httpx.HTTPError:
                return False
            return True

        wait_for(answers)
        yield process
    finally:
        process.terminate()
        process.wait(10)
