"""`-o FILE` for every command (docs/cli.md, "Output files").

- `-o -` (or no `-o`) is standard output;
- a new path or an existing regular file is written beside it and renamed over it: a reader
  sees the old file or the new one, never half of one, and a failed write leaves the old one;
- a symlink is followed: its target is what gets replaced, the link stays;
- anything else that exists (`/dev/null`, a terminal, a FIFO) is opened and written in place,
  never replaced: renaming over a device as root breaks the machine for everyone.

The file written beside the target is hidden (`.NAME.PID.XXXXXXXX.partial`); an error or a
signal removes it, and one left by a killed process is removed by the next write to NAME.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from monitor.errors import InputError

STDOUT = "-"
_PARTIAL = ".partial"
_NAME_ROOM = 100  # of the target's name in the partial file's (names are at most 255 bytes)


def write_output(path: str | None, content: str | bytes, *, parents: bool = False) -> None:
    """Write `content` to `path` by the rules above (None or "-": standard output)."""
    with output(path, parents=parents) as handle:
        handle.write(content.encode() if isinstance(content, str) else content)


@contextlib.contextmanager
def output(
    path: str | None, *, parents: bool = False, new_mode: int | None = None
) -> Iterator[BinaryIO]:
    """A binary handle on standard output or on `path`; `parents`: create missing folders;
    `new_mode`: a new file's mode (personal data: 0600) instead of a shell's `>`'s."""
    if path is None or path == STDOUT:
        yield from _stdout()
        return
    if not path:
        raise InputError("-o: the path is empty (an unset variable?): give a file, or - for stdout")
    try:
        target = os.path.realpath(path)  # a symlink, or a chain of them: the file they name
        try:
            found = os.stat(target)
        except FileNotFoundError:
            found = None
        if found is not None and stat.S_ISDIR(found.st_mode):
            raise InputError(f"{path}: cannot write: is a directory")
        if found is not None and not stat.S_ISREG(found.st_mode):
            handle = open(target, "wb", buffering=0)  # noqa: SIM115 (closed below)
        else:
            if found is not None and not os.access(target, os.W_OK):
                raise InputError(f"{path}: cannot write: permission denied")
            handle = None
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if handle is not None:  # a device or a FIFO: written in place, as a shell's `>` does
        with _reported(path), handle:
            yield handle
        return
    with (
        _reported(path),
        _replacing(target, found, parents=parents, new_mode=new_mode) as replacement,
    ):
        yield replacement


def _stdout() -> Iterator[BinaryIO]:
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a text-only stdout (an embedding caller): text formats only
        collected = io.BytesIO()
        yield collected
        sys.stdout.write(collected.getvalue().decode())
        return
    yield binary
    binary.flush()


@contextlib.contextmanager
def _reported(path: str) -> Iterator[None]:
    """An OSError while writing `path` as the one-line InputError the command line shows."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # a FIFO's reader left: as on standard output
            raise
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _replacing(
    target: str, found: os.stat_result | None, *, parents: bool, new_mode: int | None = None
) -> Iterator[BinaryIO]:
    """A hidden file beside `target`, renamed over it once the caller has written all of it.

    The result keeps the mode (and, when allowed, the owner) of the file it replaces; a new
    file gets the mode a shell's `>` would give it (0666 less the umask).
    """
    folder, name = os.path.split(target)
    if parents:
        os.makedirs(folder, exist_ok=True)
    remove_leftovers(folder, name)
    fd, partial = tempfile.mkstemp(
        prefix=f".{name[:_NAME_ROOM]}.{os.getpid()}.", suffix=_PARTIAL, dir=folder
    )
    try:
        if found is None:
            os.fchmod(fd, 0o666 & ~umask() if new_mode is None else new_mode)
        else:
            os.fchmod(fd, stat.S_IMODE(found.st_mode))
            with contextlib.suppress(OSError):  # only root may give a file away
                os.fchown(fd, found.st_uid, found.st_gid)
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(partial, target)
    except BaseException:  # an error, Ctrl-C or SIGTERM (docs/cli.md): nothing left behind
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def remove_leftovers(folder: str, name: str) -> None:
    """Remove the partial files of writes to `name` whose process is gone (killed mid-write)."""
    prefix = f".{name[:_NAME_ROOM]}."
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return  # the write itself says what is wrong with the folder
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(_PARTIAL)):
            continue
        pid = entry[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def umask() -> int:
    """The process's umask, read without changing it (other threads may be creating files)."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii", errors="replace") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc (not Linux): the classic two calls
    os.umask(mask)
    return mask
