"""The bridge from config and store to the pure SLA engine (and back to files and gauges)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from monitor.config import Config, CreditEntry
from monitor.store import Store
from sla import model, month_bounds
from sla.engine import GroupStates, MonthReport, evaluate_month, group_states
from sla.model import SeriesBlock
from sla.ranges import RangeReport, combine_months
from sla.render.data import render_csv, render_json
from sla.render.html import render_html
from sla.render.md import render_md
from sla.slices import epoch_us, load_window, slice_index, span_window
from sla.status import LastProbe, last_probes
from sla.vocabulary import ReportFormat

# Every format but pdf, which prints the html one.
RENDERERS: dict[ReportFormat, Callable[[MonthReport | RangeReport], str]] = {
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
    "html": render_html,
}


def policy_of(config: Config) -> model.Policy:
    sla = config.sla
    return model.Policy(
        slice_seconds=int(sla.slice),
        bad_slice_ratio=sla.bad_slice_ratio,
        stale_after_seconds=sla.stale_after,
        min_outage_slices=sla.min_outage_slices,
        family_policy=sla.family_policy,
        location_quorum=sla.location_quorum,
        no_data=sla.no_data,
        rate_limited_counts_as=sla.rate_limited_counts_as,
    )


def _steps(entries: tuple[CreditEntry, ...]) -> tuple[model.CreditStep, ...]:
    return tuple(model.CreditStep(e.below, e.percent, e.amount) for e in entries)


def engine_inputs(config: Config) -> dict[str, object]:
    """Everything evaluate_month needs from the config, as the engine's plain types."""
    return {
        "policy": policy_of(config),
        "targets": [
            model.TargetSpec(t.name, t.service_name, t.interval, t.families) for t in config.targets
        ],
        "plans": {
            name: model.Plan(name, p.objective, _steps(p.credits), p.max_credit_percent)
            for name, p in config.plans.items()
        },
        "contracts": [
            model.Contract(
                customer=c.customer,
                plan=c.plan,
                service=c.service,
                monthly_fee=c.monthly_fee,
                currency=c.currency,
                start=config.moment(c.start),
                end=None if c.end is None else config.moment(c.end),
                credits=None if c.credits is None else _steps(c.credits),
                display_name=c.display_name,
            )
            for c in config.contracts
        ],
        "maintenance": [
            model.MaintenanceWindow(m.start, m.end, m.targets, m.services, m.reason)
            for m in config.maintenance
        ],
    }


def last_ended_month(config: Config, now: datetime) -> tuple[int, int]:
    """The default month of `report`: the last one that has ended in `sla.timezone`."""
    local = now.astimezone(config.sla.zone)
    return (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)


def month_report(
    config: Config,
    store: Store,
    year: int,
    month: int,
    now: datetime,
    *,
    customer: str | None = None,
) -> MonthReport:
    """Load exactly the slices the month needs from the rollups and evaluate them.

    The running month is reported to date. A month that has not begun is evaluated
    whole over whatever is stored (imported or synthetic history), not as empty.
    With `customer`, the month is that customer's statement.
    """
    start, end = month_bounds(year, month, config.sla.timezone)
    if now < start:
        now = end
    inputs = engine_inputs(config)
    first, end = load_window(
        year, month, config.sla.timezone, inputs["policy"], inputs["targets"], now=now
    )
    # One target's rollups at a time: a month of every series at once takes gigabytes.
    with store.slice_reader(int(config.sla.slice), first, end) as load:
        return evaluate_month(
            year,
            month,
            config.sla.timezone,
            series=load,
            now=now,
            min_coverage=config.reports.min_coverage_percent,
            customer=customer,
            **inputs,  # type: ignore[arg-type]
        )


def component_states(
    config: Config,
    store: Store,
    groups: Sequence[Sequence[str]],
    *,
    start: datetime,
    now: datetime,
    latest: dict[tuple[str, str, str], LastProbe | None],
) -> Iterator[GroupStates]:
    """Each group's (status page component's) slice states over [start, now), in order.

    The latest probe of every series read on the way is put into `latest`, so the page's
    "now" comes from the same rollups as its history. Reads up to the slice running at
    `now` (its probes are the latest), while only ended slices get a state.
    """
    inputs = engine_inputs(config)
    policy = policy_of(config)
    first, end = span_window(start, now, policy, inputs["targets"])  # type: ignore[arg-type]
    end = min(end, slice_index(epoch_us(now), policy.slice_seconds) + 1)
    with store.block_reader(policy.slice_seconds, first, end) as read:

        def load(targets: Sequence[str]) -> SeriesBlock:
            block = read(targets)
            latest.update(last_probes(block, policy.slice_seconds))
            return block

        yield from group_states(
            start,
            now,
            policy=policy,
            targets=inputs["targets"],  # type: ignore[arg-type]
            groups=groups,
            maintenance=inputs["maintenance"],  # type: ignore[arg-type]
            series=load,
            now=now,
        )


def range_report(
    config: Config,
    store: Store,
    months: list[tuple[int, int]],
    now: datetime,
    *,
    customer: str | None = None,
) -> RangeReport:
    """Each month as `month_report` gives it, and the range over all of their slices."""
    return combine_months(
        tuple(
            month_report(config, store, year, month, now, customer=customer)
            for year, month in months
        )
    )


def render(report: MonthReport | RangeReport, fmt: ReportFormat) -> bytes:
    """A report (or statement, or range) in one of REPORT_FORMATS, as its file's bytes."""
    if fmt == "pdf":
        from monitor.reports.pdf import render_pdf  # noqa: PLC0415 (WeasyPrint is an optional extra)

        return render_pdf(render_html(report))
    return RENDERERS[fmt](report).encode()


def statement(
    config: Config,
    store: Store,
    month: tuple[int, int],
    customer: str | None,
    fmt: ReportFormat,
    *,
    now: datetime,
) -> bytes:
    """One customer's statement of a month in a format (None: the whole month's report).

    What monthly delivery and `report --customer` both send: only that customer's
    contracts, credits, targets, incidents and maintenance (docs/report-schema.md).
    """
    year, number = month
    return render(month_report(config, store, year, number, now, customer=customer), fmt)
