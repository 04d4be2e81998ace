"""Every slice length the config accepts, through `import` and the report, against the spec.

The rollups keep, per slice, probe counts and the offset of the last probe, which a slice
after it carries forward (docs/concepts.md, Slices). Both must hold up to the longest
slice, a day: probes 30 min apart put the last probe of a 2 h slice 6,300 s in, and 1 s
apart put 86,400 probes in a day.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from support.month_probes import FAILED, RATE_LIMITED, MonthProbes
from support.sla_reference import reference, summary

from monitor.cli import main
from monitor.config import load_config
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import month_report
from monitor.store import Store
from sla.model import Contract, Policy, TargetSpec
from sla.slices import from_epoch_us, slice_index

DAY = 24 * 60  # minutes
NOW = datetime(2026, 3, 10, tzinfo=UTC)  # after February and every slice loaded with it
TARGETS = (
    TargetSpec("a", "front", 1800.0, ("ipv4", "ipv6")),
    TargetSpec("b", "back", 1800.0, ("ipv4",)),
)
SERIES = (
    ("a", "ipv4", "east"),
    ("a", "ipv4", "west"),
    ("a", "ipv6", "east"),
    ("b", "ipv4", "east"),
)
ACME = Contract("acme", "pro", "front", Decimal(100), "USD", datetime(2026, 1, 1, tzinfo=UTC))
CONFIG = """\
    storage: {{url: "{url}"}}
    defaults: {{interval: 30m}}
    sla: {{slice: {slice}}}
    targets:
      - {{name: a, url: "https://a.test/", service: front}}
      - {{name: b, url: "https://b.test/", service: back, families: [ipv4]}}
    plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
    contracts:
      - {{customer: acme, plan: pro, service: front, monthly_fee: "100", start: 2026-01-01}}
    """


def february(slice_seconds: int) -> MonthProbes:
    """Every series probed at :15 and :45, with outages, 429s and silences.

    In a 2 h slice the probes start 900, 2,700, 4,500 and 6,300 s in: the last two
    offsets wrap in 32 bits, and the latest that does not (2,700 s) is too old to carry
    into the next slice when the series falls silent, while the true last one is not.
    """
    case = MonthProbes(policy=Policy(slice_seconds=slice_seconds), targets=TARGETS)
    for target, family, location in SERIES:
        names = {"target": target, "family": family, "location": location}
        case.steady(start=-3 * DAY + 15, end=29 * DAY, every=1800, **names)
    case.remove(DAY + 120, DAY + 240, target="a", location="east", family="ipv4")
    case.fail(5 * DAY + 60, 5 * DAY + 200, family="ipv6")
    case.set(7 * DAY, 7 * DAY + 90, RATE_LIMITED, target="b")
    case.remove(10 * DAY, 11 * DAY, target="b")  # a silent day
    case.fail(12 * DAY, 12 * DAY + 45, target="a", family="ipv4")
    case.fail(15 * DAY + 30, 15 * DAY + 100, target="a")
    case.remove(15 * DAY + 100, 15 * DAY + 150, target="a")  # silent right after failing
    return case


def csv_of(case: MonthProbes) -> str:
    lines = ["time,target,family,location,success,status_code,latency_ms,reason"]
    for (target, family, location), (times, states) in case.probes.items():
        for started_us, state in zip(times.tolist(), states.tolist(), strict=True):
            reason = {FAILED: "timeout", RATE_LIMITED: "rate_limited"}.get(state, "")
            when = from_epoch_us(started_us).isoformat()
            success = "false" if state == FAILED else "true"
            lines.append(f"{when},{target},{family},{location},{success},,,{reason}")
    return "\n".join(lines) + "\n"


def import_file(tmp_path: Path, database_url: str, slice_text: str, csv_text: str) -> Path:
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(textwrap.dedent(CONFIG).format(url=database_url, slice=slice_text))
    history = tmp_path / "history.csv"
    history.write_text(csv_text)
    assert main(["-c", str(config), "import", str(history)]) == 0
    return config


@pytest.mark.parametrize(
    ("slice_text", "slice_seconds"),
    [("60s", 60), ("5m", 300), ("1h", 3600), ("2h", 7200), ("1d", 86400)],
)
def test_import_and_report_say_what_every_slice_says(
    tmp_path: Path, database_url: str, slice_text: str, slice_seconds: int
) -> None:
    case = february(slice_seconds)
    config_path = import_file(tmp_path, database_url, slice_text, csv_of(case))
    config = load_config(config_path)
    store = Store(database_url, slice_seconds)
    try:
        report = month_report(EngineInputs.of(config), store, 2026, 2, NOW)
    finally:
        store.close()
    assert report.slice_seconds == slice_seconds
    assert summary(report) == reference(case, [ACME], [], NOW)


def test_a_day_slice_counts_a_probe_every_second(tmp_path: Path, database_url: str) -> None:
    case = MonthProbes(policy=Policy(slice_seconds=86400), targets=TARGETS)
    case.steady(start=DAY, end=2 * DAY, every=1, target="b", location="east")
    case.fail(DAY, DAY + 60, target="b")
    import_file(tmp_path, database_url, "1d", csv_of(case))
    store = Store(database_url, 86400)
    try:
        day = slice_index(case.us_at(DAY), 86400)
        (series,) = store.load_slices(86400, day, day + 1, ["b"])
    finally:
        store.close()
    assert (int(series.total[0]), int(series.failed[0])) == (86_400, 3600)
    assert int(series.last_offset_us[0]) == 86_399_000_000
