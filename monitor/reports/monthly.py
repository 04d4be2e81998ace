"""From the config's engine inputs and the store to the pure SLA engine, and back to files."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from monitor.config import Config
from monitor.reports.inputs import EngineInputs
from monitor.store import Store
from sla.engine import GroupStates, MonthReport, evaluate_month, group_states
from sla.model import FailedProbes
from sla.ranges import RangeReport, combine_months
from sla.render.data import render_csv, render_json
from sla.render.html import render_html
from sla.render.md import render_md
from sla.slices import (
    epoch_us,
    load_window,
    month_bounds,
    slice_at_or_after,
    slice_index,
    span_window,
)
from sla.vocabulary import ReportFormat

# Every format but pdf, which prints the html one.
RENDERERS: dict[ReportFormat, Callable[[MonthReport | RangeReport], str]] = {
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
    "html": render_html,
}


def last_ended_month(config: Config, now: datetime) -> tuple[int, int]:
    """The default month of `report`: the last one that has ended in `sla.timezone`."""
    local = now.astimezone(config.sla.zone)
    return (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)


def month_report(
    inputs: EngineInputs,
    store: Store,
    year: int,
    month: int,
    now: datetime,
    *,
    customer: str | None = None,
) -> MonthReport:
    """Load exactly the slices the month needs from the rollups and evaluate them.

    The running month is reported to date. A month that has not begun is evaluated
    whole over whatever is stored (imported or synthetic history), not as empty, and is
    not final. With `customer`, the month is that customer's statement. The failed
    probes behind its incidents are read from the stored probes.
    """
    month_start, month_end = month_bounds(year, month, inputs.timezone)
    issued_at = now
    if now < month_start:
        now = month_end
    first, end = load_window(year, month, inputs.timezone, inputs.policy, inputs.targets, now=now)
    seconds = inputs.slice_seconds
    counted = (slice_at_or_after(month_start, seconds), end)

    def failures(target: str) -> FailedProbes:
        down = inputs.policy.rate_limited_counts_as == "down"
        return store.failed_probes(target, seconds, *counted, rate_limited=down)

    # One target's rollups at a time: a month of every series at once takes gigabytes.
    with store.slice_reader(seconds, first, end) as load:
        return evaluate_month(
            year,
            month,
            inputs.timezone,
            policy=inputs.policy,
            targets=inputs.targets,
            plans=inputs.plans,
            contracts=inputs.contracts,
            maintenance=inputs.maintenance,
            series=load,
            now=now,
            min_coverage=inputs.min_coverage,
            customer=customer,
            issued_at=issued_at,
            provider=inputs.provider,
            failures=failures,
        )


def component_states(
    inputs: EngineInputs,
    store: Store,
    groups: Sequence[Sequence[str]],
    *,
    start: datetime,
    now: datetime,
) -> Iterator[GroupStates]:
    """Each group's (status page component's) slice states and scope codes over the
    slices of [start, now) ended by `now`, in order."""
    policy = inputs.policy
    first, end = span_window(start, now, policy, inputs.targets)
    end = min(end, slice_index(epoch_us(now), policy.slice_seconds) + 1)
    with store.block_reader(policy.slice_seconds, first, end) as read:
        yield from group_states(
            start,
            now,
            policy=policy,
            targets=inputs.targets,
            groups=groups,
            maintenance=inputs.maintenance,
            series=read,
            now=now,
        )


def range_report(
    inputs: EngineInputs,
    store: Store,
    months: list[tuple[int, int]],
    now: datetime,
    *,
    customer: str | None = None,
) -> RangeReport:
    """Each month as `month_report` gives it, and the range over all of their slices."""
    return combine_months(
        tuple(
            month_report(inputs, store, year, month, now, customer=customer)
            for year, month in months
        )
    )


def render(report: MonthReport | RangeReport, fmt: ReportFormat) -> bytes:
    """A report (or statement, or range) in one of REPORT_FORMATS, as its file's bytes."""
    if fmt == "pdf":
        from monitor.reports.pdf import render_pdf  # noqa: PLC0415 (WeasyPrint is an optional extra)

        return render_pdf(render_html(report))
    return RENDERERS[fmt](report).encode()
