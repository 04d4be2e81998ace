"""The documentation in docs/ and the README: links resolve, and it covers what the code has.

Every config key the models accept, every command the parser knows and every metric name
must appear in its reference page; real reports must validate against the JSON Schema; the
worked example's figures are what the tool computes today.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from support.commands import commands, uptime_sla

from monitor.cli import build_parser
from monitor.config import Config, ProbeSettings
from monitor.metrics import collectors as metrics
from monitor.metrics import promises as promise_metrics

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m[1]) for m in re.finditer(r"^#+\s+(.*)$", text, flags=re.M)}


def test_every_relative_link_resolves() -> None:
    checked = 0
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
            assert resolved.is_relative_to(ROOT), f"{page.relative_to(ROOT)}: {target} leaves"
            if anchor and resolved.suffix == ".md":
                assert anchor in anchors(resolved), f"{page.relative_to(ROOT)}: no #{anchor}"
            checked += 1
    assert checked >= 30


def test_the_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not link {page.name}"


def test_nothing_points_outside_the_repository() -> None:
    """Users get the repository, not the document it was built from: no path to it, and no
    a numbered section of it that a reader cannot open (the docs explain every rule themselves)."""
    outside = ["..", "/shared"]  # spelled in two parts so this file does not match itself
    spec = ["SLA-", "SPEC", "spec ", "section"]
    found = subprocess.run(
        [
            "git",
            "grep",
            "-n",
            "-i",
            "-F",
            "-e",
            "".join(outside),
            "-e",
            "/work" + outside[1],
            "-e",
            spec[0] + spec[1],
            "-e",
            spec[2] + spec[3],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""


def _models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models inside a field's type, with the path step each adds ("", "[]", ".NAME")."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    if origin is typing.Annotated:
        return _models(args[0])
    if origin in (typing.Union, types.UnionType):
        return [found for arg in args for found in _models(arg)]
    if origin in (tuple, list):
        return [("[]" + step, model) for step, model in _models(args[0])]
    if origin is dict:
        return [(".NAME" + step, model) for step, model in _models(args[1])]
    return []


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key path a config may hold, e.g. `targets[].name`, `plans.NAME.objective`."""
    keys = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        nested = _models(field.annotation)
        if not nested:
            keys.append(path)
        for step, inner in nested:
            keys.extend(config_keys(inner, f"{path}{step}."))
    return keys


def test_every_config_key_is_documented() -> None:
    reference = (DOCS / "configuration.md").read_text()
    documented = set(re.findall(r"`([^`\s]+)`", reference))
    shared = set(ProbeSettings.model_fields)
    keys = config_keys(Config)
    assert len(keys) > 80
    missing = [
        key
        for key in keys
        if key not in documented
        and not (
            key.startswith("targets[].")
            and key.split(".", 1)[1].split(".")[0] in shared  # promises.every too
            and f"defaults.{key.split('.', 1)[1]}" in documented
        )
    ]
    assert missing == [], "not in docs/configuration.md"


def test_every_command_is_in_the_cli_reference() -> None:
    reference = (DOCS / "cli.md").read_text()

    found = commands(build_parser())
    assert len(found) >= 10
    for words, _ in found:
        assert f"uptime-sla {' '.join(words)}" in reference, words
    for option in ("--version", "-c", "-v"):
        assert f"`{option}" in reference


def test_every_metric_is_in_the_metrics_page() -> None:
    page = (DOCS / "metrics-and-alerts.md").read_text()
    names = [
        value
        for module in (metrics, promise_metrics)
        for key, value in vars(module).items()
        if key.isupper() and isinstance(value, str) and value.startswith(("probe", "uptime_sla_"))
    ]
    assert len(names) >= 20
    assert [name for name in names if f"`{name}" not in page] == []


# --- the worked example and the report schema --------------------------------------------

EXAMPLE = DOCS / "examples" / "worked-month.yaml"


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example's database, made as docs/concepts.md says (history, import)."""
    where = tmp_path_factory.mktemp("worked")
    # A copy: the database is made beside the config, and the checkout must stay clean.
    shutil.copy(EXAMPLE, where / EXAMPLE.name)
    history = where / "history.csv"
    with history.open("w") as out:
        subprocess.run(
            [sys.executable, str(DOCS / "examples" / "make_history.py")], stdout=out, check=True
        )
    assert "161220 rows read, 161220 new probes stored" in run(where, "import", str(history))
    return where


def run(where: Path, *argv: str) -> str:
    result = uptime_sla("-c", str(where / EXAMPLE.name), *argv, cwd=where, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def json_blocks(page: Path) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", page.read_text(), re.S)]


def test_the_worked_example_shows_what_the_tool_computes(worked: Path) -> None:
    """Every value in the JSON excerpt of docs/concepts.md equals the real report's."""
    report = json.loads(run(worked, "report", "--month", "2026-02"))
    (excerpt,) = json_blocks(DOCS / "concepts.md")

    def contained(part: Any, whole: Any, where: str) -> None:
        if isinstance(part, dict):
            for key, value in part.items():
                assert key in whole, f"{where}.{key}"
                contained(value, whole[key], f"{where}.{key}")
        elif isinstance(part, list):
            assert len(part) == len(whole), where
            for i, (a, b) in enumerate(zip(part, whole, strict=True)):
                contained(a, b, f"{where}[{i}]")
        else:
            assert part == whole, where

    contained(excerpt, report, "report")


@pytest.mark.parametrize(
    "argv",
    [
        ["--month", "2026-02"],
        ["--month", "2026-02", "--customer", "globex"],
        ["--month", "2026-03"],
        ["--months", "2026-01..2026-02"],
    ],
    ids=["month", "statement", "empty month", "range"],
)
def test_real_reports_match_the_schema(worked: Path, argv: list[str]) -> None:
    schema = json.loads((DOCS / "report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    report = json.loads(run(worked, "report", *argv, "--format", "json"))
    jsonschema.Draft202012Validator(schema).validate(report)


def test_the_schema_rejects_a_report_with_an_undocumented_key(worked: Path) -> None:
    schema = json.loads((DOCS / "report.schema.json").read_text())
    report = json.loads(run(worked, "report", "--month", "2026-02"))
    report["contracts"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
