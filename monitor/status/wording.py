"""The status page's sentences, written once: the builder, the site and notifications import them.

Automatic incidents are written from what the probes show: which components, which
family when only one failed, how long (`sla.timestamps.duration_text`: "1 minute", "2
minutes", "1 hour 5 minutes").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sla.timestamps import duration_text
from sla.vocabulary import FAMILY_NAMES, Family

NAMED_COMPONENTS = 3  # a title names this many components, then says how many others


def plural(count: int, word: str) -> str:
    """ "1 minute", "2 minutes", "0 minutes"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def duration(span: timedelta) -> str:
    return duration_text(span.total_seconds())


def listing(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C", "A, B, C and 2 other components"."""
    if len(names) > NAMED_COMPONENTS:
        others = len(names) - NAMED_COMPONENTS
        names = [*names[:NAMED_COMPONENTS], plural(others, "other component")]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def requests(families: Sequence[Family]) -> str:
    """ "IPv6 requests" when one family failed, "requests" when both did (or it is unknown)."""
    return f"{FAMILY_NAMES[families[0]]} requests" if len(families) == 1 else "requests"


def incident_title(components: Sequence[str], families: Sequence[Family]) -> str:
    """ "REST API: IPv6 requests failing"; "REST API and Search: requests failing"."""
    return f"{listing(components)}: {requests(families)} failing"


def incident_opened(components: Sequence[str], families: Sequence[Family]) -> str:
    return (
        f"Our monitoring sees {requests(families)} to {listing(components)} failing."
        " We are investigating."
    )


def incident_failing_again(components: Sequence[str]) -> str:
    return f"{listing(components)} failing again. We are investigating."


def incident_recovering(components: Sequence[str], outage: timedelta, merge: timedelta) -> str:
    """The `monitoring` update: answering again, resolved if it stays so for `merge`."""
    text = f"{listing(components)} answering again after {duration(outage)}."
    if merge:
        text += f" We are monitoring; this incident is resolved after {duration(merge)}"
        text += " without failures."
    return text


def incident_resolved(components: Sequence[str], outage: timedelta) -> str:
    return f"Resolved: {listing(components)} failed for {duration(outage)} in all."


def maintenance_scheduled(name: str) -> str:
    return f"{name} is scheduled."


def maintenance_started(name: str) -> str:
    return f"{name} is in progress."


def maintenance_completed(name: str) -> str:
    return f"{name} has been completed."


def page_link(base_url: str | None, path: str) -> str:
    """A file of the site as a link: absolute under `status_page.url`, else relative."""
    return f"{base_url}/{path}" if base_url else path


def incident_path(incident_id: str) -> str:
    """Where an incident's own page is, under the site's root."""
    return f"incidents/{incident_id}.html"
