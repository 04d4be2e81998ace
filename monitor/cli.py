"""The `uptime-sla` command: argument parsing, wiring, exit codes.

Exit 0 fine, 1 a probe failed (`probe`), 2 bad input, always as one line on stderr
without a traceback. Everything is built here and injected: clock, store, registry,
HTTP client, so no module keeps global state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from monitor.config import Config, config_path, load_config
from monitor.errors import InputError, MonitorError
from monitor.probe import Prober
from monitor.reporting import RENDERERS, month_report
from monitor.results import ProbeResult
from monitor.rules import render_rules
from monitor.service import run_service
from monitor.silences import sync_silences
from monitor.store import Store
from sla.errors import SlaError

log = logging.getLogger("uptime-sla")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"arguments: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="uptime-sla", description="Uptime monitor and SLA credit calculator.")
    parser.add_argument(
        "-c", "--config", help="config file (default $UPTIME_SLA_CONFIG, ./uptime-sla.yaml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("run", help="probe on schedule, store results, serve /metrics")
    probe = commands.add_parser("probe", help="probe once now and print a table")
    probe.add_argument("targets", nargs="*", metavar="TARGET")
    imp = commands.add_parser("import", help="load probe history from CSV (all rows or none)")
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    report = commands.add_parser("report", help="the monthly SLA report")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--format", choices=("json", "csv", "md", "html"), default="json")
    report.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    commands.add_parser("check-config", help="validate the config (exit 0 or 2)")
    rules = commands.add_parser("rules", help="write Prometheus recording and alerting rules")
    rules.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    silences = commands.add_parser("silences", help="maintenance windows as Alertmanager silences")
    silence_commands = silences.add_subparsers(
        dest="silences_command", required=True, parser_class=_Parser
    )
    sync = silence_commands.add_parser(
        "sync", help="create, update and expire silences to match the config's windows"
    )
    sync.add_argument("--alertmanager", metavar="URL", help="default: alerting.alertmanager_url")
    dashboards = commands.add_parser("dashboards", help="write the Grafana dashboards (JSON)")
    dashboards.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    return parser


def main(argv: Sequence[str] | None = None, clock: Clock = utc_now) -> int:
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        for noisy in ("httpx", "httpcore", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # "maximum number of running instances reached" on every tick of a hung target:
        # the skip is by design (runs never overlap) and shows in the schedule lag metric.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        config = load_config(config_path(args.config))
        return COMMANDS[args.command](args, config, clock)
    except (MonitorError, SlaError) as exc:
        print(f"uptime-sla: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _one_line(text: str) -> str:
    """A file name, key or argument may hold a newline: escape it, keep the message one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _check_config(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    print(
        f"{config_path(args.config)}: ok ({len(config.targets)} targets,"
        f" {len(config.contracts)} contracts, {len(config.maintenance)} maintenance windows)"
    )
    return 0


def _probe(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    known = {t.name for t in config.targets}
    for name in args.targets:
        if name not in known:
            raise InputError(f"probe: no target named {name!r} in the config")
    chosen = [t for t in config.targets if not args.targets or t.name in args.targets]

    async def probe_all() -> list[ProbeResult]:
        prober = Prober(location=config.location, now=clock)
        try:
            jobs = [prober.probe(t, family) for t in chosen for family in t.families]
            return list(await asyncio.gather(*jobs))
        finally:
            await prober.aclose()

    results = asyncio.run(probe_all())
    print(_table(results))
    return 0 if all(r.success for r in results) else 1


def _table(results: list[ProbeResult]) -> str:
    head = ("TARGET", "FAMILY", "RESULT", "STATUS", "LATENCY", "TLS", "ADDRESS", "DETAIL")
    rows = [head] + [
        (
            r.target,
            r.family,
            "up" if r.success and r.reason is None else (r.reason or "down"),
            str(r.status_code or "-"),
            f"{r.latency_ms:.1f} ms",
            r.tls_version or "-",
            r.address or "-",
            r.detail or "",
        )
        for r in results
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _open_store(config: Config) -> Store:
    return Store(config.storage.url, rollup_seconds=int(config.sla.slice))


def _import(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.importer import import_csv  # noqa: PLC0415 (pyarrow takes 0.3 s to import)

    store = _open_store(config)
    try:
        read, stored = import_csv(args.file, config, store)
    finally:
        store.close()
    print(f"{args.file}: {read} rows read, {stored} new probes stored")
    return 0


_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)


def _report(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    match = _MONTH.fullmatch(args.month)
    if not match:
        raise InputError(f"--month: {args.month!r} is not YYYY-MM")
    if not 1970 <= int(match[1]) <= 9998:  # slices count from 1970; 9999-12 ends in year 10000
        raise InputError(f"--month: {args.month!r} is not between 1970-01 and 9998-12")
    store = _open_store(config)
    try:
        report = month_report(config, store, int(match[1]), int(match[2]), clock())
    finally:
        store.close()
    _write_output(args.output, RENDERERS[args.format](report))
    return 0


def _write_output(path: Path | None, content: str) -> None:
    """stdout, or a file replaced atomically: a reader never sees half a report."""
    if path is None:
        sys.stdout.write(content)
        return
    directory = path.parent if str(path.parent) else Path(".")
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(temp, path)
    except OSError as exc:
        if temp is not None:  # e.g. the path is a directory: leave nothing behind
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _run(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    return asyncio.run(run_service(config, clock, _install_signals))


def _install_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def _rules(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    _write_output(args.output, render_rules(config))
    if args.output is not None:
        args.output.chmod(0o644)  # Prometheus runs as its own user and must read it
    return 0


def _silences(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    url = args.alertmanager or config.alerting.alertmanager_url
    with httpx.Client(base_url=url, timeout=10.0) as client:
        result = sync_silences(config, client, clock())
    print(f"{url}: silences {result}")
    return 0


def _dashboards(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    try:
        from monitor.dashboards import write_dashboards  # noqa: PLC0415 (optional extra)
    except ImportError:
        raise InputError(
            "dashboards: needs grafana-foundation-sdk (pip install 'uptime-sla[grafana]')"
        ) from None
    try:
        written = write_dashboards(config, args.output)
    except OSError as exc:
        raise InputError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    print("\n".join(str(path) for path in written))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Config, Clock], int]] = {
    "run": _run,
    "probe": _probe,
    "import": _import,
    "report": _report,
    "check-config": _check_config,
    "rules": _rules,
    "silences": _silences,
    "dashboards": _dashboards,
}
