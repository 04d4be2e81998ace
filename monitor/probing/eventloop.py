"""The event loop probes run on: uvloop where it is installed, asyncio's own elsewhere.

Why: besides the TLS handshake, much of a probe's CPU is the event loop's own work
(transports, the SSL protocol, callbacks), which uvloop does in C (figures in
BENCHMARKS.md, section 1). uvloop is a dependency only where it builds (pyproject.toml's
marker: not on Windows, not on PyPy); anywhere else the standard loop runs the same code.
`UPTIME_SLA_EVENT_LOOP=asyncio` picks the standard loop even where uvloop is installed (a
way out should uvloop misbehave somewhere; `uvloop` insists on it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from monitor.errors import InputError

T = TypeVar("T")

ENVIRONMENT = "UPTIME_SLA_EVENT_LOOP"
LOOPS = ("asyncio", "uvloop")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's own loop."""
    wanted = os.environ.get(ENVIRONMENT, "")
    if wanted not in ("", *LOOPS):
        raise InputError(f"{ENVIRONMENT}: must be asyncio or uvloop")
    if wanted == "asyncio":
        return None
    try:
        import uvloop  # noqa: PLC0415 (optional: absent where it does not build)
    except ImportError:
        if wanted == "uvloop":
            raise InputError(f"{ENVIRONMENT}=uvloop: uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the chosen loop."""
    try:
        factory = loop_factory()
    except InputError:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
