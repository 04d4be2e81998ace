"""Several consecutive months as one report: each month as it is, plus the range's own figures.

The months' slices partition the range's slices (a month runs from its first slice up
to the next month's first), and blips are decided over time as a whole, so adding the
months' slice counts is evaluating the range slice by slice. Percentages are then taken
once from those counts: never an average of monthly percentages, which would weigh a
28-day month like a 31-day one and a month without data like a perfect one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sla.availability import Figures
from sla.engine import CustomerTotal, FamilyResult, MonthReport, ServiceResult, TargetResult
from sla.errors import SlaError


@dataclass(frozen=True)
class RangeReport:
    months: tuple[MonthReport, ...]  # consecutive, oldest first
    targets: tuple[TargetResult, ...]  # over the whole range; `daily` runs through it
    services: tuple[ServiceResult, ...]
    customers: tuple[CustomerTotal, ...]  # each customer's credits summed over the months

    @property
    def first(self) -> MonthReport:
        return self.months[0]

    @property
    def last(self) -> MonthReport:
        return self.months[-1]

    @property
    def slice_seconds(self) -> int:
        return self.first.slice_seconds

    @property
    def timezone(self) -> str:
        return self.first.timezone

    @property
    def short_targets(self) -> tuple[TargetResult, ...]:
        return tuple(target for month in self.months for target in month.short_targets)

    @property
    def complete(self) -> bool:
        """Complete when every month is: each month's credits stand on their own data."""
        return all(month.complete for month in self.months)


def combine_months(months: tuple[MonthReport, ...]) -> RangeReport:
    """The range of these months, which must be one report's months in order (same config)."""
    if not months:
        raise SlaError("a range needs at least one month")
    names = [tuple(target.name for target in month.targets) for month in months]
    if len(set(names)) != 1:
        raise SlaError("the months of a range must report the same targets")
    targets = tuple(
        TargetResult(
            name=first.name,
            service=first.service,
            figures=Figures.pooled(month.targets[index].figures for month in months),
            daily=tuple(day for month in months for day in month.targets[index].daily),
            families=tuple(
                FamilyResult(
                    family.family,
                    Figures.pooled(month.targets[index].families[n].figures for month in months),
                    tuple(
                        day for month in months for day in month.targets[index].families[n].daily
                    ),
                )
                for n, family in enumerate(first.families)
            ),
        )
        for index, first in enumerate(months[0].targets)
    )
    services = tuple(
        ServiceResult(
            first.name,
            Figures.pooled(month.services[index].figures for month in months),
            tuple(day for month in months for day in month.services[index].daily),
        )
        for index, first in enumerate(months[0].services)
    )
    totals: dict[tuple[str, str], Decimal] = {}
    for month in months:
        for total in month.customers:
            key = (total.customer, total.currency)
            totals[key] = totals.get(key, Decimal(0)) + total.credit_total
    customers = tuple(
        CustomerTotal(customer, currency, amount) for (customer, currency), amount in totals.items()
    )
    return RangeReport(months, targets, services, customers)
