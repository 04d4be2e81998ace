"""Time the SLA engine on a month of 400 random series (100 targets x 2 families x 2 locations).

Run: .venv/bin/python bench/bench_sla_engine.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from sla.engine import evaluate_month
from sla.model import Contract, LastState, Plan, Policy, SeriesSlices, TargetSpec
from sla.slices import load_window

YEAR, MONTH = 2026, 1
TARGETS = [TargetSpec(f"target-{n}", f"service-{n % 10}", 30.0) for n in range(100)]
LOCATIONS = ("us-west-2", "eu-west-1")


def random_series(rng: np.random.Generator, first: int, length: int) -> list[SeriesSlices]:
    """Two probes a slice, a few failures, and a few empty slices to carry over."""
    series = []
    for target in TARGETS:
        for family in target.families:
            for location in LOCATIONS:
                total = rng.choice([0, 2], size=length, p=[0.01, 0.99])
                failed = np.minimum(total, rng.binomial(2, 0.01, size=length))
                state = np.where(failed > 0, LastState.FAILED, LastState.OK)
                series.append(
                    SeriesSlices(
                        target=target.name,
                        family=family,
                        location=location,
                        first_slice=first,
                        total=total,
                        failed=failed,
                        rate_limited=np.zeros(length, np.int64),
                        last_offset_us=np.where(total > 0, 30_000_000, 0),
                        last_state=np.where(total > 0, state, LastState.NONE).astype(np.int8),
                    )
                )
    return series


def main() -> None:
    policy = Policy(min_outage_slices=2, location_quorum=1)
    first, end = load_window(YEAR, MONTH, "UTC", policy, TARGETS)
    series = random_series(np.random.default_rng(1), first, end - first)
    plans = {"pro": Plan("pro", Decimal("99.9"))}
    contracts = [
        Contract(
            f"customer-{n}",
            "pro",
            f"service-{n}",
            Decimal(1000),
            "USD",
            datetime(2025, 1, 1, tzinfo=UTC),
        )
        for n in range(10)
    ]
    started = time.perf_counter()
    report = evaluate_month(
        YEAR,
        MONTH,
        "UTC",
        policy=policy,
        targets=TARGETS,
        plans=plans,
        contracts=contracts,
        maintenance=[],
        series=series,
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )
    elapsed = time.perf_counter() - started
    print("command: .venv/bin/python bench/bench_sla_engine.py")
    print(
        f"evaluate_month: {len(series)} series x {end - first} slices, "
        f"{len(report.incidents)} incidents, {elapsed:.3f} s"
    )


if __name__ == "__main__":
    main()
