"""The Grafana dashboards "Uptime" and "SLA", built with grafana-foundation-sdk.

Built in code so that every query names its metric through monitor.metrics.collectors and
monitor.integrations.rules (a renamed metric breaks the build, not a panel in production), and
so the burn-rate thresholds drawn on the SLA dashboard are the ones the alerts use. The JSON
under grafana/dashboards/ is this module's output for examples/demo.yaml (the config only
gives the runbook link): `uptime-sla dashboards -o DIR` writes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from monitor.config import Config
from monitor.integrations.rules import (
    BURN_WINDOWS,
    CERT_EXPIRY_DAYS,
    ERROR_BUDGET_RATIO,
    TARGET_INFO,
    prom_duration,
    sli_error_name,
    sli_windows,
)
from monitor.metrics import collectors as m
from monitor.outputs.files import write_output

DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["uptime-sla"]
SERIES = 'target=~"$target", ip_family=~"$ip_family", location=~"$location"'
SERVICE = 'service=~"$service"'
UP_DOWN = [
    models.ValueMap(
        {
            "1": models.ValueMappingResult(text="UP", color="green", index=0),
            "0": models.ValueMappingResult(text="DOWN", color="red", index=1),
        }
    )
]

Query = tuple[str, str]  # (PromQL, legend)


# --- building blocks -------------------------------------------------------------------------


RANGE, INSTANT, TABLE = "range", "instant", "table"  # how a panel queries


def _targets(queries: Sequence[Query], kind: str) -> list[Builder[Any]]:
    built: list[Builder[Any]] = []
    for i, (expr, legend) in enumerate(queries):
        query = prometheus.Dataquery().expr(expr).ref_id(chr(ord("A") + i)).legend_format(legend)
        if kind != RANGE:
            query = query.instant()
        if kind == TABLE:
            query = query.format(PromQueryFormat.TABLE)
        built.append(query)
    return built


def _panel(
    builder: Any,
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    width: int = 12,
    height: int = 8,
    kind: str = RANGE,
) -> Any:
    """The parts every panel shares: title, help text, data source, size and queries.

    Stats and bar gauges show the last value of each series (not the mean of the range).
    """
    panel = (
        builder.title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(height)
        .targets(_targets(queries, kind))
    )
    if isinstance(builder, stat.Panel | bargauge.Panel):
        panel = panel.reduce_options(
            common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)
        )
    elif isinstance(builder, timeseries.Panel):
        panel = panel.legend(_legend())
    elif isinstance(builder, table.Panel):
        panel = panel.show_header(True)
    return panel


def _thresholds(*steps: tuple[float | None, str]) -> Builder[models.ThresholdsConfig]:
    return (
        dashboard.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def _legend(as_table: bool = False) -> Builder[common_models.VizLegendOptions]:
    """A list under the graph, or a table on its right for many series."""
    mode = (
        common_models.LegendDisplayMode.TABLE if as_table else common_models.LegendDisplayMode.LIST
    )
    place = (
        common_models.LegendPlacement.RIGHT if as_table else common_models.LegendPlacement.BOTTOM
    )
    return common.VizLegendOptions().display_mode(mode).placement(place).show_legend(True)


def _variable(name: str, label: str, metric: str) -> Builder[models.VariableModel]:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .query(f"label_values({metric}, {name})")
        .datasource(DATASOURCE)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def _base(config: Config, title: str, uid: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .timezone("utc")
        .time("now-6h", "now")
        .refresh("30s")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
        .link(
            dashboard.DashboardLink("uptime-sla")
            .type(models.DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .as_dropdown(True)
            .include_vars(False)
            .keep_time(True)
        )
        .link(
            dashboard.DashboardLink("Runbooks")
            .type(models.DashboardLinkType.LINK)
            .url(config.alerting.runbook_url)
            .icon("doc")
            .target_blank(True)
        )
    )


# --- "Uptime" ---------------------------------------------------------------------------------


def uptime_dashboard(config: Config) -> dict[str, Any]:
    """Is each target up over each family from each location, and how does it answer?"""
    success = f"{m.PROBE_SUCCESS}{{{SERIES}}}"
    failures = f"{m.PROBE_FAILURES}_total{{{SERIES}}}"
    warn_days, page_days = (days for _, days in CERT_EXPIRY_DAYS)
    board = (
        _base(
            config,
            "Uptime",
            "uptime-sla-uptime",
            "Probe results of uptime-sla: status, latency, answers and TLS per target,"
            " IP family and location.",
        )
        .with_variable(_variable("target", "Target", m.PROBE_SUCCESS))
        .with_variable(_variable("ip_family", "IP family", m.PROBE_SUCCESS))
        .with_variable(_variable("location", "Location", m.PROBE_SUCCESS))
        .with_row(dashboard.Row("Status"))
        .with_panel(
            _panel(
                stat.Panel(),
                "Series down now",
                "Series (target, family, location) whose last probe failed.",
                [(f"count({success} == 0) or vector(0)", "down")],
                width=4,
            )
            .thresholds(_thresholds((None, "green"), (1, "red")))
            .color_mode(common_models.BigValueColorMode.BACKGROUND)
            .graph_mode(common_models.BigValueGraphMode.NONE)
        )
        .with_panel(
            _panel(
                table.Panel(),
                "Status matrix: target @ location x family",
                "The last probe of every series: one row per target and location, one column"
                " per IP family.",
                [
                    (
                        f'label_join({success}, "series", " @ ", "target", "location")',
                        "",
                    )
                ],
                width=10,
                kind=TABLE,
            )
            .mappings(UP_DOWN)
            .override_by_regexp(
                "ipv.*",
                [models.DynamicConfigValue("custom.cellOptions", {"type": "color-background"})],
            )
            .with_transformation(
                models.DataTransformerConfig(
                    "groupingToMatrix",
                    options={
                        "rowField": "series",
                        "columnField": "ip_family",
                        "valueField": "Value",
                        "emptyValue": "null",
                    },
                )
            )
        )
        .with_panel(
            _panel(
                statetimeline.Panel(),
                "Up and down over time",
                "Each probe series; red while its last probe had failed.",
                [(success, "{{target}} {{ip_family}} @ {{location}}")],
                width=10,
            )
            .mappings(UP_DOWN)
            .show_value(common_models.VisibilityMode.NEVER)
            .merge_values(True)
        )
        .with_row(dashboard.Row("Latency"))
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Latency by phase",
                "Where the time of a probe goes (mean over the selected series), stacked.",
                [(f"avg by (phase) ({m.PROBE_HTTP_PHASE}{{{SERIES}}})", "{{phase}}")],
            )
            .unit("s")
            .fill_opacity(40)
            .stacking(common.StackingConfig().mode(common_models.StackingMode.NORMAL))
        )
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Probe latency p50 and p95",
                "From the latency histogram of probes that got an answer.",
                [
                    (
                        f"histogram_quantile({q}, sum by (target, ip_family, le)"
                        f" (rate({m.PROBE_LATENCY}_bucket{{{SERIES}}}[$__rate_interval])))",
                        f"p{round(q * 100)} {{{{target}}}} {{{{ip_family}}}}",
                    )
                    for q in (0.5, 0.95)
                ],
            )
            .unit("s")
            .legend(_legend(as_table=True))
        )
        .with_row(dashboard.Row("Answers"))
        .with_panel(
            _panel(
                timeseries.Panel(),
                "HTTP status codes",
                "Status of the last probe per series (0: no HTTP answer at all).",
                [
                    (
                        f"{m.PROBE_HTTP_STATUS}{{{SERIES}}}",
                        "{{target}} {{ip_family}} @ {{location}}",
                    )
                ],
                width=8,
            )
            .unit("none")
            .line_interpolation(common_models.LineInterpolation.STEP_AFTER)
            .legend(_legend(as_table=True))
        )
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Failures per second by reason",
                "timeout, dns, connect, tls, tls_version, status, body, no_address, error.",
                [(f"sum by (reason) (rate({failures}[$__rate_interval]))", "{{reason}}")],
                width=8,
            )
            .unit("reqps")
            .no_value("No failures")
        )
        .with_panel(
            _panel(
                bargauge.Panel(),
                "Failures by reason over the time range",
                "Failed probes in the dashboard's time range, by reason.",
                [(f"sum by (reason) (increase({failures}[$__range]))", "{{reason}}")],
                width=8,
                kind=INSTANT,
            )
            .unit("none")
            .decimals(0)
            .no_value("No failures")
            .display_mode(common_models.BarGaugeDisplayMode.BASIC)
            .orientation(common_models.VizOrientation.HORIZONTAL)
        )
        .with_row(dashboard.Row("TLS"))
        .with_panel(
            _panel(
                table.Panel(),
                "TLS version",
                "The TLS version each series negotiated on its last probe.",
                [
                    (
                        f"max by (target, ip_family, version) ({m.PROBE_TLS_VERSION}{{{SERIES}}})",
                        "",
                    )
                ],
                kind=TABLE,
            ).with_transformation(
                models.DataTransformerConfig(
                    "organize", options={"excludeByName": {"Time": True, "Value": True}}
                )
            )
        )
        .with_panel(
            _panel(
                bargauge.Panel(),
                "Days to certificate expiry",
                f"Of the leaf certificate each target serves: tickets below {warn_days} days,"
                f" pages below {page_days}.",
                [
                    (
                        f"min by (target) ({m.PROBE_CERT_EXPIRY}{{{SERIES}}} - time()) / 86400",
                        "{{target}}",
                    )
                ],
                kind=INSTANT,
            )
            .unit("d")
            .decimals(1)
            .min(0)
            .thresholds(_thresholds((None, "red"), (page_days, "orange"), (warn_days, "green")))
            .display_mode(common_models.BarGaugeDisplayMode.BASIC)
            .orientation(common_models.VizOrientation.HORIZONTAL)
        )
        .with_row(dashboard.Row("Monitor"))
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Probes per second",
                "Probes run by uptime-sla, per target.",
                [
                    (
                        f"sum by (target) (rate({m.PROBE_TOTAL}_total{{{SERIES}}}"
                        "[$__rate_interval]))",
                        "{{target}}",
                    )
                ],
                width=8,
            ).unit("reqps")
        )
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Schedule lag p95",
                "How late probes start against their plan: high means the monitor is overloaded.",
                [
                    (
                        "histogram_quantile(0.95, sum by (le)"
                        f" (rate({m.SCHEDULE_LAG}_bucket[$__rate_interval])))",
                        "p95",
                    )
                ],
                width=8,
            ).unit("s")
        )
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Result writer",
                "Results waiting for the database, and written, dropped and failed writes"
                " per second.",
                [
                    (m.WRITER_BUFFERED, "buffered"),
                    (f"rate({m.WRITER_WRITTEN}_total[$__rate_interval])", "written/s"),
                    (f"rate({m.WRITER_DROPPED}_total[$__rate_interval])", "dropped/s"),
                    (f"rate({m.WRITER_ERRORS}_total[$__rate_interval])", "write errors/s"),
                ],
                width=8,
            ).unit("short")
        )
    )
    return _to_dict(board)


# --- "SLA" ------------------------------------------------------------------------------------


# Grafana's built-in currency units; any other ISO code is shown as a suffix.
_GRAFANA_CURRENCIES = frozenset(
    "USD GBP EUR JPY RUB UAH BRL DKK ISK NOK SEK CZK CHF PLN ZAR INR KRW IDR PHP VND".split()  # noqa: SIM905
)


def _currency_unit(currency: str) -> str:
    return f"currency{currency}" if currency in _GRAFANA_CURRENCIES else f"suffix: {currency}"


def _credits_panel(config: Config) -> stat.Panel:
    """Each customer's credit in its contract currency: one override per currency sold."""
    panel = (
        _panel(
            stat.Panel(),
            "Projected credits",
            "What each customer would be owed if the month ended now, in its contract currency.",
            [(m.SLA_CREDIT, "{{customer}} ({{currency}})")],
            width=8,
        )
        .decimals(2)
        .thresholds(_thresholds((None, "green"), (0.01, "red")))
        .graph_mode(common_models.BigValueGraphMode.NONE)
    )
    for currency in sorted({contract.currency for contract in config.contracts}):
        unit = models.DynamicConfigValue("unit", _currency_unit(currency))
        panel = panel.override_by_regexp(rf".* \({currency}\)", [unit])
    return panel


def _burn_rate(window_seconds: int) -> str:
    error = f"{sli_error_name(window_seconds)}{{{SERVICE}}}"
    return f"{error} / on (service, objective) {ERROR_BUDGET_RATIO}{{{SERVICE}}}"


def _by_service(expr: str) -> str:
    """Probe series joined to their service through the recorded target -> service map."""
    return f"{expr} * on (target) group_left (service) {TARGET_INFO}{{{SERVICE}}}"


def sla_dashboard(config: Config) -> dict[str, Any]:
    """How each service stands against the objectives sold on it, month to date."""
    availability = f"{m.SLA_AVAILABILITY}{{{SERVICE}}}"
    objective = f"{m.SLA_OBJECTIVE}{{{SERVICE}}}"
    factors = sorted({float(w.factor) for w in BURN_WINDOWS})
    colors = ["blue", "yellow", "orange", "red"]
    page_long = min(w.long for w in BURN_WINDOWS)
    board = (
        _base(
            config,
            "SLA",
            "uptime-sla-sla",
            "Month-to-date availability, error budgets, burn rates, projected credits and"
            " incidents per service.",
        )
        .with_variable(_variable("service", "Service", m.SLA_AVAILABILITY))
        .with_row(dashboard.Row("Month to date"))
        .with_panel(
            _panel(
                stat.Panel(),
                "Availability",
                "Month-to-date availability as the SLA report computes it (slices, maintenance"
                " excluded).",
                [(availability, "{{service}}")],
                width=8,
            )
            .unit("percentunit")
            .decimals(3)
            .color_mode(common_models.BigValueColorMode.VALUE)
        )
        .with_panel(
            _panel(
                bargauge.Panel(),
                "Headroom over each plan objective",
                "Availability minus objective (share of the month's slices): below zero the"
                " plan is breached and credits are due.",
                [
                    (
                        f"{availability} - on (service) group_right {objective}",
                        "{{service}} {{plan}}",
                    )
                ],
                width=8,
                kind=INSTANT,
            )
            .unit("percentunit")
            .decimals(3)
            .thresholds(_thresholds((None, "red"), (0, "green")))
            .display_mode(common_models.BarGaugeDisplayMode.BASIC)
            .orientation(common_models.VizOrientation.HORIZONTAL)
        )
        .with_panel(_credits_panel(config))
        .with_panel(
            _panel(
                timeseries.Panel(),
                "Availability against each plan objective",
                "Month-to-date availability (solid) and the objectives sold on the service.",
                [
                    (availability, "{{service}} availability"),
                    (objective, "{{service}} {{plan}} objective"),
                ],
            )
            .unit("percentunit")
            .decimals(3)
            .legend(_legend(as_table=True))
        )
        .with_panel(
            _panel(
                bargauge.Panel(),
                "Error budget remaining",
                "Share of the month's error budget left per plan (below 0: overspent).",
                [
                    (
                        f"{m.SLA_BUDGET_REMAINING}{{{SERVICE}}}",
                        "{{service}} {{plan}} ({{objective}} %)",
                    )
                ],
                kind=INSTANT,
            )
            .unit("percentunit")
            .min(-1)
            .max(1)
            .thresholds(_thresholds((None, "red"), (0, "orange"), (0.25, "green")))
            .display_mode(common_models.BarGaugeDisplayMode.BASIC)
            .orientation(common_models.VizOrientation.HORIZONTAL)
        )
        .with_row(dashboard.Row("Burn rate"))
        .with_panel(
            _panel(
                timeseries.Panel(),
                f"Burn rate over {prom_duration(page_long)}",
                "1 spends the budget exactly in 30 days. Lines: the alert factors"
                f" ({', '.join(f'{f:g}x' for f in factors)}).",
                [(_burn_rate(page_long), "{{service}} {{objective}} %")],
                width=14,
            )
            .unit("x")
            .thresholds(
                _thresholds(
                    (None, "green"),
                    *((f, color) for f, color in zip(factors, colors, strict=True)),
                )
            )
            .thresholds_style(
                common.GraphThresholdsStyleConfig().mode(
                    common_models.GraphThresholdsStyleMode.LINE
                )
            )
        )
        .with_panel(
            _panel(
                bargauge.Panel(),
                "Burn rate by window",
                "The windows the multiwindow alerts compare (both of a pair must exceed the"
                " factor).",
                [
                    (_burn_rate(w), f"{{{{service}}}} {{{{objective}}}} % {prom_duration(w)}")
                    for w in sli_windows()
                ],
                width=10,
                kind=INSTANT,
            )
            .unit("x")
            .decimals(2)
            .thresholds(
                _thresholds(
                    (None, "green"),
                    *((f, color) for f, color in zip(factors, colors, strict=True)),
                )
            )
            .display_mode(common_models.BarGaugeDisplayMode.BASIC)
            .orientation(common_models.VizOrientation.HORIZONTAL)
        )
        .with_row(dashboard.Row("Incidents"))
        .with_panel(
            _panel(
                statetimeline.Panel(),
                "Targets down",
                "Red while any family of the target failed its last probe.",
                [
                    (
                        f"min by (service, target) ({_by_service(m.PROBE_SUCCESS)})",
                        "{{service}} / {{target}}",
                    )
                ],
                width=14,
            )
            .mappings(UP_DOWN)
            .show_value(common_models.VisibilityMode.NEVER)
            .merge_values(True)
        )
        .with_panel(
            _panel(
                table.Panel(),
                "Incidents over the time range",
                "Outages started (a series going from up to down) and the share of failed"
                " probes, per target.",
                [
                    (
                        "sum by (service, target) "
                        f"({_by_service(f'resets({m.PROBE_SUCCESS}[$__range])')})",
                        "",
                    ),
                    (
                        "1 - avg by (service, target) "
                        f"({_by_service(f'avg_over_time({m.PROBE_SUCCESS}[$__range])')})",
                        "",
                    ),
                ],
                width=10,
                kind=TABLE,
            )
            .with_transformation(models.DataTransformerConfig("merge", options={}))
            .with_transformation(
                models.DataTransformerConfig(
                    "organize",
                    options={
                        "excludeByName": {"Time": True},
                        "renameByName": {"Value #A": "outages", "Value #B": "failed share"},
                    },
                )
            )
            .override_by_name("failed share", [models.DynamicConfigValue("unit", "percentunit")])
        )
    )
    return _to_dict(board)


# --- output -----------------------------------------------------------------------------------

DASHBOARDS = {"uptime.json": uptime_dashboard, "sla.json": sla_dashboard}


def _to_dict(board: dashboard.Dashboard) -> dict[str, Any]:
    built = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    for number, panel in enumerate(built["panels"], start=1):
        panel["id"] = number  # the SDK leaves every id at 0; links to a panel need its own
    return built


def render_dashboards(config: Config) -> dict[str, str]:
    """File name -> JSON text, stable byte for byte (keys sorted, trailing newline)."""
    return {
        name: json.dumps(build(config), indent=2, sort_keys=True) + "\n"
        for name, build in DASHBOARDS.items()
    }


def write_dashboards(config: Config, directory: Path) -> list[Path]:
    """Each dashboard replaces its file whole (monitor.outputs.files: Grafana's provisioning
    may read the folder at any time)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_dashboards(config).items():
        path = directory / name
        write_output(str(path), text)
        written.append(path)
    return written
