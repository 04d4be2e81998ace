"""Subscriptions end to end: `uptime-sla run` behind the compose stack's nginx server block,
a real browser (Chromium via Playwright, with and without JavaScript), real SMTP (aiosmtpd
with STARTTLS and login) and a local HTTPS webhook receiver (trustme).

A customer subscribes on the status page, confirms from the email, gets the notices of
the components they chose and leaves with one click; a webhook gets signed deliveries;
nobody learns who is subscribed; limits answer 429 with Retry-After; the operator's
`subscribers` commands see and change the same subscribers. Screenshots of each page go to
the test's folder under test-artifacts/ (the `artifacts` fixture).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.browser import VIEWS, axe_violations
from support.commands import uptime_sla
from support.https import Route
from support.lab import Lab, lab_config, target_yaml
from support.nginx import running_nginx
from support.processes import SCRAPE_TIMEOUT, Monitor, free_port, scrape, wait_for
from support.receivers import SMTP_PASSWORD, SMTP_USER
from support.subscriptions import SECRET, links, signed_by, write_secrets
from support.webhooks import WebhookSender

PROVIDER_SECRET = b"sentinel-provider-secret-71aa"


def write_config(tmp_path: Path, api, smtp_port: int, nginx_port: int, service_port: int) -> Lab:
    secret, password = write_secrets(tmp_path)
    (tmp_path / "provider").write_bytes(PROVIDER_SECRET + b"\n")
    return lab_config(
        tmp_path,
        [
            target_yaml("api", api.url("/api"), service="public-api"),
            target_yaml("web", api.url("/web"), service="website"),
        ],
        ca_file=api.ca_file,
        metrics="sla_refresh: 1h",
        interval="2s",
        sla=None,
        extra=f"""\
            notifications:
              email:
                smtp: {{host: 127.0.0.1, port: {smtp_port}, username: {SMTP_USER},
                        password_file: "{password}"}}
                from: status@example.com
            status_page:
              title: Outfame API status
              url: http://127.0.0.1:{nginx_port}
              output_dir: {tmp_path / "site"}
              refresh: 1s
              history_days: 7
              components:
                - {{name: Public API, description: REST endpoints, services: [public-api]}}
                - {{name: Website, services: [website]}}
              subscriptions:
                listen: 127.0.0.1:{service_port}
                base_url: http://127.0.0.1:{nginx_port}/subscriptions
                secret_file: "{secret}"
                allow_private_webhooks: true
            webhook_receivers:  # no listen of its own: served on the subscription listener
              - {{name: provider, path: /hooks/provider, secret_file: "{tmp_path / "provider"}"}}
            """,
    )


class Stack:
    """The running monitor, nginx in front, and what the test has asked of the service."""

    def __init__(
        self, lab: Lab, nginx_port: int, smtp_server, service: str, artifacts: Path
    ) -> None:
        self.config = lab.config
        self.base = f"http://127.0.0.1:{nginx_port}"
        self.service = service  # the subscription service's listener, as `run` serves it
        self.metrics_port = lab.port
        self.smtp = smtp_server
        self.shots = artifacts  # screenshots of each page, for a person to look at
        self.http = httpx.Client(base_url=self.base, timeout=SCRAPE_TIMEOUT)
        self.subscribe_requests = 0  # per client per hour: the limit counts every one

    def cli(self, *args: str) -> str:
        finished = uptime_sla("-c", str(self.config), *args)
        assert finished.returncode == 0, finished.stderr
        return finished.stdout

    def subscribe(self, path: str, data: dict, **options) -> httpx.Response:
        self.subscribe_requests += 1
        return self.http.post(f"/subscriptions/{path}", data=data, **options)

    def mail_to(self, address: str, count: int = 1, *, notices: bool = False) -> list:
        """The messages to `address` once `count` have arrived (only notices: no
        confirmation requests)."""

        def found() -> list:
            return [
                m
                for m in self.smtp.messages
                if m["To"] == address
                and not (notices and str(m["Subject"]).startswith("Confirm your"))
            ]

        wait_for(lambda: len(found()) >= count)
        return found()

    def subscribers(self) -> dict[str, str]:
        """address -> state, from `subscribers list`."""
        lines = self.cli("subscribers", "list").splitlines()[1:]
        return {line.split()[0]: line.split()[2] for line in lines}


@pytest.fixture
def stack(https_server, smtp_server, tmp_path: Path, artifacts: Path) -> Iterator[Stack]:
    api = https_server(routes={"/api": Route(), "/web": Route()})
    nginx_port, service_port = free_port(), free_port()
    lab = write_config(tmp_path, api, smtp_server.port, nginx_port, service_port)
    monitor = Monitor(lab.config)
    try:
        wait_for((tmp_path / "site" / "current" / "index.html").exists)
        with running_nginx(tmp_path, tmp_path / "site", nginx_port, service_port):
            service = f"http://127.0.0.1:{service_port}"
            yield Stack(lab, nginx_port, smtp_server, service, artifacts)
    finally:
        assert monitor.stop() == 0, monitor.output()
    assert SECRET not in monitor.output()
    assert SMTP_PASSWORD not in monitor.output()
    assert "Traceback" not in monitor.output()


def confirm_in_browser(page, message, shots: Path, shot: str) -> str:
    """Open the email's confirmation link, see one button, press it; the page's text."""
    (link,) = links(message)
    page.goto(link)
    button = page.get_by_role("button", name="Confirm subscription")
    assert button.count() == 1
    page.screenshot(path=shots / f"{shot}-link.png", full_page=True)
    button.click()
    page.wait_for_selector("text=You are subscribed")
    page.screenshot(path=shots / f"{shot}-confirmed.png", full_page=True)
    return page.inner_text("main")


def test_customers_subscribe_confirm_get_their_notices_and_leave_with_one_click(
    stack: Stack, browser, https_server
) -> None:
    shots = stack.shots
    hook = https_server(routes={"/hook": Route(status=204, body=b"")})

    # 1. Alice subscribes on the page with JavaScript: the answer shows in place.
    wide = browser.new_context(viewport={"width": 1280, "height": 900})
    page = wide.new_page()
    page.set_default_timeout(SCRAPE_TIMEOUT * 1000)
    page.goto(f"{stack.base}/index.html")
    form = page.locator("form[action$='/subscriptions/email']")
    assert page.get_by_role("heading", name="Subscribe to updates").count() == 1
    page.screenshot(path=shots / "page-1280.png", full_page=True)
    form.get_by_label("Email address").fill("alice@example.com")
    form.locator("summary").click()
    form.get_by_label("Public API").check()
    form.get_by_role("button", name="Subscribe").click()
    answer = form.locator(".subscribe-answer")
    answer.wait_for(state="visible")
    assert answer.inner_text().startswith("If alice@example.com can receive email")
    assert page.url == f"{stack.base}/index.html"
    page.screenshot(path=shots / "subscribed-in-place-1280.png", full_page=True)
    stack.subscribe_requests += 1

    # 2. Bob, on a phone without JavaScript: a plain POST and the service's own page.
    phone = browser.new_context(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    plain = phone.new_page()
    plain.set_default_timeout(SCRAPE_TIMEOUT * 1000)
    plain.goto(f"{stack.base}/index.html")
    plain.screenshot(path=shots / "page-375.png", full_page=True)
    form = plain.locator("form[action$='/subscriptions/email']")
    form.get_by_label("Email address").fill("bob@example.com")
    form.locator("summary").click()
    form.get_by_label("Website").check()
    form.get_by_role("button", name="Subscribe").click()
    plain.wait_for_selector("text=Check your inbox")
    assert plain.url == f"{stack.base}/subscriptions/email"
    plain.screenshot(path=shots / "check-your-inbox-375.png", full_page=True)
    stack.subscribe_requests += 1

    # 3. Opening the links changes nothing; the button confirms.
    (alice_mail,) = stack.mail_to("alice@example.com")
    (bob_mail,) = stack.mail_to("bob@example.com")
    assert alice_mail["Subject"] == "Confirm your subscription to Outfame API status"
    assert alice_mail["List-Unsubscribe"] is None
    for message in (alice_mail, bob_mail):
        for _ in range(2):
            assert stack.http.get(links(message)[0]).status_code == 200
    assert stack.subscribers() == {"alice@example.com": "pending", "bob@example.com": "pending"}
    assert "Public API" in confirm_in_browser(page, alice_mail, shots, "alice")
    assert "Website" in confirm_in_browser(plain, bob_mail, shots, "bob-375")
    assert stack.subscribers() == {
        "alice@example.com": "confirmed",
        "bob@example.com": "confirmed",
    }

    # 4. Nobody learns who is subscribed: confirmed, new and pending get the same answer.
    answers = [
        stack.subscribe("email", {"email": address, "components": "Public API"})
        for address in ("alice@example.com", "carol@example.com", "carol@example.com")
    ]
    assert {a.status_code for a in answers} == {200}
    assert answers[1].text == answers[2].text
    assert answers[0].text == answers[1].text.replace("carol@", "alice@")

    # 5. A webhook, subscribed without JavaScript; its secret is shown once.
    plain.goto(f"{stack.base}/index.html")
    plain.locator(".subscribe-webhook summary").click()
    webhook_form = plain.locator("form[action$='/subscriptions/webhook']")
    webhook_form.get_by_label("Webhook URL").fill(hook.url("/hook", host="127.0.0.1"))
    webhook_form.get_by_label("Your email address").fill("ops@example.com")
    webhook_form.get_by_role("button", name="Subscribe the webhook").click()
    plain.wait_for_selector("text=Check your inbox")
    stack.subscribe_requests += 1
    (ops_mail,) = stack.mail_to("ops@example.com")
    confirm_in_browser(plain, ops_mail, shots, "webhook-375")
    secret = plain.locator(".secret-value").inner_text()
    assert secret.startswith("whsec_")
    plain.goto(links(ops_mail)[0])
    plain.get_by_role("button", name="Confirm subscription").click()
    assert secret not in plain.content()

    # 6. Notices per component, to email and webhook.
    opened = stack.cli(
        "incident", "open", "--title", "Slow logins", "--impact", "minor",
        "--component", "Public API", "--message", "We are looking into slow logins.",
    ).strip()  # fmt: skip
    (notice,) = stack.mail_to("alice@example.com", notices=True)
    assert notice["Subject"] == "Minor incident: Slow logins"
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert notice["X-Envelope-To"] == "alice@example.com"
    wait_for(lambda: len(hook.requests) >= 1)
    (delivery,) = hook.requests
    assert signed_by(secret, delivery.body, delivery.headers["x-uptime-sla-signature"])
    body = json.loads(delivery.body)
    assert delivery.headers["x-uptime-sla-event-id"] == body["meta"]["event_id"]
    assert body["incident"]["id"] == opened
    assert body["incident"]["name"] == "Slow logins"
    stack.cli(
        "incident", "open", "--title", "Website slow", "--impact", "minor",
        "--component", "Website", "--message", "Pages load slowly.",
    )  # fmt: skip
    (website,) = stack.mail_to("bob@example.com", notices=True)
    assert website["Subject"] == "Minor incident: Website slow"
    wait_for(lambda: len(hook.requests) >= 2)
    assert [m["Subject"] for m in stack.mail_to("alice@example.com", notices=True)] == [
        "Minor incident: Slow logins"  # not Website's
    ]

    reader = wide.new_page()  # a blank page, as a mail client shows a message
    for name, message in (("confirmation-email", alice_mail), ("notice-email", notice)):
        reader.set_content(message.get_body(("html",)).get_content())
        reader.screenshot(path=shots / f"{name}.png", full_page=True)
    reader.close()

    # 7. The unsubscribe link: GET shows a button (a scanner unsubscribes nobody), the
    #    mail client's one-click POST removes Alice at once.
    link = str(notice["List-Unsubscribe"]).strip("<>")
    page.goto(link)
    page.screenshot(path=shots / "unsubscribe-1280.png", full_page=True)
    assert stack.http.get(link).status_code == 200
    assert "alice@example.com" in stack.subscribers()
    gone = stack.http.post(
        link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert gone.status_code == 200
    assert "alice@example.com" not in stack.subscribers()

    # 8. Limits: three confirmations per address a day, twenty requests per client an hour.
    dave = [stack.subscribe("email", {"email": "dave@example.com"}) for _ in range(4)]
    assert [a.status_code for a in dave] == [200, 200, 200, 429]
    assert int(dave[3].headers["Retry-After"]) > 23 * 3600
    while stack.subscribe_requests < 20:
        assert stack.subscribe("email", {"email": "eve@example.com"}).status_code in (200, 429)
    limited = stack.subscribe("email", {"email": "frank@example.com"})
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    assert "Too many" in limited.text
    page.goto(f"{stack.base}/subscriptions/")
    page.screenshot(path=shots / "service-home-1280.png", full_page=True)
    wide.close()
    phone.close()


def test_operators_add_list_remove_export_and_import_subscribers(stack: Stack, tmp_path) -> None:
    added = stack.cli(
        "subscribers", "add", "ops@example.com", "Billing@Example.com",
        "--component", "Website", "--confirmed",
    )  # fmt: skip
    assert "ops@example.com: added (confirmed)" in added
    stack.cli("subscribers", "add", "new@example.com")
    assert stack.subscribers() == {
        "billing@example.com": "confirmed",
        "new@example.com": "pending",
        "ops@example.com": "confirmed",
    }
    (invite,) = stack.mail_to("new@example.com")
    assert invite["Subject"].startswith("Confirm your subscription")

    exported = tmp_path / "subscribers.csv"
    stack.cli("subscribers", "export", "-o", str(exported))
    assert exported.stat().st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(exported.open()))
    assert [(r["email"], r["components"], bool(r["confirmed"])) for r in rows] == [
        ("billing@example.com", "Website", True),
        ("new@example.com", "", False),
        ("ops@example.com", "Website", True),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", r["created"]) for r in rows)

    refused = uptime_sla(
        "-c", str(stack.config), "subscribers", "remove", "ops@example.com", "x@example.com"
    )
    assert refused.returncode == 2
    assert "not subscribed: x@example.com" in refused.stderr
    assert "ops@example.com" in stack.subscribers()  # all or none
    stack.cli("subscribers", "remove", "ops@example.com", "billing@example.com", "new@example.com")
    assert stack.subscribers() == {}

    bad = tmp_path / "bad.csv"
    bad.write_text(exported.read_text() + "not-an-address,,2026-01-01T00:00:00Z,\n")
    failed = uptime_sla("-c", str(stack.config), "subscribers", "import", str(bad))
    assert failed.returncode == 2
    assert f"{bad}:5: email" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert stack.subscribers() == {}  # nothing half-imported
    assert "3 subscribers imported" in stack.cli("subscribers", "import", str(exported))
    again = tmp_path / "again.csv"
    stack.cli("subscribers", "export", "-o", str(again))
    assert again.read_text() == exported.read_text()


def test_the_form_and_the_services_pages_pass_axe_in_both_schemes_and_widths(
    stack: Stack, browser, https_server
) -> None:
    """WCAG 2.1 A and AA (axe-core) on the page with its form open, and on each page the
    service answers with: the forms, a request taken, a link's button, a refusal, a limit,
    a webhook's secret; light and dark, 1280 and 375 px, nothing wider than a phone."""
    shots = stack.shots
    context = browser.new_context(bypass_csp=True)  # the pages' CSP rightly refuses axe
    page = context.new_page()
    page.set_default_timeout(SCRAPE_TIMEOUT * 1000)
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        for scheme, width in VIEWS:
            page.emulate_media(color_scheme=scheme)
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=shots / f"axe-{name}-{scheme}-{width}.png", full_page=True)
            if violations := axe_violations(page):
                found[f"{name} {scheme} {width}px"] = violations
            if width == 375:
                assert page.evaluate("document.documentElement.scrollWidth") <= 375, name

    page.goto(f"{stack.base}/index.html")
    for summary in page.locator(".subscribe summary").all():
        summary.click()  # both folds open: the components and the webhook form
    check("status-page")
    page.goto(f"{stack.base}/subscriptions/")
    check("service-home")
    stack.subscribe("email", {"email": "axe@example.com"})
    page.goto(f"{stack.base}/subscriptions/")
    page.locator("form[action$='/subscriptions/email'] input[name=email]").fill("a@example.com")
    page.locator("form[action$='/subscriptions/email'] button").click()
    page.wait_for_selector("text=Check your inbox")
    stack.subscribe_requests += 1
    check("check-your-inbox")
    page.goto(links(stack.mail_to("axe@example.com")[0])[0])
    check("confirm-button")
    page.goto(f"{stack.base}/subscriptions/confirm?token=forged")
    check("bad-link")
    hook = https_server(routes={"/hook": Route(status=204, body=b"")})
    stack.subscribe(
        "webhook", {"url": hook.url("/hook", host="127.0.0.1"), "email": "o@example.com"}
    )
    page.goto(links(stack.mail_to("o@example.com")[0])[0])
    page.get_by_role("button", name="Confirm subscription").click()
    page.wait_for_selector(".secret-value")
    check("webhook-secret")
    for _ in range(4):
        stack.subscribe("email", {"email": "limit@example.com"})
    page.goto(f"{stack.base}/subscriptions/")
    page.locator("form[action$='/subscriptions/email'] input[name=email]").fill("limit@example.com")
    page.locator("form[action$='/subscriptions/email'] button").click()
    page.wait_for_selector("text=Too many requests")
    check("too-many")
    context.close()
    assert found == {}, json.dumps(found, indent=1)


def test_a_webhook_receiver_without_a_listen_shares_the_subscription_services(
    stack: Stack,
) -> None:
    """The provider's webhooks reach `run` on the same listener as the subscription pages,
    signed deliveries accepted and counted in /metrics, forged ones refused."""
    sender = WebhookSender(f"{stack.service}/hooks/provider", secret=PROVIDER_SECRET)
    assert sender.send("evt_shared_1") == 200
    assert sender.send("evt_shared_1") == 200  # a duplicate: answered 2xx, counted as one
    assert sender.send("evt_forged", signature="sha256=00") == 401
    pages = httpx.get(f"{stack.service}/subscriptions/", timeout=SCRAPE_TIMEOUT)
    assert pages.status_code == 200  # and the pages
    accepted = ("receiver", "provider"), ("attempt", "first"), ("result", "accepted")
    deliveries = ("uptime_sla_webhook_deliveries_total", frozenset(accepted))
    duplicates = ("uptime_sla_webhook_duplicates_total", frozenset({("receiver", "provider")}))
    # The checks' process counts a delivery a moment after answering it.
    wait_for(lambda: scrape(stack.metrics_port).get(duplicates, 0) >= 1)
    metrics = scrape(stack.metrics_port)
    assert (metrics[deliveries], metrics[duplicates]) == (1, 1)
