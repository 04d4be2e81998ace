"""The import layers, read from the source's AST: imports only ever point down.

`sla/` is the pure SLA core and imports nothing from `monitor/`. Inside `monitor/`, each
part is a folder (or, at the top, one module), and a part imports only from lower layers:

0. foundations: `errors`, `text` (secrets redacted, operator text escaped);
1. `config` (the validated config models), `outputs` (where commands write: `-o FILE` and
   the status site's folder);
2. `probing` (one request of one target -> a ProbeResult, the schedule that runs them);
3. what describes results: `metrics` (metric names and collectors), `migrations` (the
   schema's revisions);
4. the parts that keep or publish them: `store` (the database, the writer, rollups, CSV
   import and export), `integrations` (Prometheus rules, Grafana dashboards, Alertmanager
   silences);
5. `reports` (the bridge from config and store to the SLA engine, and its files),
   `promises` (the checks of promises beyond uptime, the webhook receivers, their report);
6. what reads through reports: `status` (the status site and what it knows now);
7. `notify` (Slack and email), which announces what the status page knows (its incidents
   and maintenance) and the reports' monthly statements;
8. what serves the public beside the page: `subscriptions` (the subscription service);
9. the running monitor: `service`;
10. the command line: `cli`;
11. what runs it: `__main__`, and the package itself.

A new folder or module under `monitor/` gets a line in LAYERS below (the test names it
until it has one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS = {
    "errors": 0,
    "text": 0,
    "config": 1,
    "outputs": 1,
    "probing": 2,
    "metrics": 3,
    "migrations": 3,
    "store": 4,
    "integrations": 4,
    "reports": 5,
    "promises": 5,
    "status": 6,
    "notify": 7,
    "subscriptions": 8,
    "service": 9,
    "cli": 10,
    "__main__": 11,
    "__init__": 11,
}


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported(path: Path) -> Iterator[str]:
    """Every absolute module name the file imports; `from a import b` yields `a.b` too,
    since b may be a module (an unknown `a.b` is harmless: it maps to a's layer)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                base = module_name(path).split(".")[: -node.level]
                module = ".".join([*base, node.module])
            else:
                module = node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def component(module: str) -> str | None:
    """The part of `monitor` a module name belongs to: `monitor.store.sqlite` -> `store`."""
    parts = module.split(".")
    if parts[0] != "monitor":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def monitor_components() -> set[str]:
    return {component(module_name(path)) or "" for path in sources("monitor")}


def test_every_monitor_module_has_a_layer() -> None:
    missing = sorted(monitor_components() - LAYERS.keys())
    assert not missing, f"add these modules of monitor/ to LAYERS in {__file__}: {missing}"


def test_the_sla_core_imports_nothing_from_the_monitor() -> None:
    offences = [
        f"{module_name(path)} imports {name}"
        for path in sources("sla")
        for name in imported(path)
        if name == "monitor" or name.startswith("monitor.")
    ]
    assert offences == []


@pytest.mark.parametrize("path", sources("monitor"), ids=module_name)
def test_a_monitor_module_imports_only_lower_layers(path: Path) -> None:
    own = component(module_name(path))
    assert own is not None
    offences = []
    for name in imported(path):
        other = component(name)
        if other is None or other == own:
            continue
        if other == "__init__":  # `from monitor import __version__`
            continue
        if other not in LAYERS or own not in LAYERS:
            continue  # reported by test_every_monitor_module_has_a_layer
        if LAYERS[other] >= LAYERS[own]:
            offences.append(f"{name} (layer {LAYERS[other]})")
    assert offences == [], f"{module_name(path)} is in layer {LAYERS.get(own)}"


SQL_HOMES = ("store", "migrations")  # the tables and their revisions


def test_sql_lives_only_in_the_store() -> None:
    """Only the store (and the schema's revisions) talk to the database: nothing else imports
    SQLAlchemy's statements, connections or engines (config parses URLs with `make_url`)."""
    allowed = {
        "sqlalchemy.engine",
        "sqlalchemy.engine.make_url",
        "sqlalchemy.exc",
        "sqlalchemy.exc.ArgumentError",
    }
    offences = [
        f"{module_name(path)} imports {name}"
        for path in sources("monitor")
        if component(module_name(path)) not in SQL_HOMES
        for name in imported(path)
        if name.split(".")[0] in {"sqlalchemy", "sqlmodel"} and name not in allowed
    ]
    assert offences == []
