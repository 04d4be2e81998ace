"""Month-to-date SLA gauges for /metrics, recomputed on a timer (never per scrape).

A month's evaluation reads rollups and runs the engine: cheap, but not cheap enough to
do on every scrape of a 15 s Prometheus. The refresher recomputes every
`metrics.sla_refresh` in a worker thread and swaps the finished families in at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.metrics import collectors as names
from monitor.metrics.collectors import SlaMetrics
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import month_report
from monitor.store import Store
from sla.engine import MonthReport

log = logging.getLogger(__name__)


class SlaRefresher:
    def __init__(
        self, config: Config, store: Store, sink: SlaMetrics, clock: Callable[[], datetime]
    ) -> None:
        self._config = config
        self._inputs = EngineInputs.of(config)
        self._store = store
        self._sink = sink
        self._clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.refresh)
            except MonitorError as exc:
                log.warning("SLA gauges not refreshed: %s", exc)
            except Exception:  # the gauges are a side dish: never let them stop probing
                log.exception("SLA gauges not refreshed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._config.metrics.sla_refresh)

    def refresh(self) -> None:
        now = self._clock()
        report = month_report(self._inputs, self._store, now.year, now.month, now)
        self._sink.publish(sla_families(self._config, report, now))


def sla_families(config: Config, report: MonthReport, now: datetime) -> list[Metric]:
    """Gauges from a MonthReport: availability and budget per service, credit per customer."""
    availability = GaugeMetricFamily(
        names.SLA_AVAILABILITY,
        "Month-to-date availability of the service (0-1).",
        labels=["service"],
    )
    objective = GaugeMetricFamily(
        names.SLA_OBJECTIVE,
        "Objective of each plan sold on the service (0-1).",
        labels=["service", "plan"],
    )
    budget = GaugeMetricFamily(
        names.SLA_BUDGET_REMAINING,
        "Share of the month's error budget left (1 = untouched, below 0 = overspent).",
        labels=["service", "plan", "objective"],
    )
    credit = GaugeMetricFamily(
        names.SLA_CREDIT,
        "Credit owed if the month ended now.",
        labels=["customer", "currency"],
    )
    plans_by_service: dict[str, set[str]] = {}
    for contract in config.contracts:
        plans_by_service.setdefault(contract.service, set()).add(contract.plan)
    for service in report.services:
        figures = service.figures
        if figures.availability is not None:
            availability.add_metric([service.name], float(figures.availability / 100))
        for plan_name in sorted(plans_by_service.get(service.name, ())):
            plan = config.plans[plan_name]
            objective.add_metric([service.name, plan_name], float(plan.objective / 100))
            share = figures.budget_share_left(plan.objective)
            if share is not None:
                budget.add_metric([service.name, plan_name, str(plan.objective)], float(share))
    for customer in report.customers:
        credit.add_metric([customer.customer, customer.currency], float(customer.credit_total))
    refreshed = GaugeMetricFamily(names.SLA_REFRESHED, "When the SLA gauges were computed.")
    refreshed.add_metric([], now.timestamp())
    return [availability, objective, budget, credit, refreshed]
