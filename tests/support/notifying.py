"""Driving notifiers by hand in tests: one scan-and-deliver round, and a maintenance window."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.service import Notifier
from monitor.store import Store, StoredIncident, StoredUpdate
from support.processes import memory_mb

# One public-api window on 2026-03-10, 14:00-15:00 UTC (the notify tests' clock starts at 12:00).
WINDOW = """\
maintenance:
  - {start: 2026-03-10T14:00:00Z, end: 2026-03-10T15:00:00Z, services: [public-api],
     reason: database upgrade}
"""


def step(*notifiers: Notifier) -> int:
    """Each notifier scans, then each delivers (as their threads would); messages sent."""
    for notifier in notifiers:
        notifier.scan()
    return sum(notifier.deliver() for notifier in notifiers)


def open_incident(
    store: Store,
    incident_id: str,
    title: str,
    message: str,
    at: datetime,
    components: tuple[str, ...] = ("public-api",),  # component names
) -> None:
    """An operator incident (major) with its opening update, as `incident open` stores it."""
    opened = StoredUpdate(f"{incident_id}-u1", "investigating", message, at)
    store.add_incident(StoredIncident(incident_id, title, "major", components, at, (opened,)))


def counted(metrics: NotifyMetrics, name: str) -> dict[tuple[str, str], float]:
    """A notification counter's samples, by (channel, event kind)."""
    return {
        (sample.labels["channel"], sample.labels["event"]): sample.value
        for family in metrics.collect()
        if family.name == name
        for sample in family.samples
        if sample.name == f"{name}_total"
    }


def peak_growth_mb(action: Callable[[], object]) -> float:
    """How far this process's peak RSS rose while `action` ran (Linux: the peak is reset
    through /proc/self/clear_refs first, so earlier peaks do not hide this one)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = memory_mb(os.getpid(), "VmRSS")
    action()
    return memory_mb(os.getpid(), "VmHWM") - before
