"""Shared helpers of the benchmarks: processes, /proc readings, local servers, tables.

Everything here talks to 127.0.0.1 / ::1 only.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def command_line() -> str:
    """The exact command that is running, for the printed report."""
    return " ".join(
        [os.path.relpath(PYTHON, ROOT) if PYTHON.startswith(str(ROOT)) else PYTHON, *sys.argv]
    )


def raise_nofile(limit: int = 65536) -> None:
    """Children (nginx, uptime-sla, the exporter) inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < limit:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
            return
        except (ValueError, OSError):
            limit = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), hard))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def fetch(url: str, timeout: float = 30) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def wait_for(condition: Callable[[], object], timeout: float = 30.0, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready within {timeout} s")
        time.sleep(every)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    """User + system CPU seconds of the live child processes of `pid` (the promise checks'
    process of `uptime-sla run`)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a running process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            Path("/usr/sbin") / name if (Path("/usr/sbin") / name).exists() else None
        )
        if found:
            return str(found)
    return None


def start_monitor(config: Path, log: Path) -> tuple[subprocess.Popen, object]:
    """`uptime-sla -c CONFIG run` from the repository, stdout and stderr into `log`;
    returns the process and the open log file (close it after stop())."""
    handle = log.open("wb")
    process = subprocess.Popen(
        [PYTHON, "-m", "monitor", "-c", str(config), "run"],
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    return process, handle


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, "1.20/0.80/0.50"."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def lag_medians(runs: dict[str, list[dict[str, object]]]) -> dict[str, float]:
    """Each set's median of its runs' schedule-lag p99, in seconds."""
    return {
        name: statistics.median(float(f["lag_p99_seconds"] or 0) for f in found)  # type: ignore[arg-type]
        for name, found in runs.items()
    }


def lag_table(
    label: str,
    runs: dict[str, list[dict[str, object]]],
    more: Sequence[tuple[str, Callable[[dict[str, object]], str]]] = (),
) -> str:
    """One row per set of interleaved runs: each run's lag p99, their median, probes/s,
    CPU, and `more` columns (a header and what each run shows)."""
    medians = lag_medians(runs)
    rows = [
        [
            name,
            ", ".join(f"{float(f['lag_p99_seconds'] or 0) * 1000:.1f}" for f in found),  # type: ignore[arg-type]
            f"{medians[name] * 1000:.1f}",
            ", ".join(f"{float(f['rate']):.1f}" for f in found),  # type: ignore[arg-type]
            ", ".join(f"{float(f['cpu']):.1f}" for f in found),  # type: ignore[arg-type]
            *("; ".join(show(f) for f in found) for _, show in more),
        ]
        for name, found in runs.items()
    ]
    headers = [label, "lag p99 of each run (ms)", "median (ms)", "probes/s", "CPU s"]
    return table([*headers, *(header for header, _ in more)], rows)


def table(headers: list[str], rows: list[list[object]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def machine() -> str:
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({model}), {mem:,} MiB RAM"


def commit() -> str:
    """HEAD, marked when the tracked files differ from it (figures of code not committed)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return git("rev-parse", "HEAD") + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_certs(directory: Path, hosts: tuple[str, ...] = ("api.test",)) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate (trustme): (ca.pem, cert chain, key)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(*hosts)
    ca_file, chain, key = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_pem.write_to_path(str(key))
    with chain.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return ca_file, chain, key


class Nginx:
    """Debian's nginx on 127.0.0.1 and [::1]: TLS 1.3 only, 200 + small body on /t/<n>;
    on `plain_port`, plaintext HTTP answered with a redirect to https (as many APIs do)."""

    def __init__(self, work: Path, chain: Path, key: Path, workers: int = 1) -> None:
        self.work = work
        self.port = free_port()
        self.plain_port = free_port()
        for sub in ("logs", "tmp"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        conf = work / "nginx.conf"
        conf.write_text(f"""
daemon off;
worker_processes {workers};
worker_rlimit_nofile 65536;
pid {work}/nginx.pid;
error_log {work}/logs/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    keepalive_timeout 0;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        listen [::1]:{self.port} ssl;
        server_name api.test;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location ~ ^/t/[0-9]+$ {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}
        location / {{ return 404; }}
    }}
    server {{
        listen 127.0.0.1:{self.plain_port};
        listen [::1]:{self.plain_port};
        server_name api.test;
        return 301 https://api.test:{self.port}$request_uri;
    }}
}}
""")
        exe = binary("nginx")
        if exe is None:
            raise SystemExit("nginx not found: apt-get install -y nginx")
        self.process = subprocess.Popen(
            [exe, "-p", str(work), "-c", str(conf), "-e", f"{work}/logs/error.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 1).close() or True)
        wait_for(lambda: socket.create_connection(("::1", self.port), 1).close() or True)

    def close(self) -> None:
        stop(self.process)


def local_nginx(prefix: str) -> tuple[Path, Path, Nginx]:
    """A new work folder, a trustme CA and certificate in it, and nginx serving /t/<n> with
    them on 127.0.0.1 and [::1]: (folder, CA file, nginx; close() it when done)."""
    raise_nofile()
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(work, 0o755)  # nginx workers run as nobody
    ca_file, chain, key = write_certs(work)
    return work, ca_file, Nginx(work / "nginx", chain, key)
