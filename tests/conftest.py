"""Fixtures shared by every suite. Server code lives in tests/support/; this file only wires it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from support import postgres
from support.browser import chromium
from support.distribution import download_wheels
from support.https import HttpsServer
from support.netns import NetworkNamespace, netns_unavailable_reason
from support.receivers import HostileSmtp, SlackReceiver, SmtpServer

# --- HTTPS test servers ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """One test certificate authority for the whole session."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test CA as a PEM file, for a target's `ca_file`."""
    path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def https_server(tls_ca: trustme.CA, ca_file: str) -> Iterator[Callable[..., HttpsServer]]:
    """Factory: `https_server(**options)` starts a loopback HTTPS server (see
    support.https.HttpsServer for the options); every server is closed at teardown."""
    servers: list[HttpsServer] = []

    def start(**options: Any) -> HttpsServer:
        server = HttpsServer(ca=tls_ca, ca_file=ca_file, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --- a real browser ---------------------------------------------------------------------


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium (Debian's, through Playwright) for page tests; closed at teardown."""
    with chromium() as launched:
        yield launched


# --- notification receivers -------------------------------------------------------------------


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    """A local Slack incoming-webhook receiver (HTTP on 127.0.0.1) recording every post."""
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_server(
    tls_ca: trustme.CA, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd: STARTTLS, login required) whose certificate this
    process and its children trust (SSL_CERT_FILE names the test CA)."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    server = SmtpServer(tls_ca)
    yield server
    server.close()


@pytest.fixture
def hostile_smtp() -> Iterator[HostileSmtp]:
    """A plain-text SMTP server (aiosmtpd, no login) that refuses, streams or trickles as its
    `handler.mode` says (see support.receivers.HostileHandler)."""
    server = HostileSmtp()
    yield server
    server.close()


# --- installing the project elsewhere ---------------------------------------------------


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the runtime dependencies' wheels, for installs with PIP_NO_INDEX=1."""
    return download_wheels(tmp_path_factory.mktemp("wheelhouse"))


# --- network namespaces of the tests' own ------------------------------------------------------


@pytest.fixture
def namespaces() -> type[NetworkNamespace]:
    """The NetworkNamespace class, once it is known that namespaces can be made here. Where
    not (no root, tools missing) the test is skipped, except on CI, where it fails: there
    scripts/setup.sh installs the tools, and a skip would hide a missing install step."""
    reason = netns_unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason} (on CI scripts/setup.sh must install it)")
        pytest.skip(reason)
    return NetworkNamespace


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """One throwaway PostgreSQL for the session; tests create a database each."""
    if not postgres.available():
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with postgres.running_postgres() as server:
        yield server


# --- a missing tool fails the test, it never skips it ----------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Turn every skip into a failure: scripts/setup.sh installs each tool the tests use, so a
    skip can only mean a missing install step, and a skip would hide it. On a machine of one's
    own, UPTIME_SLA_ALLOW_SKIPS=1 lets the skips stand (the reason is printed either way)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if os.environ.get("UPTIME_SLA_ALLOW_SKIPS", "").lower() in {"1", "true", "yes"}:
        return
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"{reason}: a skip here hides a missing install step (scripts/setup.sh)"
