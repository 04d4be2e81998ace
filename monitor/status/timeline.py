"""A component's slice states kept as runs, so a refresh re-evaluates only the recent tail.

Ninety days of one-minute slices are 129,600 states per component; their runs are a few
hundred. Counting slices of each state between any two slices is a binary search.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sla.slices import BAD, GOOD, SliceState

STATES = len(SliceState)


@dataclass(frozen=True)
class Runs:
    """Slices [first, end) as maximal runs: run i is states[i] from starts[i] on."""

    first: int
    end: int
    starts: np.ndarray  # int64 epoch slice indexes, increasing, starts[0] == first
    states: np.ndarray  # int8 SliceState

    @classmethod
    def of(cls, first: int, states: np.ndarray) -> Runs:
        if len(states) == 0:
            return cls(first, first, np.empty(0, np.int64), np.empty(0, np.int8))
        heads = np.r_[0, np.flatnonzero(np.diff(states)) + 1]
        return cls(first, first + len(states), heads.astype(np.int64) + first, states[heads])

    def before(self, cut: int) -> Runs:
        """Only the slices before `cut`."""
        cut = min(max(cut, self.first), self.end)
        kept = int(np.searchsorted(self.starts, cut, "left"))
        return Runs(self.first, cut, self.starts[:kept], self.states[:kept])

    def then(self, later: Runs) -> Runs:
        """These slices followed by `later`, which starts where these end."""
        if len(self.starts) == 0:
            return later
        if len(later.starts) == 0:
            return self
        if later.first != self.end:
            raise ValueError(f"runs end at {self.end}, the next begin at {later.first}")
        skip = 1 if later.states[0] == self.states[-1] else 0  # one run across the join
        return Runs(
            self.first,
            later.end,
            np.concatenate((self.starts, later.starts[skip:])),
            np.concatenate((self.states, later.states[skip:])),
        )

    def counts(self, edges: np.ndarray) -> np.ndarray:
        """(len(edges) - 1, STATES): slices of each state between consecutive edges."""
        return np.diff(self.before_each(edges), axis=0)

    def before_each(self, edges: np.ndarray) -> np.ndarray:
        """(len(edges), STATES): slices of each state before each edge, in any order.

        Slices outside [first, end) are not counted: before the history or not ended yet.
        """
        lengths = np.diff(np.r_[self.starts, self.end])
        per_run = np.zeros((len(self.starts) + 1, STATES), np.int64)
        per_run[np.arange(1, len(self.starts) + 1), self.states] = lengths
        before = np.cumsum(per_run, axis=0)  # before[i]: totals of the runs before run i
        at = np.clip(np.asarray(edges, np.int64), self.first, self.end)
        run = np.searchsorted(self.starts, at, "left")  # runs starting before each edge
        cumulative = before[np.maximum(run - 1, 0)].copy()
        inside = run > 0
        last = run[inside] - 1
        cumulative[np.flatnonzero(inside), self.states[last]] += at[inside] - self.starts[last]
        return cumulative

    def outages(self) -> Iterator[tuple[int, int | None]]:
        """[start, end) of each stretch from a BAD slice to the next GOOD one (None: not yet).

        Step 7's runs, except that a gap of NO_DATA or EXCLUDED does not end one: only a
        GOOD slice shows the component answering again.
        """
        start: int | None = None
        for head, state in zip(self.starts.tolist(), self.states.tolist(), strict=True):
            if state == BAD and start is None:
                start = head
            elif state == GOOD and start is not None:
                yield start, head
                start = None
        if start is not None:
            yield start, None
