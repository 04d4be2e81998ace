"""The import layers, read from the source's AST: imports only ever point down.

`sla/` is the pure SLA core and imports nothing from `monitor/`. Inside `monitor/`, each
module (a subpackage counts as one module, by its first name under `monitor`) belongs to a
layer and imports only from lower layers:

0. foundations: `errors`, `results` (the probe result and its reasons), `rollup` (the
   per-slice record format), `bodies` (Content-Encoding undone in bounded steps),
   `redact` (URLs without their secrets);
1. the vocabulary built on them: `config` (the validated config models), `metrics` (metric
   names and labels), `migrations` (the schema's revisions);
2. the parts: `store`, `probe` (the prober), `rules` (alerting and recording rules),
   `pdf` (HTML printed to PDF);
3. what combines parts: `reporting` (the bridge from store to the SLA engine), `scheduler`,
   `writer`, `dashboards`, `silences`, `importer`;
4. what reads through the bridge: `sla_gauges`; `export` (the store's probes in the
   importer's format);
5. the running monitor: `service`;
6. the command line: `cli`;
7. what runs it: `__main__`, and the package itself.

A new module or subpackage under `monitor/` gets a line in LAYERS below (the test names
it until it has one): status pages and notifications read through `reporting`, so they
sit in layer 4, next to `sla_gauges`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS = {
    "errors": 0,
    "results": 0,
    "rollup": 0,
    "bodies": 0,
    "redact": 0,
    "config": 1,
    "metrics": 1,
    "store": 2,
    "migrations": 1,
    "probe": 2,
    "rules": 2,
    "pdf": 2,
    "reporting": 3,
    "scheduler": 3,
    "writer": 3,
    "dashboards": 3,
    "silences": 3,
    "importer": 3,
    "sla_gauges": 4,
    "export": 4,
    "status": 4,
    "notify": 4,
    "service": 5,
    "cli": 6,
    "__main__": 7,
    "__init__": 7,
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
        if other == "__init__":  # `from monitor import metrics`: the module is named next
            continue
        if other not in LAYERS or own not in LAYERS:
            continue  # reported by test_every_monitor_module_has_a_layer
        if LAYERS[other] >= LAYERS[own]:
            offences.append(f"{name} (layer {LAYERS[other]})")
    assert offences == [], f"{module_name(path)} is in layer {LAYERS.get(own)}"
