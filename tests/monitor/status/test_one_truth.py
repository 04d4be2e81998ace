"""One truth: what `run` writes after any refreshes equals a fresh `status build` at that moment.

Hypothesis drives one long-lived SiteRefresher (`run`'s: a StatusBuilder and a
SiteRenderer kept between refreshes, each site published under `output_dir/current`)
through refreshes at random moments, with probes, 429s, silences, operator incidents
and maintenance windows arriving in between, for any `history_days` from 1 to 366; at
every refresh each file under `current` (through its `incidents` symlink) equals the
one `status build` writes into a folder from the same database at the same moment, and
what the long-lived builder keeps stays bounded by the history, also after jumps of
weeks (the runs before the history's start are let go, not only the tail re-read).
"""

from __future__ import annotations

import difflib
import os
import tempfile
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.probing.results import ProbeResult, Reason
from monitor.status.incidents import open_incident, update_incident
from monitor.status.memo import SlotMemo
from monitor.status.publish import build_into
from monitor.status.refresher import SiteRefresher
from monitor.status.site import SiteRenderer
from monitor.status.state import KEPT_DAYS, StatusBuilder
from monitor.store import Store

BASE = datetime(2026, 3, 30, 22, 40, 30, tzinfo=UTC)  # the first refresh; DST in Europe
SERIES = [(t, f) for t in ("api", "search") for f in ("ipv4", "ipv6")]
OUTCOMES = ("ok", "ok", "ok", "fail", "rate_limited", "silent")  # each for a stretch


def config_text(tmp: Path, history_days: int, windows: list[tuple[int, int, bool]]) -> str:
    maintenance = "".join(
        f"  - {{start: {(BASE + timedelta(minutes=s)).isoformat()},"
        f" end: {(BASE + timedelta(minutes=s + length)).isoformat()},"
        f" targets: [search], public: {str(public).lower()}}}\n"
        for s, length, public in windows
    )
    return textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{tmp / "uptime-sla.db"}"}}
        defaults: {{interval: 1m}}
        targets:
          - {{name: api, url: "https://api.test/", service: api}}
          - {{name: search, url: "https://api.test/search", service: search}}
        status_page:
          url: https://status.example.com
          history_days: {history_days}
          timezone: Europe/Berlin
          components:
            - {{name: REST API, targets: [api], group: API}}
            - {{name: Search, targets: [search], group: API}}
            - {{name: Everything, services: [api, search]}}
        """) + ("maintenance:\n" + maintenance if maintenance else "")


stretch = st.tuples(
    st.sampled_from(SERIES), st.sampled_from(OUTCOMES), st.integers(1, 40)
)  # (series, outcome, minutes)
step = st.fixed_dictionaries(
    {
        # Minutes to the next refresh: within a slice, a few minutes, days or weeks later.
        "advance": st.one_of(
            st.integers(0, 3),
            st.integers(4, 90),
            st.integers(1000, 4000),
            st.integers(40 * 1440, 60 * 1440),  # past a short history: the kept start moves
        ),
        "seconds": st.integers(0, 59),
        "stretches": st.lists(stretch, max_size=6),
        "operator": st.sampled_from(("none", "none", "open", "resolve")),
    }
)


def probes_for(
    stretches: list[tuple[tuple[str, str], str, int]], since: datetime, until: datetime
) -> list[ProbeResult]:
    """Each series probed once a minute in [since, until), its stretches in turn (then ok)."""
    found = []
    for series in SERIES:
        plan = [(outcome, minutes) for s, outcome, minutes in stretches if s == series]
        minute = since.replace(second=7, microsecond=0)
        if minute < since:
            minute += timedelta(minutes=1)
        outcomes = [o for o, minutes in plan for _ in range(minutes)]
        number = 0
        while minute < until:
            outcome = outcomes[number] if number < len(outcomes) else "ok"
            number += 1
            if outcome != "silent":
                found.append(probe(*series, minute, outcome))
            minute += timedelta(minutes=1)
    return found


def probe(target: str, family: str, at: datetime, outcome: str) -> ProbeResult:
    if outcome == "ok":
        return ProbeResult(target, family, "eu", at, True, None, 200, 0.05)
    if outcome == "rate_limited":
        return ProbeResult(target, family, "eu", at, True, Reason.RATE_LIMITED, 429, 0.01)
    return ProbeResult(target, family, "eu", at, False, Reason.TIMEOUT, None, 1.0)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, symlinks followed (`run`'s `incidents`)."""
    return {
        os.path.relpath(os.path.join(root, name), folder): Path(root, name).read_bytes()
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names
    }


def first_difference(kept: dict[str, bytes], fresh: dict[str, bytes]) -> str:
    names = sorted(set(kept) ^ set(fresh)) or [n for n in sorted(kept) if kept[n] != fresh[n]]
    name = names[0]
    if name not in kept or name not in fresh:
        return f"{name}: only in {'run' if name in kept else 'status build'}"
    lines = difflib.unified_diff(
        fresh[name].decode(errors="replace").splitlines(),
        kept[name].decode(errors="replace").splitlines(),
        "status build",
        "run",
        n=1,
        lineterm="",
    )
    return f"{name} differs:\n" + "\n".join(list(lines)[:30])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    history_days=st.one_of(st.integers(1, 8), st.integers(28, 33), st.integers(360, 366)),
    windows=st.lists(
        st.tuples(st.integers(-3000, 3000), st.integers(1, 600), st.booleans()), max_size=2
    ),
    before=st.lists(stretch, max_size=6),
    steps=st.lists(step, min_size=2, max_size=5),
)
def test_a_long_running_site_equals_a_fresh_build_at_every_refresh(
    history_days, windows, before, steps
) -> None:
    with tempfile.TemporaryDirectory(prefix="one-truth-") as folder:
        tmp = Path(folder)
        path = tmp / "uptime-sla.yaml"
        path.write_text(config_text(tmp, history_days, windows))
        config = load_config(path)
        store = Store(config.storage.url)
        try:
            written = BASE - timedelta(days=1)
            kept = StatusBuilder(config, store, config_written=written)
            now = BASE
            run = SiteRefresher(config, kept, lambda: now, tmp / "run")
            store.write(probes_for(before, now - timedelta(hours=3), now))
            incident = None
            for number, moment in enumerate(steps):
                if number:
                    later = now + timedelta(minutes=moment["advance"], seconds=moment["seconds"])
                    # What arrives between refreshes: probes since shortly before the last
                    # (after a long jump, only those of the last hours: silence before).
                    since = max(now - timedelta(minutes=50), later - timedelta(hours=3))
                    store.write(probes_for(moment["stretches"], since, later))
                    now = later
                if moment["operator"] == "open" and incident is None:
                    incident = open_incident(
                        config, store, title="Slow <search>", impact="major",
                        components=["Search=partial_outage"], message="Looking.",
                        now=now - timedelta(seconds=1),
                    )  # fmt: skip
                elif moment["operator"] == "resolve" and incident is not None:
                    update_incident(store, incident, status="resolved", message="Done.", now=now)
                    incident = None
                current = run.refresh()
                assert (current / "incidents").is_symlink()  # run's shared incident pages
                site = tree(current)
                build = tmp / f"build-{number}"
                build_into(
                    SiteRenderer().files(
                        StatusBuilder(config, store, config_written=written).snapshot(now)
                    ),
                    build,
                )
                fresh = tree(build)
                assert site == fresh, f"at {now}: " + first_difference(site, fresh)
                sizes = kept.kept_sizes()
                days = max(history_days, KEPT_DAYS) + 2
                assert sizes["slices"] <= days * 1440
                assert sizes["day_bars"] <= 3 * history_days
                assert sizes["final_bars"] <= 3 * history_days
                assert sizes["runs"] <= 2 * sizes["slices"] * 3
                # The renderer's memos hold what this snapshot shows, no more.
                pages = vars(run._renderer._pages).values()
                memos = [m for m in pages if isinstance(m, SlotMemo)]
                assert memos
                assert all(len(memo) <= len(site) for memo in memos)
        finally:
            store.close()
