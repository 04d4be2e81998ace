"""Retention: raw rows go, per-slice rollups stay, and old months report the same figures."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.probing.results import ProbeResult, Reason
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import month_report
from monitor.store import Store
from sla.render.data import render_json

NOW = datetime(2026, 3, 15, tzinfo=UTC)


def february_with_an_outage() -> list[ProbeResult]:
    """A probe every 5 minutes per family in February; ipv6 down for an hour on the 10th."""
    start, results = datetime(2026, 2, 1, tzinfo=UTC), []
    for step in range(28 * 24 * 12):
        when = start + timedelta(minutes=5 * step, seconds=3)
        for family in ("ipv4", "ipv6"):
            down = family == "ipv6" and when.day == 10 and when.hour == 4
            results.append(
                ProbeResult("api", family, "eu", when, not down, Reason.TIMEOUT if down else None)
            )
    return results


def test_pruning_raw_rows_keeps_the_figures_of_old_months(tmp_path: Path, database_url: str):
    config_path = tmp_path / "uptime-sla.yaml"
    config_path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "{database_url}", raw_retention: 7d}}
        defaults: {{interval: 5m}}
        targets: [{{name: api, url: "https://api.test/", service: api}}]
        plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
        contracts: [{{customer: acme, plan: pro, service: api, monthly_fee: "100", start: 2026-01-01}}]
        """)
    )
    config = load_config(config_path)
    store = Store(database_url)
    try:
        store.write(february_with_an_outage())
        before = render_json(month_report(EngineInputs.of(config), store, 2026, 2, NOW))
        deleted = store.prune_raw(NOW - timedelta(seconds=config.storage.raw_retention))
        after = render_json(month_report(EngineInputs.of(config), store, 2026, 2, NOW))
        remaining = store.results()
    finally:
        store.close()
    assert deleted == 28 * 24 * 12 * 2
    assert remaining == []
    assert '"bad_slices": 60' in before  # the hour of ipv6 downtime is there to keep
    # Every figure stays. What failed probes said is read from the raw rows, so an
    # incident's reasons go with them (docs/operations.md#retention).
    (incident,) = json.loads(before)["incidents"]
    assert incident["reasons"] == {"timeout": 12}
    assert json.loads(after)["incidents"] == [{**incident, "reasons": {}}]
    assert after.replace("{}", '{\n        "timeout": 12\n      }') == before
