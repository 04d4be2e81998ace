"""The SLA engine's one exception family."""

from __future__ import annotations


class SlaError(Exception):
    """Inputs the engine cannot evaluate (unknown zone, misaligned series, unknown plan...).

    The message is one line meant for users; the command line maps it to exit 2.
    """
