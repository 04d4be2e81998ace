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

from sla.availability import DayFigures, Figures, budget_share, daily_figures, state_counts
from sla.credits import Credit, contract_credit, least_credit
from sla.errors import SlaError
from sla.model import (
    NO_PROVIDER,
    Contract,
    CreditStep,
    FailedProbes,
    MaintenanceWindow,
    Plan,
    Policy,
    Provider,
    SeriesBlock,
    SeriesSlices,
    TargetSpec,
)
from sla.slices import (
    BAD,
    EXCLUDED,
    GOOD,
    NO_DATA,
    US,
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
from sla.status import fold_codes, pair_codes, rate_limited_held
from sla.vocabulary import FAMILIES, Family

# The series of the month: all of them, or a function returning one target's series
# (by name), called once per target so that only that target's arrays are alive.
SeriesSource = Sequence[SeriesSlices] | Callable[[str], Sequence[SeriesSlices]]
# A target's failed probes by name, asked only of targets that were BAD in the month.
FailureSource = Callable[[str], FailedProbes]


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

    @property
    def coverage(self) -> Fraction | None:
        """The lowest of its configured families' coverage: both families are promised, so
        an IPv6 gap is missing data even where IPv4 answered. None when nothing counts."""
        if not self.families:
            return self.figures.coverage
        known = [f.figures.coverage for f in self.families if f.figures.coverage is not None]
        return min(known, default=None)


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
    # The lowest coverage of the service's targets and their families over the period.
    coverage: Fraction | None
    monthly_fee: Decimal
    prorated_fee: Decimal  # fee x period / month (in seconds), unrounded
    credit_rule: CreditStep | None  # the schedule entry applied
    uncapped_amount: Decimal  # the entry's credit for the period before the cap, rounded
    credit_capped: bool  # max_credit_percent cut it
    max_credit_percent: Decimal  # the plan's cap, a percentage of the prorated fee
    complete: bool  # the month has ended and the coverage reaches min_coverage
    period_slices: int  # slices of the whole period, evaluated or not
    # Its data is short, but its bad slices already exceed the budget of the whole
    # period: no data still missing can undo the breach.
    breach_certain: bool
    credit_at_least: Decimal | None  # with breach_certain: the least credit owed, if any

    @property
    def period_seconds(self) -> int:
        return round((self.period_end - self.period_start).total_seconds())


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
    families: tuple[Family, ...] = ()  # the families that failed, in FAMILIES order
    reasons: tuple[tuple[str, int], ...] = ()  # failed probes per reason, most first
    ongoing: bool = False  # it runs past the end of the report's period


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
    issued_at: datetime | None = None  # when it was made (`now` unless the caller says)
    provider: Provider = NO_PROVIDER
    final: bool = True  # the month had ended when the report was made

    def short(self, coverage: Fraction | None) -> bool:
        """Short of data: a coverage unknown or below `min_coverage` (docs/report-schema.md)."""
        return coverage is None or coverage < self.min_coverage

    @property
    def short_targets(self) -> tuple[TargetResult, ...]:
        return tuple(target for target in self.targets if self.short(target.coverage))

    @property
    def short_contracts(self) -> tuple[ContractResult, ...]:
        """Contracts short of data over their own period."""
        return tuple(contract for contract in self.contracts if self.short(contract.coverage))

    @property
    def complete(self) -> bool:
        """Final, and no target or contract short of data: its figures will not change."""
        return self.final and not self.short_targets and not self.short_contracts

    @property
    def reference(self) -> str:
        """Stable for the same month and customer: "SLA-2026-03-acme", "SLA-2026-03"."""
        return f"SLA-{self.month}" + ("" if self.customer is None else f"-{self.customer}")


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
) -> tuple[Track, list[Track], bool]:
    """Steps 1-4 for a target: its combined states, each configured family's alone, and
    whether it is BAD right after the counted slices (or that slice has not ended yet).

    Before a series' first probe every slice is NO_DATA (nothing to carry), so each
    series is evaluated from its first probe and the target from the earliest of them.
    """
    policy = frame.policy
    probed = [(one, _first_probe(one, frame)) for one in series]
    probed = [(one, first) for one, first in probed if first < frame.known]
    lead = min((first for _, first in probed), default=frame.known)
    after = frame.counted_at + frame.counted  # window position of the first slice after
    if lead >= after:
        return frame.nothing, [frame.nothing] * len(target.families), False  # nothing counted
    locations = list(dict.fromkeys(one.location for one, _ in probed))
    grid = np.full((len(target.families), len(locations), frame.known - lead), NO_DATA, np.int8)
    stale_us = stale_after_us(policy, target)
    for one, first in probed:
        shift = one.first_slice - frame.first_slice
        row = grid[target.families.index(one.family), locations.index(one.location)]
        row[first - lead :] = series_states(
            _cut(one, first - shift, frame.known - shift), policy, stale_us
        )

    def locations_and_blips(states: np.ndarray) -> np.ndarray:
        located = combine_locations(states, policy.location_quorum)
        return drop_blips(located, policy.min_outage_slices)

    combined = locations_and_blips(combine_families(grid, policy.family_policy))
    runs_on = after >= frame.known or bool(combined[after - lead] == BAD)
    return (
        frame.counted_track(combined, lead),
        [frame.counted_track(locations_and_blips(f), lead) for f in grid] if families else [],
        runs_on,
    )


@dataclass(frozen=True)
class _Outages:
    """What one target brings to the month's incidents (step 7): its BAD runs over the
    counted slices after step 5, each family's alone, whether it is still BAD right after
    them, and the counted positions [low, high) the report covers for it."""

    target: TargetSpec
    runs: tuple[np.ndarray, np.ndarray]
    families: tuple[tuple[Family, np.ndarray, np.ndarray], ...]
    runs_on: bool
    span: tuple[int, int]

    def clipped(self, counted: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Its runs cut to its span, and which of them run past the span's end."""
        low, high = self.span
        starts, ends = self.runs
        cut_starts, cut_ends = np.maximum(starts, low), np.minimum(ends, high)
        keep = cut_starts < cut_ends
        past = (ends > high) | ((ends == counted) & (high == counted) & self.runs_on)
        return cut_starts[keep], cut_ends[keep], past[keep]


def _evaluate_target(
    target: TargetSpec, series: list[SeriesSlices], frame: _Frame, span: tuple[int, int]
) -> tuple[TargetResult, Track, list[Track], _Outages]:
    """The target's result, its counted slice states after step 5 (combined and per
    family), and its outages."""
    combined, families, runs_on = _target_tracks(target, series, frame)
    families = [frame.exclude_target(track, target) for track in families]
    family_results = tuple(
        FamilyResult(family, *frame.month_figures(track))
        for family, track in zip(target.families, families, strict=True)
    )
    combined = frame.exclude_target(combined, target)
    figures, daily = frame.month_figures(combined)
    result = TargetResult(target.name, target.service, figures, daily, family_results)
    outages = _Outages(
        target,
        combined.bad_runs(),
        tuple(
            (family, *track.bad_runs())
            for family, track in zip(target.families, families, strict=True)
        ),
        runs_on,
        span,
    )
    return result, combined, families, outages


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
        # The lowest coverage over each period of the service's targets and families.
        self.contract_coverage: dict[int, Fraction] = {}

    def add(self, index: int, target: TargetResult, track: Track, families: list[Track]) -> None:
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
            for family in families or [track]:
                counts = frame.counts(family, first, end).sum(axis=0)
                coverage = Figures.from_counts(counts, "exclude").coverage
                if coverage is None:
                    continue
                known = self.contract_coverage.get(number)
                self.contract_coverage[number] = coverage if known is None else min(known, coverage)
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
    coverage: Fraction | None,
    frame: _Frame,
    *,
    final: bool,
    min_coverage: Decimal,
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
    schedule = plan.credits if contract.credits is None else contract.credits

    def credit_of(availability: Fraction | None) -> Credit:
        return contract_credit(
            schedule=schedule,
            availability=availability,
            monthly_fee=contract.monthly_fee,
            currency=contract.currency,
            max_credit_percent=plan.max_credit_percent,
            period_us=epoch_us(period_end) - epoch_us(period_start),
            month_us=epoch_us(frame.end) - epoch_us(frame.start),
        )

    credit = credit_of(figures.availability)
    breach = figures.breach(plan.objective)
    seconds = frame.policy.slice_seconds
    period_slices = slice_at_or_after(period_end, seconds) - slice_at_or_after(
        period_start, seconds
    )
    complete = final and coverage is not None and coverage >= min_coverage
    # However the missing data turns out, no more than `most` slices can be eligible and
    # no fewer than the bad ones seen so far can be bad.
    most = period_slices - figures.excluded
    seen_bad = figures.bad - (figures.no_data if no_data == "down" else 0)
    certain = most > 0 and seen_bad > budget_share(plan.objective) * most
    at_least = None
    if certain and not complete:
        least = least_credit(schedule, Fraction(100 * (most - seen_bad), most), credit_of)
        at_least = least or None
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
        breach=breach,
        budget_remaining=figures.budget_remaining(plan.objective),
        credit_percent=credit.percent,
        credit_amount=credit.amount,
        burn=burn,
        display_name=contract.display_name,
        coverage=coverage,
        monthly_fee=contract.monthly_fee,
        prorated_fee=credit.prorated_fee,
        credit_rule=credit.rule,
        uncapped_amount=credit.uncapped,
        credit_capped=credit.capped,
        max_credit_percent=plan.max_credit_percent,
        complete=complete,
        period_slices=period_slices,
        breach_certain=breach if complete else certain,
        credit_at_least=at_least,
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
    outages: Sequence[_Outages], frame: _Frame, failures: FailureSource | None
) -> tuple[SliceIncident, ...]:
    """Step 7 from each target's BAD runs over its span of the counted slices.

    An incident is a maximal union of overlapping or touching runs; its targets are the
    ones owning those runs. It goes on past the span when a run at its end does.
    """
    clipped = [outage.clipped(frame.counted) for outage in outages]
    starts = np.concatenate([np.empty(0, np.int64), *(starts for starts, _, _ in clipped)])
    if len(starts) == 0:
        return ()
    ends = np.concatenate([ends for _, ends, _ in clipped])
    past = np.concatenate([past for _, _, past in clipped])
    owners = np.repeat(np.arange(len(outages)), [len(run_starts) for run_starts, _, _ in clipped])
    order = np.argsort(starts, kind="stable")
    starts, ends, owners, past = starts[order], ends[order], owners[order], past[order]
    reach = np.maximum.accumulate(ends)
    opens = np.r_[True, starts[1:] > reach[:-1]]  # begins after every earlier run ended
    closes = np.r_[opens[1:], True]
    number = np.cumsum(opens) - 1  # each run's incident
    incident_ends = reach[closes]
    ongoing = np.zeros(len(incident_ends), bool)
    np.logical_or.at(ongoing, number, past & (ends == incident_ends[number]))
    # (incident, target) pairs, sorted: each incident's targets in config order.
    count = len(outages)
    pairs = np.unique(number * count + owners)
    incident, target = pairs // count, pairs % count
    involved = np.split(target, np.flatnonzero(np.diff(incident)) + 1)
    spans = np.array([outage.span for outage in outages], np.int64).reshape(-1, 2)[target]
    parts = _Parts(
        incident,
        target,
        np.maximum(starts[opens][incident], spans[:, 0]),
        np.minimum(incident_ends[incident], spans[:, 1]),
    )
    families = _bad_families(outages, parts, len(incident_ends))
    failed = _failed_probes(outages, parts, frame, failures)
    reasons = np.zeros((len(incident_ends), len(failed.reasons)), np.int64)
    np.add.at(reasons, incident, failed.by_reason)
    # Where no family was BAD on its own (a quorum of locations made the target BAD):
    # the families whose probes failed in it.
    by_family = np.zeros((len(incident_ends), len(FAMILIES)), np.int64)
    np.add.at(by_family, incident, failed.by_family)
    families |= ~families.any(axis=1, keepdims=True) & (by_family > 0)
    seconds = frame.policy.slice_seconds
    # Thousands of incidents share a few family sets: each tuple is made once.
    family_sets = {
        key: tuple(f for f, bad in zip(FAMILIES, key, strict=True) if bad)
        for key in {tuple(row) for row in families.tolist()}
    }
    return tuple(
        SliceIncident(
            start=slice_start(frame.month_first + start, seconds),
            end=slice_start(frame.month_first + end, seconds),
            slices=end - start,
            targets=tuple(outages[i].target.name for i in members.tolist()),
            families=family_sets[tuple(failed_families)],
            reasons=_reasons(failed.reasons, counts),
            ongoing=runs_on,
        )
        for start, end, members, runs_on, failed_families, counts in zip(
            starts[opens].tolist(),
            incident_ends.tolist(),
            involved,
            ongoing.tolist(),
            families.tolist(),
            reasons.tolist(),
            strict=True,
        )
    )


def _reasons(names: tuple[str, ...], counts: list[int]) -> tuple[tuple[str, int], ...]:
    """(reason, failed probes) of the reasons that have any, most first."""
    if not any(counts):
        return ()
    return tuple(sorted(((r, n) for r, n in zip(names, counts, strict=True) if n), key=_most_first))


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


@dataclass(frozen=True)
class _Parts:
    """Each (incident, target) pair, and the part [low, high) of the incident within the
    target's span (counted positions): where its families and failed probes are looked at."""

    incident: np.ndarray
    target: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def of(self, target: int) -> np.ndarray:
        return np.flatnonzero(self.target == target)


def _bad_families(outages: Sequence[_Outages], parts: _Parts, incidents: int) -> np.ndarray:
    """(incidents, FAMILIES) bools: a family of one of its targets was BAD on its own."""
    found = np.zeros((incidents, len(FAMILIES)), bool)
    for index in np.unique(parts.target).tolist():
        mine = parts.of(index)
        for family, run_starts, run_ends in outages[index].families:
            at = np.searchsorted(run_ends, parts.low[mine], side="right")  # first run ending after
            hit = at < len(run_starts)
            hit[hit] = run_starts[at[hit]] < parts.high[mine][hit]
            found[parts.incident[mine][hit], FAMILIES.index(family)] = True
    return found


@dataclass(frozen=True)
class _Failed:
    """Failed probes in each (incident, target) part: per reason and per family."""

    reasons: tuple[str, ...]
    by_reason: np.ndarray  # (parts, reasons)
    by_family: np.ndarray  # (parts, FAMILIES)


def _failed_probes(
    outages: Sequence[_Outages], parts: _Parts, frame: _Frame, failures: FailureSource | None
) -> _Failed:
    """The failed probes that started in each part: running sums over each target's rows
    (sorted by slice), read at both ends of each part."""
    loaded = {}
    if failures is not None:
        for index in np.unique(parts.target).tolist():
            loaded[index] = failures(outages[index].target.name).rows
    names = tuple(sorted({row[2] for rows in loaded.values() for row in rows}))
    by_reason = np.zeros((len(parts.target), len(names)), np.int64)
    by_family = np.zeros((len(parts.target), len(FAMILIES)), np.int64)
    for index, rows in loaded.items():
        if not rows:
            continue
        mine = parts.of(index)
        slices, families, reasons, probes = (np.array(column) for column in zip(*rows, strict=True))
        first = np.searchsorted(slices, frame.month_first + parts.low[mine])
        end = np.searchsorted(slices, frame.month_first + parts.high[mine])

        for column, name in enumerate(names):
            by_reason[mine, column] = _between(probes, reasons == name, first, end)
        for column, family in enumerate(FAMILIES):
            by_family[mine, column] = _between(probes, families == family, first, end)
    return _Failed(names, by_reason, by_family)


def _between(
    counts: np.ndarray, picked: np.ndarray, first: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """The sum of the picked `counts` in each row range [first, end), by running sums."""
    total: np.ndarray = np.concatenate(([0], np.cumsum(np.where(picked, counts, 0))))
    found: np.ndarray = total[end] - total[first]
    return found


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
    issued_at: datetime | None = None,
    provider: Provider = NO_PROVIDER,
    failures: FailureSource | None = None,
) -> MonthReport:
    """Evaluate one calendar month (in `tz_name`) from series covering `load_window(...)`.

    Targets, contracts and the report keep config order; series of targets or families
    not configured are ignored. Slices that have not ended by `now` are not counted.
    With `customer`, the report is that customer's statement (`statement_scope`).
    `issued_at` (default `now`) is when the report is made: a month is final only once
    it has ended by then. `failures` gives the failed probes behind incidents' reasons.
    """
    starts = day_starts(year, month, tz_name)
    days = [date(year, month, 1) + timedelta(days=n) for n in range(len(starts) - 1)]
    frame = _Frame(starts, days, policy=policy, targets=targets, maintenance=maintenance, now=now)
    issued = now if issued_at is None else issued_at
    final = not frame.month_to_date and issued >= frame.end
    spans: dict[str, tuple[int, int]] = {}
    if customer is not None:
        targets, contracts = statement_scope(customer, targets, contracts, frame.start, frame.end)
        spans = _contract_spans(contracts, frame)
    series_of = _series_of(series)
    services = _Services(targets, contracts, frame)
    target_results, outages = [], []
    for index, target in enumerate(targets):
        result, track, families, outage = _evaluate_target(
            target,
            _checked(target, series_of(target.name), frame),
            frame,
            spans.get(target.service, (0, frame.counted)),
        )
        target_results.append(result)
        outages.append(outage)
        services.add(index, result, track, families)
    evaluated = (
        _evaluate_contract(
            contract,
            plans,
            services.contract_counts.get(index),
            services.contract_coverage.get(index),
            frame,
            final=final,
            min_coverage=min_coverage,
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
        incidents=_incidents(outages, frame, failures),
        maintenance=_maintenance(targets, frame),
        min_coverage=min_coverage,
        customer=customer,
        issued_at=issued,
        provider=provider,
        final=final,
    )


def _contract_spans(contracts: Sequence[Contract], frame: _Frame) -> dict[str, tuple[int, int]]:
    """Per service, the counted positions from the earliest start of the contracts on it
    to their latest end: a statement's incidents are clipped to its contracts' periods."""
    seconds = frame.policy.slice_seconds
    spans: dict[str, tuple[int, int]] = {}
    for contract in contracts:
        period = _period(contract, frame)
        if period is None:
            continue
        low, high = (
            min(max(slice_at_or_after(moment, seconds) - frame.month_first, 0), frame.counted)
            for moment in period
        )
        if contract.service in spans:
            known_low, known_high = spans[contract.service]
            low, high = min(low, known_low), max(high, known_high)
        spans[contract.service] = (low, high)
    return spans


@dataclass(frozen=True)
class GroupStates:
    """Slice states of a group of targets (a status page component), steps 1 to 5.

    A slice is BAD when any target of the group is BAD, EXCLUDED when all are, NO_DATA
    when all the others are NO_DATA, else GOOD: step 6 without the service's own windows.
    `scope` says which of its (target, family) pairs failed and answered in each slice
    (`sla.status` scope codes: the page's status, an incident's impact and families).
    """

    first_slice: int  # epoch slice index of states[0]
    states: np.ndarray  # int8 SliceState of each slice that ended by `now`
    scope: np.ndarray  # int8 scope code of the same slices


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
        states, codes = _batch_states([by_name[name] for name in names], series(names), frame)
        row = {name: number for number, name in enumerate(names)}
        rows = [[row[name] for name in members] for members in batch]
        folded = fold_groups(states, rows)
        for group_slices, group_codes in zip(folded, fold_codes(codes, rows), strict=True):
            yield GroupStates(frame.month_first, group_slices, group_codes)
        batch, cells = [], 0


def _batch_states(
    targets: Sequence[TargetSpec], block: SeriesBlock, frame: _Frame
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-5 for several targets at once: (targets, counted slices) of states, and
    the scope codes of the same slices (`sla.status`: pairs after step 3, a series held
    by a 429 answering).

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
    owners = np.array([t for _, t, _, _ in rows], np.intp)
    stale = stale_of[owners]
    total, last_offset_us = block.total[picked, known], block.last_offset_us[picked, known]
    last_state = block.last_state[picked, known]
    states = rollup_states(
        policy,
        stale,
        total=total,
        failed=block.failed[picked, known],
        rate_limited=block.rate_limited[picked, known],
        last_offset_us=last_offset_us,
        last_state=last_state,
    )
    locations = {where: index for index, where in enumerate(dict.fromkeys(r[3] for r in rows))}
    families = max((len(target.families) for target in targets), default=1)
    shape = (len(targets), families, max(len(locations), 1), frame.known)
    cells = (owners, [f for _, _, f, _ in rows], [locations[location] for *_, location in rows])
    grid = np.full(shape, NO_DATA, np.int8)
    grid[cells] = states
    combined = combine_locations(
        combine_families(grid, policy.family_policy, axis=1), policy.location_quorum, axis=1
    )
    kept = drop_blips(combined, policy.min_outage_slices)
    counted = kept[:, frame.counted_at : frame.counted_at + frame.counted]
    for index, target in enumerate(targets):
        windows = frame.target_windows(target)
        if windows:
            counted[index, frame.mask(windows)] = EXCLUDED
    grace = np.array([round(t.max_retry_after_seconds * US) for t in targets], np.int64)[owners]
    held = rate_limited_held(
        policy, stale, grace, total=total, last_offset_us=last_offset_us, last_state=last_state
    )
    if held.any():
        grid[cells] = np.where(held, GOOD, states)
    pairs = combine_locations(grid, policy.location_quorum, axis=2)
    slots = np.full((len(targets), families), -1, np.intp)
    for index, target in enumerate(targets):
        slots[index, : len(target.families)] = [FAMILIES.index(f) for f in target.families]
    codes = pair_codes(pairs[..., frame.counted_at : frame.counted_at + frame.counted], slots)
    return counted, codes
