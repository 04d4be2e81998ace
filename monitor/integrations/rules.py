"""Prometheus recording and alerting rules, generated from the config.

Generated rather than written by hand because every number in them comes from the config:
`for:` durations from each target's interval and timeout, SLO thresholds from each plan's
objective, label values from the targets and services. A hand-written file would drift
from the config at its first edit; `uptime-sla rules` rewrites it instead.

Metric names come from monitor.metrics.collectors, so a renamed metric cannot leave a silent rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import yaml

from monitor.config import Config, Target, WebhookReceiverSettings
from monitor.metrics import collectors as m
from monitor.metrics import promises as pm
from sla.availability import budget_share

# --- names this module defines (the recorded series and the alerts) ----------------------------

SLI_ERROR = "slo:sli_error:ratio_rate{window}"  # 1 - mean probe_success over a window
OBJECTIVE_RATIO = "slo:objective:ratio"  # 0.9999 for a 99.99 % objective
ERROR_BUDGET_RATIO = "slo:error_budget:ratio"  # 0.0001 for a 99.99 % objective
TARGET_INFO = "uptime_sla:target_service:info"  # 1 per target, joins probe series to services

PROBE_DOWN = "ProbeDown"
PROBE_FAMILY_DOWN = "ProbeFamilyDown"
PROBE_DATA_MISSING = "ProbeDataMissing"
MONITOR_FAMILY_UNREACHABLE = "MonitorFamilyUnreachable"
TLS_VERSION_BELOW_MINIMUM = "TLSVersionBelowMinimum"
TLS_CERTIFICATE_EXPIRING = "TLSCertificateExpiring"
ERROR_BUDGET_BURN = "ErrorBudgetBurn"
ERROR_BUDGET_EXHAUSTED = "ErrorBudgetExhausted"
NOTIFICATIONS_GIVEN_UP = "NotificationsGivenUp"
PROMISE_BROKEN = "PromiseBroken"
WEBHOOK_PROMISE_BROKEN = "WebhookPromiseBroken"
ALERT_NAMES = (
    PROBE_DOWN,
    PROBE_FAMILY_DOWN,
    PROBE_DATA_MISSING,
    MONITOR_FAMILY_UNREACHABLE,
    TLS_VERSION_BELOW_MINIMUM,
    TLS_CERTIFICATE_EXPIRING,
    ERROR_BUDGET_BURN,
    ERROR_BUDGET_EXHAUSTED,
)

CRITICAL, WARNING = "critical", "warning"  # page, ticket

# --- multiwindow, multi-burn-rate SLO alerts (Google SRE workbook, ch. 5; sloth) ---------------

DAY = 86_400
SLO_PERIOD = 30 * DAY  # the burn-rate factors are relative to a 30-day budget


@dataclass(frozen=True)
class BurnWindow:
    """Alert when `budget_share` of a 30-day error budget would be spent within `long` seconds.

    Burning that share in that window means burning `factor` times faster than the rate
    that spends exactly the whole budget in the period. The `short` window (1/12 of the
    long one) must agree, so the alert stops soon after the errors do.
    """

    budget_share: Fraction
    long: int
    short: int
    severity: str

    @property
    def factor(self) -> Fraction:
        return self.budget_share * SLO_PERIOD / self.long


BURN_WINDOWS = (
    BurnWindow(Fraction(2, 100), 1 * 3600, 5 * 60, CRITICAL),  # 14.4x
    BurnWindow(Fraction(5, 100), 6 * 3600, 30 * 60, CRITICAL),  # 6x
    BurnWindow(Fraction(10, 100), 1 * DAY, 2 * 3600, WARNING),  # 3x
    BurnWindow(Fraction(10, 100), 3 * DAY, 6 * 3600, WARNING),  # 1x
)

# ProbeDataMissing waits for the SLA's stale limit, and at least this long: a restarted
# Prometheus discovers its targets up to 5 s late and then scrapes them, which must not page.
MISSING_FLOOR = 60.0

CERT_EXPIRY_DAYS = ((WARNING, 14), (CRITICAL, 3))
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")  # what the prober can report, oldest first


# --- small formatting helpers ----------------------------------------------------------------


def prom_duration(seconds: float) -> str:
    """30 -> 30s, 90 -> 1m30s, 86400 -> 1d: the form Prometheus prints itself."""
    millis = round(seconds * 1000)
    if millis % 1000:
        return f"{millis}ms"
    left, parts = millis // 1000, []
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts) or "0s"


def decimal_text(value: Fraction | Decimal) -> str:
    """An exact number in plain notation (14.4, 0.0001), never 1E-4 nor 14.399999."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    text = format(value.normalize(), "f")
    return text


def _selector(metric: str, **matchers: str | Iterable[str]) -> str:
    """`metric{label="v"}`, or `label=~"a|b"` for several values (dots escaped)."""
    parts = []
    for label, value in matchers.items():
        if isinstance(value, str):
            parts.append(f'{label}="{value}"')
        else:
            values = sorted(value)
            if len(values) == 1:
                parts.append(f'{label}="{values[0]}"')
            else:
                alternatives = "|".join(v.replace(".", "\\\\.") for v in values)
                parts.append(f'{label}=~"{alternatives}"')
    return f"{metric}{{{', '.join(parts)}}}"


# --- what the config says ----------------------------------------------------------------


@dataclass(frozen=True)
class Slo:
    """One objective sold on one service (plans with the same objective share it)."""

    service: str
    objective: Decimal
    plans: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def objective_label(self) -> str:
        return str(self.objective)  # as monitor.reports.gauges labels the budget gauge

    @property
    def budget(self) -> Decimal:
        share = budget_share(self.objective)  # its denominator divides 10^k: an exact Decimal
        return Decimal(share.numerator) / Decimal(share.denominator)

    @property
    def labels(self) -> dict[str, str]:
        return {"service": self.service, "objective": self.objective_label}


def slos(config: Config) -> list[Slo]:
    """Each (service, objective) that a contract sells, in config order.

    An objective of 100 % has no budget to burn (any failure breaches it): ProbeDown is its
    alert, so it gets no burn-rate rules.
    """
    found: dict[tuple[str, Decimal], list[str]] = {}
    for contract in config.contracts:
        objective = config.plans[contract.plan].objective
        if objective >= 100:
            continue
        plans = found.setdefault((contract.service, objective), [])
        if contract.plan not in plans:
            plans.append(contract.plan)
    return [
        Slo(
            service,
            objective,
            tuple(sorted(plans)),
            tuple(t.name for t in config.targets if t.service_name == service),
        )
        for (service, objective), plans in found.items()
    ]


def sli_windows() -> list[int]:
    """Every window an SLI is recorded over: the long and short ones of BURN_WINDOWS."""
    return sorted({w for b in BURN_WINDOWS for w in (b.long, b.short)})


def sli_error_name(window_seconds: int) -> str:
    return SLI_ERROR.format(window=prom_duration(window_seconds))


# --- the rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    config: Config

    def runbook(self, alert: str) -> str:
        return f"{self.config.alerting.runbook_url}#{alert.lower()}"

    def budget_left(self, service: str) -> str:
        """An annotation template: the month's budget left per plan, read when it fires."""
        query = _selector(m.SLA_BUDGET_REMAINING, service=service)
        return (
            f"{{{{ range $i, $s := query `{query}` }}}}{{{{ if $i }}}}, {{{{ end }}}}"
            "{{ $s.Labels.plan }} ({{ $s.Labels.objective }} %): "
            "{{ $s.Value | humanizePercentage }}"
            "{{ else }}unknown (no SLA gauge yet){{ end }}"
        )

    def alert(
        self,
        name: str,
        expr: str,
        *,
        for_seconds: float,
        labels: dict[str, str],
        summary: str,
        description: str,
        service: str | None = None,
        budget_left: str | None = None,
    ) -> dict[str, Any]:
        """One alerting rule; `service` adds the service's budget left as an annotation."""
        annotations = {"summary": summary, "description": description}
        if service is not None:
            budget_left = self.budget_left(service)
        if budget_left is not None:
            annotations["budget_left"] = budget_left
        annotations["runbook_url"] = self.runbook(name)
        rule: dict[str, Any] = {"alert": name, "expr": expr}
        if for_seconds:
            rule["for"] = prom_duration(for_seconds)
        rule["labels"] = labels
        rule["annotations"] = annotations
        return rule


def confirm_seconds(target: Target) -> float:
    """How long a failure must last before it is an alert: until the next probe has run
    and had its whole timeout to answer, so one lost probe never pages."""
    return target.interval + target.timeout


def _unreachable(window: str | None = None) -> str:
    """The (family, location) pairs whose probes cannot leave the monitor (reason `local`),
    now or at any time in `window`: their failures say nothing about the API."""
    if window is None:
        return f"{m.FAMILY_REACHABLE} == 0"
    return f"min_over_time({m.FAMILY_REACHABLE}[{window}]) == 0"


def _reaching(selector: str, window: str | None = None) -> str:
    """`selector` without the series of families this monitor cannot probe over."""
    return f"({selector} unless on (ip_family, location) ({_unreachable(window)}))"


def _down(config: Config, target: Target) -> str:
    """Per (target, family): the failing locations, when they are a quorum (spec 2.3).
    Locations that cannot probe over the family at all neither fail nor count."""
    success = _reaching(_selector(m.PROBE_SUCCESS, target=target.name))
    failing = f"count by (target, ip_family) ({success} == 0)"
    quorum = config.sla.location_quorum
    if quorum == "majority":
        return f"{failing}\n> count by (target, ip_family) ({success}) / 2"
    return f"{failing} >= {quorum}"


def _indent(text: str, spaces: int = 2) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def _only_one_family(down: str, families: int) -> str:
    """A family is down while another is not: `down` unless every family is down."""
    return (
        f"(\n{_indent(down)}\n)\nunless on (target)\n(\n"
        f"  count by (target) (\n{_indent(down, 4)}\n  ) >= {families}\n)"
    )


def _target_rules(ctx: _Context, target: Target) -> list[dict[str, Any]]:
    config = ctx.config
    service = target.service_name
    down = _down(config, target)
    confirm = confirm_seconds(target)
    every = f"every {prom_duration(target.interval)}, timeout {prom_duration(target.timeout)}"
    policy = config.sla.family_policy

    def labels(severity: str, **extra: str) -> dict[str, str]:
        return {"severity": severity, "service": service, "target": target.name, **extra}

    rules = [
        ctx.alert(
            PROBE_DOWN,
            down,
            for_seconds=confirm,
            labels=labels(CRITICAL),
            summary="{{ $labels.target }} is down over {{ $labels.ip_family }}",
            description=(
                "{{ $value }} location(s) failed two probes in a row of"
                f" {target.name} over {{{{ $labels.ip_family }}}} ({every})."
                f" Service {service} counts it as downtime when {policy} of the"
                " target's families fail."
            ),
            service=service,
        )
    ]
    if len(target.families) > 1:
        rules.append(
            ctx.alert(
                PROBE_FAMILY_DOWN,
                _only_one_family(down, len(target.families)),
                for_seconds=confirm,
                labels=labels(CRITICAL if policy == "any" else WARNING),
                summary=(
                    "{{ $labels.target }} is down over {{ $labels.ip_family }} only:"
                    " dual stack is broken"
                ),
                description=(
                    f"{target.name} fails over {{{{ $labels.ip_family }}}} from {{{{ $value }}}}"
                    " location(s) while its other family answers: the API promises both"
                    f" IPv4 and IPv6 ({every})."
                    + (
                        f" Service {service} counts it as downtime (family_policy any)."
                        if policy == "any"
                        else f" Not downtime for service {service} (family_policy all)."
                    )
                ),
                service=service,
            )
        )
    missing_after = max(config.sla.stale_after or 2 * target.interval, MISSING_FLOOR)
    # A series whose metrics stay but whose last probe grows old (held by Retry-After, or
    # its runs stuck) is missing data too, once a whole run is overdue.
    overdue = confirm + target.interval
    for family in target.families:
        last = _selector(m.PROBE_LAST_STARTED, target=target.name, ip_family=family)
        rules.append(
            ctx.alert(
                PROBE_DATA_MISSING,
                f"absent({_selector(m.PROBE_SUCCESS, target=target.name, ip_family=family)})\n"
                f"or\ntime() - max by (target, ip_family) ({last}) > {overdue:g}",
                for_seconds=missing_after,
                labels=labels(
                    CRITICAL if config.sla.no_data == "down" else WARNING, ip_family=family
                ),
                summary=f"No probe results for {target.name} over {family}",
                description=(
                    f"Prometheus has had no {m.PROBE_SUCCESS} for {target.name} over {family}"
                    f" for {prom_duration(missing_after)}, or its last probe is more than"
                    f" {prom_duration(overdue + missing_after)} old (held by a Retry-After?):"
                    " is uptime-sla running and scraped? The SLA treats minutes without"
                    f" probes as sla.no_data says: {config.sla.no_data}."
                ),
                service=service,
            )
        )
    if target.tls_min_version is not None:
        accepted = TLS_VERSIONS[TLS_VERSIONS.index(target.tls_min_version) :]
        versions = "|".join(f"TLS {v}".replace(".", "\\\\.") for v in accepted)
        rules.append(
            ctx.alert(
                TLS_VERSION_BELOW_MINIMUM,
                f"max by (target, ip_family, version) (\n  {m.PROBE_TLS_VERSION}"
                f'{{target="{target.name}", version!~"{versions}"}}\n)',
                for_seconds=confirm,
                labels=labels(WARNING),
                summary=(
                    "{{ $labels.target }} negotiated {{ $labels.version }} over"
                    " {{ $labels.ip_family }}"
                ),
                description=(
                    f"{target.name} must offer TLS {target.tls_min_version} or newer"
                    " (tls_min_version) but its last probes over {{ $labels.ip_family }}"
                    " negotiated {{ $labels.version }}; those probes fail with reason"
                    " tls_version."
                ),
                service=service,
            )
        )
    expiry = _selector(m.PROBE_CERT_EXPIRY, target=target.name)
    for severity, days in CERT_EXPIRY_DAYS:
        rules.append(
            ctx.alert(
                TLS_CERTIFICATE_EXPIRING,
                f"min by (target, ip_family) ({expiry}) - time() < {days} * 86400",
                for_seconds=confirm,
                labels=labels(severity),
                summary=(
                    "The certificate of {{ $labels.target }} expires in"
                    " {{ $value | humanizeDuration }}"
                ),
                description=(
                    f"The certificate {target.name} serves over {{{{ $labels.ip_family }}}}"
                    f" expires in {{{{ $value | humanizeDuration }}}} (alerts below {days} days)."
                    " Not downtime yet: probes fail with reason tls once it has expired."
                ),
                service=service,
            )
        )
    return rules


def _slo_recording_rules(slo: Slo) -> list[dict[str, Any]]:
    """Each SLI leaves out a family while the monitor could not probe over it, as the SLA
    treats such probes as not run."""
    success = _selector(m.PROBE_SUCCESS, target=slo.targets)
    rules: list[dict[str, Any]] = [
        {
            "record": sli_error_name(window),
            "expr": (
                f"1 - avg(\n  avg_over_time({success}[{prom_duration(window)}])"
                f"\n  unless on (ip_family, location)"
                f" ({_unreachable(prom_duration(window))})\n)"
            ),
            "labels": slo.labels,
        }
        for window in sli_windows()
    ]
    rules.append(
        {
            "record": OBJECTIVE_RATIO,
            "expr": f"vector({decimal_text(slo.objective / 100)})",
            "labels": slo.labels,
        }
    )
    rules.append(
        {
            "record": ERROR_BUDGET_RATIO,
            "expr": f"vector({decimal_text(slo.budget)})",
            "labels": slo.labels,
        }
    )
    return rules


def _burn_condition(slo: Slo, window: BurnWindow) -> str:
    """Both windows burn faster than the factor; the value is the long window's burn rate."""
    budget, factor = decimal_text(slo.budget), decimal_text(window.factor)
    long, short = (
        _selector(sli_error_name(w), service=slo.service, objective=slo.objective_label)
        for w in (window.long, window.short)
    )
    return f"  {long} / {budget} > {factor}\nand\n  {short} / {budget} > {factor}"


def _slo_alerts(ctx: _Context, slo: Slo) -> list[dict[str, Any]]:
    rules = []
    for severity in (CRITICAL, WARNING):
        windows = [w for w in BURN_WINDOWS if w.severity == severity]
        if not windows:
            continue
        expr = "\nor\n".join(f"(\n{_burn_condition(slo, w)}\n)" for w in windows)
        thresholds = " or ".join(
            f"{decimal_text(w.factor)}x over {prom_duration(w.long)} and {prom_duration(w.short)}"
            for w in windows
        )
        plans = ", ".join(slo.plans)
        rules.append(
            ctx.alert(
                ERROR_BUDGET_BURN,
                expr,
                for_seconds=0,
                labels={
                    "severity": severity,
                    "service": slo.service,
                    "objective": slo.objective_label,
                    "plan": ",".join(slo.plans),
                },
                summary=(
                    f"{slo.service} burns its {slo.objective_label} % error budget"
                    " {{ $value | humanize }}x too fast"
                ),
                description=(
                    f"Probes of {slo.service} fail at {{{{ $value | humanize }}}} times the rate"
                    f" that would spend the whole {slo.objective_label} % budget ({plans}) in 30"
                    f" days; alerts at {thresholds}."
                ),
                service=slo.service,
            )
        )
    return rules


def _exhausted_alert(ctx: _Context) -> dict[str, Any]:
    availability = (
        f'{{{{ with printf "100 * {m.SLA_AVAILABILITY}{{service=%q}}" $labels.service | query }}}}'
        '{{ . | first | value | printf "%.4f" }} %{{ else }}unknown{{ end }}'
    )
    return ctx.alert(
        ERROR_BUDGET_EXHAUSTED,
        f"{m.SLA_BUDGET_REMAINING} <= 0",
        for_seconds=0,
        labels={"severity": WARNING},
        summary=(
            "{{ $labels.service }} has spent its {{ $labels.objective }} % error budget"
            " for this month"
        ),
        description=(
            f"Month to date, {{{{ $labels.service }}}} is at {availability} availability"
            " against the {{ $labels.objective }} % of plan {{ $labels.plan }}, with"
            " {{ $value | humanizePercentage }} of its error budget left: credits are due"
            " if the month ends like this."
        ),
        budget_left=(
            "{{ $labels.plan }} ({{ $labels.objective }} %): {{ $value | humanizePercentage }}"
        ),
    )


def _monitor_family_alert(ctx: _Context) -> dict[str, Any]:
    """The monitor's own network lost a family: a ticket for whoever runs the monitor, while
    the API's alerts stay quiet for that family."""
    targets = ctx.config.targets
    return ctx.alert(
        MONITOR_FAMILY_UNREACHABLE,
        _unreachable(),
        for_seconds=max((confirm_seconds(t) for t in targets), default=MISSING_FLOOR),
        labels={"severity": WARNING},
        summary=("uptime-sla at {{ $labels.location }} cannot probe over {{ $labels.ip_family }}"),
        description=(
            "No probe over {{ $labels.ip_family }} can leave the monitor at"
            " {{ $labels.location }}: it has no route or no source address of that family"
            " (reason local). This is the monitor's network, not the API: the SLA counts"
            " these probes as not run (the last state carries for sla.stale_after, then no"
            " data) and ProbeDown stays quiet for that family. Give the monitor's host or"
            " container network that family, or run it with host networking."
        ),
    )


def _given_up_alert(ctx: _Context) -> dict[str, Any]:
    """A customer or subscriber missed a message: someone has to tell them by hand."""
    return ctx.alert(
        NOTIFICATIONS_GIVEN_UP,
        f"increase({m.NOTIFY_GIVEN_UP}_total[1h]) > 0",
        for_seconds=0,
        labels={"severity": WARNING},
        summary="uptime-sla gave up {{ $labels.event }} notifications on {{ $labels.channel }}",
        description=(
            '{{ $value | printf "%.0f" }} {{ $labels.event }} message(s) on'
            " {{ $labels.channel }} could not be delivered within"
            " notifications.give_up_after and were dropped. Check the channel (webhook,"
            " SMTP server, credentials: the monitor's log names the failure), then tell the"
            " recipients by hand: the messages will not be retried."
        ),
    )


# What each promise's break means, for the alert's description (docs/promises.md).
_PROMISE_BREAKS = (
    ("tls_only", "a TLS handshake offering at most the version below the promised one succeeded"),
    (
        "plaintext_rejected",
        "a plaintext HTTP request got a 2xx or 3xx answer (clients that send their API key"
        " over http:// are not refused)",
    ),
    ("retry_after_on_429", "a 429 answer came without a valid Retry-After header"),
    ("both_families", "the host has no address of this family"),
)


def _promise_alerts(ctx: _Context) -> list[dict[str, Any]]:
    """PromiseBroken per service: the last check of a promise was broken (at any location)."""
    by_service: dict[str, list[str]] = {}
    for target in ctx.config.targets:
        if target.promises is not None:
            by_service.setdefault(target.service_name, []).append(target.name)
    meaning = "".join(
        f'{{{{ {"if" if i == 0 else "else if"} eq $labels.promise "{promise}" }}}}{text}'
        for i, (promise, text) in enumerate(_PROMISE_BREAKS)
    )
    return [
        ctx.alert(
            PROMISE_BROKEN,
            f"count by (promise, target, ip_family) (\n"
            f"  {_selector(pm.PROMISE_OK, target=targets)} == 0\n)",
            for_seconds=0,
            labels={"severity": WARNING, "service": service},
            summary=(
                "{{ $labels.target }} breaks its {{ $labels.promise }} promise over"
                " {{ $labels.ip_family }}"
            ),
            description=(
                "The last {{ $labels.promise }} check of {{ $labels.target }} over"
                " {{ $labels.ip_family }} failed at {{ $value }} location(s): "
                f"{meaning}{{{{ else }}}}the promise was broken{{{{ end }}}}. Not downtime:"
                " the SLA does not count it. `uptime-sla report --promises` lists when and"
                " why each check broke."
            ),
        )
        for service, targets in by_service.items()
    ]


def _webhook_alert(ctx: _Context, receiver: WebhookReceiverSettings) -> dict[str, Any]:
    """WebhookPromiseBroken: over 30 days, fewer first attempts arrived within `within` of
    the event's creation than the promised share."""
    promise = receiver.promise
    within = _selector(
        f"{pm.WEBHOOK_DELIVERY_SECONDS}_bucket",
        receiver=receiver.name,
        le=pm.bucket_label(promise.within),
    )
    every = _selector(f"{pm.WEBHOOK_DELIVERY_SECONDS}_count", receiver=receiver.name)
    ratio = decimal_text(promise.first_attempt_percent / 100)
    return ctx.alert(
        WEBHOOK_PROMISE_BROKEN,
        f"(\n  sum by (receiver) (increase({within}[30d]))\n/\n"
        f"  sum by (receiver) (increase({every}[30d]))\n) < {ratio}",
        for_seconds=0,
        labels={"severity": WARNING, "receiver": receiver.name},
        summary=(
            "Webhooks to {{ $labels.receiver }}: {{ $value | humanizePercentage }} of first"
            f" attempts within {prom_duration(promise.within)}, promised"
            f" {decimal_text(promise.first_attempt_percent)} %"
        ),
        description=(
            "Over the last 30 days {{ $value | humanizePercentage }} of the events delivered"
            f" to {{{{ $labels.receiver }}}} arrived at their first attempt within"
            f" {prom_duration(promise.within)} of their creation; the provider promises"
            f" {decimal_text(promise.first_attempt_percent)} %. Late first attempts are often"
            " retries of failed ones. `uptime-sla report --promises` has latency and retry"
            " delays."
        ),
    )


def rule_groups(config: Config) -> dict[str, Any]:
    """The whole rule file as plain data, in a stable order (config order)."""
    ctx = _Context(config)
    targets = {
        "name": "uptime-sla-targets",
        "rules": [
            {
                "record": TARGET_INFO,
                "expr": "vector(1)",
                "labels": {"target": t.name, "service": t.service_name},
            }
            for t in config.targets
        ],
    }
    groups = [
        targets,
        {
            "name": "uptime-sla-probes",
            "rules": [r for t in config.targets for r in _target_rules(ctx, t)]
            + [_monitor_family_alert(ctx)],
        },
    ]
    # One group per SLO: its SLIs are recorded before its alerts read them, in the same
    # evaluation (groups run independently, so a split would lag by one interval).
    groups += [
        {
            "name": f"uptime-sla-slo:{slo.service}:{slo.objective_label}",
            "rules": _slo_recording_rules(slo) + _slo_alerts(ctx, slo),
        }
        for slo in slos(config)
    ]
    groups.append({"name": "uptime-sla-sla", "rules": [_exhausted_alert(ctx)]})
    groups.append({"name": "uptime-sla-notifications", "rules": [_given_up_alert(ctx)]})
    groups.append(
        {
            "name": "uptime-sla-promises",
            "rules": _promise_alerts(ctx)
            + [_webhook_alert(ctx, r) for r in config.webhook_receivers],
        }
    )
    return {"groups": [g for g in groups if g["rules"]]}


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as YAML blocks, so the file reads like hand-written PromQL."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = (
    "# Prometheus rules for uptime-sla. Generated by `uptime-sla rules` from the config:\n"
    "# edit the config and regenerate rather than editing this file.\n"
)


def render_rules(config: Config) -> str:
    """The rule file as YAML text, byte-for-byte stable for the same config."""
    body = yaml.dump(
        rule_groups(config), Dumper=_Dumper, sort_keys=False, width=1_000_000, allow_unicode=True
    )
    return HEADER + body
