"""The command line as users type it: options anywhere, --version, help, shell completion."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from support.commands import COMMAND_PATIENCE, commands

from monitor.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("uptime-sla")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config with a month of history imported (through `import`, -c after the command)."""
    path = tmp_path / "cfg.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        location: eu-central-1
        storage: {{url: "sqlite:///{tmp_path / "sla.db"}"}}
        targets:
          - {{name: api-health, url: "https://api.example.test/health", service: public-api}}
        plans:
          pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}
        contracts:
          - {{customer: acme, plan: pro, service: public-api, monthly_fee: "100.00",
              currency: EUR, start: 2026-01-01}}
        """)
    )
    history = tmp_path / "history.csv"
    rows = ["time,target,family,location,success,status_code,latency_ms,reason"]
    for minute in range(60):
        for family in ("ipv4", "ipv6"):
            up = minute >= 30 or family == "ipv4"
            rows.append(
                f"2026-02-03T10:{minute:02d}:05Z,api-health,{family},eu-central-1,"
                + ("true,200,12.5," if up else "false,,,timeout")
            )
    history.write_text("\n".join(rows) + "\n")
    assert main(["import", str(history), "-c", str(path)]) == 0
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *argv], capture_output=True, text=True, timeout=COMMAND_PATIENCE, check=False
    )


def test_version_prints_the_version_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"uptime-sla {declared}\n"
    assert metadata.version("uptime-sla") == declared


@pytest.mark.parametrize(
    "placement",
    [
        ["-c", "{cfg}", "-v", "report", "--month", "2026-02"],
        ["report", "-c", "{cfg}", "--month", "2026-02"],
        ["report", "--month", "2026-02", "-c", "{cfg}", "-v"],
        ["-v", "report", "--month", "2026-02", "--config", "{cfg}"],
    ],
    ids=["before", "after the command", "at the end", "long form after"],
)
def test_global_options_may_stand_before_or_after_the_command(
    config: Path, placement: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [part.format(cfg=config) for part in placement]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["month"] == "2026-02"
    assert [t["name"] for t in report["targets"]] == ["api-health"]
    assert report["targets"][0]["bad_slices"] > 0  # the imported history was read


def test_every_placement_gives_the_same_report(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = set()
    for argv in (
        ["-c", str(config), "report", "--month", "2026-02", "--format", "md"],
        ["report", "--format", "md", "--month", "2026-02", "-c", str(config)],
    ):
        assert main(argv) == 0
        outputs.add(capsys.readouterr().out)
    (only,) = outputs
    assert "api-health" in only


def test_an_option_after_the_command_wins_over_one_before_it() -> None:
    args = build_parser().parse_args(["-c", "a.yaml", "report", "--month", "2026-02", "-c", "b"])
    assert args.config == "b"
    args = build_parser().parse_args(["-c", "a.yaml", "-v", "report", "--month", "2026-02"])
    assert (args.config, args.verbose) == ("a.yaml", True)


def test_global_options_follow_nested_commands_too() -> None:
    args = build_parser().parse_args(["silences", "sync", "-c", "x.yaml", "-v"])
    assert (args.config, args.verbose) == ("x.yaml", True)
    args = build_parser().parse_args(["silences", "-c", "x.yaml", "sync"])
    assert args.config == "x.yaml"


def test_no_option_means_the_default_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("UPTIME_SLA_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 2
    assert "uptime-sla.yaml: cannot read config" in capsys.readouterr().err


def test_every_command_has_a_description_and_an_example() -> None:
    found = commands(build_parser())
    names = {" ".join(words) for words, _ in found}
    assert {"run", "probe", "import", "report", "check-config", "silences sync"} <= names
    for words, parser in found:
        text = parser.format_help()
        description = parser.description or ""
        assert description, words
        assert "\n" not in description, words
        assert description in text
        example_block = text.split("\nexample", 1)
        assert len(example_block) == 2, f"{' '.join(words)}: no example"
        examples = [line.strip() for line in example_block[1].splitlines()[1:] if line.strip()]
        assert examples, words
        assert all(line.startswith(f"uptime-sla {' '.join(words)}") for line in examples), words


def test_each_example_parses() -> None:
    """An example in the help that the parser rejects would teach the wrong thing.

    A rejected argument raises InputError.
    """
    parser = build_parser()
    for _, sub in commands(parser):
        for line in (sub.epilog or "").splitlines()[1:]:
            words = shlex.split(line)[1:]
            if ">" in words:
                words = words[: words.index(">")]
            parser.parse_args(words)


def test_help_exits_zero_with_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--help"])
    assert exit_.value.code == 0
    assert "uptime-sla report -c uptime-sla.yaml --month" in capsys.readouterr().out


BASH_COMPLETE = """\
source <("$1" completion bash)
complete -p uptime-sla
complete_words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  _shtab_uptime_sla
  echo "${COMPREPLY[*]}"
}
complete_words uptime-sla rep
complete_words uptime-sla report --fo
complete_words uptime-sla report --format m
complete_words uptime-sla silences s
complete_words uptime-sla report --month 2026-02 --con
"""


def test_bash_completion_is_generated_from_the_parser() -> None:
    result = subprocess.run(
        ["bash", "-c", BASH_COMPLETE, "bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("complete ")
    assert lines[0].endswith(" uptime-sla")
    assert "-F _shtab_uptime_sla" in lines[0]
    assert lines[1:] == ["report", "--format", "md", "sync", "--config"]


def test_zsh_completion_registers_with_compinit(tmp_path: Path) -> None:
    script = """\
autoload -U compinit && compinit -u -d "$2/zcompdump"
eval "$("$1" completion zsh)"
print -r -- "$_comps[uptime-sla]"
(( $+functions[_shtab_uptime_sla] )) && print defined
"""
    result = subprocess.run(
        ["zsh", "-f", "-c", script, "zsh", str(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["_shtab_uptime_sla", "defined"]


def test_check_config_names_every_missing_variable_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("API_KEY", "SEARCH_KEY", "PGPASSWORD_X"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "cfg.yaml"
    path.write_text(
        textwrap.dedent("""\
        location: here
        storage: {url: "postgresql://sla:${PGPASSWORD_X}@127.0.0.1/sla"}
        targets:
          - name: a
            url: https://a.example.test/
            headers: {Authorization: "Bearer ${API_KEY}"}
          - name: b
            url: https://b.example.test/
            headers: {Authorization: "Bearer ${API_KEY}", X-Search: "${SEARCH_KEY}"}
        """)
    )
    assert main(["check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{path}: 3 environment variables are not set:" in err
    assert "PGPASSWORD_X (line 2, storage.url)" in err
    assert "API_KEY (line 6, targets[0].headers.Authorization)" in err
    assert "SEARCH_KEY (line 9, targets[1].headers.X-Search)" in err


# --- any argument, any reader: one line and exit 2, never a traceback --------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--version"],
        ["incident", "list", "--version"],
        ["silences", "sync", "--version"],
        ["report", "--month", "2026-02", "--version", "-c", "nowhere.yaml"],
    ],
)
def test_version_may_follow_the_command_like_every_global_option(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --version` was "unrecognized arguments"."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("uptime-sla ")


NOT_UTF8 = b"caf\xe9 \xff"  # Latin-1 bytes, as a shell in another locale passes them


@pytest.mark.parametrize(
    "argv",
    [
        [b"incident", b"open", b"--title", NOT_UTF8, b"--impact", b"minor", b"--message", b"m"],
        [b"incident", b"open", b"--title", b"t", b"--impact", b"minor", b"--message", NOT_UTF8],
        [b"incident", b"open", b"--title", b"t", b"--impact", b"minor", b"--message", b"m",
         b"--component", NOT_UTF8],
        [b"incident", b"update", NOT_UTF8, b"--status", b"resolved", b"--message", b"m"],
        [b"probe", NOT_UTF8],
        [b"report", b"--customer", NOT_UTF8],
        [b"report", b"--month", NOT_UTF8],
        [b"report", b"--format", NOT_UTF8],
        [b"export", b"--target", NOT_UTF8],
        [b"export", b"--from", NOT_UTF8],
        [b"silences", b"sync", b"--alertmanager", NOT_UTF8],
        [NOT_UTF8],
        [b"report", NOT_UTF8],
    ],
    ids=lambda argv: b" ".join(argv[:3]).decode("ascii", "replace"),
)  # fmt: skip
def test_an_argument_that_is_not_utf8_is_one_line_and_exit_2(
    config: Path, argv: list[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    """A title in Latin-1 reached the database and came back as a UnicodeEncodeError.

    In-process, the arguments as Python hands them over (undecodable bytes as surrogates);
    the next test passes real bytes through a process."""
    assert main(["-c", str(config), *map(os.fsdecode, argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uptime-sla: error: "), err
    assert err.count("\n") == 1, err


def test_bytes_on_a_real_command_line_are_one_line_and_exit_2(config: Path) -> None:
    argv = [b"incident", b"open", b"--title", NOT_UTF8, b"--impact", b"minor", b"--message", b"m"]
    result = subprocess.run(
        [str(SCRIPT).encode(), b"-c", str(config).encode(), *argv],
        capture_output=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == b"uptime-sla: error: arguments: title: not UTF-8 text\n"


def test_a_path_may_be_any_bytes_and_is_printed_back_as_given(config: Path, tmp_path: Path) -> None:
    """Paths are not text: a file named in another locale is written, and its name printed
    back even where stdout is strict UTF-8 (PYTHONIOENCODING)."""
    site = str(tmp_path).encode() + b"/site-\xff"
    out = str(tmp_path).encode() + b"/report-\xe9.json"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for argv in (
        [b"status", b"build", b"-o", site],
        [b"report", b"--month", b"2026-02", b"-o", out],
    ):
        result = subprocess.run(
            [str(SCRIPT).encode(), b"-c", str(config).encode(), *argv],
            capture_output=True,
            timeout=COMMAND_PATIENCE,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert os.path.isfile(site + b"/index.html")
    assert json.loads(Path(os.fsdecode(out)).read_text())["month"] == "2026-02"


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--month", "99999999999999999999-01"],
        ["report", "--month", "2026-13"],
        ["report", "--month", "0000-01"],
        ["report", "--months", "2026-01..99999999999999999999-01"],
        ["report", "--quarter", "99999999999999999999-Q1"],
        ["report", "--year", "-1"],
        ["report", "--year", "1e400"],
        ["export", "--from", "99999999999999999999"],
        ["export", "--from", "2026-01-01T00:00:00+99:00"],
        ["export", "--to", "9999-12-31T23:59:59-23:59"],
        ["export", "--to", "0001-01-01T00:00:00+01:00"],
        ["incident", "update", "99999999999999999999999", "--status", "resolved", "--message", "m"],
        ["incident", "update", "-1", "--status", "resolved", "--message", "m"],
        ["probe", "1e400"],
    ],
)
def test_any_number_is_one_line_and_exit_2(
    config: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-c", str(config), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uptime-sla: error: "), err
    assert err.count("\n") == 1, err


def test_a_range_of_more_than_120_months_is_refused_at_once(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--months 1970-01..9998-12` ran for 8 minutes and took 1.46 GB."""
    assert main(["-c", str(config), "report", "--months", "1970-01..9998-12"]) == 2
    assert "spans 96348 months; a report covers at most 120" in capsys.readouterr().err
    assert main(["-c", str(config), "report", "--months", "2016-03..2026-02"]) == 0  # 120


def test_completion_creates_the_folder_it_writes_into(tmp_path: Path) -> None:
    """The documented `completion bash > DIR/uptime-sla` failed when DIR did not exist."""
    target = tmp_path / "share" / "bash-completion" / "completions" / "uptime-sla"
    result = run("completion", "bash", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "_shtab_uptime_sla" in target.read_text()
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["check-config"],
        ["report", "--month", "2026-02", "--format", "csv"],
        ["export"],
        ["incident", "list"],
        ["completion", "zsh"],
        ["--help"],
        ["report", "--version"],
    ],
)
def test_a_reader_that_leaves_early_ends_the_command_quietly(config: Path, argv: list[str]) -> None:
    """`... | head` exited 120 with "Exception ignored ... BrokenPipeError" once Python
    flushed stdout at exit (block-buffered, as a pipe is without PYTHONUNBUFFERED)."""
    assert main(["-c", str(config), "incident", "open", "--title", "t", "--impact", "minor",
                 "--message", "m"]) == 0  # fmt: skip
    reader, writer = os.pipe()
    os.close(reader)  # `head` has read its lines and left
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    try:
        result = subprocess.run(
            [str(SCRIPT), "-c", str(config), *argv],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=COMMAND_PATIENCE,
            check=False,
        )
    finally:
        os.close(writer)
    assert result.returncode == 141, result.stderr  # as if SIGPIPE had ended it
    assert result.stderr == ""
