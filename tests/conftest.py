"""Fixtures shared by every suite. Server code lives in tests/support/; this file only wires it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from support import postgres
from support.browser import ARTIFACTS, chromium
from support.distribution import download_wheels
from support.https import HttpsServer
from support.netns import NetworkNamespace, netns_unavailable_reason
from support.receivers import HostileSmtp, SlackReceiver, SmtpServer
from support.shared import made_once, run_dir, worker_id

# --- the order and the parallel run -----------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How the tests are handed to the parallel workers (scripts/test.sh runs pytest-xdist
    with --dist loadgroup):

    - the tests of a module with a module-scoped fixture (a built wheel, a rendered quarter, an
      Alertmanager) stay on one worker, which makes the fixture once, instead of once per worker;
    - long tests (marked `slow`) go first: handed out last, one would keep its worker busy
      long after the others ran out of work.
    """
    for item in items:
        definitions = item._fixtureinfo.name2fixturedefs.values()
        if any(defs[-1].scope in {"module", "class"} for defs in definitions):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's shared PostgreSQL, started by a worker, is stopped by the process that
    outlives them all (the controller, or the only process of a plain run)."""
    if worker_id(session.config) is None:
        postgres.stop_shared(run_dir(session.config._tmp_path_factory, session.config))


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
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """A folder of the runtime dependencies' wheels, for installs with PIP_NO_INDEX=1;
    downloaded once per run, whichever worker asks first."""
    return made_once(run_dir(tmp_path_factory, pytestconfig) / "wheelhouse", download_wheels)


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
def postgres_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> postgres.PostgresServer:
    """One throwaway PostgreSQL for the whole run, all workers; tests create a database each.
    Started when a test first needs it, stopped at the end of the run (pytest_sessionfinish)."""
    if not postgres.available():
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    return postgres.shared_server(run_dir(tmp_path_factory, pytestconfig))


# --- what a person looks at afterwards ---------------------------------------------------------


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """test-artifacts/FILE/TEST/ (git-ignored), emptied: screenshots and pages a person can
    look at after the run. One folder per test, so tests in parallel never write each other's."""
    module = request.node.path.stem.removeprefix("test_")
    folder = ARTIFACTS / module / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


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
