"""The `uptime-sla` command: argument parsing, wiring, exit codes.

Exit 0 fine, 1 a probe failed (`probe`), 2 bad input, always as one line on stderr
without a traceback. Everything is built here and injected: clock, store, registry,
HTTP client, so no module keeps global state.

Imports are lazy: at the top only what parsing the arguments needs, so `--help` and
`--version` answer at once; each command imports what it uses when it runs (the config's
models, the store, the engine, numpy, pyarrow are a second or more together).
tests/monitor/test_cli_startup.py keeps the heavy libraries out of `--help` and `--version`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from monitor.errors import InputError, MonitorError
from monitor.outputs.files import output, write_output
from monitor.outputs.folders import site_folder
from monitor.text.redact import RedactingFilter, redact_url, scrub
from sla.errors import SlaError
from sla.vocabulary import OPERATOR_IMPACTS, OPERATOR_STATUSES, REPORT_FORMATS

if TYPE_CHECKING:
    import asyncio

    from monitor.config import Config
    from monitor.probing.results import ProbeResult
    from monitor.store import Store
    from sla.engine import MonthReport
    from sla.ranges import RangeReport

log = logging.getLogger("uptime-sla")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"arguments: {message}")


# --- the command registry ----------------------------------------------------------------
# A command is one self-contained block: `@command(...)` above its handler, with its help
# line, an example and its arguments. `build_parser` turns the registry into argparse
# parsers (and shell completion follows from them), so adding a command touches nothing else.

Handler = Callable[[argparse.Namespace, "Config", Clock], int]

# The sections whose ${VAR}s every command that opens the database needs (docs/cli.md):
# `report`, `export`, `import`, `status build`, `incident` and `migrate` need no API key.
STORE_SECTIONS = frozenset({"storage", "status_page", "reports"})


@dataclass(frozen=True)
class Argument:
    flags: tuple[str, ...]
    options: dict[str, Any]


def words(members: Iterable[str]) -> list[str]:
    """Choices as plain strings: argparse's error repr()s them, and an enum's repr is not
    its word."""
    return [str(member) for member in members]


def arg(*flags: str, **options: Any) -> Argument:
    """`add_argument`'s parameters, kept for later. A path is `path_arg(...)`, not
    `type=Path`: Path("") is ".", and an empty argument (an unset variable) must stay empty."""
    return Argument(flags, options)


def path_arg(*flags: str, **options: Any) -> Argument:
    """A file name argument (a folder with `metavar="DIR"`): completed as one, and taken as
    the bytes given (not checked as UTF-8 text, see `_check_text`)."""
    return Argument(flags, {**options, "type": str, "_path": True})


@dataclass(frozen=True)
class Command:
    name: str  # "report", or "silences sync" under the group "silences"
    help: str
    example: str
    arguments: tuple[Argument, ...]
    run: Handler | None = None  # None: a group of commands
    # The config sections whose ${VAR}s the command needs set (None: all of them).
    sections: Collection[str] | None = None


COMMANDS: dict[str, Command] = {}


def group(name: str, help: str) -> None:
    """A command with commands under it (`uptime-sla silences sync`); register it first."""
    COMMANDS[name] = Command(name, help, "", ())


def command(
    name: str,
    help: str,
    example: str,
    arguments: Sequence[Argument] = (),
    *,
    sections: Collection[str] | None = STORE_SECTIONS,
) -> Callable[[Handler], Handler]:
    """Register a handler. `sections`: whose ${VAR}s it needs; by default those a command
    that reads the database needs (never a target's API key)."""

    def register(run: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} is registered twice")
        COMMANDS[name] = Command(name, help, example, tuple(arguments), run, sections)
        return run

    return register


_COMPLETION_EXAMPLE = (
    'uptime-sla completion bash -o "${BASH_COMPLETION_USER_DIR:-$HOME/.local/share/'
    'bash-completion}/completions/uptime-sla"'
)


def build_parser(*, for_completion: bool = False) -> argparse.ArgumentParser:
    """Every command's parser, from the registry. `for_completion` marks file and folder
    arguments for shtab, imported only then: parsing needs none of it."""
    complete = _completion_marks(for_completion)
    # -c and -v live on every parser, so they may stand before or after any command; SUPPRESS
    # keeps a command's parser from overwriting a value given before the command.
    common = argparse.ArgumentParser(add_help=False)
    config = common.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: $UPTIME_SLA_CONFIG, else ./uptime-sla.yaml)",
    )
    complete(config, "file")
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    common.add_argument("--version", action=_Version)
    style: dict[str, Any] = {
        "parents": [common],
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
    root = _Parser(
        prog="uptime-sla",
        description="Uptime monitor over IPv4 and IPv6, monthly SLA availability and credits.",
        epilog=_examples(
            [*(c.example for c in COMMANDS.values() if c.example), _COMPLETION_EXAMPLE]
        ),
        **style,
    )
    groups = {"": root.add_subparsers(dest="command", metavar="COMMAND", required=True)}
    for spec in COMMANDS.values():
        parent, _, leaf = spec.name.rpartition(" ")
        examples = [
            c.example
            for c in COMMANDS.values()
            if c.example and (c is spec or c.name.startswith(f"{spec.name} "))
        ]
        parser = groups[parent].add_parser(
            leaf, help=spec.help, description=spec.help, epilog=_examples(examples), **style
        )
        if spec.run is None:
            groups[spec.name] = parser.add_subparsers(
                dest=f"{spec.name} command", metavar="COMMAND", required=True
            )
            continue
        parser.set_defaults(handler=spec.run, sections=spec.sections)
        for argument in spec.arguments:
            options = dict(argument.options)
            is_path = options.pop("_path", False)
            action = parser.add_argument(*argument.flags, **options)
            if is_path:
                complete(action, "directory" if options.get("metavar") == "DIR" else "file")
    completion = groups[""].add_parser(
        "completion",
        help="print the shell completion script (bash or zsh)",
        description="print the shell completion script (bash or zsh)",
        epilog=_examples([_COMPLETION_EXAMPLE]),
        **style,
    )
    completion.add_argument("shell", choices=("bash", "zsh"), help="bash or zsh")
    written = completion.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here, creating its folders (default: stdout)",
    )
    complete(written, "file")
    completion.set_defaults(handler=None)
    return root


def _completion_marks(wanted: bool) -> Callable[[argparse.Action, str], None]:
    """How a file ("file") or folder ("directory") argument gets shtab's completion."""
    if not wanted:
        return lambda _action, _kind: None
    import shtab

    kinds = {"file": shtab.FILE, "directory": shtab.DIRECTORY}

    def mark(action: argparse.Action, kind: str) -> None:
        action.complete = kinds[kind]  # type: ignore[attr-defined]

    return mark


class _Version(argparse._VersionAction):
    """`--version` (argparse's own, so help and shell completion treat it as such), with the
    version looked up only when asked for: reading the installed package's metadata would
    cost every other command time for nothing."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from monitor import __version__

        self.version = f"uptime-sla {__version__}"
        super().__call__(parser, *args)


def _examples(lines: Iterable[str]) -> str:
    lines = list(lines)
    return ("example:\n" if len(lines) == 1 else "examples:\n") + "\n".join(
        f"  {line}" for line in lines
    )


def main(argv: Sequence[str] | None = None, clock: Clock = utc_now) -> int:
    urls: list[str] = []  # whose credentials no message may show
    _paths_as_given(sys.stdout)
    try:
        try:
            with _ending_on_signals():
                return _dispatch(argv, clock, urls)
        finally:  # here, not at exit: a reader that left (`| head`) is a BrokenPipeError
            sys.stdout.flush()
    except (MonitorError, SlaError) as exc:
        _say(f"uptime-sla: error: {_one_line(scrub(str(exc), *urls))}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `uptime-sla report ... | head`: the reader left, not an error
        _quiet_stdout()
        return 141


def _dispatch(argv: Sequence[str] | None, clock: Clock, urls: list[str]) -> int:
    """Parse, set up logging, load the config (as much of it as the command needs), run."""
    args = build_parser().parse_args(argv)
    _check_text(args)
    logging.basicConfig(
        level=logging.DEBUG if vars(args).get("verbose") else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "maximum number of running instances reached" on every tick of a hung target:
    # the skip is by design (runs never overlap) and shows in the schedule lag metric.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    if args.handler is None:  # `completion` reads no config
        import shtab

        script = shtab.complete(build_parser(for_completion=True), args.shell)
        write_output(args.output, script, parents=True)
        return 0
    from monitor.config import config_path, load_config

    args.config_file = config_path(vars(args).get("config"))
    config = load_config(args.config_file, sections=args.sections)
    urls += [
        config.storage.url,
        config.alerting.alertmanager_url,
        getattr(args, "alertmanager", None) or "",
    ]
    with _redacted_logs(tuple(urls)):
        return int(args.handler(args, config, clock))


def _check_text(args: argparse.Namespace) -> None:
    """Arguments are UTF-8 text (a title, a name, a month), except paths: a file may be
    named by any bytes, and Python keeps undecodable ones as lone surrogates (PEP 383)
    that no database, header or JSON document can hold."""
    paths = {"config", "output", "file", "root"}
    for name, value in vars(args).items():
        if name in paths:
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not _is_utf8(text):
                shown = name.removesuffix("s") if name in {"targets"} else name
                raise InputError(f"arguments: {shown.replace('_', '-')}: not UTF-8 text")


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _paths_as_given(stream: TextIO) -> None:
    """A path named by undecodable bytes is printed back as those bytes, not as a
    UnicodeEncodeError (a UTF-8 locale makes stdout strict)."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and getattr(stream, "encoding", "").lower() in ("utf-8", "utf8"):
        reconfigure(errors="surrogateescape")


def _say(line: str) -> None:
    """One line on stderr; a closed stderr (`2>&1 | head`) is no reason for a traceback."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)


def _quiet_stdout() -> None:
    """stdout onto /dev/null, so the flush at exit has nowhere to fail."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _Terminated(SystemExit):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so a half-written `-o` file is removed."""


@contextlib.contextmanager
def _ending_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the command through its `finally` blocks (exit 128 + N), not
    at once: what an interrupted write left beside its target is removed. `run` replaces
    these with its own graceful stop."""
    signals = (signal.SIGTERM, signal.SIGHUP)

    def end(number: int, _frame: FrameType | None) -> None:
        raise _Terminated(128 + number)

    try:
        previous = [signal.signal(number, end) for number in signals]
    except ValueError:  # not the main thread (an embedding caller): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for number, handler in zip(signals, previous, strict=True):
            signal.signal(number, handler)


@contextlib.contextmanager
def _redacted_logs(urls: tuple[str, ...]) -> Iterator[None]:
    """Every log handler scrubs the credentials of `urls` while a command runs."""
    handlers, hide = list(logging.getLogger().handlers), RedactingFilter(*urls)
    for handler in handlers:
        handler.addFilter(hide)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(hide)


def _one_line(text: str) -> str:
    """A file name, key or argument may hold a newline: escape it, keep the message one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@command(
    "check-config",
    "validate the config without opening the database (exit 0 or 2)",
    "uptime-sla check-config -c uptime-sla.yaml",
    sections=None,  # every ${VAR}, so one run names each one a command would miss
)
def _check_config(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    print(
        f"{args.config_file}: ok ({len(config.targets)} targets,"
        f" {len(config.contracts)} contracts, {len(config.maintenance)} maintenance windows)"
    )
    return 0


@command(
    "probe",
    "probe once now and print a table (exit 1 if any probe failed)",
    "uptime-sla probe api-health",
    [arg("targets", nargs="*", metavar="TARGET", help="target names (default: every target)")],
    sections=None,
)
def _probe(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    import asyncio

    from monitor.probing import eventloop
    from monitor.probing.probe import Prober
    from monitor.probing.results import Reason

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

    results = eventloop.run(probe_all())
    print(_table(results))
    for family in _families_without_way_out(results):
        print(
            f"uptime-sla: this monitor has no {family.replace('ipv', 'IPv')} (no route or source"
            f" address of that family): its {family} probes never left it, so they say nothing"
            " about the targets and the SLA counts them as not run",
            file=sys.stderr,
        )
    limited_is_down = config.sla.rate_limited_counts_as == "down"
    failed = (
        not r.success or (limited_is_down and r.reason == Reason.RATE_LIMITED) for r in results
    )
    return 1 if any(failed) else 0


def _families_without_way_out(results: list[ProbeResult]) -> list[str]:
    """Families none of whose probes could leave this monitor (all failed with `local`)."""
    from monitor.probing.results import Reason

    reached = {r.family for r in results if r.reason != Reason.LOCAL}
    return sorted({r.family for r in results} - reached)


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
    from monitor.store import Store

    return Store(config.storage.url, rollup_seconds=int(config.sla.slice))


@command(
    "import",
    "load probe history from CSV (all rows or none)",
    "uptime-sla import history.csv",
    [path_arg("file", metavar="FILE.csv")],
)
def _import(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.store.core import make_sqlite_folder
    from monitor.store.importer import import_csv

    if not args.file:
        raise InputError("import: the file name is empty (an unset variable?)")
    source = Path(args.file)
    progress = _Progress(sys.stderr, _file_size(source)) if sys.stderr.isatty() else None
    make_sqlite_folder(config.storage.url)
    store = _open_store(config)
    try:
        counts = import_csv(source, config, store, progress)
    finally:
        store.close()
        if progress is not None:
            progress.close()
    print(f"{args.file}: {counts.read} rows read, {counts.stored} new probes stored")
    if counts.conflicts:
        print(
            f"{args.file}: {counts.conflicts} rows conflict with stored probes;"
            " kept the stored ones",
            file=sys.stderr,
        )
    return 0


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None  # the import itself says why it cannot read the file


class _Progress:
    """One line on a terminal, rewritten at most 5 times a second: rows, rows/s, bytes."""

    def __init__(
        self, stream: TextIO, total: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream, self._total, self._clock = stream, total, clock
        self._start = self._shown = clock()
        self._line = ""

    def __call__(self, rows: int, done: int) -> None:
        now = self._clock()
        rate = rows / max(now - self._start, 1e-3)
        of = "" if self._total is None else f" of {self._total / 1e6:.1f} MB"
        self._line = f"{rows:,} rows, {rate:,.0f} rows/s, {done / 1e6:.1f} MB{of}"
        if now - self._shown >= 0.2:
            self._shown = now
            self._stream.write(f"\r{self._line}\x1b[K")
            self._stream.flush()

    def close(self) -> None:
        """The last figures, and the line ended, so what follows starts on its own."""
        if self._line:
            self._stream.write(f"\r{self._line}\x1b[K\n")
            self._stream.flush()


_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)
_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.ASCII)
_YEAR = re.compile(r"\d{4}", re.ASCII)

Month = tuple[int, int]
MAX_RANGE_MONTHS = 120  # a range report holds every month's figures in memory at once


def _month(option: str, text: str) -> Month:
    match = _MONTH.fullmatch(text)
    if not match:
        raise InputError(f"{option}: {text!r} is not YYYY-MM")
    return _in_range(option, text, int(match[1]), int(match[2]))


def _in_range(option: str, text: str, year: int, month: int) -> Month:
    if not 1970 <= year <= 9998:  # slices count from 1970; 9999-12 ends in year 10000
        raise InputError(f"{option}: {text!r} is not between 1970-01 and 9998-12")
    return year, month


def _months_between(first: Month, last: Month) -> list[Month]:
    """Every month from `first` to `last`, both included."""
    numbers = range(first[0] * 12 + first[1] - 1, last[0] * 12 + last[1])
    return [(number // 12, number % 12 + 1) for number in numbers]


def _chosen_months(args: argparse.Namespace) -> list[Month] | None:
    """The months of a range (`--months`, `--quarter`, `--year`), or None for one month."""
    given = [name for name in ("month", "months", "quarter", "year") if getattr(args, name)]
    if len(given) > 1:
        named = " and ".join(f"--{name}" for name in given)
        raise InputError(f"report: give one of --month, --months, --quarter, --year, not {named}")
    if args.months:
        first, sep, last = args.months.partition("..")
        if not sep:
            raise InputError(f"--months: {args.months!r} is not YYYY-MM..YYYY-MM")
        start, end = _month("--months", first), _month("--months", last)
        if end < start:
            raise InputError(f"--months: {args.months!r} ends before it starts")
        count = (end[0] - start[0]) * 12 + end[1] - start[1] + 1
        if count > MAX_RANGE_MONTHS:
            raise InputError(
                f"--months: {args.months!r} spans {count} months; a report covers at most"
                f" {MAX_RANGE_MONTHS} (ten years)"
            )
        return _months_between(start, end)
    if args.quarter:
        match = _QUARTER.fullmatch(args.quarter)
        if not match:
            raise InputError(f"--quarter: {args.quarter!r} is not YYYY-Qn (n from 1 to 4)")
        year, quarter = int(match[1]), int(match[2])
        _in_range("--quarter", args.quarter, year, 1)
        return _months_between((year, 3 * quarter - 2), (year, 3 * quarter))
    if args.year:
        if not _YEAR.fullmatch(args.year):
            raise InputError(f"--year: {args.year!r} is not YYYY")
        year = int(args.year)
        _in_range("--year", args.year, year, 1)
        return _months_between((year, 1), (year, 12))
    return None


@command(
    "report",
    "the monthly SLA report (default: the last month ended), a range, or one customer's"
    " statement; exit 3 with --strict when data is missing or a month has not ended",
    "uptime-sla report -c uptime-sla.yaml --month 2026-02 --format md -o february.md\n"
    "  uptime-sla report --customer acme --format pdf -o acme-statement.pdf\n"
    "  uptime-sla report --quarter 2026-Q1 --format html -o q1.html",
    [
        arg("--month", help="YYYY-MM (default: the last month ended in sla.timezone)"),
        arg("--months", metavar="FROM..TO", help="a range of months: YYYY-MM..YYYY-MM"),
        arg("--quarter", metavar="YYYY-Qn", help="the three months of a quarter"),
        arg("--year", metavar="YYYY", help="the twelve months of a year"),
        arg("--format", choices=REPORT_FORMATS, default="json", help="default: json"),
        arg("--customer", metavar="NAME", help="only this customer's statement"),
        arg(
            "--promises",
            action="store_true",
            help="the promise report instead (TLS only, plaintext rejected, Retry-After, both"
            " families, webhook deliveries): json, md or html, one month",
        ),
        arg(
            "--strict",
            action="store_true",
            help="exit 3 when the report is incomplete: a target's, family's or contract's"
            " data coverage is too low, or a month has not ended",
        ),
        path_arg("-o", "--output", metavar="FILE", help="write here (- or none: stdout)"),
    ],
)
def _report(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    if args.promises:
        return _promise_report(args, config, clock)
    from monitor.reports.inputs import EngineInputs
    from monitor.reports.monthly import last_ended_month, month_report, range_report, render
    from sla.render.formatting import incomplete_line

    now = clock()
    months = _chosen_months(args)
    single = _month("--month", args.month) if args.month else last_ended_month(config, now)
    inputs = EngineInputs.of(config)
    store = _existing_store(config)
    try:
        report: MonthReport | RangeReport
        if months is None:
            report = month_report(inputs, store, *single, now, customer=args.customer)
        else:
            report = range_report(inputs, store, months, now, customer=args.customer)
    finally:
        store.close()
    write_output(args.output, render(report, args.format))
    warning = incomplete_line(report)
    if warning is not None:
        print(warning, file=sys.stderr)
        if args.strict:
            return 3
    return 0


def _promise_report(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    """`report --promises [--month M] [--format json|md|html] [-o FILE]` (docs/promises.md)."""
    from monitor.promises.report import FORMATS as PROMISE_FORMATS
    from monitor.promises.report import month_promises, render_report
    from monitor.reports.monthly import last_ended_month

    others = [f"--{name}" for name in ("months", "quarter", "year", "customer", "strict")]
    given = [flag for flag in others if getattr(args, flag[2:])]
    if given:
        raise InputError(f"report --promises: one month only, not with {' and '.join(given)}")
    if args.format not in PROMISE_FORMATS:
        raise InputError(
            f"report --promises: --format {args.format} is not available (json, md or html)"
        )
    now = clock()
    year, month = _month("--month", args.month) if args.month else last_ended_month(config, now)
    store = _existing_store(config)
    try:
        report = month_promises(config, store, year, month, now)
    finally:
        store.close()
    write_output(args.output, render_report(report, args.format))
    return 0


@command(
    "export",
    "stored probes as CSV in the import format, oldest first",
    "uptime-sla export --from 2026-01-01 --to 2026-04-01 --target api-health -o q1.csv",
    [
        arg(
            "--from",
            dest="start",
            metavar="TIME",
            help="RFC 3339 time, or a date (midnight in sla.timezone)",
        ),
        arg("--to", dest="end", metavar="TIME", help="exclusive; RFC 3339 time or a date"),
        arg(
            "--target",
            dest="targets",
            action="append",
            metavar="NAME",
            help="only this target (repeatable)",
        ),
        path_arg("-o", "--output", metavar="FILE", help="write here (- or none: stdout)"),
    ],
)
def _export(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.store.export import write_export

    known = {t.name for t in config.targets}
    for name in args.targets or ():
        if name not in known:
            raise InputError(f"--target: no target named {name!r} in the config")
    start, end = (
        _moment(option, value, config)
        for option, value in (("--from", args.start), ("--to", args.end))
    )
    store = _existing_store(config)
    try:
        with output(args.output) as handle:
            write_export(store.probe_rows(start=start, end=end, targets=args.targets), handle)
    finally:
        store.close()
    return 0


def _moment(option: str, value: str | None, config: Config) -> datetime | None:
    from monitor.config import parse_moment

    if value is None:
        return None
    try:
        parsed = parse_moment(value)
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            raise ValueError
        return config.moment(parsed)
    except (ValueError, OverflowError):
        raise InputError(
            f"{option}: {value!r} is not an RFC 3339 time with an offset or a date"
        ) from None


@command(
    "run",
    "probe on schedule, store results, serve /metrics (until SIGINT or SIGTERM)",
    "uptime-sla run -c /etc/uptime-sla/uptime-sla.yaml",
    sections=None,
)
def _run(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.config import config_written
    from monitor.probing import eventloop
    from monitor.service import run_service
    from monitor.store.core import make_sqlite_folder

    page = config.status_page
    if page is not None and page.output_dir is not None:
        try:
            site_folder(page.output_dir, keep=_kept(args, config), written_by_run=True)
        except InputError as exc:
            raise InputError(f"status_page.output_dir: {exc}") from None
    make_sqlite_folder(config.storage.url)
    written = config_written(Path(args.config_file))
    return eventloop.run(run_service(config, clock, _install_signals, config_written=written))


def _kept(args: argparse.Namespace, config: Config) -> list[tuple[str, Path]]:
    """What a status site's folder must neither be nor hold: the config and the database."""
    from monitor.config import sqlite_file

    kept = [("the config", Path(args.config_file))]
    database = sqlite_file(config.storage.url)
    if database is not None:
        kept.append(("the database", Path(database)))
    return kept


def _install_signals(stop: asyncio.Event) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


@command(
    "rules",
    "write the Prometheus recording and alerting rules",
    "uptime-sla rules -o prometheus/rules.yml",
    [path_arg("-o", "--output", metavar="FILE", help="write here (- or none: stdout)")],
    sections=STORE_SECTIONS | {"alerting"},  # the runbook links
)
def _rules(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.integrations.rules import render_rules

    write_output(args.output, render_rules(config))
    return 0


group(
    "silences",
    "maintenance windows as Alertmanager silences",
)


@command(
    "silences sync",
    "create, update and expire silences to match the config's windows",
    "uptime-sla silences sync",
    [arg("--alertmanager", metavar="URL", help="default: alerting.alertmanager_url")],
    sections=STORE_SECTIONS | {"alerting", "maintenance"},
)
def _silences(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    import httpx

    from monitor.integrations.silences import sync_silences

    url = args.alertmanager or config.alerting.alertmanager_url
    with httpx.Client(base_url=url, timeout=10.0) as client:
        result = sync_silences(config, client, clock())
    print(f"{redact_url(url)}: silences {result}")
    return 0


@command(
    "dashboards",
    "write the Grafana dashboards (JSON)",
    "uptime-sla dashboards -o grafana/dashboards",
    [path_arg("-o", "--output", required=True, metavar="DIR")],
)
def _dashboards(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    try:
        from monitor.integrations.dashboards import write_dashboards  # optional extra
    except ImportError:
        raise InputError(
            "dashboards: needs grafana-foundation-sdk (pip install '.[grafana]' in a checkout"
            " of uptime-sla)"
        ) from None
    if not args.output:
        raise InputError("-o: the folder is empty (an unset variable?): give a folder")
    try:
        written = write_dashboards(config, Path(args.output))
    except OSError as exc:
        raise InputError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    print("\n".join(str(path) for path in written))
    return 0


group("status", "the public status site")


@command(
    "status build",
    "write the public status site once into a directory",
    "uptime-sla status build -o /var/www/status",
    [path_arg("-o", "--output", required=True, metavar="DIR")],
)
def _status_build(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.config import config_written
    from monitor.status.publish import build_into
    from monitor.status.site import SiteRenderer
    from monitor.status.state import StatusBuilder

    folder = site_folder(args.output, keep=_kept(args, config))
    store = _existing_store(config)
    written = config_written(Path(args.config_file))
    try:
        snapshot = StatusBuilder(config, store, config_written=written).snapshot(clock())
    finally:
        store.close()
    build_into(SiteRenderer().files(snapshot), folder)
    print(f"{args.output}: status site written ({snapshot.description})")
    return 0


def _existing_store(config: Config) -> Store:
    """For commands that only read: the database must exist at this version's schema."""
    from monitor.store import Store

    return Store.existing(config.storage.url, rollup_seconds=int(config.sla.slice))


@command(
    "migrate",
    "upgrade the database schema in place (or create it); `run` and `import` do it too",
    "uptime-sla migrate -c /etc/uptime-sla/uptime-sla.yaml",
)
def _migrate(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.store import SCHEMA_REVISION, Store
    from monitor.store.core import make_sqlite_folder

    make_sqlite_folder(config.storage.url)
    store = Store(config.storage.url, rollup_seconds=int(config.sla.slice), create=False)
    try:
        before = store.revision()
        store.upgrade(int(config.sla.slice))
    finally:
        store.close()
    if before is None:
        done = f"schema created at revision {SCHEMA_REVISION}"
    elif before == SCHEMA_REVISION:
        done = f"already at revision {SCHEMA_REVISION}"
    else:
        done = f"schema upgraded from revision {before} to {SCHEMA_REVISION}"
    print(f"{store.describe()}: {done}")
    return 0


group("incident", "operator incidents on the status page")


@command(
    "incident open",
    "post an operator incident on the status page; prints its id",
    'uptime-sla incident open --title "Slow searches" --impact minor --component "Public API"'
    ' --message "We are looking into slow search responses."',
    [
        arg("--title", required=True, help="what customers read as the headline"),
        arg("--impact", required=True, choices=words(OPERATOR_IMPACTS)),
        arg(
            "--component",
            action="append",
            default=[],
            metavar="NAME[=STATUS]",
            help="an affected component (by its name in status_page.components), with the"
            " status it shows until the incident is resolved (degraded_performance,"
            " partial_outage, major_outage or under_maintenance); repeatable",
        ),
        arg("--message", required=True, help="the first update (status investigating)"),
    ],
)
def _incident_open(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.status import incidents

    store = _open_store(config)
    try:
        incident_id = incidents.open_incident(
            config,
            store,
            title=args.title,
            impact=args.impact,
            components=args.component,
            message=args.message,
            now=clock(),
        )
    finally:
        store.close()
    print(incident_id)
    return 0


@command(
    "incident update",
    "add an update to an operator incident (resolved moves it to the history)",
    'uptime-sla incident update 2x8gq0lmw1nd --status resolved --message "Fixed."',
    [
        arg("id", metavar="ID"),
        arg("--status", required=True, choices=words(OPERATOR_STATUSES)),
        arg("--message", required=True),
    ],
)
def _incident_update(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.status import incidents

    store = _open_store(config)
    try:
        incidents.update_incident(
            store, args.id, status=args.status, message=args.message, now=clock()
        )
    finally:
        store.close()
    return 0


@command(
    "incident list",
    "open and recent operator incidents, one a line (id, status, impact, opened, title)",
    "uptime-sla incident list",
)
def _incident_list(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.status import incidents

    store = _existing_store(config)
    try:
        lines = incidents.incident_lines(store, clock())
    finally:
        store.close()
    if lines:
        print("\n".join(lines))
    return 0


group("subscribers", "the status page's subscribers (email and webhook)")


@contextlib.contextmanager
def _subscriber_store(config: Config, *, create: bool) -> Iterator[Store]:
    """The store, closed after: created or upgraded to add subscribers (`add`, `import`),
    else as it is, which must exist (`list`, `export`, `remove`)."""
    store = _open_store(config) if create else _existing_store(config)
    try:
        yield store
    finally:
        store.close()


def _addresses(values: Sequence[str]) -> list[str]:
    from monitor.subscriptions.forms import email_address

    found = []
    for value in values:
        try:
            found.append(email_address(value))
        except ValueError as exc:
            raise InputError(f"subscribers: {value!r} {exc}") from None
    return list(dict.fromkeys(found))


@command(
    "subscribers list",
    "every subscriber, one a line (address, kind, state, components, created, confirmed)",
    "uptime-sla subscribers list",
)
def _subscribers_list(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    with _subscriber_store(config, create=False) as store:
        subscribers = store.subscriptions.subscribers()
    rows = [("EMAIL", "KIND", "STATE", "COMPONENTS", "CREATED", "CONFIRMED", "WEBHOOK")]
    for s in subscribers:
        state = "disabled" if s.disabled else "confirmed" if s.confirmed else "pending"
        rows.append(
            (
                s.email,
                s.kind,
                state,
                "; ".join(s.components) or "(all)",
                _utc(s.created),
                _utc(s.confirmed) if s.confirmed else "-",
                redact_url(s.url, hide_path=True) if s.url else "-",
            )
        )
    cells = [[_one_line(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(rows[0]))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@command(
    "subscribers add",
    "subscribe email addresses (a confirmation email each, unless --confirmed)",
    'uptime-sla subscribers add ops@example.com --component "Public API" --confirmed',
    [
        arg("emails", nargs="+", metavar="EMAIL"),
        arg(
            "--component",
            action="append",
            default=[],
            metavar="NAME",
            help="a component to hear about (by its name on the page); repeatable; none: all",
        ),
        arg("--confirmed", action="store_true", help="confirmed now: no confirmation email"),
    ],
)
def _subscribers_add(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.subscriptions.app import new_id
    from monitor.subscriptions.forms import Components

    emails = _addresses(args.emails)
    try:
        components = Components.of(config.status_components()).choose(args.component)
    except ValueError as exc:
        raise InputError(f"--component: {exc}") from None
    page = config.status_page
    if not args.confirmed and (page is None or page.subscriptions is None):
        raise InputError(
            "subscribers add: confirmation emails need status_page.subscriptions"
            " (or add them with --confirmed)"
        )
    with _subscriber_store(config, create=True) as store:
        created = store.subscriptions.add_subscribers(
            emails,
            components,
            clock(),
            confirmed=args.confirmed,
            new_ids=[new_id() for _ in emails],
        )
    for email, new in zip(emails, created, strict=True):
        done = "added" if new else "updated"
        then = "confirmed" if args.confirmed else "confirmation email queued if pending"
        print(f"{email}: {done} ({then})")
    return 0


@command(
    "subscribers remove",
    "delete every subscription of these addresses (all or none)",
    "uptime-sla subscribers remove ops@example.com",
    [arg("emails", nargs="+", metavar="EMAIL")],
)
def _subscribers_remove(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    emails = _addresses(args.emails)
    with _subscriber_store(config, create=False) as store:
        removed = store.subscriptions.remove_addresses(emails)
    missing = [email for email, count in removed.items() if count == 0]
    if missing:
        raise InputError(
            f"subscribers remove: not subscribed: {', '.join(missing)} (nothing removed)"
        )
    for email, count in removed.items():
        print(f"{email}: removed ({count} subscription{'s' if count != 1 else ''})")
    return 0


@command(
    "subscribers export",
    "email subscribers as CSV: email,components,created,confirmed",
    "uptime-sla subscribers export -o subscribers.csv",
    [path_arg("-o", "--output", metavar="FILE", help="write here (- or none: stdout)")],
)
def _subscribers_export(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.subscriptions.exchange import write_subscribers

    with _subscriber_store(config, create=False) as store:
        subscribers = store.subscriptions.subscribers()
    with output(args.output, new_mode=0o600) as handle:  # personal data: a new file is 0600
        write_subscribers(subscribers, handle)
    return 0


@command(
    "subscribers import",
    "load email subscribers from CSV in the export's columns (all rows or none)",
    "uptime-sla subscribers import subscribers.csv",
    [path_arg("file", metavar="FILE.csv")],
)
def _subscribers_import(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    from monitor.subscriptions.app import new_id
    from monitor.subscriptions.exchange import read_subscribers

    names = [c.name for c in config.status_components()]
    rows = read_subscribers(Path(args.file), names)
    with _subscriber_store(config, create=True) as store:
        count = store.subscriptions.import_subscribers(rows, (new_id() for _ in rows))
    print(f"{args.file}: {count} subscribers imported")
    return 0
