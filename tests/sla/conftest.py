"""Fixtures for the SLA engine tests: the MonthProbes builder and contracts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from support.month_probes import MonthProbes

from sla.model import Contract, CreditStep


def contract(
    plan: str = "pro",
    *,
    customer: str = "acme",
    service: str = "public-api",
    fee: str = "1000.00",
    currency: str = "USD",
    start: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    end: datetime | None = None,
    credits: tuple[CreditStep, ...] | None = None,
    display_name: str | None = None,
) -> Contract:
    return Contract(
        customer, plan, service, Decimal(fee), currency, start, end, credits, display_name
    )


@pytest.fixture(scope="session")
def month_probes() -> type[MonthProbes]:
    """The builder class; fixtures spare the tests an import path to this file."""
    return MonthProbes


@pytest.fixture(scope="session")
def make_contract() -> Callable[..., Contract]:
    return contract
