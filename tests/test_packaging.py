"""The distribution: every imported library declared, one version, a wheel that works alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support.commands import COMMAND_PATIENCE
from support.distribution import ROOT, fresh_copy

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def imported(tree: ast.Module) -> set[str]:
    """The top-level names of every absolute import in the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def distributions(modules: set[str]) -> set[str]:
    """The installed distributions that provide these modules (stdlib and our own left out)."""
    provided = metadata.packages_distributions()
    # `_typeshed` is the type checker's view of the standard library (imported only under
    # TYPE_CHECKING): no distribution provides it at run time.
    stdlib = {*sys.stdlib_module_names, "_typeshed"}
    third_party = modules - stdlib - {"monitor", "sla", "__future__"}
    missing = {m for m in third_party if m not in provided}
    assert not missing, f"imported but not installed: {missing}"
    return {canonicalize_name(d) for m in third_party for d in provided[m]}


def declared(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def test_every_library_the_code_imports_is_declared() -> None:
    """Declared as a dependency or in an extra (grafana, postgres); that the core ones are
    enough to run is the wheel test's part."""
    modules = set().union(
        *(
            imported(ast.parse(path.read_text(), str(path)))
            for path in [*ROOT.glob("monitor/**/*.py"), *ROOT.glob("sla/**/*.py")]
        )
    )
    project = PYPROJECT["project"]
    allowed = declared(project["dependencies"]).union(
        *(declared(r) for name, r in project["optional-dependencies"].items() if name != "dev")
    )
    used = distributions(modules)
    assert used - allowed == set()
    assert {"h11", "sqlalchemy"} <= used  # imported directly, once missing from pyproject


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    """`python -m build` on a fresh copy of the tree (sdist, then the wheel from the sdist),
    offline: the build backend comes from the wheelhouse."""
    source = fresh_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    result = subprocess.run(
        [sys.executable, "-m", "build", "-o", str(out), str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_build_makes_a_wheel_and_an_sdist_of_the_declared_version(dist: Path) -> None:
    assert sorted(p.name for p in dist.iterdir()) == [
        f"uptime_sla-{VERSION}-py3-none-any.whl",
        f"uptime_sla-{VERSION}.tar.gz",
    ]


def test_the_wheel_holds_every_file_of_the_packages(dist: Path) -> None:
    """Templates and static files of subpackages included (package-data patterns)."""
    tracked = subprocess.run(
        ["git", "ls-files", "monitor", "sla"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    (wheel,) = dist.glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert {name for name in tracked if (ROOT / name).is_file()} - shipped == set()


def test_the_wheel_installs_into_an_empty_venv_and_probes(
    dist: Path, wheelhouse: Path, https_server, tmp_path: Path
) -> None:
    home = tmp_path / "venv"
    venv.create(home, with_pip=True)
    (wheel,) = dist.glob("*.whl")
    install = subprocess.run(
        [home / "bin/pip", "install", "-q", "--no-index", "--find-links", wheelhouse, wheel],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    command = home / "bin/uptime-sla"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [command, *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=COMMAND_PATIENCE,
            check=False,
        )

    assert run("--version").stdout == f"uptime-sla {VERSION}\n"
    server = https_server()
    fields = server.target_fields("/health")
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        f"""\
location: wheel-test
storage: {{url: "sqlite:///{tmp_path / "sla.db"}"}}
targets:
  - name: api-health
    url: {fields["url"]}
    ca_file: {fields["ca_file"]}
    resolve: {{ipv4: ["127.0.0.1"], ipv6: ["::1"]}}
"""
    )
    probed = run("probe", "-c", str(config))
    assert probed.returncode == 0, probed.stderr
    rows = [line.split() for line in probed.stdout.splitlines()[1:]]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("api-health", "ipv4", "up"),
        ("api-health", "ipv6", "up"),
    ]
    assert {r.family for r in server.requests} == {"ipv4", "ipv6"}
    assert {r.headers["user-agent"] for r in server.requests} == {f"uptime-sla/{VERSION}"}
    where = subprocess.run(
        [home / "bin/python", "-c", "import monitor; print(monitor.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(home)), "the installed copy ran, not the source tree"
