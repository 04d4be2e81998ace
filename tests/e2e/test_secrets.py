"""The API key in a target's header is sent to the API and nowhere else: not to the terminal,
the log (even at debug level), /metrics, the database, a report or an error message.

Every command runs as `python -m monitor`, so the logging set-up is the real one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.commands import VerboseMonitor, uptime_sla
from support.https import Route
from support.lab import lab_yaml, target_yaml, up_and_down
from support.processes import free_port, metrics_text, scrape, wait_for

SECRET = "sk_outfame_FAKE_9c41e7d2b8a35f06"  # a recognisable fake key
ENV = {"OUTFAME_API_KEY": SECRET}
TELLTALES = (SECRET, "9c41e7d2b8a35f06", "9c41e7d2")  # the key, or any recognisable piece
HEADER = "time,target,family,location,success,status_code,latency_ms,reason\n"
TARGETS = ("up", "down", "echo-status", "echo-body", "refused", "bad-header")


def assert_no_key(where: str, content: str | bytes) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
    for telltale in TELLTALES:
        assert telltale.encode() not in data, f"the API key leaked into {where}"


def assert_one_line_error(where: str, result) -> None:
    assert result.returncode == 2, (where, result.stdout, result.stderr)
    assert result.stderr.startswith("uptime-sla: error: "), (where, result.stderr)
    assert result.stderr.count("\n") == 1, (where, result.stderr)
    assert "Traceback" not in result.stderr


@dataclass
class Lab:
    tmp: Path
    server: object
    config: Path
    database: Path
    metrics_port: int

    def run(self, *args: str, config: Path | None = None):
        return uptime_sla("-c", str(config or self.config), *args, env=ENV, cwd=self.tmp)

    def run_all(self, *commands: tuple[str, ...]) -> list:
        """Independent commands two at a time (each is a Python start-up, mostly waiting)."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda args: self.run(*args), commands))

    def database_bytes(self) -> bytes:
        """The SQLite file and its WAL and shared-memory files: everything stored."""
        return b"".join(p.read_bytes() for p in sorted(self.tmp.glob(f"{self.database.name}*")))


PLANS = """\
plans: {pro: {objective: 99.9, credits: [{below: 99.9, percent: 10}]}}
contracts:
  - {customer: acme, plan: pro, service: api, monthly_fee: "100.00", start: 2026-01-01}
"""
HEADERS = 'headers: {Authorization: "Bearer ${OUTFAME_API_KEY}", X-Api-Key: "${OUTFAME_API_KEY}"}'


@pytest.fixture
def lab(https_server, tmp_path: Path) -> Lab:
    echo = f"invalid API key: Bearer {SECRET}"  # an API that quotes the key back
    server = https_server(
        routes={
            "/up": Route(),
            "/down": Route(status=503),
            "/echo-status": Route(
                status=401, body=echo, headers={"WWW-Authenticate": f'Bearer key="{SECRET}"'}
            ),
            "/echo-body": Route(body=echo),
        }
    )
    database = tmp_path / "uptime-sla.db"
    lab = Lab(tmp_path, server, tmp_path / "uptime-sla.yaml", database, free_port())
    lab.config.write_text(config_text(lab))
    return lab


def config_text(lab: Lab, url: str | None = None, extra: str = "", slice: str = "1s") -> str:
    server = lab.server
    return lab_yaml(
        url or f"sqlite:///{lab.database}",
        lab.metrics_port,
        [
            *up_and_down(server),
            target_yaml("echo-status", server.url("/echo-status"), service="api"),
            target_yaml(
                "echo-body",
                server.url("/echo-body"),
                service="api",
                body_contains='\'"status":"ok"\'',
            ),
            target_yaml("refused", f"https://api.test:{free_port()}/", service="api"),
            f"""\
            name: bad-header
            url: "{server.url("/up")}"
            service: api
            headers: {{Authorization: "Bearer ${{OUTFAME_API_KEY}}\\n"}}
            """,
        ],
        ca_file=server.ca_file,
        metrics="sla_refresh: 1s",
        defaults=[HEADERS],
        sla=f"slice: {slice}",
        extra=extra + PLANS,
    )


def assert_the_api_got_the_key(server) -> None:
    """The tests are live: the key really was configured and sent."""
    sent = [r.headers.get("authorization") for r in server.requests if r.path == "/up"]
    assert f"Bearer {SECRET}" in sent
    assert all(r.headers.get("x-api-key") == SECRET for r in server.requests)


def test_probe_tables_never_show_the_api_key_of_passing_or_failing_targets(lab: Lab):
    quiet, verbose = lab.run_all(("probe",), ("-v", "probe"))

    for name, result in (("probe", quiet), ("-v probe", verbose)):
        assert result.returncode == 1, result.stderr  # some targets fail, as they should
        assert_no_key(f"{name} stdout", result.stdout)
        assert_no_key(f"{name} stderr", result.stderr)
        table = result.stdout
        for target in TARGETS:
            assert target in table
        for outcome in ("up", "status", "body", "connect", "error"):
            assert f" {outcome} " in table, outcome
    assert_the_api_got_the_key(lab.server)


def series_labels(target: str, family: str) -> frozenset[tuple[str, str]]:
    return frozenset({"target": target, "ip_family": family, "location": "lab"}.items())


def test_a_running_monitor_never_logs_exports_or_stores_the_api_key(lab: Lab):
    monitor = VerboseMonitor(lab.config, env=ENV)

    def every_target_probed_twice() -> bool:
        samples = scrape(lab.metrics_port)
        return all(
            samples.get(("probe_total", series_labels(t, f)), 0) >= 2
            for t in TARGETS
            for f in ("ipv4", "ipv6")
        )

    try:
        wait_for(every_target_probed_twice)
        wait_for(lambda: "uptime_sla_availability_ratio{" in metrics_text(lab.metrics_port))
        metrics = metrics_text(lab.metrics_port)
    finally:
        exit_code = monitor.stop()
    log = monitor.output()
    assert exit_code == 0, log

    assert " DEBUG " in log  # -v really logged at debug level
    assert_no_key("the -v log", log)
    assert_no_key("/metrics", metrics)
    assert 'reason="status"' in metrics
    assert 'reason="connect"' in metrics
    assert_no_key("the database", lab.database_bytes())
    assert_the_api_got_the_key(lab.server)


def test_imports_and_reports_in_every_format_never_show_the_api_key(lab: Lab):
    lab.config.write_text(config_text(lab, slice="60s"))  # a whole month of 1 s slices is slow
    good = lab.tmp / "history.csv"
    good.write_text(
        HEADER
        + "2026-02-01T00:00:00Z,up,ipv4,lab,true,200,41.5,\n"
        + "2026-02-01T00:01:00Z,down,ipv6,lab,false,503,12,status\n"
    )
    # A row carrying the key, then a bad row: all rows or none, so the key is never stored.
    bad = lab.tmp / "bad.csv"
    bad.write_text(
        HEADER
        + f"2026-02-01T00:02:00Z,up,ipv4,{SECRET},true,200,41.5,\n"
        + f"2026-02-01T00:03:00Z,up,ipv4,lab,{SECRET},200,41.5,\n"
    )
    worse = lab.tmp / "worse.csv"
    worse.write_text(HEADER + f"{SECRET},up,ipv4,lab,true,200,1,\n")
    imported = lab.run("import", str(good))
    assert imported.returncode == 0, imported.stderr
    bad_import, worse_import = lab.run_all(("import", str(bad)), ("import", str(worse)))
    outputs = {"import": imported, "bad import": bad_import, "worse import": worse_import}
    assert_one_line_error("bad import", bad_import)
    assert f"{bad}:3: success" in bad_import.stderr
    assert_one_line_error("worse import", worse_import)
    assert f"{worse}:2: time" in worse_import.stderr

    formats = ("json", "csv", "md", "html")
    reports = lab.run_all(
        *(("report", "--month", "2026-02", "--format", f) for f in formats),
        ("report", "--month", "2026-02", "--format", "html", "-o", str(lab.tmp / "r.html")),
        ("report", "--month", "2026-02-31"),
    )
    for fmt, result in zip(formats, reports, strict=False):
        assert result.returncode == 0, result.stderr
        assert "acme" in result.stdout  # a real report, with the contract in it
        outputs[f"report --format {fmt}"] = result
    outputs["report -o"] = reports[4]
    assert reports[4].returncode == 0, reports[4].stderr
    assert_no_key("the report file", (lab.tmp / "r.html").read_text())
    assert_one_line_error("report with a bad month", reports[5])
    outputs["report with a bad month"] = reports[5]

    for name, result in outputs.items():
        assert_no_key(f"{name} stdout", result.stdout)
        assert_no_key(f"{name} stderr", result.stderr)
    assert_no_key("the database", lab.database_bytes())


KEY_REF = "${OUTFAME_API_KEY}"


def broken_configs(lab: Lab) -> dict[str, str]:
    """The lab's config with one error each; the key is in the headers throughout."""
    good = config_text(lab)
    edits = {
        "a typo elsewhere in the file": good.replace("slice: 1s", "slice: banana"),
        "an unknown key holding the key": good + f'authorisation: "Bearer {KEY_REF}"\n',
        "the key where an address belongs": good.replace(
            'ipv4: ["127.0.0.1"]', f'ipv4: ["{KEY_REF}"]'
        ),
        "the key where a number belongs": good.replace(
            "batch_interval: 0.2s", f'buffer_limit: "{KEY_REF}"'
        ),
        "the header as a list": good.replace(
            f'Authorization: "Bearer {KEY_REF}",', f'Authorization: ["Bearer {KEY_REF}"],'
        ),
        "the key as a target name": good.replace("name: up,", f'name: "Bearer {KEY_REF}",'),
        "the key in a plain-http URL": good.replace(
            f'url: "{lab.server.url("/down")}"', f'url: "http://{KEY_REF}.example/"'
        ),
        "the key where a TLS version belongs": good.replace(
            "  timeout: 2s\n", f'  timeout: 2s\n  tls_min_version: "{KEY_REF}"\n'
        ),
        "the key where a duration belongs": good.replace("interval: 1s", f'interval: "{KEY_REF}"'),
        "the key written into the file, then a YAML error on its line": good.replace(
            f'"Bearer {KEY_REF}",', f'"Bearer {SECRET}" oops,'
        ),
    }
    for name, text in edits.items():
        assert text != good, name
    return edits


def test_config_errors_never_quote_the_api_key(lab: Lab):
    commands: dict[str, tuple[str, ...]] = {}
    for i, (name, text) in enumerate(broken_configs(lab).items()):
        path = lab.tmp / f"broken-{i}.yaml"
        path.write_text(text)
        commands[name] = ("-c", str(path), "check-config")
    typo = commands["a typo elsewhere in the file"][1]
    commands["`-v run` with a typo elsewhere"] = ("-v", "-c", typo, "run")
    # The key as the database password, the database unreachable: the store's own error.
    postgres = lab.tmp / "postgres.yaml"
    postgres.write_text(
        config_text(lab, url=f"postgresql+psycopg://uptime:{KEY_REF}@127.0.0.1:{free_port()}/db")
    )
    commands["an unreachable database with the key as password"] = (
        "-c",
        str(postgres),
        "report",
        "--month",
        "2026-02",
    )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(
            zip(
                commands,
                pool.map(lambda a: uptime_sla(*a, env=ENV, cwd=lab.tmp), commands.values()),
                strict=True,
            )
        )

    for name, result in results.items():
        assert_one_line_error(name, result)
        assert result.stdout == "", name
        assert_no_key(f"{name}: stderr", result.stderr)
    assert "sla.slice" in results["a typo elsewhere in the file"].stderr
    assert (
        "invalid YAML"
        in results["the key written into the file, then a YAML error on its line"].stderr
    )
    assert "***" in results["an unreachable database with the key as password"].stderr


# --- passwords in URLs ---------------------------------------------------------------------------

DB_PASSWORD = "pg-FAKE-5b0e2c71d9"  # in the userinfo of storage.url
QUERY_PASSWORD = "pgq-FAKE-a47f13e6c8"  # in its ?password= (libpq reads both)
AM_PASSWORD = "am-FAKE-0d93b6e2f1"  # in the userinfo of alerting.alertmanager_url
PASSWORDS = (DB_PASSWORD, QUERY_PASSWORD, AM_PASSWORD)


def assert_no_password(where: str, content: str) -> None:
    for password in PASSWORDS:
        assert password not in content, f"a password leaked into {where}"


def with_passwords(url: str) -> str:
    """A database URL with a password in its userinfo and one as a query parameter (the
    test PostgreSQL trusts every local connection, so both are sent and ignored)."""
    scheme, _, rest = url.partition("://")
    user, _, address = rest.partition("@")
    return f"{scheme}://{user}:{DB_PASSWORD}@{address}?password={QUERY_PASSWORD}"


@pytest.mark.postgres
def test_database_and_alertmanager_passwords_never_reach_a_log_an_output_or_an_error(
    lab: Lab, postgres_server, tmp_path: Path
):
    from support.prom import ALERTMANAGER, Alertmanager, alertmanager_config

    if ALERTMANAGER is None:
        pytest.skip("Alertmanager (prometheus-alertmanager) is not installed")
    database = with_passwords(postgres_server.create_database(f"s_{free_port()}"))
    unreachable = with_passwords(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/db")

    def config(url: str, alertmanager: str, name: str, extra: str = "") -> Path:
        path = lab.tmp / name
        alerting = f'alerting: {{alertmanager_url: "{alertmanager}"}}\n'
        path.write_text(config_text(lab, url=url, extra=alerting + extra, slice="60s"))
        return path

    with Alertmanager(alertmanager_config("http://127.0.0.1:9/never"), tmp_path / "am") as am:
        am_url = am.url.replace("://", f"://admin:{AM_PASSWORD}@")
        am_gone = f"http://admin:{AM_PASSWORD}@127.0.0.1:{free_port()}"
        window = (
            "maintenance: [{start: 2099-01-01T00:00:00Z, end: 2099-01-01T01:00:00Z,"
            " targets: [up]}]\n"
        )
        good = config(database, am_url, "good.yaml", window)
        down = config(unreachable, am_gone, "down.yaml", window)
        typo = config(database, am_url, "typo.yaml", "unknown_key: 1\n")
        bad_port = config(database.replace(f":{postgres_server.port}/", ":port/"), am_url, "p.yaml")

        monitor = VerboseMonitor(good, env=ENV)
        try:
            wait_for(
                lambda: (
                    scrape(lab.metrics_port).get(("probe_total", series_labels("up", "ipv4")), 0)
                    >= 2
                )
            )
            metrics = metrics_text(lab.metrics_port)
        finally:
            exit_code = monitor.stop()
        history = lab.tmp / "history.csv"
        history.write_text(HEADER + "2026-02-01T00:00:00Z,up,ipv4,lab,true,200,41.5,\n")
        commands = {
            f"{name} with {which}": ("-c", str(path), *args)
            for which, path in (("the database up", good), ("everything down", down))
            for name, args in (
                ("check-config", ("check-config",)),
                ("report", ("report", "--month", "2026-02")),
                ("import", ("import", str(history))),
                ("silences sync", ("silences", "sync")),
                ("run", ("run",)) if path == down else ("-v probe", ("-v", "probe", "up")),
            )
        }
        commands["silences sync --alertmanager"] = (
            *("-c", str(down), "silences", "sync", "--alertmanager", am_url),
        )
        commands["check-config with an unknown key"] = ("-c", str(typo), "check-config")
        commands["check-config with a bad port"] = ("-c", str(bad_port), "check-config")
        # The first silences sync creates the window's silence, the others find it.
        first = {
            "silences sync with the database up": uptime_sla(
                *commands.pop("silences sync with the database up"), env=ENV, cwd=lab.tmp
            )
        }
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = pool.map(lambda a: uptime_sla(*a, env=ENV, cwd=lab.tmp), commands.values())
            runs = first | dict(zip(commands, done, strict=True))

    log = monitor.output()
    assert exit_code == 0, log
    assert "schema" in log  # the store did log about its database
    assert_no_password("the -v log of run", log)
    assert_no_password("/metrics", metrics)
    for name, result in runs.items():
        assert_no_password(f"{name}: stdout", result.stdout)
        assert_no_password(f"{name}: stderr", result.stderr)
        assert "Traceback" not in result.stderr, name
    for name in ("check-config", "report", "import", "silences sync"):
        result = runs[f"{name} with the database up"]
        assert result.returncode == 0, (name, result.stderr)
    assert "silences 1 created" in runs["silences sync with the database up"].stdout
    assert "admin:***@" in runs["silences sync with the database up"].stdout
    for name in ("report", "import", "silences sync", "run"):
        assert_one_line_error(name, runs[f"{name} with everything down"])
        assert "***" in runs[f"{name} with everything down"].stderr
    assert runs["silences sync --alertmanager"].returncode == 0
    assert "admin:***@" in runs["silences sync --alertmanager"].stdout
    assert_one_line_error("unknown key", runs["check-config with an unknown key"])
    assert_one_line_error("bad port", runs["check-config with a bad port"])
    assert "storage.url" in runs["check-config with a bad port"].stderr
