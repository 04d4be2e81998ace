"""Real Prometheus, Alertmanager and a stand-in Slack for the tests, all on loopback.

Each server runs from Debian's binaries in a temporary directory, on a free port of
127.0.0.1, and is stopped (SIGTERM) when its `with` block ends. The test configs are made
from the committed ones (prometheus/prometheus.yml, alertmanager/alertmanager.yml) with
only addresses, timings and the secret Slack URL replaced, so what is tested is what ships.

    with SlackReceiver() as slack, Alertmanager(alertmanager_config(slack.url), tmp) as am:
        ...
        slack.wait_for(lambda message: "ipv6" in slack_text(message))
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from monitor.config import Config, load_config
from support.commands import COMMAND_PATIENCE
from support.processes import PATIENCE, SCRAPE_TIMEOUT, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_YML = ROOT / "prometheus" / "prometheus.yml"
RULES_YML = ROOT / "prometheus" / "rules.yml"
ALERTMANAGER_YML = ROOT / "alertmanager" / "alertmanager.yml"
TEMPLATES = ROOT / "alertmanager" / "templates"


def binary(*names: str) -> str | None:
    """The first of `names` on PATH (Debian calls Alertmanager prometheus-alertmanager)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


PROMTOOL = binary("promtool")
AMTOOL = binary("amtool")
PROMETHEUS = binary("prometheus")
ALERTMANAGER = binary("alertmanager", "prometheus-alertmanager")


def demo_config() -> Config:
    """The demo config has every kind of alert (both families, a TLS minimum, two SLOs).

    Its ca_file is written by the demo API when it starts: an empty stand-in is enough here.
    """
    with tempfile.TemporaryDirectory() as tmp:
        ca_file, config = Path(tmp) / "ca.pem", Path(tmp) / "demo.yaml"
        ca_file.touch()
        demo = (ROOT / "examples" / "demo.yaml").read_text(encoding="utf-8")
        config.write_text(demo.replace("../demo-data/ca.pem", str(ca_file)), encoding="utf-8")
        return load_config(config, environ={"OUTFAME_API_KEY": "unused"})


def generate_monitoring(out: Path) -> Path:
    """Run scripts/generate-monitoring.sh into `out`: what the committed files must equal."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "generate-monitoring.sh"), str(out)],
        env={"PATH": os.environ["PATH"], "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def run_tool(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool or amtool; the caller asserts on returncode and shows stdout + stderr.
    `promtool test rules` evaluates weeks of samples: tens of seconds of CPU on a quiet
    machine, minutes on a busy one."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=5 * PATIENCE, cwd=cwd, check=False
    )


# --- test variants of the committed configs -------------------------------------------------


def prometheus_config(
    *, scrape: str, alertmanager: str, rules: Path, interval: str = "1s"
) -> dict[str, Any]:
    """prometheus.yml with the monitor and Alertmanager at these loopback addresses."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [scrape]}]
    return config


def alertmanager_config(slack_url: str, timing: str = "1s") -> dict[str, Any]:
    """alertmanager.yml with every Slack receiver posting to `slack_url` and short timings."""
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    config["templates"] = [str(TEMPLATES / "*.tmpl")]

    def shorten(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = timing
        for child in route.get("routes", ()):
            shorten(child)

    shorten(config["route"])
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", ()):
            del slack["api_url_file"]
            slack["api_url"] = slack_url
    return config


# --- servers ---------------------------------------------------------------------------------


class _Server:
    """A server binary in the background with its own directory, port and log."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.log = self.workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=SCRAPE_TIMEOUT)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> _Server:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(self._ready)
        except AssertionError:
            self.stop()
            raise AssertionError(f"{self.name} did not start:\n{self.output()}") from None
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.output()}")
        try:
            return self.http.get("/-/ready").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.http.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> _Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Prometheus(_Server):
    name = "prometheus"

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        super().__init__(workdir)
        self.config_file = self.workdir / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    def argv(self) -> list[str]:
        assert PROMETHEUS is not None
        return [
            PROMETHEUS,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={self.address}",
            f"--web.external-url={self.url}",  # links in alerts point to loopback too
            "--rules.alert.resend-delay=1s",
            "--log.level=warn",
        ]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; raises on a PromQL error (a broken expression fails the test)."""
        response = self.http.get("/api/v1/query", params={"query": expr})
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"query failed: {expr}\n{body.get('error')}")
        result = body["data"]["result"]
        return result if isinstance(result, list) else [result]

    def alerts(self) -> list[dict[str, Any]]:
        return self.http.get("/api/v1/alerts").json()["data"]["alerts"]


class Alertmanager(_Server):
    name = "alertmanager"

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        super().__init__(workdir)
        self.config_file = self.workdir / "alertmanager.yml"
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    def argv(self) -> list[str]:
        assert ALERTMANAGER is not None
        return [
            ALERTMANAGER,
            f"--config.file={self.config_file}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address={self.address}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    def silences(self) -> list[dict[str, Any]]:
        return self.http.get("/api/v2/silences").json()

    def post_alerts(self, *alerts: dict[str, str]) -> None:
        """Fire alerts with these labels, as Prometheus would."""
        response = self.http.post("/api/v2/alerts", json=[{"labels": a} for a in alerts])
        response.raise_for_status()

    def alerts(self) -> list[dict[str, Any]]:
        return self.http.get("/api/v2/alerts").json()


# --- a stand-in for Slack's incoming webhooks ----------------------------------------------


class SlackReceiver:
    """An HTTP server on 127.0.0.1 that records every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.messages.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/slack/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float = PATIENCE
    ) -> dict[str, Any]:
        """The first message (old or new) that `matches`, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received():
                if matches(message):
                    return message
            time.sleep(0.2)
        shown = json.dumps(self.received(), indent=1)[-4000:]
        raise AssertionError(f"no matching Slack message within {timeout} s; got:\n{shown}")


def slack_text(message: dict[str, Any]) -> str:
    """What a person reads in a Slack message: title and text of every attachment."""
    return "\n".join(
        f"{a.get('title', '')}\n{a.get('text', '')}" for a in message.get("attachments", ())
    )


def iter_exprs(value: Any) -> Iterator[str]:
    """Every `expr` in a nested structure (a dashboard's panels and their targets)."""
    if isinstance(value, dict):
        if isinstance(value.get("expr"), str):
            yield value["expr"]
        for child in value.values():
            yield from iter_exprs(child)
    elif isinstance(value, list):
        for child in value:
            yield from iter_exprs(child)
