"""A new user's first hour: paths beside the config, a database folder made for them, and
no API key asked of a command that never probes.

Against the code before these rules, relative paths followed the working directory (the
CA bundle beside the config was "not a readable file" from anywhere else, the database
appeared wherever the command ran), a missing database folder gave SQLite's "unable to open
database file", and `report` refused to run without the API key of a probe header.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from support.commands import sqlite_rows
from support.project import write_project

from monitor.cli import main
from monitor.config import load_config

PATHS = """\
defaults: {ca_file: certs/ca.pem}
status_page: {output_dir: public/status}
reports: {dir: statements}
notifications:
  slack: [{name: ops, webhook_url_file: secrets/slack, events: [incident]}]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config whose every path is relative, and the files it names beside it."""
    config = write_project(tmp_path / "conf", PATHS, storage="sqlite:///data/sla.db")
    (tmp_path / "conf" / "certs").mkdir()
    (tmp_path / "conf" / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "conf" / "secrets").mkdir()
    (tmp_path / "conf" / "secrets" / "slack").write_text("https://hooks.example.test/T/B/x\n")
    return config


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commands run from another folder than the config's."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_relative_paths_name_files_beside_the_config(project: Path, elsewhere: Path) -> None:
    config = load_config(Path("..") / "conf" / "uptime-sla.yaml")
    beside = project.parent
    assert config.storage.url == f"sqlite:///{beside}/data/sla.db"
    assert config.targets[0].ca_file == f"{beside}/certs/ca.pem"
    assert config.status_page is not None
    assert config.status_page.output_dir == f"{beside}/public/status"
    assert config.reports.dir == f"{beside}/statements"
    assert config.notifications.slack[0].webhook_url_file == f"{beside}/secrets/slack"


def test_check_config_passes_from_any_folder(
    project: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-c", str(project), "check-config"]) == 0, capsys.readouterr().err


def test_the_default_database_is_beside_the_config_too(tmp_path: Path, elsewhere: Path) -> None:
    config = tmp_path / "conf" / "uptime-sla.yaml"
    config.parent.mkdir()
    config.write_text("targets: [{name: api, url: 'https://api.example.test/'}]\n")
    assert load_config(config).storage.url == f"sqlite:///{tmp_path}/conf/uptime-sla.db"


def test_migrate_import_and_run_make_the_database_folder_0750(
    project: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = project.parent / "data"
    assert main(["-c", str(project), "migrate"]) == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert (folder / "sla.db").is_file()
    assert list(elsewhere.iterdir()) == []
    (folder / "sla.db").unlink()
    folder.rmdir()
    history = elsewhere / "history.csv"
    history.write_text(
        "time,target,family,location,success,status_code,latency_ms,reason\n"
        "2026-02-01T00:00:00Z,api,ipv4,here,true,200,41.5,\n"
    )
    assert main(["-c", str(project), "import", str(history)]) == 0, capsys.readouterr().err
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert sqlite_rows(folder / "sla.db", "SELECT count(*) FROM probe_result") == [(1,)]


@pytest.mark.parametrize(
    "command",
    [("report",), ("export",), ("incident", "list"), ("status", "build", "-o", "site")],
    ids=lambda words: " ".join(words[:2]),
)
def test_a_reading_command_names_the_missing_database_and_creates_nothing(
    project: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    assert main(["-c", str(project), *command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"no database at {project.parent}/data/sla.db" in err
    assert not (project.parent / "data").exists()
    assert list(elsewhere.iterdir()) == []


def test_a_writing_command_says_the_database_folder_is_missing(
    project: Path, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`incident open` writes but does not set up storage: it says how to, not SQLite's
    "unable to open database file"."""
    argv = ["incident", "open", "--title", "t", "--impact", "minor", "--message", "m"]
    assert main(["-c", str(project), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"the folder {project.parent}/data of the SQLite database does not exist" in err
    assert "uptime-sla migrate" in err
    assert "unable to open" not in err


# --- ${VAR}s: each command needs only those it reads -------------------------------------

VARIABLES = """\
alerting: {alertmanager_url: "${AM_URL}"}
metrics: {listen: "${METRICS_LISTEN}"}
notifications:
  slack: [{name: ops, webhook_url: "${SLACK_WEBHOOK}", events: [incident]}]
  email:
    smtp: {host: "${SMTP_HOST}", username: "${SMTP_USER}", password_file: "${SMTP_PASSWORD_FILE}"}
    from: "${MAIL_FROM}"
    to: ["${MAIL_TO}"]
"""
UNSET = (
    "API_KEY", "API_HOST", "AM_URL", "METRICS_LISTEN", "SLACK_WEBHOOK", "SMTP_HOST",
    "SMTP_USER", "SMTP_PASSWORD_FILE", "MAIL_FROM", "MAIL_TO", "DB_FILE", "PAGE_TITLE",
)  # fmt: skip


@pytest.fixture
def unset_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose probes and notifications need variables that are not set."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    config = write_project(tmp_path / "conf", VARIABLES)
    text = config.read_text().replace(
        '{name: api, url: "https://api.example.test/health", service: api}',
        '{name: api, url: "https://${API_HOST}/health", service: api,'
        ' headers: {Authorization: "Bearer ${API_KEY}"}}',
    )
    config.write_text(text)
    return config


READERS = [
    ("migrate",),
    ("export",),
    ("status", "build", "-o", "site"),
    ("incident", "list"),
    ("incident", "open", "--title", "t", "--impact", "minor", "--message", "m"),
]


def test_commands_that_never_probe_nor_notify_need_none_of_those_variables(
    unset_variables: Path,
    elsewhere: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in READERS:
        code = main(["-c", str(unset_variables), *command])
        assert code == 0, (command, capsys.readouterr().err)
    history = elsewhere / "history.csv"
    history.write_text("time,target,family,location,success,status_code,latency_ms,reason\n")
    assert main(["-c", str(unset_variables), "import", str(history)]) == 0
    capsys.readouterr()
    assert main(["-c", str(unset_variables), "report", "--month", "2026-02"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in report["targets"]] == ["api"]


@pytest.mark.parametrize("command", [("check-config",), ("probe",), ("run",)])
def test_commands_that_probe_name_every_unset_variable(
    unset_variables: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    assert main(["-c", str(unset_variables), *command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "10 environment variables are not set" in err
    for name in set(UNSET) - {"DB_FILE", "PAGE_TITLE"}:
        assert f"{name} (line" in err


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ('storage: {url: "sqlite:///${DB_FILE}"}', "DB_FILE"),
        ('status_page: {title: "${PAGE_TITLE}"}', "PAGE_TITLE"),
    ],
)
def test_every_command_needs_the_variables_of_storage_and_the_status_page(
    unset_variables: Path, capsys: pytest.CaptureFixture[str], section: str, name: str
) -> None:
    text = unset_variables.read_text()
    if section.startswith("storage"):
        text = text.replace('storage: {url: "sqlite:///sla.db"}', section)
    else:
        text += section + "\n"
    unset_variables.write_text(text)
    assert main(["-c", str(unset_variables), "report"]) == 2
    err = capsys.readouterr().err
    assert f"environment variable {name} is not set" in err
