"""Which CAs a target trusts: its `ca_file`, else the system's store (where operators install
their internal CAs), never a bundle shipped inside a Python package.

OpenSSL's system store can be pointed elsewhere with SSL_CERT_FILE, which is how the tests
put their own CA "into the system" without touching the machine's.
"""

from __future__ import annotations

from pathlib import Path

from support.commands import uptime_sla

CONFIG = """\
targets:
  - name: api
    url: "{url}"
    resolve: {{ipv4: ["127.0.0.1"], ipv6: ["::1"]}}
{ca_file}"""


def test_a_target_without_ca_file_trusts_the_system_store_and_only_it(https_server, tmp_path: Path):
    server = https_server()
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(CONFIG.format(url=server.url("/health"), ca_file=""))

    trusted = uptime_sla(
        "-c", str(config), "probe", env={"SSL_CERT_FILE": server.ca_file}, cwd=tmp_path
    )
    untrusted = uptime_sla(
        "-c", str(config), "probe", env={"SSL_CERT_FILE": "/nonexistent"}, cwd=tmp_path
    )

    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert untrusted.returncode == 1, untrusted.stdout + untrusted.stderr
    rows = [row for row in untrusted.stdout.splitlines() if row.startswith("api ")]
    assert len(rows) == 2
    assert all(" tls " in row and "certificate verify failed" in row for row in rows), rows


def test_a_missing_ca_file_is_a_config_error_naming_its_path(tmp_path: Path):
    config = tmp_path / "uptime-sla.yaml"
    missing = tmp_path / "no-such-ca.pem"
    config.write_text(
        CONFIG.format(url="https://api.test/health", ca_file=f"    ca_file: {missing}\n")
    )
    for command in ("check-config", "probe", "run"):
        done = uptime_sla("-c", str(config), command, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr == (
            f"uptime-sla: error: {config}:5: targets[0].ca_file: is not a readable file"
            " (a PEM bundle of CA certificates)\n"
        ), command
