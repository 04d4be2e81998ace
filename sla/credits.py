"""Service credits, in decimal arithmetic, rounded once at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from sla.errors import SlaError
from sla.model import CreditStep

# ISO 4217 currencies whose minor unit is not 2 decimal places.
MINOR_UNITS = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"), 0),
    **dict.fromkeys(("XPF", "PYG", "RWF", "KMF", "GNF", "DJF", "BIF", "VUV"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD"), 3),
}

# Far more digits than any fee needs, so the single division by the month length is the
# only inexact step and cannot move the half-even rounding to the minor unit.
PRECISION = 60


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Half-even to the currency's minor unit, e.g. 2 places for USD, 0 for JPY."""
    with localcontext(prec=PRECISION):
        return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), ROUND_HALF_EVEN)


def applicable_step(
    schedule: Iterable[CreditStep], availability: Fraction | None
) -> CreditStep | None:
    """The entry with the lowest `below` that the availability is strictly below."""
    if availability is None:
        return None
    below = [step for step in schedule if availability < Fraction(step.below)]
    return min(below, key=lambda step: step.below, default=None)


@dataclass(frozen=True)
class Credit:
    """A contract period's credit and every step of its computation, so it can be checked.

    `percent` is 0 when no entry applies and None when the entry is a fixed amount;
    `prorated_fee` is unrounded; `uncapped` and `amount` are rounded to the minor unit.
    """

    percent: Decimal | None
    amount: Decimal
    rule: CreditStep | None  # the schedule entry applied
    prorated_fee: Decimal  # fee x period / month
    uncapped: Decimal  # what the entry gives for the period before the cap
    capped: bool  # max_credit_percent cut it


def contract_credit(
    *,
    schedule: Iterable[CreditStep],
    availability: Fraction | None,
    monthly_fee: Decimal,
    currency: str,
    max_credit_percent: Decimal,
    period_us: int,
    month_us: int,
) -> Credit:
    """The credit of one contract period, prorated by period / month length in seconds.

    Fee x percent / 100 (or the fixed amount) x period / month, capped at
    max_credit_percent of the prorated fee, rounded half-even once at the end.
    """
    step = applicable_step(schedule, availability)
    with localcontext(prec=PRECISION):
        prorated = monthly_fee * period_us / month_us
        if step is None:
            zero = round_money(Decimal(0), currency)
            return Credit(Decimal(0), zero, None, prorated, zero, False)
        full = step.amount if step.percent is None else monthly_fee * step.percent / 100
        if full is None:  # the config allows no such entry
            raise SlaError(f"credit entry below {step.below} has neither percent nor amount")
        cap = monthly_fee * max_credit_percent / 100
        uncapped = full * period_us / month_us
        amount = min(full, cap) * period_us / month_us
    return Credit(
        percent=step.percent,
        amount=round_money(amount, currency),
        rule=step,
        prorated_fee=prorated,
        uncapped=round_money(uncapped, currency),
        capped=full > cap,
    )


def least_credit(
    schedule: Sequence[CreditStep], best: Fraction, credit_of: Callable[[Fraction], Credit]
) -> Decimal:
    """The smallest credit any availability up to `best` earns: what an incomplete period
    owes at least, when the data still missing can only raise its availability to `best`.

    The credit is a step function of the availability that changes only at the entries'
    thresholds, so besides `best` itself it takes each value just below a threshold.
    """
    below = [Fraction(step.below) for step in schedule if Fraction(step.below) <= best]
    tiny = Fraction(1, 10**12)
    candidates = [best, *(threshold - tiny for threshold in below)]
    return min(credit_of(availability).amount for availability in candidates)
