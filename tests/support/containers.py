"""Podman for the container tests, kept apart from the machine's own containers.

`Podman(workdir)` runs podman (as root) with its own storage, run and temp directories and its
own containers.conf and storage.conf, all under `workdir`: the images, containers and volumes
a test makes live there and nowhere else, and `close()` removes them with the directory.

The containers.conf holds what this kind of machine needs: runc (crun fails on cgroups v1
hybrid mode), cgroupfs, events in a file, and explicit ulimits no higher than the ones this
process has (podman's defaults of 1048576 cannot be raised to without CAP_SYS_RESOURCE).

`debian_base_tarball()` makes a minimal Debian root file system with python3 and venv with
mmdebstrap, cached under /var/tmp, so the image can be built without any image registry.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from support.shared import locked

DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3", "python3-venv", "ca-certificates")
CACHE_DIR = Path(os.environ.get("UPTIME_SLA_TEST_CACHE", "/var/tmp/uptime-sla-test-cache"))
CACHE_MAX_AGE = 14 * 86400  # then the tarball is made again, with the suite's updates
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def tool_path(name: str) -> str | None:
    """A command on PATH or next to this interpreter (the project's .venv/bin)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def podman_unavailable_reason() -> str | None:
    """Why the podman tests cannot run here, or None when they can."""
    if sys.platform != "linux":
        return "podman tests need Linux"
    if os.geteuid() != 0:
        return "podman tests run rootful podman and need root (scripts/setup.sh installs it on CI)"
    missing = [tool for tool in ("podman", "runc", "mmdebstrap") if tool_path(tool) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed: "
            "apt-get install podman buildah runc mmdebstrap (scripts/setup.sh does on CI)"
        )
    return None


def _ulimit(kind: int, name: str, cap: int) -> str:
    """`name=n:n` with n at most this process's hard limit (which the container cannot exceed)."""
    _soft, hard = resource.getrlimit(kind)
    value = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
    return f"{name}={value}:{value}"


class Podman:
    """Rootful podman with private storage under `workdir` (see the module docstring)."""

    def __init__(self, workdir: Path, log: Path | None = None) -> None:
        self.workdir = workdir
        self.log = log or workdir / "podman.log"
        self.commands: list[str] = []
        self.executable = tool_path("podman") or "podman"
        root, run, tmp = workdir / "storage", workdir / "run", workdir / "tmp"
        for path in (root, run, tmp, workdir / "networks"):
            path.mkdir(parents=True, exist_ok=True)
        ulimits = [
            _ulimit(resource.RLIMIT_NOFILE, "nofile", 4096),
            _ulimit(resource.RLIMIT_NPROC, "nproc", 4096),
        ]
        self.containers_conf = workdir / "containers.conf"
        self.containers_conf.write_text(
            "[containers]\n"
            f"default_ulimits = [{', '.join(_toml(u) for u in ulimits)}]\n"
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f"tmp_dir = {_toml(str(tmp))}\n"
            "[network]\n"
            f"network_config_dir = {_toml(str(workdir / 'networks'))}\n",
            encoding="utf-8",
        )
        self.storage_conf = workdir / "storage.conf"
        self.storage_conf.write_text(
            "[storage]\n"
            'driver = "overlay"\n'
            f"graphroot = {_toml(str(root))}\n"
            f"runroot = {_toml(str(run))}\n",
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(self.containers_conf),
            "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
        }

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run `podman ARGS`; output is captured and appended to the log file."""
        command = [self.executable, *args]
        self.commands.append(shlex.join(command))
        started = time.monotonic()
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        with self.log.open("a", encoding="utf-8") as log:
            log.write(
                f"$ {shlex.join(command)}  # rc={result.returncode}"
                f" {time.monotonic() - started:.1f}s\n{result.stdout}{result.stderr}\n"
            )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{shlex.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def close(self) -> None:
        """Remove every container, volume and image of this storage, then the storage itself."""
        for args in (
            ("rm", "--all", "--force", "--time", "0"),
            ("volume", "rm", "--all", "--force"),
            ("rmi", "--all", "--force"),
        ):
            with contextlib.suppress(Exception):
                self(*args, check=False, timeout=120)
        _unmount_below(self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unmount_below(directory: Path) -> None:
    """Unmount whatever is still mounted under `directory` (deepest first)."""
    prefix = str(directory.resolve()) + "/"
    with contextlib.suppress(OSError):
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for target in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)


def mmdebstrap_command(target: Path) -> list[str]:
    return [
        tool_path("mmdebstrap") or "mmdebstrap",
        "--quiet",
        "--variant=minbase",
        f"--include={','.join(DEBIAN_PACKAGES)}",
        DEBIAN_SUITE,
        str(target),
    ]


def debian_base_tarball(cache_dir: Path = CACHE_DIR, timeout: float = 900) -> Path:
    """The cached minbase tarball with python3 and venv, made with mmdebstrap when missing
    or older than CACHE_MAX_AGE. Concurrent callers wait for the one that makes it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(shlex.join(mmdebstrap_command(Path("-"))[1:]).encode()).hexdigest()[:12]
    tarball = cache_dir / f"debian-{DEBIAN_SUITE}-minbase-python3-{key}.tar"
    with locked(cache_dir / ".lock"):
        if tarball.exists() and time.time() - tarball.stat().st_mtime < CACHE_MAX_AGE:
            return tarball
        partial = cache_dir / f".partial-{tarball.name}"  # mmdebstrap picks tar from the name
        partial.unlink(missing_ok=True)
        try:
            result = subprocess.run(
                mmdebstrap_command(partial),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode != 0:
                raise AssertionError(
                    f"mmdebstrap exited {result.returncode}:\n{result.stderr[-4000:]}"
                )
            os.replace(partial, tarball)
        finally:
            partial.unlink(missing_ok=True)
        for old in cache_dir.glob(f"debian-{DEBIAN_SUITE}-minbase-python3-*.tar"):
            if old != tarball:
                old.unlink(missing_ok=True)
    return tarball


def build_volumes() -> Sequence[str]:
    """`--volume` options for RUN steps of a build: the host's CA bundle, so pip trusts what
    this machine trusts (an intercepting proxy's CA included). Nothing of it stays in the image."""
    if HOST_CA_BUNDLE.is_file():
        return ("--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro")
    return ()
