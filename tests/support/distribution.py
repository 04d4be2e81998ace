"""The project as a user gets it: a fresh copy of the tracked files, its locked wheels.

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


LOCKS = (ROOT / "requirements.lock", ROOT / "requirements-demo.lock")


def build_requirements() -> list[str]:
    """The build backend a source install of the project needs."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(pyproject["build-system"]["requires"])


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
    """The locked runtime and demo dependencies as wheels, hash-checked as scripts/demo.sh
    installs them, and the build backend (from pip's cache when it has them), so installs
    afterwards run with PIP_NO_INDEX=1 and no network. python: "3.11" for another
    interpreter than this one."""
    version = ["--python-version", python] if python else []
    download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(destination)]
    download += ["--only-binary", ":all:", *version]
    locked = [arg for lock in LOCKS for arg in ("-r", str(lock))]
    for extra in (["--require-hashes", "--no-deps", *locked], build_requirements()):
        subprocess.run([*download, *extra], check=True, capture_output=True, timeout=600)
    return destination
