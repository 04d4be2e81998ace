"""The project as a user gets it: a fresh copy of the tracked files, its runtime wheels.

Tests that install uptime-sla somewhere new (a wheel into an empty venv, the demo as an
unprivileged user without network) start from these, never from the developer's tree or .venv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def runtime_requirements() -> list[str]:
    """pyproject's `dependencies` and the demo extra, and the build backend a source
    install needs."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    return [
        *pyproject["build-system"]["requires"],
        *project["dependencies"],
        *project["optional-dependencies"]["demo"],
    ]


def fresh_copy(destination: Path) -> Path:
    """What `git clone` of the current tree gives: tracked files only, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def download_wheels(destination: Path, python: str | None = None) -> Path:
    """The runtime dependencies as wheels (from pip's cache when it has them), so installs
    afterwards run with PIP_NO_INDEX=1 and no network. python: "3.11" for another
    interpreter than this one."""
    version = ["--python-version", python] if python else []
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "-d",
            str(destination),
            "--only-binary",
            ":all:",
            *version,
            *runtime_requirements(),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return destination
