"""The one bridge from the config to the SLA engine's plain inputs.

The engine takes frozen dataclasses, the config is pydantic models: `EngineInputs` is the
config turned into the former once (per command, or when `run` assembles its parts), and
what the month's reports, the status page and the statements all evaluate with, so the
three can never read the config differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from monitor.config import Config, CreditEntry
from sla.model import (
    Contract,
    CreditStep,
    MaintenanceWindow,
    Plan,
    Policy,
    Provider,
    TargetSpec,
)


@dataclass(frozen=True)
class EngineInputs:
    """Everything `evaluate_month` and `group_states` need from the config, in config order."""

    timezone: str  # sla.timezone: months and days are this zone's
    policy: Policy
    targets: tuple[TargetSpec, ...]
    plans: Mapping[str, Plan]
    contracts: tuple[Contract, ...]
    maintenance: tuple[MaintenanceWindow, ...]  # every window, public or not: as config's
    min_coverage: Decimal  # reports.min_coverage_percent
    provider: Provider  # reports.provider: who issues the reports

    @classmethod
    def of(cls, config: Config) -> EngineInputs:
        sla = config.sla
        return cls(
            timezone=sla.timezone,
            policy=Policy(
                slice_seconds=int(sla.slice),
                bad_slice_ratio=sla.bad_slice_ratio,
                stale_after_seconds=sla.stale_after,
                min_outage_slices=sla.min_outage_slices,
                family_policy=sla.family_policy,
                location_quorum=sla.location_quorum,
                no_data=sla.no_data,
                rate_limited_counts_as=sla.rate_limited_counts_as,
            ),
            targets=tuple(
                TargetSpec(t.name, t.service_name, t.interval, t.families, t.max_retry_after)
                for t in config.targets
            ),
            plans=MappingProxyType(
                {
                    name: Plan(name, p.objective, _steps(p.credits), p.max_credit_percent)
                    for name, p in config.plans.items()
                }
            ),
            contracts=tuple(
                Contract(
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
            ),
            maintenance=tuple(
                MaintenanceWindow(m.start, m.end, m.targets, m.services, m.reason)
                for m in config.maintenance
            ),
            min_coverage=config.reports.min_coverage_percent,
            provider=Provider(**config.reports.provider.model_dump()),
        )

    @property
    def slice_seconds(self) -> int:
        return self.policy.slice_seconds


def _steps(entries: tuple[CreditEntry, ...]) -> tuple[CreditStep, ...]:
    return tuple(CreditStep(e.below, e.percent, e.amount) for e in entries)
