"""The subscriber CSV: `subscribers export` writes it, `subscribers import` reads it back.

Columns `email,components,created,confirmed`: the email subscribers (the export answers
a data subject's request: it is everything held about them), components by display
name joined by `;` (empty: every component), times in RFC 3339 UTC to the microsecond,
`confirmed` empty while pending. A field that a spreadsheet would read as a formula (it
starts with `=`, `+`, `-`, `@`, a tab or a carriage return; or with `'`) is written with
a `'` in front, which import takes off again: the file opens safely and reads back the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from monitor.config import slug
from monitor.errors import InputError
from monitor.store.subscribers import Imported, Subscriber
from monitor.subscriptions.forms import email_address
from sla.vocabulary import SubscriberKind

HEADER = ("email", "components", "created", "confirmed")
MAX_FILE = 64 << 20  # a million subscribers take about 100 MB: read it in parts then
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "'")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA) else text


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_subscribers(subscribers: Iterable[Subscriber], out: BinaryIO) -> int:
    """The email subscribers as CSV; returns how many."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for s in subscribers:
        if s.kind != SubscriberKind.EMAIL:
            continue
        confirmed = "" if s.confirmed is None else _time(s.confirmed)
        writer.writerow((s.email, _cell(";".join(s.components)), _time(s.created), confirmed))
        count += 1
    out.write(text.getvalue().encode())
    return count


def split_components(field: str, names: Sequence[str]) -> tuple[str, ...]:
    """Names joined by `;` back into names (a name may hold `;` itself: the longest
    known name wins); a component's id is accepted too. ValueError names an unknown one."""
    if not field.strip():
        return ()
    known = set(names)
    by_id = {slug(name): name for name in names}
    parts = field.split(";")
    found: list[str] = []
    start = 0
    while start < len(parts):
        for end in range(len(parts), start, -1):
            candidate = ";".join(parts[start:end])
            name = candidate if candidate in known else by_id.get(candidate.strip())
            if name is not None:
                found.append(name)
                start = end
                break
        else:
            raise ValueError(f"names no component of the page: {parts[start]!r}")
    return tuple(dict.fromkeys(found))


def _moment(text: str, column: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{column}: {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{column}: {text!r} has no UTC offset")
    return moment.astimezone(UTC)


def read_subscribers(path: Path, names: Sequence[str]) -> list[Imported]:
    """Every row of the file, checked: InputError names the file and line of the first
    bad one (and nothing is imported)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE:
        raise InputError(f"{path}: larger than {MAX_FILE >> 20} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    rows = _rows(path, text)
    header = next(rows, None)
    if header is None or tuple(header[1]) != HEADER:
        raise InputError(f"{path}:1: the header must be {','.join(HEADER)}")
    found: list[Imported] = []
    seen: dict[str, int] = {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(HEADER):
            raise InputError(f"{path}:{line}: expected {len(HEADER)} columns, found {len(cells)}")
        try:
            try:
                email = email_address(cells[0])
            except ValueError as exc:
                raise ValueError(f"email: {cells[0]!r} {exc}") from None
            if email in seen:
                raise ValueError(f"repeats the address of line {seen[email]}")
            seen[email] = line
            components = split_components(_uncell(cells[1]), names)
            created = _moment(cells[2], "created")
            confirmed = _moment(cells[3], "confirmed") if cells[3].strip() else None
        except ValueError as exc:
            raise InputError(f"{path}:{line}: {str(exc).rstrip('.')}") from None
        found.append(Imported(email, components, created, confirmed))
    return found


def _rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
