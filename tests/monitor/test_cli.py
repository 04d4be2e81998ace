"""The command line as users type it: options anywhere, --version, help, shell completion."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from support.commands import commands

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
        [str(SCRIPT), *argv], capture_output=True, text=True, timeout=60, check=False
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


def test_each_example_parses(capsys: pytest.CaptureFixture[str]) -> None:
    """An example in the help that the parser rejects would teach the wrong thing.

    A rejected argument raises InputError; `completion` prints its script and exits 0.
    """
    parser = build_parser()
    for _, sub in commands(parser):
        for line in (sub.epilog or "").splitlines()[1:]:
            words = shlex.split(line)[1:]
            if ">" in words:
                words = words[: words.index(">")]
            if words[0] != "completion":
                parser.parse_args(words)
                continue
            with pytest.raises(SystemExit) as exit_:
                parser.parse_args(words)
            assert exit_.value.code == 0, line
            assert "complete" in capsys.readouterr().out


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
        timeout=60,
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
        timeout=60,
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
