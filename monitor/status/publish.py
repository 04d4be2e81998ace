"""Writing the site: `status build` fills a folder once; `run` swaps in a new one each refresh.

A reader never sees a half-written site. `build_into` writes a staging folder and renames
it into place. `publish` writes each refresh into a new folder under `output_dir` and
repoints the symlink `output_dir/current` at it with rename(2); older folders go after.

Incident pages are thousands of files that a refresh almost never changes; linking each
into every new folder would cost more than the rest of the refresh. They live in a folder
of their own, `output_dir/incidents-*`, that the site's `incidents` symlink points at: a
refresh whose incident pages are the same points its new site at the same folder; one
where any changed writes a new folder (unchanged pages hard-linked from the old one)
before the site that links to it exists. No folder a published site points at is ever
changed, and each is removed only once no site points at it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from monitor.errors import InputError

SHARED = "incidents/"  # the pages kept in a folder shared by successive sites


@dataclass(frozen=True)
class Published:
    """A site `publish` wrote: its folder and files, and the incident pages' folder."""

    folder: Path
    files: dict[str, bytes]  # every file of the site, the shared ones included
    own: dict[str, bytes] = field(default_factory=dict)  # those in `folder` itself
    shared: Path | None = None  # where `folder/incidents` points
    shared_files: dict[str, bytes] = field(default_factory=dict)  # by path in `shared`


def _write_tree(
    files: dict[str, bytes], directory: Path, previous: tuple[Path, dict[str, bytes]] | None
) -> None:
    """A file the same as in `previous` (folder, files) is hard-linked to it, not written
    again.

    Paths as strings (thousands of files a refresh: pathlib would cost more than the
    writing); folders 0755 and files 0644, as a web server runs as its own user.
    """
    root = str(directory)
    folders = {""}  # every folder of the site, parents included, whatever the umask
    for name in files:
        folder = os.path.dirname(name)
        while folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)
    for folder in sorted(folders):
        path = os.path.join(root, folder)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
    old_root, old_files = (str(previous[0]), previous[1]) if previous else ("", {})
    for name, content in files.items():
        path = os.path.join(root, name)
        if old_files.get(name) == content:
            with contextlib.suppress(OSError):  # gone or another file system: write it
                os.link(os.path.join(old_root, name), path)
                continue
        with open(path, "wb") as out:
            out.write(content)
        os.chmod(path, 0o644)


def build_into(files: dict[str, bytes], directory: Path) -> None:
    """`status build -o DIR`: DIR ends up holding exactly the site, or is left as it was."""
    directory = directory.absolute()
    parent = directory.parent
    staging = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
        _write_tree(files, staging, None)
        if directory.exists() and not directory.is_dir():
            raise InputError(f"{directory}: cannot write the site: not a directory")
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=parent))
            os.replace(directory, old / "site")
        os.replace(staging, directory)
        staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise InputError(f"{directory}: cannot write the site: {exc.strerror or exc}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def publish(
    files: dict[str, bytes], output_dir: Path, now: datetime, previous: Published | None = None
) -> Published:
    """Write a new folder under output_dir, repoint `current` at it, remove older ones.

    The symlink is replaced with rename(2), atomic: a web server serving
    `output_dir/current` sees the old site or the new one, never a mix. Files unchanged
    since `previous` (most badges) are hard links to its copies, which outlive its folder.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    own: dict[str, bytes] = {}
    pages: dict[str, bytes] = {}
    cut = len(SHARED)
    for name, content in files.items():
        if name.startswith(SHARED):
            pages[name[cut:]] = content
        else:
            own[name] = content
    made = []
    try:
        shared = previous.shared if previous is not None else None
        if shared is None or previous is None or previous.shared_files != pages:
            shared = Path(tempfile.mkdtemp(prefix="incidents-", dir=output_dir))
            made.append(shared)
            before = (
                (previous.shared, previous.shared_files) if previous and previous.shared else None
            )
            _write_tree(pages, shared, before)
        stamp = now.strftime("%Y%m%dT%H%M%S")
        folder = Path(tempfile.mkdtemp(prefix=f"site-{stamp}-", dir=output_dir))
        made.append(folder)
        _write_tree(own, folder, (previous.folder, previous.own) if previous else None)
        os.symlink(os.path.join("..", shared.name), os.path.join(folder, SHARED.rstrip("/")))
        link = output_dir / f".current-{folder.name}"
        os.symlink(folder.name, link)
        os.replace(link, output_dir / "current")
    except BaseException:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        raise
    for old in (*output_dir.glob("site-*"), *output_dir.glob("incidents-*")):
        if old not in (folder, shared):
            shutil.rmtree(old, ignore_errors=True)
    for stale in output_dir.glob(".current-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    return Published(folder, files, own, shared, pages)
