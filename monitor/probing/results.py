"""A probe's outcome: the one record that flows from the prober to the store and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sla.model import LastState

if TYPE_CHECKING:
    import numpy as np


class Reason(StrEnum):
    """Why a probe failed (docs/concepts.md), plus `rate_limited` for a 429 that counts as up.

    `local` is the monitor's own failure (no route or source address of the family): the
    probe never left the host, so it says nothing about the target and counts as no probe.
    """

    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TLS_VERSION = "tls_version"
    STATUS = "status"
    BODY = "body"
    NO_ADDRESS = "no_address"
    ERROR = "error"
    LOCAL = "local"
    RATE_LIMITED = "rate_limited"


PHASES = ("resolve", "connect", "tls", "processing", "transfer")
# Reasons as small integers (their index here, -1 for none): how columns of probes hold them.
REASONS: tuple[str, ...] = tuple(reason.value for reason in Reason)
REASON_CODES = {reason: code for code, reason in enumerate(REASONS)}
NO_REASON = -1


def slice_states(success: np.ndarray, reason: np.ndarray) -> np.ndarray:
    """How each probe counts in its slice, as uint8 LastState: the one place that decides it.

    `reason` holds REASON_CODES (NO_REASON for none). Every path into the rollups (writer,
    import, rebuilding a slice length from raw rows) goes through here. A `local` probe never
    left the monitor: it gets NONE, which the rollups leave out (spec: as if not run).
    """
    import numpy as np  # noqa: PLC0415 (the store's path only: `probe` starts without it)

    states = np.where(success, LastState.OK, LastState.FAILED).astype(np.uint8)
    states[reason == REASON_CODES[Reason.RATE_LIMITED]] = LastState.RATE_LIMITED
    states[reason == REASON_CODES[Reason.LOCAL]] = LastState.NONE
    return states


@dataclass(frozen=True)
class ProbeResult:
    """One request of one target over one family from one location; failures are data."""

    target: str
    family: str
    location: str
    started: datetime  # timezone-aware UTC, when the probe began
    success: bool
    reason: Reason | None = None
    status_code: int | None = None
    duration_seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # PHASES -> seconds
    tls_version: str | None = None  # "1.2", "1.3"
    http_version: str | None = None  # "1.1" when an answer came
    content_length: int | None = None  # the answer's Content-Length header, when it had one
    cert_expiry: datetime | None = None  # the leaf certificate's notAfter
    address: str | None = None  # the IP address connected to
    retry_after_seconds: float | None = None  # from a 429's Retry-After
    detail: str = ""  # short human explanation; never contains header values

    @property
    def latency_ms(self) -> float:
        return self.duration_seconds * 1000.0
