"""The status site's folder: replaced only when it is new, empty or a site this program wrote.

`status build -o DIR` replaces DIR whole, and `run` removes its older `site-*` folders from
`status_page.output_dir`: given a project folder (`-o .`, or `-o ""` from an unset
variable) either would delete what is there. So every site carries a marker file, and a
folder is written only when it is missing, empty or marked; the current folder, `/`, the
home folder and every folder holding one of them, the config or the database never are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from monitor.errors import InputError

MARKER = ".uptime-sla-site"
MARKER_TEXT = (
    b"This folder is a status site written by uptime-sla. `uptime-sla status build` and"
    b" `uptime-sla run` replace what is in it.\n"
)
# What `run` wrote in status_page.output_dir before sites carried the marker.
_RUN_ENTRIES = ("current", "site-", ".current-")


def site_folder(
    given: str, *, keep: Iterable[tuple[str, Path]] = (), written_by_run: bool = False
) -> Path:
    """The folder `given` names (symlinks resolved), once it is safe to replace; else an
    InputError naming it, with nothing touched.

    `keep`: (what, path) pairs the folder must neither be nor hold, such as ("the config",
    its file). `written_by_run`: also accept a folder that holds only what `run` wrote
    before the marker existed (an upgrade keeps its site).
    """
    if not given:
        raise InputError("-o: the folder is empty (an unset variable?): give a new or empty folder")
    try:
        folder = Path(os.path.realpath(given))
        guarded = [
            ("the root folder", Path("/")),
            ("the home folder", Path.home()),
            ("the current folder", Path.cwd()),
            *keep,
        ]
        for what, path in guarded:
            real = Path(os.path.realpath(path))
            if folder == real or folder in real.parents:
                held = "is" if folder == real else "holds"
                raise InputError(
                    f"{given}: not a folder for the status site: it {held} {what}"
                    " (nothing was changed)"
                )
        if not os.path.lexists(folder):
            return folder
        if not folder.is_dir():
            raise InputError(f"{given}: not a folder for the status site: it is a file")
        entries = os.listdir(folder)
    except OSError as exc:
        raise InputError(
            f"{given}: cannot use for the status site: {exc.strerror or exc}"
        ) from None
    except RuntimeError:  # Path.home() without HOME or a passwd entry
        raise InputError(f"{given}: cannot tell where the home folder is (set HOME)") from None
    if not entries or (folder / MARKER).is_file():
        return folder
    if written_by_run and all(entry.startswith(_RUN_ENTRIES) for entry in entries):
        return folder
    raise InputError(
        f"{given}: not a folder for the status site: it holds other files and no {MARKER}"
        " marker of an earlier site (give a new or empty folder; nothing was changed)"
    )


def mark(folder: str | os.PathLike[str]) -> None:
    """Mark `folder` as a site this program wrote (0644, like the site's files)."""
    path = os.path.join(folder, MARKER)
    with open(path, "wb") as handle:
        handle.write(MARKER_TEXT)
    os.chmod(path, 0o644)
