"""The status page's optional webhook components: one per `status_component` that webhook
receivers name (docs/promises.md).

Small on purpose: a component's status now comes from its receivers' first attempts of
the last 24 hours (the share that arrived within the promised time); it has no uptime
bars of its own (its days show no data) and no automatic incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from monitor.config import Config, WebhookReceiverSettings, slug
from monitor.status.state import ComponentState, DayBar, Uptime
from monitor.store import Store
from sla.availability import Figures
from sla.vocabulary import ComponentStatus

RECENT = timedelta(hours=24)
_NOTHING = Figures(eligible=0, bad=0, no_data=0, excluded=0, measured=0)


def webhook_components(
    config: Config,
    store: Store,
    now: datetime,
    *,
    days: Sequence[date],
    uptime_labels: Sequence[str],
    first_position: int,
    since: datetime,
) -> list[ComponentState]:
    """The webhook components in config order, positioned after the page's others.

    Their verdict has no history to date a change by: `since` (the start of the data the
    page shows) is their `created_at` and `updated_at` alike.
    """
    named: dict[str, list[WebhookReceiverSettings]] = {}
    for receiver in config.webhook_receivers:
        if receiver.status_component is not None:
            named.setdefault(receiver.status_component, []).append(receiver)
    components = []
    for position, (name, receivers) in enumerate(named.items(), start=first_position):
        verdicts = [_kept(store, receiver, now) for receiver in receivers]
        seen = [v for v in verdicts if v is not None]
        within = receivers[0].promise.within
        status = ComponentStatus.OPERATIONAL if all(seen) else ComponentStatus.DEGRADED_PERFORMANCE
        components.append(
            ComponentState(
                id=slug(name),
                name=name,
                description=f"Webhook deliveries: first attempts within {within:g} s",
                group=None,
                position=position,
                status=status,
                monitored=bool(seen),
                failing_families=(),
                healthy_families=(),
                unmonitored_families=(),
                bars=tuple(DayBar(day, _NOTHING, 0.0) for day in days),
                uptime=tuple(Uptime(label, _NOTHING) for label in uptime_labels),
                measured_status=status,
                operator_status=None,
                updated_at=since,
                created_at=since,
            )
        )
    return components


def _kept(store: Store, receiver: WebhookReceiverSettings, now: datetime) -> bool | None:
    """Whether the receiver's recent first attempts keep the promised share (None: none)."""
    latencies = store.promises.first_attempt_latencies(receiver.name, now - RECENT)
    if not latencies:
        return None
    within = sum(1 for seconds in latencies if seconds <= receiver.promise.within)
    return 100 * within >= receiver.promise.first_attempt_percent * len(latencies)
