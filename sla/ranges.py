"""Several consecutive months as one report: each month as it is, plus the range's own figures.

The months' slices partition the range's slices (a month runs from its first slice up
to the next month's first), and blips are decided over time as a whole, so adding the
months' slice counts is evaluating the range slice by slice. Percentages are then taken
once from those counts: never an average of monthly percentages, which would weigh a
28-day month like a 31-day one and a month without data like a perfect one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sla.availability import Figures
from sla.credits import round_money
from sla.engine import FamilyResult, MonthReport, ServiceResult, TargetResult
from sla.errors import SlaError
from sla.model import Provider

_Named = TypeVar("_Named", TargetResult, ServiceResult)


@dataclass(frozen=True)
class RangeTotal:
    """A customer's credits over a range in one currency: all of them, and split into the
    months that have ended (`final`) and the others (`provisional`)."""

    customer: str
    currency: str
    credit_total: Decimal
    final: Decimal
    provisional: Decimal


@dataclass(frozen=True)
class RangeReport:
    months: tuple[MonthReport, ...]  # consecutive, oldest first
    targets: tuple[TargetResult, ...]  # over the months that report them
    services: tuple[ServiceResult, ...]
    customers: tuple[RangeTotal, ...]  # each customer's credits summed over the months

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
    def customer(self) -> str | None:
        return self.first.customer

    @property
    def issued_at(self) -> datetime | None:
        return self.last.issued_at

    @property
    def provider(self) -> Provider:
        return self.last.provider

    @property
    def short_targets(self) -> tuple[TargetResult, ...]:
        return tuple(target for month in self.months for target in month.short_targets)

    @property
    def complete(self) -> bool:
        """Complete when every month is: each month's credits stand on their own data."""
        return all(month.complete for month in self.months)

    @property
    def final(self) -> bool:
        return all(month.final for month in self.months)

    @property
    def reference(self) -> str:
        """ "SLA-2026-01..2026-03-acme": the months and the customer, like a month's."""
        span = (
            self.first.month if len(self.months) == 1 else f"{self.first.month}..{self.last.month}"
        )
        return f"SLA-{span}" + ("" if self.customer is None else f"-{self.customer}")


def _by_name(
    months: tuple[MonthReport, ...], of: Callable[[MonthReport], Sequence[_Named]]
) -> dict[str, list[_Named]]:
    """Each name's results over the months that have it, names in order of appearance.

    A statement's months may have different targets: a customer who joins in March has
    none before, one who leaves has none after."""
    found: dict[str, list[_Named]] = {}
    for month in months:
        for result in of(month):
            found.setdefault(result.name, []).append(result)
    return found


def _pooled_target(results: list[TargetResult]) -> TargetResult:
    first = results[0]
    return TargetResult(
        name=first.name,
        service=first.service,
        figures=Figures.pooled(result.figures for result in results),
        daily=tuple(day for result in results for day in result.daily),
        families=tuple(
            FamilyResult(
                family.family,
                Figures.pooled(result.families[n].figures for result in results),
                tuple(day for result in results for day in result.families[n].daily),
            )
            for n, family in enumerate(first.families)
        ),
    )


def combine_months(months: tuple[MonthReport, ...]) -> RangeReport:
    """The range of these months, which must be one report's months in order (same config).

    Figures of a target or service are pooled over the months that report it; credits
    are summed per customer and currency, split into final and provisional months.
    """
    if not months:
        raise SlaError("a range needs at least one month")
    targets = tuple(
        _pooled_target(results) for results in _by_name(months, lambda m: m.targets).values()
    )
    services = tuple(
        ServiceResult(
            results[0].name,
            Figures.pooled(result.figures for result in results),
            tuple(day for result in results for day in result.daily),
        )
        for results in _by_name(months, lambda m: m.services).values()
    )
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for month in months:
        for total in month.customers:
            zero = round_money(Decimal(0), total.currency)
            sums = totals.setdefault((total.customer, total.currency), [zero, zero])
            sums[0 if month.final else 1] += total.credit_total
    customers = tuple(
        RangeTotal(customer, currency, final + provisional, final, provisional)
        for (customer, currency), (final, provisional) in totals.items()
    )
    return RangeReport(months, targets, services, customers)
