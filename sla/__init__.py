"""The SLA engine: from per-slice probe rollups to monthly availability and credits.

Pure code (no database, network, clock or files); the rules are explained in docs/concepts.md.
"""

from __future__ import annotations

from sla.engine import (
    BurnDay,
    ContractResult,
    CustomerTotal,
    FamilyResult,
    MonthReport,
    SliceIncident,
    TargetResult,
    evaluate_month,
)
from sla.errors import SlaError
from sla.render.data import render_csv, render_json
from sla.slices import SliceState, load_window, month_bounds

__all__ = [
    "BurnDay",
    "ContractResult",
    "CustomerTotal",
    "FamilyResult",
    "MonthReport",
    "SlaError",
    "SliceIncident",
    "SliceState",
    "TargetResult",
    "evaluate_month",
    "load_window",
    "month_bounds",
    "render_csv",
    "render_json",
]
