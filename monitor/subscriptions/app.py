"""The subscription service's pages: subscribe, confirm, unsubscribe (docs/subscriptions.md).

What a public endpoint meets, and the answer to each:
- enumeration: a subscribe request gets the same answer whether the address is new,
  pending or confirmed, and does the same work (a confirmation is queued in each case);
- spam: SlidingWindow per client address, and at most CONFIRMATIONS_PER_DAY
  confirmation emails per address (the database counts them), 429 with Retry-After beyond;
- link scanners: no GET changes anything; a confirmation or unsubscribe link shows a
  page with one button, and only its POST acts (a mail client's RFC 8058 one-click POST
  to the unsubscribe URL acts at once);
- forged links: every token is an HMAC of its fields (monitor.notify.tokens);
- bodies: bounded in size and time, forms only, UTF-8 only; bad input is a 4xx page;
- SSRF: a webhook URL must be https:// on public addresses (monitor.notify.webhooks).

Every answer carries no-store, no-referrer (links hold tokens) and a strict CSP. The
app is built by `compose` from routes, so other parts (webhook receivers) can share the
listener.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.config import Config, SubscriptionSettings
from monitor.errors import StoreError
from monitor.notify.tokens import Tokens
from monitor.notify.webhooks import Resolve, WebhookRefused, check_destination, system_resolve
from monitor.store import Store
from monitor.subscriptions.forms import (
    Components,
    FormError,
    email_address,
    one,
    parse_form,
    read_body,
)
from monitor.subscriptions.limits import SlidingWindow, client_key
from sla.vocabulary import SubscriberKind

log = logging.getLogger(__name__)

CONFIRMATIONS_PER_DAY = 3  # confirmation emails per address per day
REQUESTS_PER_HOUR = 20  # subscribe requests per client address per hour
PENDING_FOR = timedelta(hours=48)  # a confirmation link's life; then the request is forgotten
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none';"
        " frame-ancestors 'none'"
    ),
}


def new_id() -> str:
    """A subscriber's id: random, so ids say nothing about how many there are."""
    return secrets.token_urlsafe(12)


def new_secret() -> str:
    """A webhook's signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Button:
    """A form with one button that posts a link's token: what a GET on a link shows."""

    action: str
    token: str
    label: str


def compose(routes: Sequence[BaseRoute]) -> Starlette:
    """One ASGI app from the routes of several parts (the subscription service, webhook
    receivers), served by one listener."""
    return Starlette(
        routes=list(routes),
        exception_handlers={HTTPException: _http_error, StoreError: _unavailable},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(
        f"{exc.status_code} {exc.detail}\n",
        status_code=exc.status_code,
        headers={**HEADERS, **(exc.headers or {})},
    )


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("subscriptions: %s", exc)
    return PlainTextResponse(
        "503 The service is unavailable for a moment: please try again.\n",
        status_code=503,
        headers={**HEADERS, "Retry-After": "30"},
    )


class SubscriptionService:
    """The pages under `status_page.subscriptions.base_url`'s path."""

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Callable[[], datetime],
        *,
        make_id: Callable[[], str] = new_id,
        make_secret: Callable[[], str] = new_secret,
        resolve: Resolve = system_resolve,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        page = config.status_page
        assert page is not None
        assert page.subscriptions is not None
        self._settings: SubscriptionSettings = page.subscriptions
        self._title = page.title
        self._path = self._settings.path
        self._home = page.url or f"{self._path}/"
        self._store = store
        self._clock = clock
        self._make_id = make_id
        self._make_secret = make_secret
        self._resolve = resolve
        self._monotonic = monotonic
        self._tokens = Tokens(self._settings.secret)
        self._choices = config.status_components()
        self._components = Components.of(self._choices)
        self._per_client = SlidingWindow(REQUESTS_PER_HOUR, 3600.0)
        self._env = Environment(
            loader=ChoiceLoader(
                [
                    PackageLoader("monitor.subscriptions", "templates"),
                    PackageLoader("monitor.status", "templates"),  # the forms, defined once
                ]
            ),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        static = resources.files("monitor.status") / "static"
        self._css = b"\n".join(
            (static / name).read_bytes() for name in ("status.css", "subscribe.css")
        )

    def routes(self) -> list[BaseRoute]:
        path, settings = self._path, self._settings
        routes: list[BaseRoute] = [
            Route(f"{path}/style.css", self.style, methods=["GET"]),
            Route(f"{path}/confirm", self.confirm_page, methods=["GET"]),
            Route(f"{path}/confirm", self.confirm, methods=["POST"]),
            Route(f"{path}/unsubscribe", self.unsubscribe_page, methods=["GET"]),
            Route(f"{path}/unsubscribe", self.unsubscribe, methods=["POST"]),
        ]
        if settings.email or settings.webhooks:
            routes += [
                Route(f"{path}/", self.home, methods=["GET"]),
                Route(path or "/", self.home, methods=["GET"]),
            ]
        if settings.email:
            routes.append(Route(f"{path}/email", self.subscribe_email, methods=["POST"]))
        if settings.webhooks:
            routes.append(Route(f"{path}/webhook", self.subscribe_webhook, methods=["POST"]))
        return routes

    def app(self) -> Starlette:
        return compose(self.routes())

    # --- pages -----------------------------------------------------------------------------

    async def style(self, request: Request) -> Response:
        return Response(
            self._css,
            media_type="text/css",
            headers={**HEADERS, "Cache-Control": "public, max-age=3600"},
        )

    async def home(self, request: Request) -> Response:
        return self._page(200, "Subscribe to updates", template="home.html")

    async def subscribe_email(self, request: Request) -> Response:
        return await self._subscribe(request, SubscriberKind.EMAIL)

    async def subscribe_webhook(self, request: Request) -> Response:
        return await self._subscribe(request, SubscriberKind.WEBHOOK)

    async def _subscribe(self, request: Request, kind: str) -> Response:
        as_json = "application/json" in request.headers.get("accept", "")
        client = client_key(request.client.host if request.client else None)
        wait = self._per_client.hit(client, self._monotonic())
        if wait is not None:
            return self._too_many(wait, as_json)
        try:
            body = await read_body(request.headers.get("content-length"), request.stream())
            fields = parse_form(request.headers.get("content-type"), body)
            try:
                email = email_address(one(fields, "email", "an email address"))
            except ValueError:
                raise FormError(400, "Enter an email address such as name@example.com.") from None
            try:
                components = self._components.choose(fields.get("components", []))
            except ValueError as exc:
                raise FormError(400, str(exc)) from None
            url = ""
            if kind == SubscriberKind.WEBHOOK:
                url = one(fields, "url", "the webhook's https:// URL")
                try:
                    await run_in_threadpool(
                        check_destination,
                        url,
                        allow_private=self._settings.allow_private_webhooks,
                        resolve=self._resolve,
                    )
                except WebhookRefused as exc:
                    message = str(exc)
                    raise FormError(400, f"{message[:1].upper()}{message[1:]}.") from None
        except FormError as exc:
            return self._problem(exc.status, exc.message, as_json)
        requested = await run_in_threadpool(
            self._store.subscriptions.request_subscription,
            kind,
            email,
            url,
            components,
            self._clock(),
            new_id=self._make_id(),
            new_secret=self._make_secret() if kind == SubscriberKind.WEBHOOK else None,
            limit=CONFIRMATIONS_PER_DAY,
            window=timedelta(days=1),
        )
        if requested.retry_after is not None:
            return self._too_many(requested.retry_after, as_json)
        # The same words whatever the address's state: nobody learns who is subscribed.
        if kind == SubscriberKind.EMAIL:
            message = (
                f"If {email} can receive email, a link to confirm the subscription is on its"
                " way. Open it within 48 hours: nothing is sent until you do."
            )
        else:
            message = (
                f"A link to confirm the webhook is on its way to {email}. Open it within 48"
                f" hours: {urlsplit(url).hostname} gets nothing until you do, and the page"
                " it opens shows the webhook's signing secret once."
            )
        if as_json:
            return JSONResponse({"message": message}, headers=HEADERS)
        return self._page(200, "Check your inbox", [message, _SPAM_FOLDER])

    async def confirm_page(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        confirmation = self._tokens.read_confirm(token, self._clock())
        if confirmation is None:
            return self._bad_link("confirmation")
        return self._page(
            200,
            "Confirm your subscription",
            ["One more step: confirm, and notices start with the next incident or maintenance."],
            button=Button(f"{self._path}/confirm", token, "Confirm subscription"),
        )

    async def confirm(self, request: Request) -> Response:
        try:
            token = await self._posted_token(request)
        except FormError as exc:
            return self._problem(exc.status, exc.message)
        confirmation = self._tokens.read_confirm(token, self._clock())
        if confirmation is None:
            return self._bad_link("confirmation")
        names = self._components.from_ids(confirmation.components)
        if confirmation.components and not names:
            return self._problem(
                400, "The components you chose are no longer on the page: subscribe again."
            )
        subscriber, fresh = await run_in_threadpool(
            self._store.subscriptions.confirm_subscription,
            confirmation.subscriber_id,
            names,
            self._clock(),
        )
        if subscriber is None:
            return self._page(
                410,
                "This subscription is gone",
                [
                    "It was removed, or not confirmed within 48 hours. Subscribe again to get"
                    " a new link."
                ],
                again=True,
            )
        if subscriber.kind == SubscriberKind.WEBHOOK:
            where = (
                f"Notices go to the webhook at {urlsplit(subscriber.url).hostname};"
                f" {subscriber.email} hears if its deliveries fail."
            )
        else:
            where = f"Notices go to {subscriber.email}."
        return self._page(
            200,
            "You are subscribed",
            [where, "Every notice carries a link to unsubscribe."],
            chosen=names,
            secret=subscriber.secret
            if subscriber.kind == SubscriberKind.WEBHOOK and fresh
            else None,
        )

    async def unsubscribe_page(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        if self._tokens.read_unsubscribe(token) is None:
            return self._bad_link("unsubscribe")
        return self._page(
            200,
            "Unsubscribe?",
            ["Press the button to stop all notices to this subscription."],
            button=Button(f"{self._path}/unsubscribe", token, "Unsubscribe"),
        )

    async def unsubscribe(self, request: Request) -> Response:
        """The button's POST, and a mail client's one-click POST (RFC 8058) to the link."""
        try:
            token = await self._posted_token(request)
        except FormError as exc:
            return self._problem(exc.status, exc.message)
        subscriber_id = self._tokens.read_unsubscribe(token)
        if subscriber_id is None:
            return self._bad_link("unsubscribe")
        await run_in_threadpool(self._store.subscriptions.remove_subscriber, subscriber_id)
        return self._page(
            200,
            "You are unsubscribed",
            ["No more notices will be sent, and nothing about this subscription is kept."],
            again=True,
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _posted_token(self, request: Request) -> str:
        """The link's token: in the query (one-click) or the button's form field."""
        body = await read_body(request.headers.get("content-length"), request.stream())
        token = request.query_params.get("token")
        if token is not None:
            return token
        return one(parse_form(request.headers.get("content-type"), body), "token", "the token")

    def _page(
        self,
        status: int,
        heading: str,
        paragraphs: Sequence[str] = (),
        *,
        template: str = "page.html",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> HTMLResponse:
        context = {
            "title": self._title,
            "heading": heading,
            "paragraphs": paragraphs,
            "path": self._path,
            "home": self._home,
            "subscriptions": self._settings,
            "choices": self._choices,
            "button": None,
            "chosen": None,
            "secret": None,
            "again": False,
            **extra,
        }
        html = self._env.get_template(template).render(context)
        return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})

    def _problem(self, status: int, message: str, as_json: bool = False) -> Response:
        if as_json:
            return JSONResponse({"message": message}, status_code=status, headers=HEADERS)
        return self._page(status, "That did not work", [message], again=True)

    def _too_many(self, seconds: float, as_json: bool) -> Response:
        wait = int(seconds + 0.999)
        minutes = max(1, round(wait / 60))
        message = (
            "Too many subscription requests: please try again in"
            f" {minutes} minute{'s' if minutes != 1 else ''}."
        )
        headers = {**HEADERS, "Retry-After": str(wait)}
        if as_json:
            return JSONResponse({"message": message}, status_code=429, headers=headers)
        return self._page(429, "Too many requests", [message], headers=headers)

    def _bad_link(self, kind: str) -> Response:
        expired = " or has expired" if kind == "confirmation" else ""
        return self._page(
            400,
            "This link does not work",
            [f"This {kind} link is not valid{expired}. Subscribe again to get a new one."],
            again=True,
        )


_SPAM_FOLDER = "Nothing after a few minutes? Look in the spam folder."
