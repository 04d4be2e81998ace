"""Slice counts, availability and error budget, all exact.

Availability and budget are Fractions so that "below the objective" is decided on
the exact value, never on a rounded or binary-float one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import numpy as np

from sla.slices import SliceState

STATES = len(SliceState)


def state_counts(states: np.ndarray, day_index: np.ndarray, days: int) -> np.ndarray:
    """(days, states) matrix: how many slices of each day are in each state."""
    flat = np.bincount(day_index * STATES + states, minlength=days * STATES)
    return flat.reshape(days, STATES)


def budget_share(objective: Decimal) -> Fraction:
    """The share of eligible slices an objective allows to be bad: 1 - objective/100."""
    return 1 - Fraction(objective) / 100


@dataclass(frozen=True)
class Figures:
    """Slice counts of one target, family or service over a month, period or day.

    `eligible` and `bad` have the `no_data` policy applied (NO_DATA dropped, or counted
    GOOD or BAD); `no_data` is the raw count of NO_DATA slices, before that policy, and
    `measured` the raw count of GOOD and BAD ones (what coverage is made of).
    """

    eligible: int
    bad: int
    no_data: int
    excluded: int
    measured: int

    @classmethod
    def from_counts(cls, counts: Iterable[int], no_data_policy: str) -> Figures:
        """Figures from one row of `state_counts` (or a sum of rows): SliceState order."""
        good, bad, no_data, excluded = (int(count) for count in counts)
        measured = good + bad
        eligible = measured + (0 if no_data_policy == "exclude" else no_data)
        if no_data_policy == "down":
            bad += no_data
        return cls(eligible, bad, no_data, excluded, measured)

    @classmethod
    def pooled(cls, parts: Iterable[Figures]) -> Figures:
        """Figures of adjoining spans (months of a range) as one span: counts add up."""
        totals = [0] * 5
        for part in parts:
            totals = [a + b for a, b in zip(totals, astuple(part), strict=True)]
        return cls(*totals)

    @property
    def coverage(self) -> Fraction | None:
        """100 x slices with data / slices not excluded (spec 7); None when none count."""
        counted = self.measured + self.no_data
        return None if counted == 0 else Fraction(100 * self.measured, counted)

    @property
    def availability(self) -> Fraction | None:
        """100 x (eligible - bad) / eligible; None when nothing is eligible."""
        if self.eligible == 0:
            return None
        return Fraction(100 * (self.eligible - self.bad), self.eligible)

    def breach(self, objective: Decimal) -> bool:
        """Exactly below the objective; no availability is no breach."""
        availability = self.availability
        return availability is not None and availability < Fraction(objective)

    def allowed_bad(self, objective: Decimal) -> Fraction:
        """The error budget: (1 - objective/100) x eligible slices."""
        return budget_share(objective) * self.eligible

    def budget_remaining(self, objective: Decimal) -> Fraction:
        """Allowed bad slices minus bad slices (negative once the budget is spent)."""
        return self.allowed_bad(objective) - self.bad

    def budget_share_left(self, objective: Decimal) -> Fraction | None:
        """budget_remaining / allowed_bad: 1 untouched, below 0 overspent; None without a budget."""
        allowed = self.allowed_bad(objective)
        return self.budget_remaining(objective) / allowed if allowed > 0 else None


@dataclass(frozen=True)
class DayFigures:
    """Figures of one calendar day in the report's time zone."""

    day: date
    figures: Figures


def daily_figures(
    counts: np.ndarray, days: list[date], no_data_policy: str
) -> tuple[DayFigures, ...]:
    return tuple(
        _day_figures(day, tuple(row), no_data_policy)
        for day, row in zip(days, counts.tolist(), strict=True)
    )


@lru_cache(maxsize=1 << 14)
def _day_figures(day: date, counts: tuple[int, ...], no_data_policy: str) -> DayFigures:
    """Most days of most targets look alike (all GOOD, or not begun): share one object."""
    return DayFigures(day, Figures.from_counts(counts, no_data_policy))
