"""Coverage and completeness, maintenance in the report, and statements."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from sla.engine import evaluate_month
from sla.errors import SlaError
from sla.model import MaintenanceWindow, TargetSpec

FEBRUARY = 28 * 24 * 60  # slices of February 2026
API = TargetSpec("api", "public-api", 30.0, ("ipv4",))
SEARCH = TargetSpec("search", "search", 30.0, ("ipv4",))
BILLING = TargetSpec("billing", "billing", 30.0, ("ipv4",))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_month_without_any_probe_has_no_coverage_and_is_incomplete(month_probes):
    report = month_probes().evaluate()
    (target,) = report.targets
    assert target.figures.coverage == 0
    assert not report.complete
    assert report.short_targets == (target,)


def test_a_fully_probed_month_is_complete(month_probes):
    report = month_probes().steady().evaluate()
    assert report.targets[0].figures.coverage == 100
    assert report.complete


def test_coverage_counts_missing_slices_but_not_maintenance(month_probes):
    # Probes stop at day 21 (minute 30,240): a week of February has no data. A 60-minute
    # window inside the probed part is left out of both sides of the fraction.
    hour = MaintenanceWindow(utc(2026, 2, 10, 2), utc(2026, 2, 10, 3), targets=("api",))
    report = month_probes().steady(end=30_240).evaluate(maintenance=[hour])
    figures = report.targets[0].figures
    # The last probe carries into the slice after it (stale after 2 x 30 s), no further.
    measured = 30_240 + 1 - 60
    assert figures.coverage == Fraction(100 * measured, FEBRUARY - 60)
    assert not report.complete


def test_a_threshold_of_zero_accepts_any_data(month_probes):
    case = month_probes().steady(end=60)
    report = evaluate_month(
        2026,
        2,
        "UTC",
        policy=case.policy,
        targets=case.targets,
        plans={},
        contracts=[],
        maintenance=[],
        series=case.series(),
        now=datetime(2100, 1, 1, tzinfo=UTC),
        min_coverage=Decimal(0),
    )
    assert report.complete


def test_the_report_lists_the_windows_touching_the_month_with_their_slices(month_probes):
    inside = MaintenanceWindow(utc(2026, 2, 10, 2), utc(2026, 2, 10, 3), reason="db upgrade")
    across = MaintenanceWindow(utc(2026, 2, 28, 23, 30), utc(2026, 3, 1, 0, 30))
    before = MaintenanceWindow(utc(2026, 1, 5), utc(2026, 1, 6))
    report = month_probes().steady().evaluate(maintenance=[inside, across, before])
    assert [(w.reason, w.targets, w.excluded_slices) for w in report.maintenance] == [
        ("db upgrade", ("api",), 60),
        ("", ("api",), 30),
    ]
    assert report.targets[0].figures.excluded == 90


def _three_customers(month_probes, make_contract):
    case = month_probes(targets=[API, SEARCH, BILLING])
    for name in ("api", "search", "billing"):
        case.steady(target=name)
    case.fail(100, 120, target="api").fail(110, 150, target="search")
    case.fail(200, 230, target="billing")
    contracts = [
        make_contract("pro", customer="acme", display_name="Acme Corp."),
        make_contract("turbo", customer="acme", service="search", fee="300.00"),
        make_contract("pro", customer="globex", service="billing", fee="777.00"),
        make_contract("pro", customer="initech", service="public-api", fee="555.00"),
    ]
    windows = [
        MaintenanceWindow(utc(2026, 2, 3, 1), utc(2026, 2, 3, 2), targets=("billing",)),
        MaintenanceWindow(utc(2026, 2, 4, 1), utc(2026, 2, 4, 2), services=("search",)),
    ]
    return case, contracts, windows


def test_a_statement_keeps_only_the_customers_contracts_targets_and_windows(
    month_probes, make_contract
):
    case, contracts, windows = _three_customers(month_probes, make_contract)
    whole = case.evaluate(contracts=contracts, maintenance=windows)
    acme = case.evaluate(contracts=contracts, maintenance=windows, customer="acme")
    assert [c.customer for c in acme.contracts] == ["acme", "acme"]
    assert acme.contracts[0].display_name == "Acme Corp."
    assert [c.customer for c in acme.customers] == ["acme"]
    assert [t.name for t in acme.targets] == ["api", "search"]
    assert [w.targets for w in acme.maintenance] == [("search",)]
    # Each target's figures are its own, whoever the statement is for.
    assert acme.targets == whole.targets[:2]
    assert acme.contracts == whole.contracts[:2]


def test_a_statements_incidents_are_recomputed_over_its_own_targets(month_probes, make_contract):
    case, contracts, windows = _three_customers(month_probes, make_contract)
    whole = case.evaluate(contracts=contracts, maintenance=windows)
    initech = case.evaluate(contracts=contracts, maintenance=windows, customer="initech")
    # Overall, api (100-120) and search (110-150) make one 50-minute incident.
    assert [(i.slices, i.targets) for i in whole.incidents[:1]] == [(50, ("api", "search"))]
    assert [(i.start, i.end, i.slices, i.targets) for i in initech.incidents] == [
        (utc(2026, 2, 1, 1, 40), utc(2026, 2, 1, 2), 20, ("api",))
    ]
    assert [t.name for t in initech.targets] == ["api"]
    assert initech.maintenance == ()


def test_completeness_of_a_statement_is_judged_on_its_own_targets(month_probes, make_contract):
    case = month_probes(targets=[API, BILLING]).steady(target="api")  # billing: no data
    contracts = [
        make_contract(customer="acme"),
        make_contract(customer="globex", service="billing"),
    ]
    assert not case.evaluate(contracts=contracts).complete
    assert case.evaluate(contracts=contracts, customer="acme").complete
    globex = case.evaluate(contracts=contracts, customer="globex")
    assert not globex.complete
    assert globex.contracts[0].coverage == 0


def test_a_customer_without_a_contract_in_the_month_gets_an_empty_statement(
    month_probes, make_contract
):
    case = month_probes().steady()
    later = make_contract(customer="acme", start=utc(2026, 4, 1))
    report = case.evaluate(contracts=[later], customer="acme")
    assert (report.targets, report.contracts, report.customers, report.incidents) == (
        (),
        (),
        (),
        (),
    )
    assert report.complete


def test_an_unknown_customer_is_an_error(month_probes, make_contract):
    with pytest.raises(SlaError, match="nobody"):
        month_probes().steady().evaluate(contracts=[make_contract()], customer="nobody")


def test_contract_coverage_is_the_lowest_of_its_services_targets(month_probes, make_contract):
    two = [API, TargetSpec("api-eu", "public-api", 30.0, ("ipv4",))]
    case = month_probes(targets=two).steady(target="api")  # api-eu has no data at all
    (result,) = case.evaluate(contracts=[make_contract()]).contracts
    assert result.coverage == 0
    assert not result.complete
    # The service itself is GOOD wherever one target is: availability is unaffected.
    assert result.figures.availability == 100
