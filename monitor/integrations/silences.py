"""Maintenance windows as Alertmanager silences, kept in step with the config.

The SLA already excludes maintenance from the figures; the silences keep the same windows
from paging anyone. `sync` is idempotent: each silence it owns carries createdBy
"uptime-sla" and, in its comment, the id of the window it stands for, so a second run
finds them and changes nothing. A window whose silence is gone from the config is expired;
a window already over is never created. Only Alertmanager's API v2 is used.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from monitor.config import Config, MaintenanceSettings
from monitor.errors import AlertmanagerError
from monitor.integrations.rules import ALERT_NAMES
from monitor.text.redact import redact_url, scrub
from sla.timestamps import rfc3339

CREATED_BY = "uptime-sla"
_WINDOW_ID = re.compile(r"\[uptime-sla window ([0-9a-f]{16}(?:-targets|-services)?)\]")


@dataclass(frozen=True)
class Silence:
    """A silence as uptime-sla wants it to exist."""

    window_id: str
    matchers: tuple[tuple[str, str, bool], ...]  # (label, value, is_regex)
    starts_at: datetime
    ends_at: datetime
    comment: str

    def payload(
        self, silence_id: str | None = None, starts_at: datetime | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "matchers": [
                {"name": name, "value": value, "isRegex": regex, "isEqual": True}
                for name, value, regex in self.matchers
            ],
            "startsAt": rfc3339(starts_at or self.starts_at, "milliseconds"),
            "endsAt": rfc3339(self.ends_at, "milliseconds"),
            "createdBy": CREATED_BY,
            "comment": self.comment,
        }
        if silence_id is not None:
            body["id"] = silence_id
        return body


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    expired: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.expired} expired,"
            f" {self.unchanged} unchanged"
        )


def window_id(window: MaintenanceSettings) -> str:
    """Start and scope identify a window, so moving its end or rewording it updates the
    same silence rather than making a new one. (Its time keeps isoformat's "+00:00": the
    ids of the silences already made depend on it.)"""
    key = json.dumps(
        {
            "start": window.start.astimezone(UTC).isoformat(),
            "targets": sorted(window.targets),
            "services": sorted(window.services),
        },
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _any_of(values: tuple[str, ...]) -> tuple[str, bool]:
    names = sorted(set(values))
    if len(names) == 1:
        return names[0], False
    return "|".join(name.replace(".", "\\.") for name in names), True


def wanted_silences(config: Config, now: datetime) -> list[Silence]:
    """The silences the config's windows call for, leaving out windows already over.

    Matchers are ANDed, so a window naming both targets and services becomes two silences.
    Every silence matches only uptime-sla's own alerts (by alertname), so a window naming
    nothing does not silence the rest of a shared Alertmanager.
    """
    ours = ("alertname", "|".join(ALERT_NAMES), True)
    found: dict[str, Silence] = {}
    for window in config.maintenance:
        if window.end <= now:
            continue
        base = window_id(window)
        scopes: list[tuple[str, tuple[tuple[str, str, bool], ...]]] = []
        if window.targets:
            scopes.append(("target", (ours, ("target", *_any_of(window.targets)))))
        if window.services:
            scopes.append(("service", (ours, ("service", *_any_of(window.services)))))
        if not scopes:
            scopes.append(("", (ours,)))
        for kind, matchers in scopes:
            wid = f"{base}-{kind}s" if len(scopes) > 1 else base
            comment = f"{window.reason or 'maintenance'} [uptime-sla window {wid}]"
            silence = Silence(wid, matchers, window.start, window.end, comment)
            if wid not in found or found[wid].ends_at < silence.ends_at:
                found[wid] = silence  # the same window twice: the longer one wins
    return list(found.values())


def sync_silences(config: Config, client: httpx.Client, now: datetime) -> SyncResult:
    """Create, update and expire silences until Alertmanager holds exactly the wanted ones.

    `client` has Alertmanager's base URL (injected, so tests can point it anywhere).
    """
    result = SyncResult()
    mine: dict[str | None, list[dict[str, Any]]] = {}
    for silence in _get(client, "/api/v2/silences"):
        if silence.get("createdBy") != CREATED_BY or silence["status"]["state"] == "expired":
            continue
        match = _WINDOW_ID.search(silence.get("comment", ""))
        mine.setdefault(match.group(1) if match else None, []).append(silence)
    for want in wanted_silences(config, now):
        current = sorted(mine.pop(want.window_id, []), key=lambda s: s["id"])
        for duplicate in current[1:]:
            _expire(client, duplicate)
            result.expired += 1
        if not current:
            _post(client, want.payload())
            result.created += 1
        elif _differs(current[0], want, now):
            keep = current[0]
            active = keep["status"]["state"] == "active"
            # An active silence keeps its start, or Alertmanager would replace it.
            start = _parse(keep["startsAt"]) if active else None
            _post(client, want.payload(keep["id"], start))
            result.updated += 1
        else:
            result.unchanged += 1
    for leftovers in mine.values():  # windows that left the config, or were cut short
        for silence in leftovers:
            _expire(client, silence)
            result.expired += 1
    return result


def _differs(have: dict[str, Any], want: Silence, now: datetime) -> bool:
    matchers = {(m["name"], m["value"], m["isRegex"]) for m in have["matchers"]}
    if any(not m.get("isEqual", True) for m in have["matchers"]):
        return True
    # Alertmanager starts a silence created for a window under way at its creation time:
    # for such a window, being active is what matters.
    same_start = _ms(_parse(have["startsAt"])) == _ms(want.starts_at) or (
        want.starts_at <= now and have["status"]["state"] == "active"
    )
    return (
        matchers != set(want.matchers)
        or not same_start
        or _ms(_parse(have["endsAt"])) != _ms(want.ends_at)
        or have.get("comment") != want.comment
    )


# --- HTTP ------------------------------------------------------------------------------------


def _where(client: httpx.Client) -> str:
    return f"alertmanager {redact_url(str(client.base_url))}"


def _request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise AlertmanagerError(
            f"{_where(client)}: {scrub(str(exc), str(client.base_url))}"
        ) from None
    if response.status_code >= 400:
        detail = scrub(" ".join(response.text.split())[:200], str(client.base_url))
        raise AlertmanagerError(
            f"{_where(client)}: {method} {path} answered {response.status_code}: {detail}"
        )
    return response


def _get(client: httpx.Client, path: str) -> Iterator[dict[str, Any]]:
    try:
        body = _request(client, "GET", path).json()
    except ValueError:  # also UnicodeDecodeError
        raise AlertmanagerError(f"{_where(client)}: {path} did not answer JSON") from None
    if not isinstance(body, list):
        raise AlertmanagerError(f"{_where(client)}: {path} did not return a list")
    for silence in body:
        if not _well_formed(silence):
            raise AlertmanagerError(
                f"{_where(client)}: {path} returned a silence without the fields of API v2"
                " (id, status.state, matchers, startsAt, endsAt)"
            )
    yield from body


def _well_formed(silence: Any) -> bool:
    """The fields `sync_silences` reads, with their types: anything else is not API v2."""
    if not isinstance(silence, dict):
        return False
    status, matchers = silence.get("status"), silence.get("matchers")
    try:
        _parse(silence["startsAt"])
        _parse(silence["endsAt"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return (
        isinstance(silence.get("id"), str)
        and isinstance(status, dict)
        and isinstance(status.get("state"), str)
        and isinstance(silence.get("comment", ""), str)
        and isinstance(matchers, list)
        and all(
            isinstance(m, dict)
            and isinstance(m.get("name"), str)
            and isinstance(m.get("value"), str)
            and isinstance(m.get("isRegex"), bool)
            for m in matchers
        )
    )


def _post(client: httpx.Client, payload: dict[str, Any]) -> None:
    _request(client, "POST", "/api/v2/silences", json=payload)


def _expire(client: httpx.Client, silence: dict[str, Any]) -> None:
    # The id is Alertmanager's text: one path segment, quoted, whatever characters it holds.
    _request(client, "DELETE", f"/api/v2/silence/{quote(silence['id'], safe='')}")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
