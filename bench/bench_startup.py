"""Start-up time of the commands people type: `--version`, `--help`, `check-config`, `probe`.

Each command runs as `python -m monitor ...` in a fresh interpreter, in rounds: every round
runs every command of every tree once, in turn (so a busy machine slows them alike), and the
figures are medians over the rounds. Wall time is what a person waits; CPU time (user +
system, from the child's rusage) is what the command itself costs, the steadier figure on a
shared machine. "bare" is `python -c pass`, the interpreter's own start-up, which every
figure includes; the goal is counted over it.

`check-config` reads a config of one target (storage left at its default SQLite file);
`probe` probes that target over IPv4 and IPv6 on a local nginx (benchlib.Nginx: TLS 1.3, a
fresh connection each time), so its figure includes two real probes of a few milliseconds.

Run: .venv/bin/python bench/bench_startup.py [--rounds 15] [--tree LABEL=DIR ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import PYTHON, ROOT, command_line, commit, local_nginx, machine, table


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `argv` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # probe exits 1 when a probe failed: still timed
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="a source tree to measure (an export of another commit); default: this one",
    )
    args = parser.parse_args()
    trees = [
        (label, Path(path).resolve()) for label, _, path in (t.partition("=") for t in args.tree)
    ]
    trees = trees or [("this tree", ROOT)]
    work, ca_file, nginx = local_nginx("bench-startup-")
    config = work / "uptime-sla.yaml"
    config.write_text(
        "targets:\n"
        f'  - {{name: api, url: "https://api.test:{nginx.port}/t/1", ca_file: "{ca_file}",'
        ' resolve: {ipv4: ["127.0.0.1"], ipv6: ["::1"]}}\n'
    )
    commands = {
        "--version": ["--version"],
        "--help": ["--help"],
        "check-config": ["-c", str(config), "check-config"],
        "probe (2 probes)": ["-c", str(config), "probe"],
    }
    runs: dict[str, list[tuple[float, float]]] = {}
    load = [os.getloadavg()[0]]
    try:
        for _ in range(args.rounds):
            runs.setdefault("bare: python -c pass", []).append(
                timed([PYTHON, "-c", "pass"], dict(os.environ), ROOT)
            )
            for label, tree in trees:
                env = {**os.environ, "PYTHONPATH": str(tree)}
                for name, argv in commands.items():
                    runs.setdefault(f"{label}: {name}", []).append(
                        timed([PYTHON, "-m", "monitor", *argv], env, tree)
                    )
            load.append(os.getloadavg()[0])
    finally:
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)

    bare_wall = statistics.median(w for w, _ in runs["bare: python -c pass"])
    bare_cpu = statistics.median(c for _, c in runs["bare: python -c pass"])
    print(f"command: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(f"load average (1 min) during the run: {min(load):.1f}-{max(load):.1f}")
    print(f"{args.rounds} rounds, commands interleaved; medians\n")
    rows = []
    for name, figures in runs.items():
        wall = statistics.median(w for w, _ in figures)
        cpu = statistics.median(c for _, c in figures)
        rows.append(
            [
                name,
                f"{wall * 1000:.0f} ms",
                f"{(wall - bare_wall) * 1000:+.0f} ms",
                f"{cpu * 1000:.0f} ms",
                f"{(cpu - bare_cpu) * 1000:+.0f} ms",
            ]
        )
    print(table(["command", "wall", "wall over bare", "CPU", "CPU over bare"], rows))


if __name__ == "__main__":
    main()
