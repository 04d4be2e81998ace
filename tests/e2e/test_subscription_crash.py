"""`kill -9` of `uptime-sla run` while it emails an incident to its subscribers: after the
restart every subscriber has the notice once. The one message that may have been sent but
not yet marked when the process died is sent again with the same Message-ID, so a mail
system (and this test) sees it for the duplicate it is."""

from __future__ import annotations

import signal
import textwrap
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from support.commands import uptime_sla
from support.processes import PATIENCE, Monitor, free_port, wait_for
from support.receivers import SMTP_USER
from support.subscriptions import write_secrets

SUBSCRIBERS = 300
RATE = 60  # messages a second (the subscribers' email has a rate)
KILL_AFTER = SUBSCRIBERS // 3  # the SMTP server holds the next message: the kill is midway


def write_config(tmp_path: Path, smtp_port: int) -> Path:
    secret, password = write_secrets(tmp_path)
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        location: lab
        storage: {{url: "sqlite:///{tmp_path / "uptime-sla.db"}", batch_interval: 0.2s}}
        metrics: {{listen: "127.0.0.1:{free_port()}"}}
        defaults: {{interval: 1h}}
        targets: [{{name: api, url: "https://api.test/", service: public-api}}]
        notifications:
          email:
            smtp: {{host: 127.0.0.1, port: {smtp_port}, username: {SMTP_USER},
                    password_file: "{password}"}}
            from: status@example.com
            max_per_second: {RATE}
        status_page:
          components: [{{name: Public API, services: [public-api]}}]
          subscriptions:
            listen: 127.0.0.1:{free_port()}
            base_url: https://status.example.com/subscriptions
            secret_file: "{secret}"
        """)
    )
    return config


def notices(smtp_server) -> dict[str, list[str]]:
    """Message-IDs of the incident notices each subscriber received, in order."""
    found: dict[str, list[str]] = defaultdict(list)
    for message in list(smtp_server.messages):
        if str(message["Subject"]).startswith("Major outage"):
            found[str(message["To"])].append(str(message["Message-ID"]))
    return found


def test_a_fan_out_killed_midway_reaches_every_subscriber_once_after_restart(
    smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, smtp_server.port)
    people = tmp_path / "subscribers.csv"
    created = datetime.now(UTC).isoformat()
    people.write_text(
        "email,components,created,confirmed\n"
        + "".join(f"s{n:04d}@example.com,,{created},{created}\n" for n in range(SUBSCRIBERS))
    )
    assert uptime_sla("-c", str(config), "subscribers", "import", str(people)).returncode == 0

    smtp_server.mailbox.hold_after = KILL_AFTER  # however fast or slow the machine
    first = Monitor(config)
    try:
        opened = uptime_sla(
            "-c", str(config), "incident", "open", "--title", "Everything down",
            "--impact", "major", "--message", "We are on it.",
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        wait_for(lambda: len(smtp_server.messages) >= KILL_AFTER, every=0.02)
        first.process.kill()
        assert first.process.wait(PATIENCE) == -signal.SIGKILL
    finally:
        first.stop()
        smtp_server.mailbox.hold_after = None
    before = sum(len(ids) for ids in notices(smtp_server).values())
    assert before < SUBSCRIBERS, "killed before the fan-out ended"

    second = Monitor(config)
    try:
        wait_for(lambda: len(notices(smtp_server)) == SUBSCRIBERS)
    finally:
        assert second.stop() == 0, second.output()

    received = notices(smtp_server)
    assert sorted(received) == [f"s{n:04d}@example.com" for n in range(SUBSCRIBERS)]
    resent = {to: ids for to, ids in received.items() if len(ids) > 1}
    # At most the one message in flight at the kill, and then with its Message-ID.
    assert len(resent) <= 1, resent
    assert all(len(set(ids)) == 1 for ids in received.values())
    assert len({ids[0] for ids in received.values()}) == SUBSCRIBERS  # one ID per subscriber
