"""Bad input, fuzzed: whatever the config file, the CSV or the report's arguments hold, the
command exits 0 or 2, never raises, says what is wrong in one line naming the file (and line),
and exit 2 changes nothing: no stored row, no report file, no temporary file left behind.

Each property counts the inputs it tried and writes the count to `fuzz-inputs.txt` in pytest's
base temporary directory (printed too, visible with -s); the test asserts a floor.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import io
import json
import os
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text

from monitor.cli import build_parser, main
from monitor.errors import InputError

SECRET = "sk-fuzz-3e8d1c6a77"  # in the environment: never in an error message
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # a fixed clock: reports are reproducible
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)


def run_main(argv: Sequence[str]) -> tuple[int, str, str]:
    """main() in-process with its own stdout and stderr (exit code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv), clock=lambda: NOW)
        except SystemExit as exc:  # only --help ends through argparse's own exit
            if exc.code not in (0, None):
                raise
            code = 0
    return code, out.getvalue(), err.getvalue()


def assert_one_error_line(err: str, naming: str = "") -> None:
    assert err.startswith("uptime-sla: error: "), err
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert naming in err, err
    assert SECRET not in err


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int, Counter[str]], None]:
    record = tmp_path_factory.getbasetemp() / "fuzz-inputs.txt"

    def count(name: str, inputs: int, outcomes: Counter[str]) -> None:
        line = f"{name}: {inputs} inputs ({', '.join(f'{k}: {v}' for k, v in outcomes.items())})"
        with record.open("a") as handle:
            handle.write(line + "\n")
        print(f"\n{line}; also in {record}")

    return count  # type: ignore[return-value]


# --- 1. the config loader ------------------------------------------------------------------

VALID: dict[str, Any] = {
    "location": "us-west-2",
    "storage": {"url": "sqlite:///never-opened.db", "batch_interval": "1s", "buffer_limit": 1000},
    "metrics": {"listen": "127.0.0.1:9464", "sla_refresh": "60s"},
    "defaults": {
        "interval": "30s",
        "timeout": "10s",
        "families": ["ipv4", "ipv6"],
        "expect_status": ["200-299", 429],
    },
    "targets": [
        {
            "name": "api-health",
            "url": "https://api.outfame.com/v1/health",
            "service": "public-api",
            "headers": {"Authorization": "Bearer ${OUTFAME_API_KEY}"},
            "tls_min_version": "1.3",
            "body_contains": '"status":"ok"',
            "resolve": {"ipv4": ["127.0.0.1"], "ipv6": ["::1"]},
            "max_body_bytes": 4096,
            "method": "GET",
        },
        {"name": "api-search", "url": "https://api.outfame.com/v1/search", "interval": "1m"},
    ],
    "sla": {
        "timezone": "Europe/Berlin",
        "slice": "60s",
        "bad_slice_ratio": 0.5,
        "stale_after": None,
        "min_outage_slices": 1,
        "family_policy": "any",
        "location_quorum": "majority",
        "no_data": "exclude",
        "rate_limited_counts_as": "up",
    },
    "plans": {
        "pro": {"objective": 99.9, "credits": [{"below": 99.9, "percent": 10}]},
        "enterprise": {"objective": "99.99", "max_credit_percent": 100},
    },
    "contracts": [
        {
            "customer": "acme",
            "plan": "enterprise",
            "service": "public-api",
            "monthly_fee": "12000.00",
            "currency": "USD",
            "start": date(2026, 1, 1),
            "end": date(2027, 1, 1),
            "credits": [{"below": 99.99, "percent": 10}, {"below": 99.9, "amount": "500"}],
        }
    ],
    "maintenance": [
        {
            "start": datetime(2026, 2, 10, 2, tzinfo=UTC),
            "end": datetime(2026, 2, 10, 3, tzinfo=UTC),
            "targets": ["api-health"],
            "reason": "database upgrade",
        }
    ],
    "alerting": {"alertmanager_url": "http://127.0.0.1:9093"},
}
KNOWN_KEYS = sorted(
    {"name", "url", "service", "interval", "timeout", "start", "end", "credits", "headers"}
    | set(VALID)
    | set(VALID["sla"])
    | set(VALID["targets"][0])
)
INTERESTING = [
    "30s", "5m", "1h", "250ms", "0s", "-1s", "1.5s", "1e400", "nan", "inf", "", " ", "\n",
    "\x00", "${OUTFAME_API_KEY}", "${NOT_SET_ANYWHERE}", "$", "${", "https://", "http://x/",
    "https://api.test:99999/", "https://[::1]:8443/", "ipv4", "ipv6", "ipv5", "99.99", "100",
    "0", "200-299", "299-200", "600", "1.3", "1.2", "majority", "all", "any", "UTC",
    "America", "Mars/Olympus", "../../etc/passwd", "enterprise", "pro", "api-health",
    "public-api", "2026-02-10T02:00:00Z", "2026-02-10T02:00:00", "0001-01-01", "9999-12-31",
    "[::1]:9464", "127.0.0.1:-1", "USD", "usd", "\U0001f642", "a" * 300,
]  # fmt: skip
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from(INTERESTING),
    st.dates(),
    st.datetimes(timezones=st.none() | ZONES),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | TEXT, children, max_size=3)
    ),
    max_leaves=6,
)
DELETE = object()


def mutate(node: Any, draw: Callable[..., Any]) -> Any:
    """One random edit somewhere in the tree: go down a random path, then edit there."""
    keys: list[Any] = []
    if isinstance(node, dict):
        keys = list(node)
    elif isinstance(node, list):
        keys = list(range(len(node)))
    if keys and draw(st.integers(0, 3)) > 0:
        key = draw(st.sampled_from(keys))
        child = mutate(node[key], draw)
        changed = copy.copy(node)
        if child is DELETE:
            del changed[key]
        else:
            changed[key] = child
        return changed
    edit = draw(st.sampled_from(["delete", "replace", "add", "wrap", "as text", "empty"]))
    if edit == "delete":
        return DELETE
    if edit == "add" and isinstance(node, dict):
        return {**node, draw(st.sampled_from(KNOWN_KEYS) | TEXT): draw(VALUES)}
    if edit == "add" and isinstance(node, list):
        return [*node, draw(VALUES)]
    if edit == "wrap":
        return [node]
    if edit == "as text":
        return str(node)
    if edit == "empty":
        return type(node)() if isinstance(node, dict | list | str) else None
    return draw(VALUES)


YAML_TOKENS = [
    "\n", "  ", "    ", "- ", ": ", ":", "targets:", "- name: a", "url: https://x/", "sla:",
    "slice: ", "plans:", "contracts:", "defaults:", "headers:", "{", "}", "[", "]", ",", "? ",
    "&a ", "*a", "!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!str ", "!!map ",
    "!!seq ", "!!set ", "!!bool ", "!!null ", "!!python/object:os.system ", "!custom ", "<<: ",
    "'", '"', "\\", "\\x", "#", "|", ">", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "---\n",
    "...\n", "${OUTFAME_API_KEY}", "${NOPE}", ".inf", ".nan", "-.inf", "~", "null", "yes",
    "0x1F", "0o17", "1_000", "2026-01-01", "2026-02-10T02:00:00Z", "0001-01-01",
    "9999-12-31", "1e400", "1.0e+400", "30s", "\t", "\x00", "\ufeff", "\u2028", "\U0001f642",
    "9" * 5000,
]  # fmt: skip


@st.composite
def yaml_ish(draw: Callable[..., Any]) -> bytes:
    """Random text made of YAML's own punctuation, tags, anchors and config words."""
    pieces = draw(st.lists(st.sampled_from(YAML_TOKENS) | TEXT, max_size=40))
    return "".join(pieces).encode("utf-8")


@st.composite
def mutated_config(draw: Callable[..., Any]) -> bytes:
    """The valid config with a few random edits, then maybe text and byte level damage."""
    doc: Any = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        doc = mutate(doc, draw)
        if doc is DELETE:
            doc = None
    text = yaml.safe_dump(
        doc,
        default_flow_style=draw(st.sampled_from([False, True, None])),
        allow_unicode=draw(st.booleans()),
        sort_keys=False,
    )
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 20))
        text = text[:at] + draw(st.sampled_from(YAML_TOKENS) | TEXT) + text[at + cut :]
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1", "utf-8-sig"]))
    return text.encode(encoding, "replace")


CRASHERS = [  # found by hand and by these properties: each once raised instead of exit 2
    "a: !!int abc\n",
    "!!int ",
    "a: \x1f\n",
    "a: !!float abc\n",
    "a: !!timestamp abc\n",
    "sla: {slice: .inf}\n",
    "defaults: {interval: .nan}\n",
    "location: " + "9" * 5000 + "\n",
    "a: &x [*x]\n",
    "a: &x {b: *x}\n",
    "[" * 3000 + "]" * 3000,
    '"a\\nb": 1\n',
    "plans: {p: {objective: 99}}\ntargets: [{name: s, url: 'https://x/'}]\n"
    "sla: {timezone: Asia/Tokyo}\ncontracts: [{customer: a, plan: p, service: s,"
    " monthly_fee: 1, start: 0001-01-01, end: 0001-01-02}]\n",
]


def check_config(path: Path, content: bytes, outcomes: Counter[str]) -> None:
    path.write_bytes(content)
    code, out, err = run_main(["-c", str(path), "check-config"])
    outcomes[f"exit {code}"] += 1
    assert code in (0, 2), (code, err)
    if code == 2:
        assert_one_error_line(err, naming=str(path))
        assert out == ""
    else:
        assert out.startswith(f"{path}: ok"), out
        assert SECRET not in out + err


def test_the_config_loader_answers_random_yaml_with_exit_0_or_one_line_and_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally
):
    monkeypatch.setenv("OUTFAME_API_KEY", SECRET)
    path = tmp_path / "uptime-sla.yaml"
    tried, outcomes = [0], Counter[str]()

    @settings(FUZZ, max_examples=400)
    @given(yaml_ish())
    def loads(content: bytes) -> None:
        tried[0] += 1
        check_config(path, content, outcomes)

    for crasher in CRASHERS:
        loads = example(crasher.encode())(loads)
    loads()
    tally("config: random YAML-ish text", tried[0], outcomes)
    assert tried[0] >= 350


def test_the_config_loader_answers_a_mutated_valid_config_with_exit_0_or_one_line_and_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally
):
    monkeypatch.setenv("OUTFAME_API_KEY", SECRET)
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(yaml.safe_dump(VALID, sort_keys=False))
    assert run_main(["-c", str(path), "check-config"])[0] == 0  # the unmutated config is valid
    tried, outcomes = [0], Counter[str]()

    @settings(FUZZ, max_examples=400)
    @given(mutated_config())
    def loads(content: bytes) -> None:
        tried[0] += 1
        check_config(path, content, outcomes)

    loads()
    tally("config: mutations of a valid config", tried[0], outcomes)
    assert tried[0] >= 350
    assert outcomes["exit 0"] >= 10  # some edits keep the config valid: both answers are seen


# --- 2. the CSV importer ---------------------------------------------------------------------

HEADER = ["time", "target", "family", "location", "success", "status_code", "latency_ms", "reason"]
GOOD_ROWS = [
    ["2026-02-01T00:00:00Z", "api", "ipv4", "eu", "true", "200", "41.5", ""],
    ["2026-02-01T00:00:30+00:00", "api", "ipv6", "eu", "false", "", "", "connect"],
    ["2026-02-01T01:00:30+01:00", "web", "ipv4", "us", "true", "429", "12", "rate_limited"],
    ["2026-02-01T00:01:00.123456Z", "web", "ipv6", "us", "false", "503", "8.25", "status"],
]
HUGE = "\x01HUGE\x01"  # becomes a field over csv's 131,072-character limit when written
FIELDS = [
    "", " ", "nan", "NaN", "inf", "-inf", "1e999", "-1e999", "1e308", "-1", "-0", "0",
    "9" * 400, "1_000", "0x10", "\u0663", "\u0661\u0662\u0663", "true", "TRUE", "True", "yes",
    "1", "ipv5", "IPv4", "ipv4 ", "api", "API", "ghost", "2026-02-01T00:00:00",
    "2026-02-30T00:00:00Z", "2026-02-01 00:00:00Z", "2026-02-01T00:00:00.1234567Z",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-W05-1T00:00Z",
    "20260201T000000Z", "1970-01-01T00:00:00Z", "rate_limited", "timeout", "tls_version",
    "no_address", "up", '"', '""', ",", "\n", "\r", "\r\n", "\x00", "\ufeff", "\U0001f642",
    "a,b", 'x"y', HUGE,
]  # fmt: skip
FIELD = st.sampled_from(FIELDS) | TEXT


@st.composite
def mutated_csv(draw: Callable[..., Any]) -> bytes:
    header = list(HEADER)
    edit = draw(st.sampled_from(["keep"] * 8 + ["drop", "swap", "upper", "extra", "none"]))
    if edit == "drop":
        del header[draw(st.integers(0, 7))]
    elif edit == "swap":
        i, j = draw(st.integers(0, 7)), draw(st.integers(0, 7))
        header[i], header[j] = header[j], header[i]
    elif edit == "upper":
        header = [h.upper() for h in header]
    elif edit == "extra":
        header.append(draw(TEXT))
    rows = [list(r) for r in draw(st.lists(st.sampled_from(GOOD_ROWS), max_size=6))]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["field", "field", "field", "drop", "add", "row", "dup"]))
        if kind == "row" or not rows:
            rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(FIELD, max_size=10)))
            continue
        row = rows[draw(st.integers(0, len(rows) - 1))]
        if kind == "field" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(FIELD)
        elif kind == "drop" and row:
            del row[draw(st.integers(0, len(row) - 1))]
        elif kind == "add":
            row.insert(draw(st.integers(0, len(row))), draw(FIELD))
        elif kind == "dup":
            rows.append(list(row))
    lines = rows if edit == "none" else [header, *rows]
    lines = [[f.replace(HUGE, "x" * 140_000) for f in line] for line in lines]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    style = draw(st.sampled_from(["minimal", "all", "naive"]))
    if style == "naive":  # no quoting at all: commas, quotes and newlines break the columns
        text = "".join(",".join(line) + ending for line in lines)
    else:
        buffer = io.StringIO()
        quoting = csv.QUOTE_ALL if style == "all" else csv.QUOTE_MINIMAL
        csv.writer(buffer, quoting=quoting, lineterminator=ending).writerows(lines)
        text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    data = bytearray(text.encode(encoding, "replace"))
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        at = draw(st.integers(0, len(data)))
        data[at : at + draw(st.integers(0, 3))] = draw(st.binary(max_size=4))
    return bytes(data)


def database_state(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every table."""
    state = {}
    with engine.connect() as connection:
        for table in ("series", "probe_result", "slice_rollup", "rollup_length"):
            rows = sorted(
                repr(tuple(r)) for r in connection.execute(text(f"SELECT * FROM {table}"))
            )
            state[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return state


def test_the_importer_answers_a_mutated_csv_with_all_rows_or_none_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally, database_url: str
):
    """On a SQLite file and on PostgreSQL (whose text cannot hold a NUL, for one)."""
    monkeypatch.setenv("OUTFAME_API_KEY", SECRET)
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "{database_url}"}}
        defaults: {{headers: {{Authorization: "Bearer ${{OUTFAME_API_KEY}}"}}}}
        targets:
          - {{name: api, url: "https://api.test/"}}
          - {{name: web, url: "https://www.test/"}}
        """)
    )
    path = tmp_path / "history.csv"
    path.write_text(",".join(HEADER) + "\n" + "".join(",".join(r) + "\n" for r in GOOD_ROWS))
    assert run_main(["-c", str(config), "import", str(path)])[0] == 0  # schema and some rows
    database = create_engine(database_url)
    tried, outcomes = [0], Counter[str]()

    @settings(FUZZ, max_examples=250)
    @given(mutated_csv())
    @example(
        f"{','.join(HEADER)}\n2026-02-01T00:00:00Z,api,ipv4,{'x' * 140_000},true,,,\n".encode()
    )
    @example(",".join(HEADER).encode() + b"\n" + b"x" * 20_000 + b"\n\xff\n")
    @example(f"{','.join(HEADER)}\n2026-02-01T00:00:00Z,api,ipv4,eu,true,200,1e999,\n".encode())
    @example(f"{','.join(HEADER)}\n2026-02-01T00:00:00Z,api,ipv4,e\x00u,true,200,1,\n".encode())
    def imports(content: bytes) -> None:
        tried[0] += 1
        path.write_bytes(content)
        before = database_state(database)
        code, out, err = run_main(["-c", str(config), "import", str(path)])
        outcomes[f"exit {code}"] += 1
        assert code in (0, 2), (code, err)
        if code == 2:
            assert_one_error_line(err)
            assert re.match(rf"uptime-sla: error: {re.escape(str(path))}:\d+: ", err), err
            assert database_state(database) == before, "a failed import changed the database"
            return
        assert re.fullmatch(rf"{re.escape(str(path))}: \d+ rows read, \d+ new probes stored\n", out)
        after = database_state(database)
        # Importing the same file again stores nothing new.
        again, out, err = run_main(["-c", str(config), "import", str(path)])
        assert again == 0, err
        assert out.endswith(" 0 new probes stored\n"), out
        assert database_state(database) == after

    try:
        imports()
    finally:
        database.dispose()
    tally(f"import: mutated CSV files ({database.dialect.name})", tried[0], outcomes)
    assert tried[0] >= 220
    assert outcomes["exit 0"] >= 10


# --- 3. the report command's arguments -------------------------------------------------------

MONTHS = [
    "2026-02", "2026-03", "2026-04", "1970-01", "9998-12", "1969-12", "0000-01", "0001-01",
    "9999-12", "2026-13", "2026-00", "2026-2", "26-02", "\uff12\uff10\uff12\uff16-02",
    "2026-02\n", " 2026-02", "2026-02-01", "", "-", "2026_02",
]  # fmt: skip
FORMATS = ["json", "csv", "md", "html", "xml", "JSON", ""]
OUTPUTS = [
    "out.json", "report.md", "adir", "adir/", "adir/inner.html", "missing/out.json", "", ".",
    "..", "existing.json", "out\nnewline.csv", "-", " ", "adir/../out2.csv",
]  # fmt: skip
FLAGS = [
    "--month", "--format", "-o", "--output", "-h", "--help", "--mon", "--form", "--", "-x",
    "--month=2026-02", "--format=md", "-oout.csv", "--output=adir", "-c", "-v",
]  # fmt: skip
SAFE_TEXT = st.text(  # relative names only: a random -o never writes outside the sandbox
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="/\\\x00"), max_size=8
)
WELL_FORMED = st.sampled_from(  # pieces that make a report: most inputs should get far
    [("--format", f) for f in ("json", "csv", "md", "html")]
    + [("-o", o) for o in ("out.json", "report.md", "existing.json", "adir/inner.html")]
    + [("--output", "adir/../out2.csv"), ("--format=md",), ("-oout.csv",)]
)
PIECES = st.one_of(
    WELL_FORMED,
    WELL_FORMED,
    WELL_FORMED,
    st.tuples(st.just("--month"), st.sampled_from(MONTHS) | SAFE_TEXT),
    st.tuples(st.just("--format"), st.sampled_from(FORMATS) | SAFE_TEXT),
    st.tuples(st.sampled_from(["-o", "--output"]), st.sampled_from(OUTPUTS) | SAFE_TEXT),
    st.tuples(st.sampled_from(FLAGS)),
    st.tuples(SAFE_TEXT),
)
REPORT_ARGS = st.tuples(  # mostly with a month that exists, so many reports get written
    st.sampled_from([(), ("--month", "2026-02"), ("--month", "2026-03"), ("--month", "1970-01")]),
    st.lists(PIECES, max_size=4),
).map(lambda parts: [*parts[0], *(a for piece in parts[1] for a in piece)])


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (and every directory, as b"<dir>") by normalised relative path."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root)] = b"<dir>"
        for name in filenames:
            full = os.path.join(dirpath, name)
            found[os.path.relpath(full, root)] = Path(full).read_bytes()
    return found


def test_the_report_command_answers_random_arguments_with_0_or_one_line_and_no_stray_file(
    tmp_path: Path, tally
):
    data = tmp_path.parent / f"{tmp_path.name}-data"  # outside the tree that is watched
    data.mkdir()
    config = data / "uptime-sla.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{data / "sla.db"}"}}
        targets: [{{name: api, url: "https://api.test/", service: api}}]
        plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
        contracts:
          - {{customer: acme, plan: pro, service: api, monthly_fee: "100.00", start: 2026-01-01}}
        """)
    )
    history = data / "history.csv"
    history.write_text(
        ",".join(HEADER) + "\n2026-02-01T00:00:00Z,api,ipv4,eu,true,200,41.5,\n"
        "2026-02-01T00:01:00Z,api,ipv4,eu,false,503,3,status\n"
    )
    assert run_main(["-c", str(config), "import", str(history)])[0] == 0
    work = tmp_path / "work"
    (work / "adir").mkdir(parents=True)
    (work / "existing.json").write_text("keep me\n")
    rendered: dict[tuple[str, str], str] = {}  # what stdout shows for (month, format)
    tried, outcomes = [0], Counter[str]()

    def expected(month: str | None, fmt: str) -> str:
        if (month, fmt) not in rendered:
            chosen = [] if month is None else ["--month", month]  # None: the last month ended
            code, out, err = run_main(["-c", str(config), "report", *chosen, "--format", fmt])
            assert code == 0, err
            rendered[(month, fmt)] = out
        return rendered[(month, fmt)]

    @settings(FUZZ, max_examples=300)
    @given(REPORT_ARGS)
    @example(["--month", "2026-02", "-o", "adir"])
    @example(["--month", "2026-02", "-o", ""])
    @example(["--month", "2026-02", "-o", "-"])
    @example(["--month", "0000-01"])
    @example(["--month", "9999-12", "-o", "out.json"])
    @example(["--month", "2026-02", "--format", "md", "-o", "existing.json"])
    @example(["--month", "2026-02", "unexpected\nargument"])
    def reports(args: list[str]) -> None:
        tried[0] += 1
        argv = ["-c", str(config), "report", *args]
        before = tree(tmp_path)
        with contextlib.chdir(work):
            code, out, err = run_main(argv)
        after = tree(tmp_path)
        outcomes[f"exit {code}"] += 1
        assert code in (0, 2), (code, err)
        if code == 2:
            assert_one_error_line(err)
            assert after == before, "a failed report left or changed a file"
            return
        # Two probes in February: every month is incomplete, and says so in one line.
        assert err == "" or (err.startswith("INCOMPLETE REPORT: ") and err.count("\n") == 1)
        if out.startswith("usage: uptime-sla"):  # -h: argparse printed the help
            assert after == before
            return
        parsed = build_parser().parse_args(argv)
        if parsed.output in (None, "-"):  # `-o -` is standard output too
            assert after == before
            assert out == expected(parsed.month, parsed.format)
            return
        written = os.path.relpath(os.path.normpath(work / parsed.output), tmp_path)
        changed = {
            name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
        }
        assert changed <= {written}, f"stray files: {changed - {written}}"
        outcomes["written with -o"] += 1
        assert after[written].decode() == expected(parsed.month, parsed.format)
        if parsed.format == "json":
            json.loads(after[written])
        assert out == ""

    reports()
    tally("report: random arguments", tried[0], outcomes)
    assert tried[0] >= 270
    assert outcomes["exit 0"] >= 30
    assert outcomes["written with -o"] >= 5


def test_an_invalid_argument_is_an_input_error_not_an_exit():
    with pytest.raises(InputError):
        build_parser().parse_args(["report", "--format", "xml"])


# --- 4. URLs in the config ----------------------------------------------------------------------

URL_PARTS = st.sampled_from(["", ":", "@", "/", "?", "#", "[", "]", "%", "%zz", " ", "\\", "::1"])


@st.composite
def fuzzed_url(draw: Callable[..., Any]) -> str:
    """A URL of plausible parts, with the secret as its password and as a query parameter."""
    piece = URL_PARTS | TEXT
    scheme = draw(
        st.sampled_from(["sqlite", "postgresql+psycopg", "postgresql", "http", "https", "mysql"])
        | TEXT
    )
    host = draw(st.sampled_from(["127.0.0.1", "[::1]", "[::1", "localhost", ""]) | piece)
    port = draw(st.sampled_from(["", ":5432", ":0", ":99999", ":port", ":-1", ":1e3"]) | piece)
    query = draw(st.sampled_from(["", f"?password={SECRET}", f"?x=1&token={SECRET}"]) | piece)
    user = draw(st.sampled_from(["", "u@", f"u:{SECRET}@", f":{SECRET}@"]))
    return f"{scheme}://{user}{host}{port}{draw(piece)}{query}"


def test_urls_in_the_config_are_accepted_or_refused_in_one_line_without_their_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally
):
    monkeypatch.setenv("OUTFAME_API_KEY", "not-the-secret")
    path = tmp_path / "uptime-sla.yaml"
    tried, outcomes = [0], Counter[str]()

    @settings(FUZZ, max_examples=300)
    @given(
        st.sampled_from(["storage.url", "alerting.alertmanager_url", "targets[0].url"]),
        fuzzed_url(),
    )
    def loads(where: str, url: str) -> None:
        tried[0] += 1
        config = copy.deepcopy(VALID)
        section, _, key = where.partition(".")
        if section == "targets[0]":
            config["targets"][0]["url"] = url
        else:
            config.setdefault(section, {})[key] = url
        check_config(path, yaml.safe_dump(config).encode(), outcomes)

    loads()
    tally("config: fuzzed URLs", tried[0], outcomes)
    assert tried[0] >= 250
    assert outcomes["exit 0"] >= 10


# --- 5. Alertmanager's answers ------------------------------------------------------------------

JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
SILENCE = {
    "id": "5d1c1a4e-0000-4000-8000-000000000001",
    "status": {"state": "active"},
    "matchers": [{"name": "alertname", "value": "ProbeDown", "isRegex": False, "isEqual": True}],
    "startsAt": "2026-03-15T11:00:00.000Z",
    "endsAt": "2026-03-15T13:00:00.000Z",
    "createdBy": "uptime-sla",
    "comment": "maintenance [uptime-sla window 0123456789abcdef]",
}


@st.composite
def alertmanager_answer(draw: Callable[..., Any]) -> bytes:
    """A silence list with a field removed or replaced, random JSON, or not JSON at all."""
    kind = draw(st.sampled_from(["mutated", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=40))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    silence = copy.deepcopy(SILENCE)
    for _ in range(draw(st.integers(1, 3))):
        status, matchers = silence.get("status"), silence.get("matchers")
        nested = [status, matchers[0] if isinstance(matchers, list) and matchers else None]
        dicts = [d for d in (silence, *nested) if isinstance(d, dict) and d]
        target = draw(st.sampled_from(dicts))
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(JSON)
    return json.dumps([silence]).encode()


def test_any_alertmanager_answer_ends_in_a_sync_or_a_one_line_alertmanager_error(tally):
    from monitor.config import Config
    from monitor.integrations.silences import AlertmanagerError, sync_silences

    config = Config.model_validate(
        {
            "targets": [{"name": "api", "url": "https://api.test/"}],
            "maintenance": [{"start": "2026-03-15T11:00:00Z", "end": "2026-03-15T13:00:00Z"}],
        }
    )
    tried, outcomes = [0], Counter[str]()

    @settings(FUZZ, max_examples=300)
    @given(alertmanager_answer(), st.sampled_from([200, 200, 200, 500]))
    def syncs(answer: bytes, status: int) -> None:
        tried[0] += 1

        def alertmanager(request: httpx.Request) -> httpx.Response:
            if request.method == "GET":
                return httpx.Response(status, content=answer)
            return httpx.Response(200, json={"silenceID": "x"})

        url = f"http://admin:{SECRET}@am.test"
        transport = httpx.MockTransport(alertmanager)
        with httpx.Client(base_url=url, transport=transport) as client:
            try:
                sync_silences(config, client, NOW)
                outcomes["synced"] += 1
            except AlertmanagerError as exc:
                outcomes["error"] += 1
                message = str(exc)
                assert "\n" not in message
                assert message.startswith("alertmanager http://admin:***@am.test")
                assert SECRET not in message

    syncs()
    tally("silences: fuzzed Alertmanager answers", tried[0], outcomes)
    assert tried[0] >= 250
    assert outcomes["synced"] >= 5
