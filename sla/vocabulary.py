"""The project's words, each list defined here once and imported by every layer.

The config, the database, the JSON files and the command line all spell these words the
same way, so a word changed in one place must change everywhere: hence one module, in the
pure core so that `sla/` and `monitor/` can both import it.

- Words the code passes around and compares are `StrEnum`s: a member IS its word (it
  compares equal to the plain string, formats as it and is written as it in JSON), so a
  value read back from the database or a payload needs no conversion to be compared.
- Words the config accepts are `Literal` types with their tuple: pydantic validates a
  Literal and names its words in its one-line error.
- Where people read one wording for a word, it sits beside the word (`*_TEXT`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

# --- probing ---------------------------------------------------------------------------

Family = Literal["ipv4", "ipv6"]
FAMILIES: tuple[Family, ...] = get_args(Family)
FAMILY_NAMES: dict[Family, str] = {"ipv4": "IPv4", "ipv6": "IPv6"}

# --- the choices of the config's `sla:` section ----------------------------------------

FamilyPolicy = Literal["any", "all"]  # a slice is BAD when any/all families are
NoDataPolicy = Literal["exclude", "up", "down"]  # how a slice without data counts
RateLimitedPolicy = Literal["up", "down"]  # how a 429 counts
Majority = Literal["majority"]  # `location_quorum`, else a whole number of locations

# --- the status page (Atlassian Statuspage's words, which its clients read) -----------


class ComponentStatus(StrEnum):
    """A component's status now. Declared from best to worst: a group of components shows
    its worst member's (`COMPONENT_SEVERITY`)."""

    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"


COMPONENT_SEVERITY: tuple[ComponentStatus, ...] = tuple(ComponentStatus)
COMPONENT_STATUS_TEXT: dict[ComponentStatus, str] = {
    ComponentStatus.OPERATIONAL: "Operational",
    ComponentStatus.UNDER_MAINTENANCE: "Under maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
}


# What an operator may set a component to with `incident open --component NAME=STATUS`.
OPERATOR_COMPONENT_STATUSES: tuple[ComponentStatus, ...] = (
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
    ComponentStatus.UNDER_MAINTENANCE,
)


class Indicator(StrEnum):
    """The page's overall indicator (`sla.status.indicator`). Declared from best to worst
    (`INDICATOR_SEVERITY`): maintenance shows only while nothing is worse."""

    NONE = "none"
    MAINTENANCE = "maintenance"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


INDICATOR_SEVERITY: tuple[Indicator, ...] = tuple(Indicator)

# The indicator's one description (Statuspage's): the JSON's `status.description`, the
# page's banner and what `status build` prints.
INDICATOR_TEXT: dict[Indicator, str] = {
    Indicator.NONE: "All Systems Operational",
    Indicator.MAINTENANCE: "Service Under Maintenance",
    Indicator.MINOR: "Minor Service Outage",
    Indicator.MAJOR: "Partial System Outage",
    Indicator.CRITICAL: "Major System Outage",
}


class Impact(StrEnum):
    """An incident's impact; a scheduled maintenance has the impact `maintenance`."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


# What an operator may give `incident open --impact`; automatic incidents are `minor` (some
# (target, family) pairs failed) or `major` (every pair failed at once).
OPERATOR_IMPACTS: tuple[Impact, ...] = (Impact.MINOR, Impact.MAJOR, Impact.CRITICAL)


class IncidentStatus(StrEnum):
    """An incident update's status; the incident's is its last update's."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"


# What an operator may give `incident update --status`; an incident is over at these.
OPERATOR_STATUSES: tuple[IncidentStatus, ...] = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.RESOLVED,
)
RESOLVED_STATUSES: tuple[IncidentStatus, ...] = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)


class MaintenanceStatus(StrEnum):
    """A public maintenance window against the clock."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


MAINTENANCE_STATUS_TEXT: dict[MaintenanceStatus, str] = {
    MaintenanceStatus.SCHEDULED: "Scheduled",
    MaintenanceStatus.IN_PROGRESS: "In progress",
    MaintenanceStatus.COMPLETED: "Completed",
}

# --- notifications ---------------------------------------------------------------------

# What a channel's `events:` may name; statements go where `reports:` says.
EventGroup = Literal["incident", "maintenance"]
EVENT_GROUPS: tuple[EventGroup, ...] = get_args(EventGroup)


class EventKind(StrEnum):
    """What a notification event tells (the outbox's `kind`, a metric label)."""

    INCIDENT_OPENED = "incident_opened"
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_RESOLVED = "incident_resolved"
    MAINTENANCE_ANNOUNCED = "maintenance_announced"
    MAINTENANCE_STARTED = "maintenance_started"
    MAINTENANCE_COMPLETED = "maintenance_completed"
    STATEMENT_READY = "statement_ready"  # the month's summary, to `reports.slack`
    STATEMENT = "statement"  # one customer's statement, to one of its contacts
    SUBSCRIPTION_CONFIRM = "subscription_confirm"  # the link a new subscriber confirms
    WEBHOOK_DISABLED = "webhook_disabled"  # to a webhook's owner, after its failures


class ChannelKind(StrEnum):
    SLACK = "slack"
    EMAIL = "email"
    SUBSCRIBERS = "subscribers"  # the status page's own subscribers


def channel_name(kind: ChannelKind, name: str | None = None) -> str:
    """A channel's name in the outbox, logs and metrics: `slack:NAME`, `email`."""
    return str(kind) if name is None else f"{kind}:{name}"


EMAIL_CHANNEL = channel_name(ChannelKind.EMAIL)  # notifications.email's own `to`
CUSTOMER_EMAIL_CHANNEL = channel_name(ChannelKind.EMAIL, "customers")  # statements' contacts
# Each event's fan-out to the page's subscribers, then their messages by how they go.
SUBSCRIBERS_CHANNEL = channel_name(ChannelKind.SUBSCRIBERS)
SUBSCRIBER_EMAIL_CHANNEL = channel_name(ChannelKind.SUBSCRIBERS, "email")
SUBSCRIBER_WEBHOOK_CHANNEL = channel_name(ChannelKind.SUBSCRIBERS, "webhook")


class SubscriberKind(StrEnum):
    """How a subscriber of the status page is told (and the channel its messages take)."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryState(StrEnum):
    """A message in the outbox: pending until sent or given up; skipped when recorded too
    late to be sent (no backfill)."""

    PENDING = "pending"
    SENT = "sent"
    GIVEN_UP = "given_up"
    SKIPPED = "skipped"


# --- reports ---------------------------------------------------------------------------

ReportFormat = Literal["json", "csv", "md", "html", "pdf"]
REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
REPORT_MEDIA_TYPES: dict[ReportFormat, str] = {
    "json": "application/json",
    "csv": "text/csv",
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
}

# --- promises beyond uptime (docs/promises.md) -------------------------------------------


class Promise(StrEnum):
    """A promise checked per (target, family): the config key that turns it on, the
    `promise` label, the report's word."""

    TLS_ONLY = "tls_only"
    PLAINTEXT_REJECTED = "plaintext_rejected"
    RETRY_AFTER_ON_429 = "retry_after_on_429"
    BOTH_FAMILIES = "both_families"


class CheckResult(StrEnum):
    """A promise check's `result`."""

    KEPT = "kept"
    BROKEN = "broken"


class DeliveryResult(StrEnum):
    """A webhook delivery's `result`: answered 2xx, refused (our 503, 400, 413), forged."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    BAD_SIGNATURE = "bad_signature"


class DeliveryKind(StrEnum):
    """What a delivery is to its receiver; FIRST and RETRY are the `attempt` label."""

    FIRST = "first"
    RETRY = "retry"
    DUPLICATE = "duplicate"


ATTEMPTS: tuple[DeliveryKind, ...] = (DeliveryKind.FIRST, DeliveryKind.RETRY)

PromiseReportFormat = Literal["json", "md", "html"]
PROMISE_REPORT_FORMATS: tuple[PromiseReportFormat, ...] = get_args(PromiseReportFormat)
