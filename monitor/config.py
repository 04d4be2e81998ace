"""The config file: YAML in, validated frozen models out, every error naming its path.

Validated once at start-up; the rest of the program trusts these models. Error
messages never echo a value from the file, so a secret in a header cannot leak
through a typo elsewhere.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import math
import os
import re
import types
import typing
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from sla.vocabulary import (
    FAMILIES,
    EventGroup,
    Family,
    FamilyPolicy,
    Majority,
    NoDataPolicy,
    RateLimitedPolicy,
    ReportFormat,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
# The longest duration of any key: ten years (a retention, a notice) still adds to any date
# of this century without leaving datetime's range. Keys with a tighter sense say so.
MAX_DURATION_SECONDS = 10 * 366 * 86400
# The longest `sla.slice`: the per-slice rollups (monitor/store/rollup.py) are sized for it.
MAX_SLICE_SECONDS = 86_400
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def parse_duration(value: Any) -> float:
    """Accept `30s`, `5m`, `1h`, `250ms`, `1d` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 5m, 1h or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError("must be a duration such as 30s, 5m, 1h or a number of seconds")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds < math.inf:  # also rejects NaN
        raise ValueError("must be a positive duration")
    return seconds


def _at_most(longest: float, shown: str) -> Callable[[float], float]:
    def check(seconds: float) -> float:
        if seconds > longest:
            raise ValueError(f"must be at most {shown}")
        return seconds

    return check


# Money and percentages stay below this, so a figure and its cents keep within the 28
# digits decimal arithmetic holds exactly (a fee of 1e30 could not be rounded to cents).
MAX_DECIMAL = Decimal(10) ** 15


def parse_decimal(value: Any) -> Decimal:
    """Money and percentages: a string or a number, read as a decimal (never kept as float)."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a decimal number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not number.is_finite():
        raise ValueError("must be a finite decimal number")
    if abs(number) >= MAX_DECIMAL:
        raise ValueError("must be below 10^15")
    return number


def _parse_status_range(value: Any) -> tuple[int, int]:
    text = str(value).strip()
    low, _, high = text.partition("-")
    try:
        lo, hi = int(low), int(high or low)
    except ValueError:
        raise ValueError("must be a status code or a range such as 200-299") from None
    if not (100 <= lo <= hi <= 599):
        raise ValueError("must be status codes between 100 and 599, low-high")
    return lo, hi


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    AfterValidator(_at_most(MAX_DURATION_SECONDS, "3660d (ten years)")),
]
# A probe's interval and timeout: an SLA counts minutes, so a day between probes is plenty.
ProbeDuration = Annotated[
    float, BeforeValidator(parse_duration), AfterValidator(_at_most(86400, "1d"))
]
Money = Annotated[Decimal, BeforeValidator(parse_decimal)]
StatusRange = Annotated[tuple[int, int], BeforeValidator(_parse_status_range)]
Name = Annotated[str, Field(pattern=_NAME.pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """An unknown key is named with the nearest known one, before anything else is
        checked: `objectve` is a typo to fix, not a missing `objective`."""
        if isinstance(data, dict):
            known = _keys_of(cls)
            for key in data:
                if key not in known:
                    raise _UnknownKey(str(key), _nearest_key(str(key), known))
        return data


def _keys_of(model: type[BaseModel]) -> list[str]:
    keys = [field.alias or name for name, field in model.model_fields.items()]
    if model.model_config.get("populate_by_name"):
        keys += [name for name in model.model_fields if name not in keys]
    return keys


def _nearest_key(key: str, known: list[str]) -> str:
    """` (did you mean objective?)`: the closest key of the same mapping, else of any other
    mapping of the config (and where that one goes); empty when none is close."""
    import difflib  # noqa: PLC0415 (only for a typo: kept off the start-up path)

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    if close:
        return f" (did you mean {close[0]}?)"
    places = _key_places()
    close = difflib.get_close_matches(key, sorted(places), n=1, cutoff=0.75)
    if not close:
        return ""
    return f" (did you mean {close[0]}?), which belongs under {places[close[0]]}"


def _key_places() -> dict[str, str]:
    """Every key of the config schema and the first mapping it belongs to (`plans.NAME`)."""
    places: dict[str, str] = {}

    def walk(annotation: Any, where: str) -> None:
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, field in annotation.model_fields.items():
                key = field.alias or name
                if where:
                    places.setdefault(key, where)
                walk(field.annotation, _join(where, key))
        elif origin is dict:
            walk(typing.get_args(annotation)[1], f"{where}.NAME")
        elif origin in (tuple, list):
            walk(typing.get_args(annotation)[0], f"{where}[N]")
        elif origin in (typing.Union, types.UnionType, typing.Annotated):
            for argument in typing.get_args(annotation):
                walk(argument, where)

    walk(Config, "")
    return places


def _deferred(value: str | None, info: ValidationInfo) -> bool:
    """A value holding a ${VAR} this command does not need set (`load_config`'s `sections`):
    left as written and not checked, since nothing reads it."""
    return bool(value and info.context and info.context.get("deferred") and "${" in value)


class PromiseSettings(_Model):
    """The provider's promises beyond uptime, checked per (target, family) every `every`
    (docs/promises.md). A target's `promises:` keys override the defaults' one by one."""

    every: Annotated[Duration, Field(ge=1.0)] = 3600.0
    tls_only: Literal["1.2", "1.3"] | None = "1.3"  # None (false): not checked
    plaintext_rejected: bool = True
    plaintext_port: int = Field(default=80, ge=1, le=65535)
    retry_after_on_429: bool = True
    both_families: bool = True

    @field_validator("tls_only", mode="before")
    @classmethod
    def _tls_as_text(cls, value: Any) -> Any:
        if value is False:
            return None
        return str(value) if isinstance(value, float) else value


class ProbeSettings(_Model):
    """What `defaults:` may set; every key can also be set on a target."""

    interval: ProbeDuration = 30.0
    timeout: ProbeDuration = 10.0
    families: tuple[Family, ...] = FAMILIES
    expect_status: tuple[StatusRange, ...] = ((200, 299),)
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    body_contains: str | None = None
    tls_min_version: Literal["1.2", "1.3"] | None = None
    ca_file: str | None = None
    max_body_bytes: int = Field(default=1_048_576, gt=0, le=1 << 30)
    max_retry_after: Duration = 300.0  # the longest a 429's Retry-After holds a series back
    resolve: dict[Family, tuple[str, ...]] = Field(default_factory=dict)
    degraded_latency: Duration | None = None  # status page: slower median is degraded
    promises: PromiseSettings | None = None  # unset: no promise checks (docs/promises.md)

    @field_validator("families")
    @classmethod
    def _families_not_empty(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        if not value:
            raise ValueError("must name at least one of ipv4, ipv6")
        if len(set(value)) != len(value):
            raise ValueError("names a family twice")
        return value

    @field_validator("expect_status")
    @classmethod
    def _status_not_empty(cls, value: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        if not value:
            raise ValueError("must list at least one status code or range")
        return value

    @field_validator("resolve")
    @classmethod
    def _addresses_match_family(
        cls, value: dict[Family, tuple[str, ...]]
    ) -> dict[Family, tuple[str, ...]]:
        for family, addresses in value.items():
            version = 4 if family == "ipv4" else 6
            for address in addresses:
                try:
                    parsed = ipaddress.ip_address(address)
                except ValueError:
                    raise ValueError(f"{family} entry is not an IP address") from None
                if parsed.version != version:
                    raise ValueError(f"{family} entry is not an IPv{version} address")
        return value

    @field_validator("ca_file")
    @classmethod
    def _readable_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checked at load time: a missing bundle is the config's fault, not the target's."""
        if _deferred(value, info):
            return value
        if value is not None and not (os.path.isfile(value) and os.access(value, os.R_OK)):
            raise ValueError("is not a readable file (a PEM bundle of CA certificates)")
        return value

    @field_validator("tls_min_version", mode="before")
    @classmethod
    def _tls_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, float) else value


class Target(ProbeSettings):
    """One API endpoint, with the defaults already folded in by `Config`."""

    name: Name
    url: str
    service: Name | None = None

    @field_validator("url")
    @classmethod
    def _https_only(cls, value: str, info: ValidationInfo) -> str:
        if _deferred(value, info):
            return value
        parts = urlsplit(value)
        if parts.scheme != "https":
            raise ValueError("must be an https:// URL (the API rejects plaintext HTTP)")
        if not parts.hostname:
            raise ValueError("has no host name")
        return value

    @property
    def service_name(self) -> str:
        """A target without `service` is a service of its own."""
        return self.service or self.name


class StorageSettings(_Model):
    url: str = "sqlite:///uptime-sla.db"
    batch_interval: Duration = 1.0
    buffer_limit: int = Field(default=100_000, gt=0, le=100_000_000)
    raw_retention: Duration | None = None  # None: keep raw probe rows forever

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        """Parsed as the store will parse it, so a bad port is a config error, not a crash
        (and the message never shows the URL, which may hold a password)."""
        try:
            parsed = database_url(value)
        except ValueError:
            raise ValueError(_DATABASE_URLS) from None
        if parsed.drivername not in _DRIVERS:
            raise ValueError(_DATABASE_URLS)
        if parsed.port is not None and not 0 < parsed.port <= 65535:
            raise ValueError("has a port outside 1-65535")
        if (
            parsed.drivername.startswith("postgresql")
            and importlib.util.find_spec("psycopg") is None
        ):
            raise ValueError(
                "PostgreSQL needs the psycopg driver, which is not installed: install the"
                " postgres extra (pip install '.[postgres]' in a checkout of uptime-sla)"
            )
        return value


_DATABASE_URLS = (
    "must be a SQLite or PostgreSQL URL: sqlite:///uptime-sla.db or"
    " postgresql+psycopg://user@host:5432/db"
)
# `postgresql://` is read as psycopg's too (monitor.store), not as SQLAlchemy's default psycopg2.
_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


@dataclass(frozen=True)
class DatabaseUrl:
    """What the config reads of storage.url: the parts SQLAlchemy's make_url gives."""

    drivername: str
    port: int | None
    database: str | None


# A SQLite file's URL without options (the default, and the usual storage.url), split here
# as SQLAlchemy splits it (its parser is a regular expression too): `check-config` and
# `probe` then start without importing SQLAlchemy, a fifth of a second. Any other URL goes
# to make_url itself. tests/monitor/test_config.py holds the two equal.
_PLAIN_SQLITE = re.compile(r"(sqlite(?:\+pysqlite)?):///([^?]*)")


def database_url(url: str) -> DatabaseUrl:
    """storage.url's parts as SQLAlchemy reads them; ValueError when it cannot."""
    plain = _PLAIN_SQLITE.fullmatch(url)
    if plain:
        return DatabaseUrl(plain[1], None, unquote(plain[2]))
    from sqlalchemy.engine import make_url  # noqa: PLC0415 (see _PLAIN_SQLITE)
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    try:
        parsed = make_url(url)  # ValueError: a port that is not a number
    except ArgumentError as exc:
        raise ValueError(str(exc)) from None
    return DatabaseUrl(parsed.drivername, parsed.port, parsed.database)


def sqlite_file(url: str) -> str | None:
    """The path of the file a SQLite URL names (None: another database, memory, or a
    `file:` URI whose options are SQLite's)."""
    try:
        parsed = database_url(url)
    except ValueError:
        return None
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or database in (None, "", ":memory:"):
        return None
    return None if database.startswith("file:") else database


class MetricsSettings(_Model):
    listen: str = "127.0.0.1:9464"
    sla_refresh: Duration = 60.0

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str, info: ValidationInfo) -> str:
        if not _deferred(value, info):
            split_listen(value)
        return value


def split_listen(value: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` into its parts."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464")
    return host.strip("[]") or "0.0.0.0", int(port)


class SlaSettings(_Model):
    timezone: str = "UTC"
    slice: Duration = 60.0
    bad_slice_ratio: Money = Decimal("0.5")
    stale_after: Duration | None = None
    min_outage_slices: int = Field(default=1, ge=1, le=100_000)
    family_policy: FamilyPolicy = "any"
    location_quorum: Majority | Annotated[int, Field(ge=1, le=1000)] = "majority"
    no_data: NoDataPolicy = "exclude"
    rate_limited_counts_as: RateLimitedPolicy = "up"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a known IANA time zone") from None
        return value

    @field_validator("slice")
    @classmethod
    def _whole_seconds(cls, value: float) -> float:
        if value != int(value):
            raise ValueError("must be a whole number of seconds")
        if value > MAX_SLICE_SECONDS:
            raise ValueError(f"must be at most 1d ({MAX_SLICE_SECONDS} s)")
        return value

    @field_validator("location_quorum", mode="before")
    @classmethod
    def _quorum(cls, value: Any) -> Any:
        if value == "majority" or (type(value) is int and 1 <= value <= 1000):
            return value
        raise ValueError("must be majority or a whole number of locations (1 to 1000)")

    @field_validator("bad_slice_ratio")
    @classmethod
    def _ratio(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(1):
            raise ValueError("must be above 0 and at most 1")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CreditEntry(_Model):
    below: Money
    percent: Money | None = None
    amount: Money | None = None

    @model_validator(mode="after")
    def _percent_or_amount(self) -> CreditEntry:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("needs exactly one of percent or amount")
        if self.percent is not None and not Decimal(0) <= self.percent <= Decimal(100):
            raise ValueError("percent must be between 0 and 100")
        if self.amount is not None and self.amount < 0:
            raise ValueError("amount must not be negative")
        return self


class PlanSettings(_Model):
    objective: Money
    credits: tuple[CreditEntry, ...] = ()
    max_credit_percent: Money = Decimal(100)

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(100):
            raise ValueError("must be a percentage above 0 and at most 100")
        return value


def parse_moment(value: Any) -> Any:
    """A date means midnight in sla.timezone, a time means that instant: never mix them up.

    (Pydantic alone reads "2026-02-15T00:00:00Z" as a date, losing its offset.)
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or " " in text or "t" in text:
                return datetime.fromisoformat(text.replace("z", "Z"))
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD) or an RFC 3339 time") from None
    return value


Moment = Annotated[date | datetime, BeforeValidator(parse_moment)]


def _email_address(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and _deferred(value, info):
        return value
    if isinstance(value, str) and not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", value.strip()):
        raise ValueError("must be an email address such as billing@example.com")
    return value.strip() if isinstance(value, str) else value


EmailAddress = Annotated[str, BeforeValidator(_email_address)]


class ContractSettings(_Model):
    customer: Name
    display_name: str | None = None
    contacts: tuple[EmailAddress, ...] = ()
    plan: str
    service: str
    monthly_fee: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    start: Moment
    end: Moment | None = None
    credits: tuple[CreditEntry, ...] | None = None

    @field_validator("monthly_fee")
    @classmethod
    def _fee(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: Moment | None) -> Moment | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("must be a date or an RFC 3339 time with an offset")
        return value


class MaintenanceSettings(_Model):
    start: datetime
    end: datetime
    targets: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    reason: str = ""
    public: bool = True  # shown on the status page

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceSettings:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end must be RFC 3339 times with an offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


_SLUG_GAP = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """A status page component's id and badge name: lower case, other runs become `-`."""
    return _SLUG_GAP.sub("-", name.lower())


def page_id(url: str | None, title: str) -> str:
    """The status page's id in its JSON (and in webhook deliveries): from its URL or title."""
    return hashlib.sha256((url or title).encode()).hexdigest()[:12]


class StatusComponent(_Model):
    """What customers see on the status page: a name over some targets or services."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    targets: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    group: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _covers_something(self) -> StatusComponent:
        if not (self.targets or self.services):
            raise ValueError("needs targets or services")
        return self

    @property
    def slug(self) -> str:
        return slug(self.name)


class SubscriptionSettings(_Model):
    """The subscription service (`run` starts it): customers subscribe to notices themselves."""

    listen: str = "127.0.0.1:8081"
    base_url: str  # the public URL the web server proxies to `listen`: links in every email
    secret_file: str  # signs confirmation and unsubscribe links
    email: bool = True  # email subscribers (needs notifications.email)
    webhooks: bool = True  # webhook subscribers (HTTPS endpoints; confirmed by email)
    allow_private_webhooks: bool = False  # loopback and private addresses allowed
    # Peers whose X-Forwarded-For names the client (the web server in front): the limits
    # per client address count that address, not the proxy's.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_listen(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        return value.rstrip("/")

    @field_validator("secret_file")
    @classmethod
    def _readable_secret(cls, value: str, info: ValidationInfo) -> str:
        if _deferred(value, info):
            return value
        if not read_secret(value):
            raise ValueError("is empty (write a long random string into it)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError("must list IP addresses or networks") from None
        return value

    def secret(self) -> bytes:
        """The signing key now (the file is read again on every call: rotation works)."""
        return read_secret(self.secret_file).encode()

    @property
    def path(self) -> str:
        """The path the service answers under (`/subscriptions`), so a plain proxy works."""
        return urlsplit(self.base_url).path.rstrip("/")

    def pages(self) -> tuple[str, ...]:
        """The paths the service answers at (its `path` and what is under it)."""
        under = ("", "style.css", "email", "webhook", "confirm", "unsubscribe")
        return (self.path or "/", *(f"{self.path}/{page}" for page in under))

    @property
    def origin(self) -> str:
        """`scheme://host[:port]` of base_url: where the status page's forms post."""
        parts = urlsplit(self.base_url)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


class StatusPageSettings(_Model):
    title: Annotated[str, Field(min_length=1, max_length=200)] = "Service status"
    url: str | None = None  # public base URL of the site: links and feed ids
    output_dir: str | None = None  # where `run` writes the site; unset: it writes none
    refresh: Duration = 60.0
    history_days: int = Field(default=90, ge=1, le=366)
    timezone: str | None = None  # default: sla.timezone
    # An automatic incident needs BAD component slices lasting this long; runs of one
    # component fewer than `incident_merge` of GOOD slices apart are one incident.
    incident_after: Annotated[Duration, Field(le=366 * 86400)] = 180.0
    incident_merge: Annotated[Duration, Field(le=366 * 86400)] = 600.0
    components: tuple[StatusComponent, ...] = ()
    subscriptions: SubscriptionSettings | None = None

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else SlaSettings._known_zone(value)


def history_link(base_url: str, anchor: str | None = None) -> str:
    """A link to the status site's history page (`base_url` is `status_page.url`)."""
    return f"{base_url}/history.html" + (f"#{anchor}" if anchor else "")


class AlertingSettings(_Model):
    """Where alerts go and where responders read what to do (rules, silences)."""

    alertmanager_url: str = "http://127.0.0.1:9093"
    runbook_url: str = "https://runbooks.example.invalid/uptime-sla"

    @field_validator("alertmanager_url", "runbook_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        if _deferred(value, info):
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return value


# A notification send, all in; at most an hour, so the lease that outlives it stays sane.
SendDuration = Annotated[Duration, Field(le=3600)]


def read_secret(path: str) -> str:
    """A secret file's text without its trailing newline; read at load and before each send."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ValueError(f"cannot read secret file {path}: {reason}") from None


class SlackSettings(_Model):
    """One incoming webhook. Its URL is a secret: kept out of repr, logs and errors."""

    name: Name
    webhook_url: SecretStr | None = None
    webhook_url_file: str | None = None
    events: tuple[EventGroup, ...] = ()
    timeout: SendDuration = 30.0

    @model_validator(mode="after")
    def _one_url(self, info: ValidationInfo) -> SlackSettings:
        if (self.webhook_url is None) == (self.webhook_url_file is None):
            raise ValueError("needs exactly one of webhook_url or webhook_url_file")
        if _deferred(self.webhook_url_file, info) or (
            self.webhook_url is not None and _deferred(self.webhook_url.get_secret_value(), info)
        ):
            return self
        if self.webhook_url_file is not None:
            try:
                _check_webhook(read_secret(self.webhook_url_file))
            except ValueError as exc:
                raise _PathError("webhook_url_file", str(exc)) from None
        else:
            try:
                _check_webhook(self.url())
            except ValueError as exc:
                raise _PathError("webhook_url", str(exc)) from None
        return self

    def url(self) -> str:
        """The webhook URL now (a file is read again on every call)."""
        if self.webhook_url_file is not None:
            return read_secret(self.webhook_url_file)
        assert self.webhook_url is not None
        return self.webhook_url.get_secret_value()


def _check_webhook(url: str) -> None:
    """Never echo the URL: it is the secret."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("webhook URL must be an http:// or https:// URL")


class SmtpSettings(_Model):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_file: str | None = None
    timeout: SendDuration = 30.0

    @model_validator(mode="after")
    def _readable_password(self, info: ValidationInfo) -> SmtpSettings:
        if (
            self.username is not None
            and not self.starttls
            and not _deferred(self.host, info)
            and not _is_loopback(self.host)
        ):
            raise _PathError(
                "starttls",
                "must be true when username is set: the login would cross the network in"
                " clear (only a loopback host may go without TLS)",
            )
        if self.password_file is not None and not _deferred(self.password_file, info):
            try:
                read_secret(self.password_file)
            except ValueError as exc:
                raise _PathError("password_file", str(exc)) from None
        return self

    def password(self) -> str | None:
        """The password now (the file is read again on every call)."""
        return None if self.password_file is None else read_secret(self.password_file)


def _is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1): traffic that never leaves."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class EmailSettings(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    smtp: SmtpSettings
    sender: EmailAddress = Field(alias="from")
    to: tuple[EmailAddress, ...] = ()
    events: tuple[EventGroup, ...] = ()
    # Messages per second on one SMTP connection (subscriber fan-out): what a relay takes.
    max_per_second: float = Field(default=50.0, gt=0, le=100_000)


class NotificationSettings(_Model):
    slack: tuple[SlackSettings, ...] = ()
    email: EmailSettings | None = None
    maintenance_notice: Duration = 86400.0
    give_up_after: Duration = 86400.0


def _parse_mode(value: Any) -> int:
    """A permission mode in octal: `0640` (YAML reads it as octal) or `"0640"`, `"0o640"`."""
    if isinstance(value, str) and re.fullmatch(r"0?o?[0-7]{3}", value.strip()):
        value = int(value.strip().removeprefix("0").removeprefix("o"), 8)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
        raise ValueError("must be a permission mode in octal such as 0640 (with the leading 0)")
    if value & 0o007:
        raise ValueError("must give other users no access (statements hold fees and credits)")
    return value


Mode = Annotated[int, BeforeValidator(_parse_mode)]


class ProviderSettings(_Model):
    """Who issues the statements: shown at the top of every report people read."""

    name: str | None = None
    address: str | None = None
    contact: str | None = None
    credit_terms: str | None = None  # how credits are applied, e.g. "on the next invoice"


class ReportsSettings(_Model):
    dir: str | None = None  # unset: `run` writes no monthly files
    file_mode: Mode = 0o640  # the statements' files: never readable by other users
    dir_mode: Mode = 0o750
    formats: tuple[ReportFormat, ...] = ("html", "json")
    delay: Duration = 6 * 3600.0
    min_coverage_percent: Money = Decimal(99)
    slack: tuple[str, ...] = ()
    email_customers: bool = False
    provider: ProviderSettings = ProviderSettings()

    @field_validator("min_coverage_percent")
    @classmethod
    def _percent(cls, value: Decimal) -> Decimal:
        if not Decimal(0) <= value <= Decimal(100):
            raise ValueError("must be a percentage between 0 and 100")
        return value

    @field_validator("file_mode", "dir_mode")
    @classmethod
    def _owner_can_use(cls, value: int, info: ValidationInfo) -> int:
        """The monitor writes files it later reads (to attach them), and enters folders."""
        needed = 0o600 if info.field_name == "file_mode" else 0o700
        if value & needed != needed:
            raise ValueError(f"must give the owner {needed:04o} at least")
        return value


_HOOK_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$")
_FIELD_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")


class WebhookPromise(_Model):
    """What the provider promises about its webhooks (docs/promises.md)."""

    first_attempt_percent: Money = Decimal("99.7")
    within: Duration = 5.0
    retries: tuple[Duration, ...] = (60.0, 300.0, 1800.0)

    @field_validator("first_attempt_percent")
    @classmethod
    def _percent(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= Decimal(100):
            raise ValueError("must be a percentage above 0 and at most 100")
        return value

    @field_validator("retries")
    @classmethod
    def _few(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) > 20:
            raise ValueError("lists more than 20 retries")
        return value


class WebhookReceiverSettings(_Model):
    """An endpoint the monitor serves for the provider's webhooks, to measure deliveries."""

    name: Name
    path: str
    listen: str | None = None  # unset: the subscription service's listener
    secret_file: str | None = None
    id_field: str = "id"
    sent_at_field: str | None = None
    promise: WebhookPromise = WebhookPromise()
    fail_first_percent: Money = Decimal(0)
    # Answer 503 to this many retries of an event chosen by fail_first_percent too, so the
    # later retries of the schedule are observed (the last promised one always gets 2xx).
    fail_retries: int = Field(default=0, ge=0)
    status_component: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _HOOK_PATH.fullmatch(value) or "/../" in f"{value}/" or "//" in value:
            raise ValueError("must be a URL path such as /hooks/outfame")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_listen(value)
        return value

    @field_validator("id_field", "sent_at_field")
    @classmethod
    def _field_path(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD_PATH.fullmatch(value):
            raise ValueError("must be a field name, or names joined by dots (meta.event_id)")
        return value

    @field_validator("fail_first_percent")
    @classmethod
    def _share(cls, value: Decimal) -> Decimal:
        if not Decimal(0) <= value <= Decimal(100):
            raise ValueError("must be a percentage between 0 and 100")
        return value

    @model_validator(mode="after")
    def _checks(self) -> WebhookReceiverSettings:
        if self.secret_file is not None:
            try:
                read_secret_bytes(self.secret_file)
            except ValueError as exc:
                raise _PathError("secret_file", str(exc)) from None
        if self.fail_retries and self.fail_retries >= len(self.promise.retries):
            raise _PathError(
                "fail_retries", "must be below the number of promise.retries (the last gets 2xx)"
            )
        return self

    def secret(self) -> bytes | None:
        """The signing key now (the file is read again on every call: it may be rotated)."""
        return None if self.secret_file is None else read_secret_bytes(self.secret_file)


def read_secret_bytes(path: str) -> bytes:
    """A key file's bytes, one trailing newline stripped (an editor adds it)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.strerror or exc}") from None
    if data.endswith(b"\n"):
        data = data[:-1]
        if data.endswith(b"\r"):
            data = data[:-1]
    if not data:
        raise ValueError(f"secret file {path} is empty")
    return data


class Config(_Model):
    """The whole file. Cross-references (plans, services, targets) are checked here."""

    location: Name = "default"
    storage: StorageSettings = StorageSettings()
    metrics: MetricsSettings = MetricsSettings()
    defaults: ProbeSettings = ProbeSettings()
    targets: tuple[Target, ...] = ()
    sla: SlaSettings = SlaSettings()
    plans: dict[Name, PlanSettings] = Field(default_factory=dict)
    contracts: tuple[ContractSettings, ...] = ()
    maintenance: tuple[MaintenanceSettings, ...] = ()
    alerting: AlertingSettings = AlertingSettings()
    notifications: NotificationSettings = NotificationSettings()
    reports: ReportsSettings = ReportsSettings()
    status_page: StatusPageSettings | None = None
    webhook_receivers: tuple[WebhookReceiverSettings, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _fold_defaults(cls, data: Any) -> Any:
        """Give each target the `defaults:` keys it does not set itself."""
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults") or {}
        targets = data.get("targets")
        if isinstance(defaults, dict) and isinstance(targets, list):
            data = dict(data)
            data["targets"] = [
                _with_defaults(defaults, target) if isinstance(target, dict) else target
                for target in targets
            ]
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        _require_unique("targets", (t.name for t in self.targets))
        _check_customer_names(self.contracts)
        names = {t.name for t in self.targets}
        services = {t.service_name for t in self.targets}
        for i, contract in enumerate(self.contracts):
            where = f"contracts[{i}]"
            for key in ("start", "end"):
                try:
                    self.moment(getattr(contract, key) or contract.start)
                except OverflowError:  # year 1 east of UTC, 9999 west of it
                    raise _PathError(f"{where}.{key}", "is out of range") from None
            if contract.plan not in self.plans:
                raise _PathError(f"{where}.plan", "names a plan that `plans:` does not define")
            if contract.service not in services:
                raise _PathError(f"{where}.service", "names a service no target belongs to")
            if contract.plan.lower() == "enterprise" and not contract.credits:
                raise _PathError(
                    f"{where}.credits", "an enterprise contract needs its own credit schedule"
                )
            if contract.end is not None and self.moment(contract.end) <= self.moment(
                contract.start
            ):
                raise _PathError(f"{where}.end", "must be after start")
        for i, window in enumerate(self.maintenance):
            for j, target in enumerate(window.targets):
                if target not in names:
                    raise _PathError(f"maintenance[{i}].targets[{j}]", "names an unknown target")
            for j, service in enumerate(window.services):
                if service not in services:
                    raise _PathError(f"maintenance[{i}].services[{j}]", "names an unknown service")
        self._check_notifications()
        if self.status_page is not None:
            _check_components(self.status_page, names, services)
        self._check_receivers()
        return self

    def _check_receivers(self) -> None:
        """Unique names and (listener, path); a receiver without `listen` needs the
        subscription service, whose listener it then shares."""
        _require_unique("webhook_receivers", (r.name for r in self.webhook_receivers))
        shared = getattr(self.status_page, "subscriptions", None) is not None
        routes: set[tuple[str | None, str]] = set()
        components = {c.slug for c in self.status_components()}
        components |= {slug(c.group) for c in self.status_components() if c.group is not None}
        for i, receiver in enumerate(self.webhook_receivers):
            where = f"webhook_receivers[{i}]"
            if receiver.listen is None and not shared:
                raise _PathError(
                    f"{where}.listen",
                    "is required (HOST:PORT) unless status_page.subscriptions is set, whose"
                    " listener the receiver then shares",
                )
            subscriptions = getattr(self.status_page, "subscriptions", None)
            if receiver.listen is None and subscriptions is not None:
                own = subscriptions.path  # "" when the service answers at the root
                taken = receiver.path in subscriptions.pages()
                if taken or (own and receiver.path.startswith(f"{own}/")):
                    raise _PathError(
                        f"{where}.path",
                        "is under the subscription service's own path on the listener"
                        " it shares: choose another (e.g. /hooks/NAME)",
                    )
            route = (receiver.listen, receiver.path)
            if route in routes:
                raise _PathError(f"{where}.path", "is served by another receiver on this listener")
            routes.add(route)
            if receiver.status_component is not None and slug(receiver.status_component) in (
                components
            ):
                raise _PathError(
                    f"{where}.status_component",
                    f"has the same id {slug(receiver.status_component)!r} as a component or"
                    " group of the status page",
                )

    def _check_notifications(self) -> None:
        _require_unique("notifications.slack", (s.name for s in self.notifications.slack))
        slack = {s.name for s in self.notifications.slack}
        for i, name in enumerate(self.reports.slack):
            if name not in slack:
                raise _PathError(f"reports.slack[{i}]", "names no entry of notifications.slack")
        if self.reports.email_customers and self.notifications.email is None:
            raise _PathError(
                "reports.email_customers", "needs notifications.email (its SMTP server and from)"
            )
        page = self.status_page
        subscriptions = None if page is None else page.subscriptions
        wanted = subscriptions is not None and (subscriptions.email or subscriptions.webhooks)
        if subscriptions is not None and wanted and self.notifications.email is None:
            # Webhook subscribers too: their address is confirmed and told of failures.
            where = "email" if subscriptions.email else "webhooks"
            raise _PathError(
                f"status_page.subscriptions.{where}",
                "needs notifications.email (its SMTP server and from)",
            )

    def component_targets(self) -> list[tuple[str, ...]]:
        """The targets each of `status_components()` stands for, in config order.

        All at once: a page may have a thousand components over five thousand targets.
        """
        order = {t.name: number for number, t in enumerate(self.targets)}
        by_service: dict[str, list[str]] = {}
        for target in self.targets:
            by_service.setdefault(target.service_name, []).append(target.name)
        found = []
        for component in self.status_components():
            names = {name for name in component.targets if name in order}
            names.update(n for service in component.services for n in by_service.get(service, ()))
            found.append(tuple(sorted(names, key=order.__getitem__)))
        return found

    def status_components(self) -> tuple[StatusComponent, ...]:
        """The page's components; without any configured, one per service."""
        if self.status_page is not None and self.status_page.components:
            return self.status_page.components
        services = dict.fromkeys(t.service_name for t in self.targets)
        return tuple(StatusComponent(name=service, services=(service,)) for service in services)

    @property
    def status_timezone(self) -> str:
        page = self.status_page
        return page.timezone if page is not None and page.timezone else self.sla.timezone

    def moment(self, value: Moment) -> datetime:
        """A contract boundary as UTC: a date is midnight in `sla.timezone`."""
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(0), tzinfo=self.sla.zone)
        return value.astimezone(UTC)

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


def _check_customer_names(contracts: Iterable[ContractSettings]) -> None:
    """One spelling per customer: `acme` and `Acme` would share a statement file on a
    case-insensitive disk (and each be mailed the other's). Several contracts of one
    customer share its name exactly."""
    first: dict[str, tuple[int, str]] = {}
    for i, contract in enumerate(contracts):
        j, spelling = first.setdefault(contract.customer.casefold(), (i, contract.customer))
        if spelling != contract.customer:
            raise _PathError(
                f"contracts[{i}].customer",
                f"differs from contracts[{j}].customer only in case: customer names must be"
                " unique ignoring case (their statements would share a file)",
            )


def _with_defaults(defaults: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """A target over the defaults; `promises:` merges key by key (`promises: null` on a
    target turns the checks off for it)."""
    merged = {**defaults, **target}
    if isinstance(defaults.get("promises"), dict) and isinstance(target.get("promises"), dict):
        merged["promises"] = {**defaults["promises"], **target["promises"]}
    return merged


class _PathError(ValueError):
    """A cross-reference error that knows its config path (pydantic would say only `root`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class _UnknownKey(_PathError):
    """A key no model knows; reported before any other error of the file."""

    def __init__(self, key: str, suggestion: str) -> None:
        super().__init__(key, f"unknown key{suggestion}")


def _check_components(page: StatusPageSettings, targets: set[str], services: set[str]) -> None:
    slugs: dict[str, str] = {}
    _require_unique("status_page.components", (c.name for c in page.components))
    for i, component in enumerate(page.components):
        where = f"status_page.components[{i}]"
        for j, target in enumerate(component.targets):
            if target not in targets:
                raise _PathError(f"{where}.targets[{j}]", "names an unknown target")
        for j, service in enumerate(component.services):
            if service not in services:
                raise _PathError(f"{where}.services[{j}]", "names an unknown service")
        if component.slug in slugs:
            raise _PathError(f"{where}.name", f"has the same id {component.slug!r} as another")
        slugs[component.slug] = "component"
    for i, component in enumerate(page.components):
        if component.group is not None and slugs.setdefault(slug(component.group), "group") != (
            "group"
        ):
            raise _PathError(
                f"status_page.components[{i}].group",
                f"has the same id {slug(component.group)!r} as a component",
            )


def _require_unique(section: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise _PathError(f"{section}[{i}].name", "repeats a name used earlier")
        seen.add(name)


# --- loading ---------------------------------------------------------------------------


def config_path(cli_value: str | None) -> Path:
    """`-c FILE`, else $UPTIME_SLA_CONFIG, else ./uptime-sla.yaml."""
    return Path(cli_value or os.environ.get("UPTIME_SLA_CONFIG") or "uptime-sla.yaml")


def config_written(path: Path) -> datetime | None:
    """When the config file was last written (None: unknown). A maintenance window in it
    was scheduled by then at the latest: the status page's `created_at` of the window."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except (OSError, ValueError, OverflowError):
        return None


def load_config(
    path: Path, environ: dict[str, str] | None = None, *, sections: Collection[str] | None = None
) -> Config:
    """Read, substitute ${VAR}s, resolve relative paths and validate; raise ConfigError with
    file, path and line.

    `sections`: the top-level keys whose ${VAR}s must be set (None: all of them). An unset
    variable elsewhere is left as written and its value goes unchecked: the command never
    reads it. Relative paths name files beside the config (docs/configuration.md).
    """
    environ = dict(os.environ) if environ is None else environ
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: config is larger than {MAX_CONFIG_BYTES >> 20} MiB")
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config is not UTF-8 text") from None
    data, lines = _parse_yaml(path, text)
    if data is None:  # nothing, or only comments
        raise ConfigError(f"{path}: the config is empty: it needs at least one entry in targets")
    missing: dict[str, str] = {}
    deferred: dict[str, str] = {}  # path -> the unset variable its value is left with

    def needed(where: str) -> bool:
        return sections is None or re.split(r"[.\[]", where, maxsplit=1)[0] in sections

    try:
        data = _substitute(
            data, environ, "", _Unset(needed, missing, deferred), budget=[MAX_CONFIG_TEXT]
        )
    except _PathError as exc:
        raise ConfigError(_located(path, exc.path, exc.message, lines)) from None
    if missing:
        raise ConfigError(_missing_variables(path, missing, lines))
    data = _resolve_paths(data, Path(os.path.abspath(path)).parent)
    try:
        config = Config.model_validate(data, context={"deferred": bool(deferred)})
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc, lines, deferred)) from None
    if not config.targets:
        raise ConfigError(_located(path, "targets", "needs at least one target", lines))
    return config


@dataclass(frozen=True)
class _Unset:
    """What `_substitute` does with an unset variable: note it in `missing` where `needed`,
    else in `deferred` (and leave the ${VAR} as written)."""

    needed: Callable[[str], bool]
    missing: dict[str, str]
    deferred: dict[str, str]


# Keys whose values are paths beside the config when relative (besides every `*_file`).
_PATH_KEYS = {"status_page": "output_dir", "reports": "dir"}
_NOT_PATHS = ("headers", "resolve", "body", "body_contains")  # free text and mappings


def _resolve_paths(data: Any, base: Path) -> Any:
    """Relative paths as paths beside the config file (as Prometheus reads its own), never
    beside the working directory: `storage.url`'s SQLite file (also the default one),
    `status_page.output_dir`, `reports.dir` and every `*_file`."""

    def beside(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        return os.path.normpath(os.path.join(base, value))  # as Prometheus: joined, cleaned

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        return {
            key: beside(value)
            if isinstance(key, str) and key.endswith("_file")
            else value
            if key in _NOT_PATHS
            else walk(value)
            for key, value in node.items()
        }

    if not isinstance(data, dict):
        return data
    data = walk(data)
    for section, key in _PATH_KEYS.items():
        if isinstance(data.get(section), dict) and key in data[section]:
            data[section] = {**data[section], key: beside(data[section][key])}
    storage = data.get("storage", {})
    if isinstance(storage, dict):
        url = storage.get("url", StorageSettings.model_fields["url"].default)
        data["storage"] = {**storage, "url": _sqlite_beside(url, base)}
    return data


def _sqlite_beside(url: Any, base: Path) -> Any:
    """A SQLite URL whose file is relative, made absolute against `base`; else `url`."""
    if not isinstance(url, str):
        return url
    database = sqlite_file(url)
    if database is None or os.path.isabs(database):
        return url
    absolute = os.path.normpath(os.path.join(base, database))
    plain = _PLAIN_SQLITE.fullmatch(url)
    if plain:  # rendered as SQLAlchemy's render_as_string would
        return f"{plain[1]}:///{quote(absolute, safe=' +/')}"
    from sqlalchemy.engine import make_url  # noqa: PLC0415 (see _PLAIN_SQLITE)

    return make_url(url).set(database=absolute).render_as_string(hide_password=False)


MAX_CONFIG_BYTES = 8 << 20  # thousands of targets fit in a few hundred KiB
# The text of every string after aliases are expanded and ${VAR}s substituted: an alias
# repeats a string by reference, a substitution makes a copy, and 10,000 aliases of a long
# string with a ${VAR} in it would otherwise make gigabytes.
MAX_CONFIG_TEXT = 32 << 20
_MAX_DEPTH = 64  # a config nests a handful of levels; a cyclic alias nests forever
_MAX_NODES = 1_000_000  # aliases can multiply a small file into billions of values


# libyaml's parser, when PyYAML has it: a 5,000-target config in 0.2 s instead of 2 s.
_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def _parse_yaml(path: Path, text: str) -> tuple[Any, dict[str, int]]:
    """Build plain data from YAML, remembering the line of every config path.

    Parsed by libyaml first; a file it refuses is parsed again by PyYAML's own loader,
    whose errors name the line and the character (libyaml's lose them for control
    characters, and it cannot encode a lone surrogate at all)."""
    if _FAST_LOADER is not None:
        try:
            return _parse_yaml_with(_FAST_LOADER, path, text)
        except (ConfigError, UnicodeError):
            pass
    return _parse_yaml_with(yaml.SafeLoader, path, text)


def _parse_yaml_with(
    loader_type: type[yaml.SafeLoader], path: Path, text: str
) -> tuple[Any, dict[str, int]]:
    try:
        loader = loader_type(text)
    except yaml.reader.ReaderError as exc:  # a control character: checked before parsing
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.reason}") from None
    lines: dict[str, int] = {}
    budget = [_MAX_NODES]

    def construct(node: yaml.Node) -> Any:
        try:
            return loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception:
            # SafeConstructor trusts a tag's text: `!!int abc`, `!!int ''`, `!!timestamp x`,
            # 5,000 digits: ValueError, IndexError, AttributeError...
            line = node.start_mark.line + 1
            raise ConfigError(
                f"{path}:{line}: invalid YAML: a value does not match its type"
            ) from None

    try:
        root = loader.get_single_node()

        def build(node: yaml.Node, where: str, depth: int = 0) -> Any:
            budget[0] -= 1
            if depth > _MAX_DEPTH or budget[0] < 0:
                line = node.start_mark.line + 1
                raise ConfigError(f"{path}:{line}: nested too deeply or too large (aliases?)")
            lines[where] = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                result: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = construct(key_node)
                    if not isinstance(key, str | int):
                        raise ConfigError(
                            f"{path}:{key_node.start_mark.line + 1}: keys must be plain names"
                        )
                    child = _join(where, str(key))
                    if key in result:
                        raise ConfigError(
                            f"{path}:{key_node.start_mark.line + 1}: {child}: duplicate key"
                        )
                    result[key] = build(value_node, child, depth + 1)
                return result
            if isinstance(node, yaml.SequenceNode):
                return [
                    build(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(node.value)
                ]
            return construct(node)

        return (build(root, "") if root is not None else None), lines
    except RecursionError:  # the parser itself recurses: `[[[[...` thousands deep
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()


def _substitute(
    data: Any, environ: dict[str, str], where: str, unset: _Unset, *, budget: list[int]
) -> Any:
    """Replace ${VAR} in every string; note each unset variable's first path (`_Unset`).

    Every unset variable is collected, not just the first, so one run of `check-config`
    tells a new user everything the config needs from the environment. `budget` is what is
    left of MAX_CONFIG_TEXT, spent by each string and each substitution before it is made.
    """

    def spend(size: int) -> None:
        budget[0] -= size
        if budget[0] < 0:
            raise _PathError(
                where,
                f"the config's text exceeds {MAX_CONFIG_TEXT >> 20} MiB once aliases and"
                " ${VAR}s are expanded",
            )

    if isinstance(data, dict):
        return {
            k: _substitute(v, environ, _join(where, str(k)), unset, budget=budget)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            _substitute(v, environ, f"{where}[{i}]", unset, budget=budget)
            for i, v in enumerate(data)
        ]
    if isinstance(data, str):
        spend(len(data))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                if unset.needed(where):
                    unset.missing.setdefault(name, where)
                    return ""
                unset.deferred.setdefault(where, name)
                return match.group(0)
            value = environ[name]
            if not _is_utf8(value):  # bytes from the environment no file or header can hold
                raise _PathError(where, f"environment variable {name} is not UTF-8 text")
            spend(len(value))
            return value

        return _ENV_VAR.sub(replace, data)
    return data


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # os.environ keeps undecodable bytes as lone surrogates
        return False
    return True


def _missing_variables(path: Path, missing: dict[str, str], lines: dict[str, int]) -> str:
    if len(missing) == 1:
        ((name, where),) = missing.items()
        return _located(path, where, f"environment variable {name} is not set", lines)
    named = ", ".join(
        f"{name} (line {_line_of(where, lines)}, {where})" for name, where in missing.items()
    )
    return f"{path}: {len(missing)} environment variables are not set: {named}"


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _dotted(loc: tuple[int | str, ...]) -> str:
    where = ""
    for part in loc:
        where = f"{where}[{part}]" if isinstance(part, int) else _join(where, part)
    return where


def _describe(
    path: Path, exc: ValidationError, lines: dict[str, int], deferred: dict[str, str]
) -> str:
    """One error, one line: file, line, config path and what is wrong (never the value).

    An unknown key comes first (a typo explains the errors it causes); a value left with an
    unset ${VAR} is reported as that variable, not as the placeholder's own mistakes.
    """
    errors = exc.errors(include_input=False, include_url=False)
    error = next(
        (e for e in errors if isinstance(e.get("ctx", {}).get("error"), _UnknownKey)), errors[0]
    )
    for candidate in errors:
        where = _dotted(_plain_loc(candidate["loc"]))
        for place, name in deferred.items():
            if _overlaps(where, place):
                message = f"environment variable {name} is not set"
                return _located(path, place, message, lines)
    loc = _plain_loc(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    bounds = error.get("ctx", {})
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] in {"model_type", "dict_type"}:  # not pydantic's class names
        message = "must be a mapping of keys to values"
    elif error["type"] in {"tuple_type", "list_type"}:
        message = "must be a list"
    elif error["type"] == "less_than_equal":
        message = f"must be at most {bounds.get('le')}"
    elif error["type"] == "greater_than":
        message = f"must be above {bounds.get('gt')}"
    elif error["type"] == "greater_than_equal":
        message = f"must be at least {bounds.get('ge')}"
    cause = bounds.get("error")
    if isinstance(cause, _PathError):  # its path is relative to the model that raised it
        return _located(path, _join(_dotted(loc), cause.path), cause.message, lines)
    return _located(path, _dotted(loc), message, lines)


def _overlaps(where: str, place: str) -> bool:
    """One path is the other or holds it (a model's own check fails at the model's path)."""
    return any(
        longer == shorter or longer.startswith((f"{shorter}.", f"{shorter}["))
        for longer, shorter in ((where, place), (place, where))
        if shorter
    )


def _plain_loc(raw: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Pydantic's location without the names of its own validators and union branches."""
    return tuple(
        part
        for part in raw
        if not (
            isinstance(part, str)
            and (part.startswith(("function-", "literal[")) or part in {"int", "str", "tuple"})
        )
    )


def _located(path: Path, where: str, message: str, lines: dict[str, int]) -> str:
    line = _line_of(where, lines)
    prefix = f"{path}:{line}" if line else str(path)
    return f"{prefix}: {where or 'config'}: {message}" if where else f"{prefix}: {message}"


def _line_of(where: str, lines: dict[str, int]) -> int | None:
    """The line of `where`, or of its nearest ancestor that the file spells out."""
    while where:
        if where in lines:
            return lines[where]
        cut = max(where.rfind("."), where.rfind("["))
        where = where[:cut] if cut > 0 else ""
    return None
