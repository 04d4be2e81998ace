"""Plain data that goes into the SLA engine.

The engine never touches a database, the network or the clock: the caller (the
command line) maps its config and the store's per-slice rollups onto these types.
Times are timezone-aware UTC datetimes; money and objectives are Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import TYPE_CHECKING

from sla.vocabulary import (
    FAMILIES,
    Family,
    FamilyPolicy,
    Majority,
    NoDataPolicy,
    RateLimitedPolicy,
)

if TYPE_CHECKING:  # only in annotations: plain data and enums need no numpy to import
    import numpy as np


class LastState(IntEnum):
    """Outcome of the last probe that started in a slice (for carry-forward)."""

    NONE = 0
    OK = 1
    RATE_LIMITED = 2
    FAILED = 3


@dataclass(frozen=True)
class Policy:
    """The `sla:` section of the config, minus the time zone (passed with the month)."""

    slice_seconds: int = 60
    bad_slice_ratio: Decimal = Decimal("0.5")
    stale_after_seconds: float | None = None  # None: 2 x the target's interval
    min_outage_slices: int = 1
    family_policy: FamilyPolicy = "any"
    location_quorum: Majority | int = "majority"
    no_data: NoDataPolicy = "exclude"
    rate_limited_counts_as: RateLimitedPolicy = "up"


@dataclass(frozen=True)
class TargetSpec:
    name: str
    service: str
    interval_seconds: float
    families: tuple[Family, ...] = FAMILIES
    # The longest a 429's Retry-After holds the series back: the status page counts a
    # rate-limited series as answering for this long past stale_after. Not an SLA rule.
    max_retry_after_seconds: float = 0.0


@dataclass(frozen=True)
class SeriesSlices:
    """Per-slice rollup of one series (target, family, location).

    Every array has the same length and index i is the slice that starts at
    (first_slice + i) * slice_seconds seconds after the epoch. The store passes its
    rollup columns as they are (uint32 counts, uint64 offsets): no widening copies.
    """

    target: str
    family: Family
    location: str
    first_slice: int
    total: np.ndarray  # int: probes that started in the slice
    failed: np.ndarray  # int: failed probes, rate-limited ones not included
    rate_limited: np.ndarray  # int: probes answered with 429
    last_offset_us: np.ndarray  # int microseconds from slice start to the last probe's start
    last_state: np.ndarray  # int8 LastState of that last probe


@dataclass(frozen=True)
class SeriesBlock:
    """Per-slice rollups of many series over one span, a row per series: what the status
    page evaluates at once. Columns as SeriesSlices', 2-D; nothing stored is no probe."""

    series: tuple[tuple[str, Family, str], ...]  # (target, family, location) of each row
    first_slice: int
    total: np.ndarray  # (rows, slices)
    failed: np.ndarray
    rate_limited: np.ndarray
    last_offset_us: np.ndarray
    last_state: np.ndarray  # int8 LastState


@dataclass(frozen=True)
class CreditStep:
    """One entry of a credit schedule: below `below` percent, `percent` of the fee or `amount`."""

    below: Decimal
    percent: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class Plan:
    name: str
    objective: Decimal
    credits: tuple[CreditStep, ...] = ()
    max_credit_percent: Decimal = Decimal(100)


@dataclass(frozen=True)
class Contract:
    customer: str
    plan: str
    service: str
    monthly_fee: Decimal
    currency: str
    start: datetime
    end: datetime | None = None
    credits: tuple[CreditStep, ...] | None = None  # replaces the plan's schedule when set
    display_name: str | None = None  # what people read beside the customer id


@dataclass(frozen=True)
class MaintenanceWindow:
    start: datetime
    end: datetime
    targets: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Provider:
    """Who issues the reports (`reports.provider`): optional text, shown at the top of
    every report people read and carried in the JSON, as the operator wrote it."""

    name: str | None = None
    address: str | None = None
    contact: str | None = None
    credit_terms: str | None = None  # how a credit is applied ("on the next invoice")


NO_PROVIDER = Provider()


@dataclass(frozen=True)
class FailedProbes:
    """Failed probes of one target (`local` ones left out) counted per slice, family and
    reason: what an incident's `reasons` add up. The rollups keep no reasons, so the
    caller reads these from the stored probes; rows are sorted by slice."""

    target: str
    rows: tuple[tuple[int, Family, str, int], ...] = ()  # (epoch slice, family, reason, count)
