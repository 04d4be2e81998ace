"""The probes' event loop: uvloop where it is installed, asyncio's own on request or without it."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from monitor.errors import InputError
from monitor.probing import eventloop


async def running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.fixture(autouse=True)
def no_choice_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.ENVIRONMENT, raising=False)


def test_uvloop_runs_the_probes_where_it_is_installed() -> None:
    assert isinstance(eventloop.run(running_loop()), uvloop.Loop)


def test_the_environment_can_ask_for_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.ENVIRONMENT, "asyncio")

    loop = eventloop.run(running_loop())

    assert isinstance(loop, asyncio.BaseEventLoop)
    assert not isinstance(loop, uvloop.Loop)


def test_without_uvloop_the_standard_loop_runs_unless_uvloop_is_insisted_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError

    assert not isinstance(eventloop.run(running_loop()), uvloop.Loop)

    monkeypatch.setenv(eventloop.ENVIRONMENT, "uvloop")
    with pytest.raises(InputError, match="uvloop is not installed"):
        eventloop.run(running_loop())


def test_an_unknown_loop_is_bad_input_naming_the_variable_and_nothing_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(eventloop.ENVIRONMENT, "trio")
    never_started = running_loop()

    with pytest.raises(InputError, match=f"^{eventloop.ENVIRONMENT}: must be asyncio or uvloop$"):
        eventloop.run(never_started)

    assert never_started.cr_frame is None  # closed: no "never awaited" warning
