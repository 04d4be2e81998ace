"""`status build` and `incident ...` as users type them: bad input is one line and exit 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from support.commands import uptime_sla

TARGETS = """\
targets:
  - {name: api-health, url: "https://api.test/health", service: public-api}
  - {name: api-search, url: "https://api.test/search", service: public-api}
"""


def write(tmp_path: Path, page: str) -> Path:
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        f'storage: {{url: "sqlite:///{tmp_path / "uptime-sla.db"}"}}\n'
        + TARGETS
        + textwrap.dedent(page)
    )
    return config


PAGE = """\
status_page:
  components:
    - {name: Public API, services: [public-api]}
"""


def fails(config: Path, *args: str) -> str:
    finished = uptime_sla("-c", str(config), *args)
    assert finished.returncode == 2, finished
    assert "Traceback" not in finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ("- {name: A, targets: [nope]}", "components[0].targets[0]: names an unknown target"),
        ("- {name: A, services: [nope]}", "components[0].services[0]: names an unknown service"),
        ("- {name: A, targets: [api-health]}\n    - {name: A, targets: [api-search]}",
         "components[1].name: repeats a name used earlier"),
        ("- {name: Public API, targets: [api-health]}\n    - {name: public-api, targets: [api-search]}",
         "components[1].name: has the same id 'public-api' as another"),
        ("- {name: A}", "components[0]: needs targets or services"),
    ],
)  # fmt: skip
def test_a_bad_component_is_a_config_error(tmp_path: Path, components: str, message: str):
    config = write(tmp_path, f"status_page:\n  components:\n    {components}\n")
    line = fails(config, "status", "build", "-o", str(tmp_path / "site"))
    assert f"status_page.{message}" in line
    assert str(config) in line
    assert not (tmp_path / "site").exists()
    assert not (tmp_path / "uptime-sla.db").exists()


def test_read_only_commands_never_create_a_database(tmp_path: Path):
    config = write(tmp_path, PAGE)
    for command in (["status", "build", "-o", str(tmp_path / "site")], ["incident", "list"]):
        assert "no database at" in fails(config, *command)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uptime-sla.yaml"]


def test_incidents_open_update_and_list_and_bad_ones_change_nothing(tmp_path: Path):
    config = write(tmp_path, PAGE)
    opened = uptime_sla(
        "-c", str(config), "incident", "open", "--title", "Slow search", "--impact", "minor",
        "--component", "Public API=major_outage", "--message", "Looking into it.",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    incident = opened.stdout.strip()
    assert len(incident) == 12

    assert "--impact" in fails(config, "incident", "open", "--title", "x", "--impact", "huge",
                               "--message", "m")  # fmt: skip
    assert "no status page component named 'Nope'" in fails(
        config, "incident", "open", "--title", "x", "--impact", "minor", "--component", "Nope",
        "--message", "m",
    )  # fmt: skip
    assert "'broken' is not one of degraded_performance, partial_outage" in fails(
        config, "incident", "open", "--title", "x", "--impact", "minor", "--component",
        "Public API=broken", "--message", "m",
    )  # fmt: skip
    assert "--status" in fails(config, "incident", "update", incident, "--status", "fixed",
                               "--message", "m")  # fmt: skip
    assert "no incident with id 'nope00000000'" in fails(
        config, "incident", "update", "nope00000000", "--status", "resolved", "--message", "m"
    )
    updated = uptime_sla("-c", str(config), "incident", "update", incident, "--status",
                         "identified", "--message", "Found it.")  # fmt: skip
    assert updated.returncode == 0, updated.stderr

    listed = uptime_sla("-c", str(config), "incident", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].split("\t")[:3] == [incident, "identified", "minor"]
    assert lines[0].endswith("Public API=major_outage\tSlow search")

    built = uptime_sla("-c", str(config), "status", "build", "-o", str(tmp_path / "site"))
    assert built.returncode == 0, built.stderr
    assert "Slow search" in (tmp_path / "site/index.html").read_text()
    assert "Found it." in (tmp_path / "site/api/v2/incidents/unresolved.json").read_text()
    summary = json.loads((tmp_path / "site/api/v2/summary.json").read_text())
    assert [c["status"] for c in summary["components"]] == ["major_outage"]  # set until resolved
    assert summary["status"]["indicator"] == "critical"  # every component (one) in major outage


def test_incident_list_shows_control_characters_escaped_on_one_line(tmp_path: Path):
    config = write(tmp_path, PAGE)
    title = "Slow\x1b[2J search\u202eevil\nBcc: x\x07"
    opened = uptime_sla(
        "-c", str(config), "incident", "open", "--title", title, "--impact", "minor",
        "--component", "Public API", "--message", "Looking\x1b]0;owned\x07 into it.",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    listed = uptime_sla("-c", str(config), "incident", "list")
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    assert line.endswith("\tPublic API\tSlow\\x1b[2J search\\u202eevil Bcc: x\\x07")
    assert line.replace("\t", " ").isprintable()  # tabs separate the columns
