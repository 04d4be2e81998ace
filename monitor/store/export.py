"""`uptime-sla export`: stored probes as CSV in the import format, oldest first.

What `import` reads back exactly: times to the microsecond in UTC, latencies as the
shortest text of the stored float, so export then import into an empty database stores
the same probes and gives the same reports, byte for byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, BinaryIO

from monitor.store.importer import HEADER
from sla.slices import from_epoch_us
from sla.timestamps import rfc3339

ROWS_PER_WRITE = 10_000


def write_export(rows: Iterable[tuple[Any, ...]], out: BinaryIO) -> int:
    """Write the header and `rows` (the store's `probe_rows`); returns the rows written."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for started_us, target, family, location, success, status, latency, reason in rows:
        writer.writerow(
            (
                rfc3339(from_epoch_us(started_us)),
                target,
                family,
                location,
                "true" if success else "false",
                "" if status is None else status,
                "" if latency is None else repr(float(latency)),
                reason or "",
            )
        )
        count += 1
        if count % ROWS_PER_WRITE == 0:
            out.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
    out.write(text.getvalue().encode())
    return count
