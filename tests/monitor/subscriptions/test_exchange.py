"""The subscriber CSV: export then import reads back the same subscribers; a bad row names its
line and imports nothing; a field a spreadsheet would run as a formula is defused."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import InputError
from monitor.store.subscribers import Imported, Subscriber
from monitor.subscriptions.exchange import read_subscribers, split_components, write_subscribers

NAMES = ["Public API", "A;B", "=SUM(1)", "'quoted"]
CREATED = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def subscriber(email: str, components: tuple[str, ...], confirmed: datetime | None) -> Subscriber:
    return Subscriber("id-" + email, "email", email, "", components, CREATED, confirmed)


def test_export_then_import_gives_back_every_email_subscriber(tmp_path: Path) -> None:
    people = [
        subscriber("a@example.com", ("Public API", "A;B"), CREATED),
        subscriber("b@example.com", (), None),
        subscriber("c@example.com", ("=SUM(1)",), CREATED),
        subscriber("d@example.com", ("'quoted", "Public API"), CREATED),
        Subscriber("w", "webhook", "hook@example.com", "https://x.example/h", (), CREATED, None),
    ]
    out = io.BytesIO()
    assert write_subscribers(people, out) == 4
    text = out.getvalue().decode()
    assert text.splitlines()[0] == "email,components,created,confirmed"
    assert "2026-03-01T08:30:15.123456Z" in text
    assert "\n=" not in text
    assert ",=" not in text
    assert "hook@example.com" not in text
    path = tmp_path / "subscribers.csv"
    path.write_bytes(out.getvalue())
    assert read_subscribers(path, NAMES) == [
        Imported(p.email, p.components, p.created, p.confirmed) for p in people[:4]
    ]


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ("email,components,created\n", ":1: the header must be"),
        ("x@example.com,,2026-03-01T00:00:00Z,\n", ":1: the header must be"),
        (
            "email,components,created,confirmed\nbad,,2026-03-01T00:00:00Z,\n",
            ":2: email: 'bad' is not an email address",
        ),
        (
            "email,components,created,confirmed\na@example.com,Nope,2026-03-01T00:00:00Z,\n",
            ":2: names no component of the page: 'Nope'",
        ),
        (
            "email,components,created,confirmed\na@example.com,,yesterday,\n",
            ":2: created: 'yesterday' is not an RFC 3339 time",
        ),
        (
            "email,components,created,confirmed\na@example.com,,2026-03-01T00:00:00,\n",
            ":2: created: '2026-03-01T00:00:00' has no UTC offset",
        ),
        (
            "email,components,created,confirmed\n"
            "a@example.com,,2026-03-01T00:00:00Z,\n"
            "A@example.com,,2026-03-01T00:00:00Z,\n",
            ":3: repeats the address of line 2",
        ),
        ("email,components,created,confirmed\na@example.com,x\n", ":2: expected 4 columns"),
        ('email,components,created,confirmed\n"a@example.com,x\n', "not valid CSV"),
    ],
)
def test_a_bad_row_names_its_line(tmp_path: Path, rows: str, error: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(rows)
    with pytest.raises(InputError, match=error):
        read_subscribers(path, NAMES)


def test_names_with_the_separator_in_them_are_split_as_the_page_names_them() -> None:
    assert split_components("A;B;Public API", NAMES) == ("A;B", "Public API")
    assert split_components("public-api", NAMES) == ("Public API",)
    assert split_components("  ", NAMES) == ()
