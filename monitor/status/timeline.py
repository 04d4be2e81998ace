"""A component's slice states kept as runs, so a refresh re-evaluates only the recent tail.

Ninety days of one-minute slices are 129,600 states per component; their runs are a few
hundred. Counting slices of each state between any two slices is a binary search.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        heads = _heads(states)
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

    def outages(self) -> list[tuple[int, int | None]]:
        """[start, end) of each stretch from a BAD slice to the next GOOD one (None: not yet).

        Step 7's runs, except that a gap of NO_DATA or EXCLUDED does not end one: only a
        GOOD slice shows the component answering again. Without those gaps, GOOD and BAD
        stretches alternate: each BAD one ends where the next (GOOD) one starts.
        """
        decisive = (self.states == BAD) | (self.states == GOOD)
        starts, states = self.starts[decisive], self.states[decisive]
        heads = _heads(states)
        starts, states = starts[heads].tolist(), states[heads]
        return [
            (starts[i], starts[i + 1] if i + 1 < len(starts) else None)
            for i in np.flatnonzero(states == BAD).tolist()
        ]


def counts_before(runs: Sequence[Runs], edges: np.ndarray) -> np.ndarray:
    """(len(runs), len(edges), STATES): each one's slices of each state before each edge.

    Slices outside [first, end) are not counted: before the history or not ended yet.
    All components at once: their runs side by side in one array, each searched for
    the edges as (component, slice) keys, so a thousand components cost one search.
    """
    sizes = np.array([len(one.starts) for one in runs], np.int64)
    begins = np.cumsum(sizes) - sizes  # each one's first run in the joined arrays
    starts = np.concatenate([np.empty(0, np.int64), *(one.starts for one in runs)])
    states = np.concatenate([np.empty(0, np.int8), *(one.states for one in runs)])
    firsts = np.array([one.first for one in runs], np.int64)
    ends = np.array([one.end for one in runs], np.int64)
    owner = np.repeat(np.arange(len(runs)), sizes)
    following = np.append(starts[1:], 0)  # where each run ends: the next one starts...
    lasts = (begins + sizes - 1)[sizes > 0]
    following[lasts] = ends[sizes > 0]  # ...or its component's slices end
    per_run = np.zeros((len(starts) + 1, STATES), np.int64)
    per_run[np.arange(1, len(starts) + 1), states] = following - starts
    before = np.cumsum(per_run, axis=0)  # before[i]: totals of the joined runs before run i
    at = np.clip(np.asarray(edges, np.int64)[None, :], firsts[:, None], ends[:, None])
    origin = min(int(firsts.min(initial=0)), int(np.min(edges, initial=0)))
    span = int(max(ends.max(initial=0), np.max(edges, initial=0))) - origin + 1
    keys = owner * span + (starts - origin)  # increasing: by component, then slice
    found = np.searchsorted(keys, np.arange(len(runs))[:, None] * span + (at - origin), "left")
    counted = found - begins[:, None]  # runs of the component starting before each edge
    last = np.maximum(found - 1, 0)
    result = before[last] - before[begins][:, None, :]
    inside = counted > 0
    rows, columns = np.nonzero(inside)
    result[rows, columns, states[last[inside]]] += at[inside] - starts[last[inside]]
    result[~inside] = 0
    return result


def _heads(states: np.ndarray) -> np.ndarray:
    """Where each run of equal states begins."""
    changes = np.flatnonzero(states[1:] != states[:-1]) + 1
    return np.concatenate((np.zeros(min(len(states), 1), np.int64), changes))
