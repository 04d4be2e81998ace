"""`uptime-sla import`: probe history from CSV, all rows or none.

The file is read in blocks of whole lines. A plain block (UTF-8, no quote, NUL or bare CR)
is parsed by pyarrow and checked in columns: each distinct value of a column is checked
once by the same functions the row path uses, and times and latencies of the usual form
are converted in numpy exactly as those functions would, so both paths accept the same
text and store the same values. From the first block that is not plain or not valid, the
row path (the csv module, row by row) reads the rest of the file and names the line of
the first bad row. All of it is one transaction: a bad row on line 3,000,000 leaves the
database exactly as it was.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from monitor.config import Config
from monitor.errors import InputError
from monitor.probing.results import NO_REASON, REASON_CODES, REASONS, Reason
from monitor.store import Imported, Measured, SeriesKey, Store
from sla.slices import epoch_us
from sla.vocabulary import FAMILIES

HEADER = ["time", "target", "family", "location", "success", "status_code", "latency_ms", "reason"]
BLOCK_BYTES = 8 << 20  # ~170,000 rows per columnar block
BATCH_ROWS = 200_000  # rows per write on the row path
# A valid row is under 200 characters; a line of hundreds of megabytes would be held whole
# (several times over while it is parsed) before being refused.
MAX_LINE_CHARS = 64 << 10
_HEADER_LINE = ",".join(HEADER).encode()
_BOOLS = {"true": True, "false": False}
_RATE_LIMITED = REASON_CODES[Reason.RATE_LIMITED]


@dataclass(frozen=True)
class ImportCounts:
    read: int  # rows in the file
    stored: int  # probes newly stored
    conflicts: int  # rows whose probe is stored with another outcome: the stored one kept


Progress = Callable[[int, int], None]  # (rows read, bytes read) so far


def import_csv(
    path: Path, config: Config, store: Store, progress: Progress | None = None
) -> ImportCounts:
    """Load the file, all rows or none (raises InputError, stores nothing); `progress` is
    told after every block how far the import got."""
    targets = {t.name for t in config.targets}
    read = 0

    def counted(blocks: Iterator[Imported], raw: BinaryIO) -> Iterator[Imported]:
        nonlocal read
        for block in blocks:
            read += len(block.started_us)
            if progress is not None:
                progress(read, raw.tell())
            yield block

    try:
        with path.open("rb") as raw:
            blocks = counted(_read_ahead(_blocks(path, raw, targets)), raw)
            stored, conflicts = store.write_imported(blocks)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}:{_first_non_utf8_line(path)}: not UTF-8 text") from None
    return ImportCounts(read, stored, conflicts)


def _read_ahead(blocks: Iterator[Imported]) -> Iterator[Imported]:
    """A reader thread parses and checks the next block while the store writes the last."""
    with ThreadPoolExecutor(1, "csv-reader") as reader:
        ahead = reader.submit(next, blocks, None)
        while (block := ahead.result()) is not None:
            ahead = reader.submit(next, blocks, None)
            yield block


def _first_non_utf8_line(path: Path) -> int:
    """The decoder's offset is within its chunk, not the file: find the line again."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, 1):  # b"\n" never occurs inside a UTF-8 sequence
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _blocks(path: Path, raw: BinaryIO, targets: set[str]) -> Iterator[Imported]:
    """Columnar blocks while they pass, then the row path from the first one that does not.

    A UTF-8 byte-order mark (spreadsheet tools write one) before the header is skipped.
    """
    bom = len(codecs.BOM_UTF8) if raw.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
    raw.seek(bom)
    if raw.readline(MAX_LINE_CHARS).removesuffix(b"\n").removesuffix(b"\r") != _HEADER_LINE:
        raw.seek(bom)  # a quoted or a wrong header: the row path reads (or refuses) it
        yield from _row_batches(path, raw, targets, lines_before=0)
        return
    lines_before = 1
    while True:
        start = raw.tell()
        block = raw.read(BLOCK_BYTES)
        if not block:
            return
        if not block.endswith(b"\n"):
            block += raw.readline(MAX_LINE_CHARS + 1)  # more: the row path says which line
        checked = _block_rows(block, targets)
        if checked is None:
            raw.seek(start)
            yield from _row_batches(path, raw, targets, lines_before)
            return
        yield checked
        lines_before += block.count(b"\n")  # a plain block ends lines with \n only


# --- the row path: exact, and the one that words every error --------------------------


def _row_batches(
    path: Path, raw: BinaryIO, targets: set[str], lines_before: int
) -> Iterator[Imported]:
    """Rows from where `raw` stands, which is line lines_before + 1 (0: the header first)."""
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    reader = csv.reader(_bounded_lines(path, text, lines_before))
    rows = _rows(path, reader, lines_before)
    if lines_before == 0 and next(rows, None) != HEADER:
        raise InputError(f"{path}:1: header must be {','.join(HEADER)}")
    batch: list[tuple[Any, ...]] = []
    for fields in rows:
        try:
            batch.append(_parse(fields, targets))
        except ValueError as exc:
            raise InputError(f"{path}:{lines_before + reader.line_num}: {exc}") from None
        if len(batch) >= BATCH_ROWS:
            yield _rows_checked(batch)
            batch = []
    if batch:
        yield _rows_checked(batch)


def _rows_checked(parsed: list[tuple[Any, ...]]) -> Imported:
    """_parse's rows in columns."""
    series: dict[SeriesKey, int] = {}
    which = [series.setdefault(key, len(series)) for key, *_ in parsed]
    _, started_us, success, reason, status, latency = zip(*parsed, strict=True)
    return Imported(
        list(series),
        np.array(which, dtype=np.int64),
        np.array(started_us, dtype=np.int64),
        Measured(
            np.array(success, dtype=bool),
            np.array(reason, dtype=np.int8),
            np.array(status, dtype=np.int32),
            np.array(latency, dtype=np.float64),
        ),
    )


def _bounded_lines(path: Path, text: io.TextIOWrapper, lines_before: int) -> Iterator[str]:
    """The file's lines, refusing one longer than MAX_LINE_CHARS before reading all of it."""
    number = lines_before
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise InputError(f"{path}:{number}: line longer than {MAX_LINE_CHARS} characters")
        yield line


def _rows(path: Path, reader: Any, lines_before: int) -> Iterator[list[str]]:
    """csv.reader's own errors (a field over the size limit...) with their line."""
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}:{lines_before + reader.line_num}: {exc}") from None
        yield fields


def _parse(fields: list[str], targets: set[str]) -> tuple[Any, ...]:
    """One row to (series key, started_us, success, reason, status, latency) as in Measured."""
    if len(fields) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} columns, found {len(fields)}")
    when, target, family, location, success_text, status_text, latency_text, reason_text = fields
    started_us = _epoch_us(when)
    _target(target, targets)
    _family(family)
    _location(location)
    success = _success(success_text)
    reason = _reason_code(reason_text)
    _check_pair(reason, success)
    status = _status_code(status_text)
    latency = _latency(latency_text)
    return (
        (target, family, location),
        started_us,
        success,
        reason,
        status,
        math.nan if latency is None else latency,
    )


@lru_cache(maxsize=4096)
def _epoch_us(when: str) -> int:
    """Cached: every series probed in one round shares the same time text."""
    try:
        started = datetime.fromisoformat(when)
    except ValueError:
        raise ValueError("time: not an RFC 3339 time") from None
    if started.tzinfo is None:
        raise ValueError("time: needs a UTC offset (e.g. Z or +00:00)")
    return epoch_us(started)


def _target(text: str, targets: set[str]) -> None:
    if text not in targets:
        raise ValueError("target: not defined in the config")


def _family(text: str) -> None:
    if text not in FAMILIES:
        raise ValueError("family: must be ipv4 or ipv6")


def _location(text: str) -> None:
    if not text:
        raise ValueError("location: is empty")
    if "\x00" in text:  # PostgreSQL text cannot hold it: refuse it on every database
        raise ValueError("location: contains a NUL character")


def _success(text: str) -> bool:
    success = _BOOLS.get(text.lower())
    if success is None:
        raise ValueError("success: must be true or false")
    return success


def _reason_code(text: str) -> int:
    """Index into REASONS, NO_REASON for none, as Measured holds it."""
    if not text:
        return NO_REASON
    code = REASON_CODES.get(text)
    if code is None:
        raise ValueError("reason: not a known reason")
    return code


def _check_pair(reason: int, success: bool) -> None:
    if reason >= 0 and success != (reason == _RATE_LIMITED):
        raise ValueError(
            f"reason: {REASONS[reason]} does not go with success {str(success).lower()}"
        )


_STATUS = {"": 0, **{str(code): code for code in range(100, 600)}}


def _status_code(text: str) -> int:
    """0 for none, as Measured holds it."""
    try:
        return _STATUS[text]
    except KeyError:
        raise ValueError("status_code: must be empty or an HTTP status code") from None


def _latency(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError("latency_ms: must be empty or a number") from None
    if not 0 <= value < math.inf:  # also rejects NaN
        raise ValueError("latency_ms: must be a finite number, not negative")
    return value


# --- the columnar path: right about "every row is valid", silent about the rest ---------

_READ = pa_csv.ReadOptions(column_names=HEADER, block_size=1 << 20)
_PARSE = pa_csv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=False)
_CONVERT = pa_csv.ConvertOptions(
    column_types=dict.fromkeys(HEADER, pa.string()), strings_can_be_null=False
)


def _block_rows(block: bytes, targets: set[str]) -> Imported | None:
    """The block's rows if the block is plain and every row is valid, else None.

    pyarrow reads an empty line as eight empty fields: the empty location fails it.
    """
    if b'"' in block or b"\x00" in block:
        return None  # quoting and NUL: the csv module's rules decide
    if _longest_line(block) > MAX_LINE_CHARS:
        return None  # in bytes: the row path counts characters, and words the error
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
        return None  # a bare CR ends a line too: the line numbers would be off
    try:
        if not block.isascii():
            block.decode("utf-8")
        table = pa_csv.read_csv(pa.py_buffer(block), _READ, _PARSE, _CONVERT)
        columns = [_Distinct(table[name]) for name in HEADER]
    except ValueError:  # UnicodeDecodeError, pyarrow's ArrowInvalid (a row's column count)
        return None
    try:
        return _checked(columns, targets)
    except ValueError:
        return None


def _longest_line(block: bytes) -> int:
    """In bytes, with its newline; the last line may have none."""
    ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
    return int(np.diff(ends, prepend=-1, append=len(block) - 1).max(initial=0))


class _Distinct:
    """A column as its distinct values and each row's index into them: a check per value."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        encoded = column.combine_chunks().dictionary_encode()
        self.values: pa.StringArray = encoded.dictionary
        self.index: np.ndarray = encoded.indices.to_numpy()
        if pc.max(pc.utf8_length(self.values)).as_py() >= csv.field_size_limit():
            raise ValueError("a field at the csv module's limit")

    def text(self) -> list[str]:
        return self.values.to_pylist()

    def check(self, check: Callable[[str], None]) -> None:
        for value in self.text():
            check(value)

    def mapped(self, convert: Callable[[str], Any], dtype: Any) -> np.ndarray:
        """Each row's value converted by a function of the row path."""
        return np.array([convert(value) for value in self.text()], dtype=dtype)[self.index]

    def parsed(
        self,
        in_columns: Callable[[pa.StringArray], tuple[np.ndarray, np.ndarray]],
        convert: Callable[[str], Any],
    ) -> np.ndarray:
        """Like mapped(), but values that `in_columns` converts (its mask) skip Python."""
        values, done = in_columns(self.values)
        for i in np.flatnonzero(~done):
            values[i] = convert(self.values[i].as_py())
        return values[self.index]


def _checked(columns: list[_Distinct], targets: set[str]) -> Imported:
    """The block's rows; ValueError if any row is invalid (the row path then says which)."""
    when, target, family, location, success_text, status_text, latency_text, reason_text = columns
    started_us = when.parsed(_plain_times, _epoch_us)
    target.check(partial(_target, targets=targets))
    family.check(_family)
    location.check(_location)
    success = success_text.mapped(_success, bool)
    reason = reason_text.mapped(_reason_code, np.int8)
    if np.any((reason >= 0) & (success != (reason == _RATE_LIMITED))):
        raise ValueError("a reason that does not go with success")
    measured = Measured(
        success=success,
        reason=reason,
        status_code=status_text.mapped(_status_code, np.int32),
        latency_ms=latency_text.parsed(_plain_latencies, _latency),
    )
    names = target.text(), family.text(), location.text()
    shape = tuple(map(len, names))
    key = np.ravel_multi_index((target.index, family.index, location.index), shape)
    keys, which = np.unique(key, return_inverse=True)
    series = [
        (names[0][t], names[1][f], names[2][loc])
        for t, f, loc in zip(*np.unravel_index(keys, shape), strict=True)
    ]
    return Imported(series, which, started_us, measured)


_PLAIN_TIME = (
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?"
    r"(?:Z|(?P<sign>[+-])(?P<offset_hours>\d{2}):(?P<offset_minutes>\d{2}))$"
)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _plain_times(values: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch microseconds of the times of the usual RFC 3339 form that are valid dates,
    exactly as _epoch_us (datetime.fromisoformat) gives them, and which those are."""
    out = np.zeros(len(values), dtype=np.int64)
    plain = pc.match_substring_regex(values, _PLAIN_TIME)
    parts = pc.extract_regex(values.filter(plain), _PLAIN_TIME)

    def number(name: str) -> np.ndarray:
        digits = parts.field(name)
        if name == "fraction":
            digits = pc.utf8_rpad(digits, 6, "0")
        elif name.startswith("offset"):
            digits = pc.utf8_lpad(digits, 2, "0")  # none after Z
        return pc.cast(digits, pa.int64()).to_numpy()

    year, month, day = number("year"), number("month"), number("day")
    hour, minute, second = number("hour"), number("minute"), number("second")
    offset_hours, offset_minutes = number("offset_hours"), number("offset_minutes")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    valid = (
        (year >= 1)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= _MONTH_DAYS[np.clip(month, 1, 12)] + ((month == 2) & leap))
        & (hour < 24)
        & (minute < 60)
        & (second < 60)
        & (offset_hours < 24)
        & (offset_minutes < 60)
    )
    sign = np.where(pc.equal(parts.field("sign"), "-").to_numpy(zero_copy_only=False), -1, 1)
    seconds = (
        _days_from_civil(year, month, day) * 86_400
        + hour * 3600
        + minute * 60
        + second
        - sign * (offset_hours * 3600 + offset_minutes * 60)
    )
    done = plain.to_numpy(zero_copy_only=False)
    done[done] = valid
    out[done] = (seconds * 1_000_000 + number("fraction"))[valid]
    return out, done


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


_PLAIN_NUMBER = r"^\d{1,15}(?:\.\d{1,15})?$"


def _plain_latencies(values: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """Plain decimals as float() reads them (both round correctly), empty as NaN."""
    out = np.full(len(values), np.nan)
    plain = pc.match_substring_regex(values, _PLAIN_NUMBER)
    done = plain.to_numpy(zero_copy_only=False)
    out[done] = pc.cast(values.filter(plain), pa.float64()).to_numpy()
    return out, done | (pc.utf8_length(values).to_numpy() == 0)
