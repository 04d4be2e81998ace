"""Writing the site: `status build` fills a folder once; `run` swaps in a new one each refresh.

A reader never sees a half-written site. `build_into` writes a staging folder and renames
it into place. `publish` writes each refresh into a new folder under `output_dir` and
repoints the symlink `output_dir/current` at it with rename(2); older folders go after.

Incident pages are thousands of files that a refresh rarely changes; linking each into
every new folder would cost more than the rest of the refresh. They live in a folder of
their own, `output_dir/incidents-*`, that the site's `incidents` symlink points at. A
refresh whose incident pages are the same points its new site at the same folder. One
where some changed brings the spare folder up to date (the one the site before last
pointed at, which no published site points at any more: its site was removed after the
last swap) by writing only the pages that differ, each renamed into place, and points
its new site there: the two folders take turns. No folder the published site points at
is ever changed.
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
from monitor.outputs.folders import MARKER, mark

SHARED = "incidents/"  # the pages kept in a folder shared by successive sites


@dataclass(frozen=True)
class Published:
    """A site `publish` wrote: its folder and files, and the incident pages' folder."""

    folder: Path
    files: dict[str, bytes]  # every file of the site, the shared ones included
    own: dict[str, bytes] = field(default_factory=dict)  # those in `folder` itself
    shared: Path | None = None  # where `folder/incidents` points
    shared_files: dict[str, bytes] = field(default_factory=dict)  # by path in `shared`
    spare: Path | None = None  # the other one, as the site before pointed at it
    spare_files: dict[str, bytes] = field(default_factory=dict)


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


def _update_tree(
    directory: Path,
    has: dict[str, bytes],
    wanted: dict[str, bytes],
    source: tuple[Path, dict[str, bytes]] | None,
) -> None:
    """Make `directory`, holding `has`, hold `wanted`: only differing files are touched,
    each written (or linked from `source`) under a temporary name and renamed over."""
    root = str(directory)
    for name in has.keys() - wanted.keys():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(root, name))
    src_root, src_files = (str(source[0]), source[1]) if source else ("", {})
    for name, content in wanted.items():
        if has.get(name) == content:
            continue
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        temporary = os.path.join(os.path.dirname(path), f".new-{os.path.basename(name)}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        try:
            if src_files.get(name) != content:
                raise OSError  # not there to link: write it
            os.link(os.path.join(src_root, name), temporary)
        except OSError:
            with open(temporary, "wb") as out:
                out.write(content)
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)


def build_into(files: dict[str, bytes], directory: Path) -> None:
    """`status build -o DIR`: DIR ends up holding exactly the site (and its marker), or is
    left as it was. The caller has checked that DIR may be replaced
    (`monitor.outputs.folders.site_folder`)."""
    directory = directory.absolute()
    parent = directory.parent
    staging = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
        _write_tree(files, staging, None)
        mark(staging)
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
    Both output_dir and each site carry the marker of a site this program wrote.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    if not (output_dir / MARKER).is_file():
        mark(output_dir)
    own: dict[str, bytes] = {}
    pages: dict[str, bytes] = {}
    cut = len(SHARED)
    for name, content in files.items():
        if name.startswith(SHARED):
            pages[name[cut:]] = content
        else:
            own[name] = content
    made: list[Path] = []
    shared, shared_files = (previous.shared, previous.shared_files) if previous else (None, {})
    spare, spare_files = (previous.spare, previous.spare_files) if previous else (None, {})
    try:
        if shared is None or shared_files != pages:
            source = (shared, shared_files) if shared is not None else None
            if spare is not None and spare.is_dir():
                made.append(spare)  # on any failure its content is unknown: removed
                _update_tree(spare, spare_files, pages, source)
            else:
                spare = Path(tempfile.mkdtemp(prefix="incidents-", dir=output_dir))
                made.append(spare)
                os.chmod(spare, 0o755)
                _write_tree(pages, spare, source)
            shared, shared_files, spare, spare_files = spare, pages, shared, shared_files
        stamp = now.strftime("%Y%m%dT%H%M%S")
        folder = Path(tempfile.mkdtemp(prefix=f"site-{stamp}-", dir=output_dir))
        made.append(folder)
        _write_tree(own, folder, (previous.folder, previous.own) if previous else None)
        mark(folder)
        os.symlink(os.path.join("..", shared.name), os.path.join(folder, SHARED.rstrip("/")))
        link = output_dir / f".current-{folder.name}"
        os.symlink(folder.name, link)
        os.replace(link, output_dir / "current")
    except BaseException:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        raise
    for old in (*output_dir.glob("site-*"), *output_dir.glob("incidents-*")):
        if old not in (folder, shared, spare):
            shutil.rmtree(old, ignore_errors=True)
    for stale in output_dir.glob(".current-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    return Published(folder, files, own, shared, shared_files, spare, spare_files)
