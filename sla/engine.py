"""The monthly evaluation: series rollups in, a MonthReport out (docs/concepts.md).

Pure: no database, network, clock or files. The caller loads the rollups of
`load_window(...)` and passes `now`, so a report of the current month counts only the
slices that have ended.

Targets are evaluated one at a time and only what the report needs of each is kept
(figures, BAD runs, a share in its service's fold), so memory grows with the number of
targets, not with targets x slices. Counting starts at a target's first probe: a target
probed since this morning costs its morning, not its month.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import numpy as np

from sla.availability import DayFigures, Figures, daily_figures, state_counts
from sla.credits import contract_credit
from sla.errors import SlaError
from sla.model import (
    Contract,
    MaintenanceWindow,
    Plan,
    Policy,
    SeriesBlock,
    SeriesSlices,
    TargetSpec,
)
from sla.slices import (
    EXCLUDED,
    NO_DATA,
    ServiceStates,
    Track,
    combine_families,
    combine_locations,
    covers_service,
    covers_target,
    day_starts,
    drop_blips,
    epoch_us,
    fold_groups,
    maintenance_mask,
    rollup_states,
    series_states,
    slice_at_or_after,
    slice_index,
    slice_start,
    span_window,
    stale_after_us,
)
from sla.vocabulary import Family

# The series of the month: all of them, or a function returning one target's series
# (by name), called once per target so that only that target's arrays are alive.
SeriesSource = Sequence[SeriesSlices] | Callable[[str], Sequence[SeriesSlices]]


@dataclass(frozen=True)
class FamilyResult:
    """One family of a target evaluated alone (steps 1, 3, 4 and 5 on its series only)."""

    family: Family
    figures: Figures
    daily: tuple[DayFigures, ...]


@dataclass(frozen=True)
class TargetResult:
    name: str
    service: str
    figures: Figures
    daily: tuple[DayFigures, ...]
    families: tuple[FamilyResult, ...]


@dataclass(frozen=True)
class ServiceResult:
    """A service's own month (step 6), for the month-to-date gauges and people's reports."""

    name: str
    figures: Figures
    daily: tuple[DayFigures, ...]


@dataclass(frozen=True)
class BurnDay:
    """Error budget at the end of one day of a contract period."""

    day: date
    bad_slices: int  # cumulative since the period start
    budget_remaining: Fraction  # the whole period's allowed bad slices minus bad_slices


@dataclass(frozen=True)
class ContractResult:
    customer: str
    plan: str
    service: str
    currency: str
    period_start: datetime
    period_end: datetime
    figures: Figures
    objective: Decimal
    breach: bool
    budget_remaining: Fraction
    credit_percent: Decimal | None  # 0 when no entry applies, None for a fixed amount
    credit_amount: Decimal  # rounded to the currency's minor unit
    burn: tuple[BurnDay, ...]
    display_name: str | None
    coverage: Fraction | None  # over the period, summed over the service's targets


@dataclass(frozen=True)
class CustomerTotal:
    customer: str
    currency: str
    credit_total: Decimal


@dataclass(frozen=True)
class SliceIncident:
    """A report's incident (step 7): a maximal run of slices with at least one BAD target,
    clipped to the month. Not the status page's incidents (`PageIncident`), which follow
    each component's slices and operators' posts."""

    start: datetime
    end: datetime
    slices: int
    targets: tuple[str, ...]  # the targets BAD at some point of the run, in config order


@dataclass(frozen=True)
class MaintenanceResult:
    """A window touching the month, the report's targets it covers, and its excluded slices."""

    start: datetime
    end: datetime
    reason: str
    targets: tuple[str, ...]
    excluded_slices: int  # evaluated slices of the month that overlap the window


@dataclass(frozen=True)
class MonthReport:
    month: str  # YYYY-MM
    timezone: str
    slice_seconds: int
    month_to_date: bool
    month_start: datetime
    month_end: datetime
    evaluated_until: datetime  # month_end, or `now` for a month still running
    targets: tuple[TargetResult, ...]
    services: tuple[ServiceResult, ...]
    contracts: tuple[ContractResult, ...]
    customers: tuple[CustomerTotal, ...]
    incidents: tuple[SliceIncident, ...]
    maintenance: tuple[MaintenanceResult, ...]
    min_coverage: Decimal  # below it (or with none) a target makes the report incomplete
    customer: str | None = None  # set for one customer's statement

    @property
    def short_targets(self) -> tuple[TargetResult, ...]:
        """Targets whose coverage is unknown or below `min_coverage` (docs/report-schema.md)."""
        return tuple(
            target
            for target in self.targets
            if target.figures.coverage is None or target.figures.coverage < self.min_coverage
        )

    @property
    def complete(self) -> bool:
        return not self.short_targets


class _Frame:
    """Where the month's counted slices sit in the loaded window, and their days.

    Positions in the window count from its first slice; tracks (and their counts) cover
    the counted slices only, [month_first, counted_end), from position 0.
    """

    def __init__(
        self,
        starts: list[datetime],
        days: list[date],
        *,
        policy: Policy,
        targets: Sequence[TargetSpec],
        maintenance: Sequence[MaintenanceWindow],
        now: datetime,
    ) -> None:
        """`starts`: UTC starts of the `days` counted, then the end of the last one."""
        self.policy = policy
        self.windows = maintenance
        self.starts = starts
        self.days = days
        self.start, self.end = self.starts[0], self.starts[-1]
        self.first_slice, end_slice = span_window(self.start, self.end, policy, targets)
        self.length = end_slice - self.first_slice
        seconds = policy.slice_seconds
        # Slices before `ended` are over at `now`; later ones are not known yet.
        ended = slice_index(epoch_us(now), seconds)
        self.known = min(max(ended - self.first_slice, 0), self.length)
        self.month_first = slice_at_or_after(self.start, seconds)
        self.counted_end = min(max(ended, self.month_first), slice_at_or_after(self.end, seconds))
        self.month_to_date = now < self.end
        self.evaluated_until = min(max(now, self.start), self.end)
        self.counted = self.counted_end - self.month_first
        self.counted_at = self.month_first - self.first_slice  # its window position
        # Position of each day's first counted slice, then the end of the counted slices.
        self.day_edges = np.clip(
            [slice_at_or_after(start, seconds) - self.month_first for start in self.starts],
            0,
            self.counted,
        )
        self.day_index = np.repeat(np.arange(len(self.days)), np.diff(self.day_edges))
        self.nothing = Track(self.counted, np.empty(0, np.int8))
        self._masks: dict[tuple[MaintenanceWindow, ...], np.ndarray] = {}

    def exclude_target(self, track: Track, target: TargetSpec) -> Track:
        """Step 5 for one target: the windows covering it."""
        return self.exclude(track, self.target_windows(target))

    def exclude(self, track: Track, windows: tuple[MaintenanceWindow, ...]) -> Track:
        """Step 5: the track with the slices overlapping one of these windows EXCLUDED."""
        return track.excluding(self.mask(windows)) if windows else track

    def target_windows(self, target: TargetSpec) -> tuple[MaintenanceWindow, ...]:
        return tuple(w for w in self.windows if covers_target(w, target))

    def mask(self, windows: tuple[MaintenanceWindow, ...]) -> np.ndarray:
        """The counted slices overlapping one of these windows."""
        if windows not in self._masks:  # most targets share their windows (or have none)
            self._masks[windows] = maintenance_mask(
                windows, self.month_first, self.counted, self.policy.slice_seconds
            )
        return self._masks[windows]

    def counted_track(self, states: np.ndarray, lead: int) -> Track:
        """The counted slices of `states`, which cover window positions [lead, known)."""
        start = self.counted_at
        head = min(max(lead - start, 0), self.counted)
        return Track(head, states[start + head - lead : start + self.counted - lead])

    def counts(self, track: Track, first: int, end: int) -> np.ndarray:
        """Per-day state counts of the counted slices in [first, end) (epoch indexes)."""
        low = min(max(first - self.month_first, 0), self.counted)
        high = min(max(end - self.month_first, low), self.counted)
        head = min(max(track.lead, low), high)  # [low, head) is in the track's lead
        counts = state_counts(
            track.tail[head - track.lead : high - track.lead],
            self.day_index[head:high],
            len(self.days),
        )
        edges = self.day_edges
        counts[:, NO_DATA] += np.maximum(
            np.minimum(edges[1:], head) - np.maximum(edges[:-1], low), 0
        )
        return counts

    def month_figures(self, track: Track) -> tuple[Figures, tuple[DayFigures, ...]]:
        counts = self.counts(track, self.month_first, self.counted_end)
        no_data = self.policy.no_data
        return Figures.from_counts(counts.sum(axis=0), no_data), daily_figures(
            counts, self.days, no_data
        )


def _series_of(series: SeriesSource) -> Callable[[str], Sequence[SeriesSlices]]:
    """One target's series by name, whether given all at once or by a loader."""
    if callable(series):
        return series
    grouped: dict[str, list[SeriesSlices]] = defaultdict(list)
    for one in series:
        grouped[one.target].append(one)
    return lambda name: grouped.get(name, ())


def _checked(
    target: TargetSpec, series: Sequence[SeriesSlices], frame: _Frame
) -> list[SeriesSlices]:
    """The series of the target that count, each covering the window's ended slices.

    A series may start after the window's first slice (nothing was probed before it)
    and may end anywhere from the last ended slice to the window's end.
    """
    counted, seen = [], set()
    for one in series:
        if one.target != target.name or one.family not in target.families:
            continue
        key = (one.target, one.family, one.location)
        if key in seen:
            raise SlaError(f"series {'/'.join(key)} is given twice")
        seen.add(key)
        shift = one.first_slice - frame.first_slice
        arrays = (one.total, one.failed, one.rate_limited, one.last_offset_us, one.last_state)
        if shift < 0 or any(not frame.known <= shift + len(a) <= frame.length for a in arrays):
            raise SlaError(
                f"series {'/'.join(key)} must cover slices [{one.first_slice}, "
                f"{frame.first_slice + frame.known}) within [{frame.first_slice}, "
                f"{frame.first_slice + frame.length})"
            )
        counted.append(one)
    return counted


def _first_probe(series: SeriesSlices, frame: _Frame) -> int:
    """Window position of the series' first slice with a probe of its own, else `known`."""
    shift = series.first_slice - frame.first_slice
    probed = series.total[: max(frame.known - shift, 0)] > 0
    return shift + int(probed.argmax()) if probed.any() else frame.known


def _cut(series: SeriesSlices, start: int, end: int) -> SeriesSlices:
    """The series' slices [start, end) of its own arrays, as views."""
    return replace(
        series,
        first_slice=series.first_slice + start,
        total=series.total[start:end],
        failed=series.failed[start:end],
        rate_limited=series.rate_limited[start:end],
        last_offset_us=series.last_offset_us[start:end],
        last_state=series.last_state[start:end],
    )


def _target_tracks(
    target: TargetSpec, series: list[SeriesSlices], frame: _Frame, *, families: bool = True
) -> tuple[Track, list[Track]]:
    """Steps 1-4 for a target: its combined states and each configured family's alone.

    Before a series' first probe every slice is NO_DATA (nothing to carry), so each
    series is evaluated from its first probe and the target from the earliest of them.
    """
    policy = frame.policy
    probed = [(one, _first_probe(one, frame)) for one in series]
    probed = [(one, first) for one, first in probed if first < frame.known]
    lead = min((first for _, first in probed), default=frame.known)
    if lead >= frame.counted_at + frame.counted:
        return frame.nothing, [frame.nothing] * len(target.families)  # nothing counted
    locations = list(dict.fromkeys(one.location for one, _ in probed))
    grid = np.full((len(target.families), len(locations), frame.known - lead), NO_DATA, np.int8)
    stale_us = stale_after_us(policy, target)
    for one, first in probed:
        shift = one.first_slice - frame.first_slice
        row = grid[target.families.index(one.family), locations.index(one.location)]
        row[first - lead :] = series_states(
            _cut(one, first - shift, frame.known - shift), policy, stale_us
        )

    def locations_and_blips(states: np.ndarray) -> Track:
        located = combine_locations(states, policy.location_quorum)
        return frame.counted_track(drop_blips(located, policy.min_outage_slices), lead)

    combined = locations_and_blips(combine_families(grid, policy.family_policy))
    return combined, [locations_and_blips(family) for family in grid] if families else []


def _evaluate_target(
    target: TargetSpec, series: list[SeriesSlices], frame: _Frame
) -> tuple[TargetResult, Track]:
    """The target's result and its counted slice states after step 5."""
    combined, families = _target_tracks(target, series, frame)
    family_results = tuple(
        FamilyResult(family, *frame.month_figures(frame.exclude_target(track, target)))
        for family, track in zip(target.families, families, strict=True)
    )
    combined = frame.exclude_target(combined, target)
    figures, daily = frame.month_figures(combined)
    result = TargetResult(target.name, target.service, figures, daily, family_results)
    return result, combined


class _Services:
    """Step 6 and the contracts' slice counts, folded in one target at a time.

    A service is counted as soon as its last target (in config order) is folded in, so
    only services still waiting for targets hold an array of slices. A service of one
    target (the default) is that target: a window covering the service covers the target
    too, so the service has the target's states and figures, and nothing is folded.
    """

    def __init__(
        self, targets: Sequence[TargetSpec], contracts: Sequence[Contract], frame: _Frame
    ) -> None:
        self._frame = frame
        self._last = {target.service: index for index, target in enumerate(targets)}
        self._open: dict[str, ServiceStates] = {}
        self._size = Counter(target.service for target in targets)  # in order of appearance
        self._done: dict[str, ServiceResult] = {}
        self._contracts: dict[str, list[tuple[int, Contract]]] = defaultdict(list)
        for index, contract in enumerate(contracts):
            self._contracts[contract.service].append((index, contract))
        self.contract_counts: dict[int, np.ndarray] = {}  # by index in `contracts`
        # Summed over the service's targets: (measured, no data) slices of each period.
        self.contract_coverage: dict[int, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, index: int, target: TargetResult, track: Track) -> None:
        """Fold in the target at `index` of the targets (its states after step 5)."""
        frame = self._frame
        service = target.service
        seconds = frame.policy.slice_seconds
        periods = [
            (number, [slice_at_or_after(moment, seconds) for moment in period])
            for number, contract in self._contracts[service]
            if (period := _period(contract, frame)) is not None
        ]
        for number, (first, end) in periods:
            counts = Figures.from_counts(frame.counts(track, first, end).sum(axis=0), "exclude")
            self.contract_coverage[number][0] += counts.measured
            self.contract_coverage[number][1] += counts.no_data
        if self._size[service] == 1:
            self._done[service] = ServiceResult(service, target.figures, target.daily)
            states = track
        else:
            self._open.setdefault(service, ServiceStates(frame.counted)).add(track)
            if self._last[service] != index:
                return
            windows = tuple(w for w in frame.windows if covers_service(w, service))
            states = frame.exclude(self._open.pop(service).track(), windows)
            self._done[service] = ServiceResult(service, *frame.month_figures(states))
        for number, (first, end) in periods:
            self.contract_counts[number] = frame.counts(states, first, end)

    def results(self) -> tuple[ServiceResult, ...]:
        """Every service, in order of first appearance among the targets."""
        return tuple(self._done[service] for service in self._size)


def _period(contract: Contract, frame: _Frame) -> tuple[datetime, datetime] | None:
    """The contract's period: the month clipped to the contract; None if they do not meet."""
    period_start = max(frame.start, contract.start)
    period_end = frame.end if contract.end is None else min(frame.end, contract.end)
    return (period_start, period_end) if period_start < period_end else None


def _evaluate_contract(
    contract: Contract,
    plans: Mapping[str, Plan],
    counts: np.ndarray | None,
    coverage: list[int],
    frame: _Frame,
) -> ContractResult | None:
    """The contract over its period from its service's per-day `counts` over that period.

    None if the period is empty; `counts` is None when no target belongs to the service.
    """
    period = _period(contract, frame)
    if period is None:
        return None
    period_start, period_end = period
    plan = plans.get(contract.plan)
    if plan is None:
        raise SlaError(f"contract of {contract.customer} names unknown plan {contract.plan!r}")
    if counts is None:
        raise SlaError(
            f"contract of {contract.customer} names service {contract.service!r}, "
            "which no target belongs to"
        )
    no_data = frame.policy.no_data
    figures = Figures.from_counts(counts.sum(axis=0), no_data)
    credit = contract_credit(
        schedule=plan.credits if contract.credits is None else contract.credits,
        availability=figures.availability,
        monthly_fee=contract.monthly_fee,
        currency=contract.currency,
        max_credit_percent=plan.max_credit_percent,
        period_us=epoch_us(period_end) - epoch_us(period_start),
        month_us=epoch_us(frame.end) - epoch_us(frame.start),
    )
    allowed = figures.allowed_bad(plan.objective)
    bad_by_day = np.cumsum([day.figures.bad for day in daily_figures(counts, frame.days, no_data)])
    burn = tuple(
        BurnDay(day, int(bad), allowed - int(bad))
        for day, (day_start, day_end), bad in zip(
            frame.days, pairwise(frame.starts), bad_by_day, strict=True
        )
        if day_start < period_end and day_end > period_start
    )
    return ContractResult(
        customer=contract.customer,
        plan=contract.plan,
        service=contract.service,
        currency=contract.currency,
        period_start=period_start,
        period_end=period_end,
        figures=figures,
        objective=plan.objective,
        breach=figures.breach(plan.objective),
        budget_remaining=figures.budget_remaining(plan.objective),
        credit_percent=credit.percent,
        credit_amount=credit.amount,
        burn=burn,
        display_name=contract.display_name,
        coverage=None if sum(coverage) == 0 else Fraction(100 * coverage[0], sum(coverage)),
    )


def _customer_totals(contracts: Sequence[ContractResult]) -> tuple[CustomerTotal, ...]:
    """Sum of rounded credits per customer and currency, in order of first appearance."""
    totals: dict[str, dict[str, Decimal]] = {}
    for contract in contracts:
        by_currency = totals.setdefault(contract.customer, {})
        by_currency[contract.currency] = (
            by_currency.get(contract.currency, Decimal(0)) + contract.credit_amount
        )
    return tuple(
        CustomerTotal(customer, currency, total)
        for customer, by_currency in totals.items()
        for currency, total in by_currency.items()
    )


def _incidents(
    targets: Sequence[TargetSpec], bad_runs: list[tuple[np.ndarray, np.ndarray]], frame: _Frame
) -> tuple[SliceIncident, ...]:
    """Step 7 from each target's BAD runs over the counted slices (so clipped to the month).

    An incident is a maximal union of overlapping or touching runs; its targets are the
    ones owning those runs.
    """
    starts = np.concatenate([np.empty(0, np.int64), *(starts for starts, _ in bad_runs)])
    if len(starts) == 0:
        return ()
    ends = np.concatenate([ends for _, ends in bad_runs])
    owners = np.repeat(np.arange(len(targets)), [len(run_starts) for run_starts, _ in bad_runs])
    order = np.argsort(starts, kind="stable")
    starts, ends, owners = starts[order], ends[order], owners[order]
    reach = np.maximum.accumulate(ends)
    opens = np.r_[True, starts[1:] > reach[:-1]]  # begins after every earlier run ended
    closes = np.r_[opens[1:], True]
    # (incident, target) pairs, sorted: each incident's targets in config order.
    pairs = np.unique((np.cumsum(opens) - 1) * len(targets) + owners)
    involved = np.split(pairs % len(targets), np.flatnonzero(np.diff(pairs // len(targets))) + 1)
    seconds = frame.policy.slice_seconds
    return tuple(
        SliceIncident(
            start=slice_start(frame.month_first + start, seconds),
            end=slice_start(frame.month_first + end, seconds),
            slices=end - start,
            targets=tuple(targets[i].name for i in members.tolist()),
        )
        for start, end, members in zip(
            starts[opens].tolist(), reach[closes].tolist(), involved, strict=True
        )
    )


def _maintenance(targets: Sequence[TargetSpec], frame: _Frame) -> tuple[MaintenanceResult, ...]:
    """The windows that touch the month and cover one of `targets`, in config order."""
    found = []
    for window in frame.windows:
        covered = tuple(target.name for target in targets if covers_target(window, target))
        if covered and window.start < frame.end and window.end > frame.start:
            mask = maintenance_mask(
                (window,), frame.month_first, frame.counted, frame.policy.slice_seconds
            )
            found.append(
                MaintenanceResult(window.start, window.end, window.reason, covered, int(mask.sum()))
            )
    return tuple(found)


def statement_scope(
    customer: str,
    targets: Sequence[TargetSpec],
    contracts: Sequence[Contract],
    month_start: datetime,
    month_end: datetime,
) -> tuple[list[TargetSpec], list[Contract]]:
    """A customer's statement: its contracts that meet the month and their services' targets.

    Each target is evaluated on its own, so leaving the others out changes none of its
    figures, while incidents, maintenance and completeness follow from these targets only.
    """
    if not any(contract.customer == customer for contract in contracts):
        raise SlaError(f"--customer: no contract of customer {customer!r} in the config")
    own = [
        contract
        for contract in contracts
        if contract.customer == customer
        and contract.start < month_end
        and (contract.end is None or contract.end > month_start)
    ]
    services = {contract.service for contract in own}
    return [target for target in targets if target.service in services], own


def evaluate_month(
    year: int,
    month: int,
    tz_name: str,
    *,
    policy: Policy,
    targets: Sequence[TargetSpec],
    plans: Mapping[str, Plan],
    contracts: Sequence[Contract],
    maintenance: Sequence[MaintenanceWindow],
    series: SeriesSource,
    now: datetime,
    min_coverage: Decimal = Decimal(99),
    customer: str | None = None,
) -> MonthReport:
    """Evaluate one calendar month (in `tz_name`) from series covering `load_window(...)`.

    Targets, contracts and the report keep config order; series of targets or families
    not configured are ignored. Slices that have not ended by `now` are not counted.
    With `customer`, the report is that customer's statement (`statement_scope`).
    """
    starts = day_starts(year, month, tz_name)
    days = [date(year, month, 1) + timedelta(days=n) for n in range(len(starts) - 1)]
    frame = _Frame(starts, days, policy=policy, targets=targets, maintenance=maintenance, now=now)
    if customer is not None:
        targets, contracts = statement_scope(customer, targets, contracts, frame.start, frame.end)
    series_of = _series_of(series)
    services = _Services(targets, contracts, frame)
    target_results, bad_runs = [], []
    for index, target in enumerate(targets):
        result, track = _evaluate_target(
            target, _checked(target, series_of(target.name), frame), frame
        )
        target_results.append(result)
        bad_runs.append(track.bad_runs())
        services.add(index, result, track)
    evaluated = (
        _evaluate_contract(
            contract,
            plans,
            services.contract_counts.get(index),
            services.contract_coverage[index],
            frame,
        )
        for index, contract in enumerate(contracts)
    )
    contract_results = tuple(result for result in evaluated if result is not None)
    return MonthReport(
        month=f"{year:04d}-{month:02d}",
        timezone=tz_name,
        slice_seconds=policy.slice_seconds,
        month_to_date=frame.month_to_date,
        month_start=frame.start,
        month_end=frame.end,
        evaluated_until=frame.evaluated_until,
        targets=tuple(target_results),
        services=services.results(),
        contracts=contract_results,
        customers=_customer_totals(contract_results),
        incidents=_incidents(targets, bad_runs, frame),
        maintenance=_maintenance(targets, frame),
        min_coverage=min_coverage,
        customer=customer,
    )


@dataclass(frozen=True)
class GroupStates:
    """Slice states of a group of targets (a status page component), steps 1 to 5.

    A slice is BAD when any target of the group is BAD, EXCLUDED when all are, NO_DATA
    when all the others are NO_DATA, else GOOD: step 6 without the service's own windows.
    """

    first_slice: int  # epoch slice index of states[0]
    states: np.ndarray  # int8 SliceState of each slice that ended by `now`


# Slices x series that group_states evaluates at once: all targets of a status page's
# last hour in one go, a component or two at a time over its ninety days (small enough
# that the allocator reuses the arrays' memory: fresh pages cost more than the work).
BATCH_CELLS = 1 << 20


def group_states(
    start: datetime,
    end: datetime,
    *,
    policy: Policy,
    targets: Sequence[TargetSpec],
    groups: Sequence[Sequence[str]],
    maintenance: Sequence[MaintenanceWindow],
    series: Callable[[Sequence[str]], SeriesBlock],
    now: datetime,
    batch_cells: int = BATCH_CELLS,
) -> Iterator[GroupStates]:
    """Each group's states over the slices of [start, end) ended by `now`, in order.

    `series` gives the named targets' series as one block covering the ended slices of
    `span_window(start, end, ...)`; groups name targets of `targets`. Groups are
    evaluated a batch at a time, each batch's targets at once as rows of 2-D arrays (the
    same steps as a month report's targets, one at a time), so that thousands of short
    targets cost a few array operations, not thousands.
    """
    frame = _Frame(
        [start, end],
        [start.date()],
        policy=policy,
        targets=targets,
        maintenance=maintenance,
        now=now,
    )
    by_name = {target.name: target for target in targets}
    batch: list[Sequence[str]] = []
    cells = 0
    for index, group in enumerate(groups):
        batch.append(group)
        cells += sum(len(by_name[name].families) for name in group) * frame.known
        if cells < batch_cells and index + 1 < len(groups):
            continue
        names = list(dict.fromkeys(name for members in batch for name in members))
        states = _batch_states([by_name[name] for name in names], series(names), frame)
        row = {name: number for number, name in enumerate(names)}
        folded = fold_groups(states, [[row[name] for name in members] for members in batch])
        for group_slices in folded:
            yield GroupStates(frame.month_first, group_slices)
        batch, cells = [], 0


def _batch_states(targets: Sequence[TargetSpec], block: SeriesBlock, frame: _Frame) -> np.ndarray:
    """Steps 1-5 for several targets at once: (targets, counted slices) of states.

    Each target's series are rows of a (target, family, location) grid over the window's
    ended slices, so each step is one array operation over all of them; a slice before
    a series' first probe is NO_DATA as it is when a target is evaluated alone.
    """
    policy = frame.policy
    offset = frame.first_slice - block.first_slice
    if offset < 0 or block.total.shape[1] < offset + frame.known:
        raise SlaError(
            f"series must cover slices [{frame.first_slice}, {frame.first_slice + frame.known})"
        )
    number = {target.name: index for index, target in enumerate(targets)}
    rows = [  # (block row, target, family, location) of the series that count
        (row, number[target], targets[number[target]].families.index(family), location)
        for row, (target, family, location) in enumerate(block.series)
        if target in number and family in targets[number[target]].families
    ]
    picked: np.ndarray | slice = np.array([row for row, *_ in rows], np.intp)
    if len(rows) == len(block.series):
        picked = slice(None)  # every row counts (the usual case): views, not copies
    known = slice(offset, offset + frame.known)
    stale_of = np.array([stale_after_us(policy, target) for target in targets], np.int64)
    stale = stale_of[np.array([t for _, t, _, _ in rows], np.intp)]
    states = rollup_states(
        policy,
        stale,
        total=block.total[picked, known],
        failed=block.failed[picked, known],
        rate_limited=block.rate_limited[picked, known],
        last_offset_us=block.last_offset_us[picked, known],
        last_state=block.last_state[picked, known],
    )
    locations = {where: index for index, where in enumerate(dict.fromkeys(r[3] for r in rows))}
    families = max((len(target.families) for target in targets), default=1)
    grid = np.full((len(targets), families, max(len(locations), 1), frame.known), NO_DATA, np.int8)
    grid[
        [t for _, t, _, _ in rows],
        [f for _, _, f, _ in rows],
        [locations[location] for *_, location in rows],
    ] = states
    combined = combine_locations(
        combine_families(grid, policy.family_policy, axis=1), policy.location_quorum, axis=1
    )
    kept = drop_blips(combined, policy.min_outage_slices)
    counted = kept[:, frame.counted_at : frame.counted_at + frame.counted]
    for index, target in enumerate(targets):
        windows = frame.target_windows(target)
        if windows:
            counted[index, frame.mask(windows)] = EXCLUDED
    return counted
