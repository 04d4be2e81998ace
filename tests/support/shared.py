"""What the processes of one test run share when pytest-xdist runs the suite in parallel.

`scripts/test.sh` runs the suite in several worker processes (`pytest -n N`). A session
fixture runs once per worker, so one that downloads wheels or starts a server would run N
times. These helpers make such a thing once per run instead: the first worker to need it
makes it while holding a lock, the others wait and reuse it. Without xdist (a plain `pytest`)
the run has one process and they behave the same.

The folder they share is pytest's base temporary folder of the run: xdist gives each worker
its own folder inside the controller's (`.../pytest-N/popen-gw0`), so the parent of a worker's
folder is the run's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def worker_id(config: pytest.Config) -> str | None:
    """The xdist worker's name ("gw0", ...), or None in the controller or a plain run."""
    workerinput = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput["workerid"])


def run_dir(factory: pytest.TempPathFactory, config: pytest.Config) -> Path:
    """The folder every process of this run sees: the run's base temporary folder."""
    base = factory.getbasetemp()
    return base.parent if worker_id(config) is not None else base


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (made if missing) across processes, until the block ends."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def made_once(folder: Path, make: Callable[[Path], object]) -> Path:
    """`folder`, filled by `make(folder)` by the first process that asks; the others wait for
    it to finish and reuse it. A `make` that failed leaves no mark: the next caller tries again."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    done = folder.with_name(f".{folder.name}.done")
    with locked(folder.with_name(f".{folder.name}.lock")):
        if not done.exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            done.touch()
    return folder


def workers_planned() -> int:
    """How many xdist workers this run has (1 without xdist): PYTEST_XDIST_WORKER_COUNT."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
