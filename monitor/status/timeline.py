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

    def after(self, cut: int) -> Runs:
        """Only the slices from `cut` on (the history's start moves on with time)."""
        cut = min(max(cut, self.first), self.end)
        if cut == self.first:
            return self
        head = max(int(np.searchsorted(self.starts, cut, "right")) - 1, 0)
        starts = self.starts[head:].copy()  # a copy: the old arrays are let go
        if len(starts):
            starts[0] = cut
        return Runs(cut, self.end, starts, self.states[head:].copy())

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts, append=self.end)

    def _before(self, state: int) -> np.ndarray:
        """Slices of `state` before each run, then in all: len(runs) + 1 counts."""
        counts = np.where(self.states == state, self.lengths(), 0)
        return np.concatenate(([0], np.cumsum(counts)))

    def outages(self) -> list[Outage]:
        """Each stretch from a BAD slice to the next GOOD one, with its BAD slices and the
        GOOD slices after it (to the next outage, or to the last slice known).

        Step 7's runs, except that a gap of NO_DATA or EXCLUDED does not end one: only a
        GOOD slice shows the component answering again. Without those gaps, GOOD and BAD
        stretches alternate: each BAD one ends where the next (GOOD) one starts.
        """
        decisive = (self.states == BAD) | (self.states == GOOD)
        starts, states = self.starts[decisive], self.states[decisive]
        heads = _heads(states)
        starts, states = starts[heads], states[heads]
        bad = np.flatnonzero(states == BAD)
        if len(bad) == 0:
            return []
        firsts = starts[bad]
        ends = np.append(starts, self.end)[bad + 1]  # the GOOD stretch after, or the end
        answering = bad + 1 < len(starts)
        nexts = np.append(firsts[1:], self.end)
        position = np.searchsorted  # outage edges are run starts (or the end)
        bad_before, good_before = self._before(int(BAD)), self._before(int(GOOD))
        runs_at = [position(np.append(self.starts, self.end), at) for at in (firsts, ends, nexts)]
        bad_slices = bad_before[runs_at[1]] - bad_before[runs_at[0]]
        good_after = good_before[runs_at[2]] - good_before[runs_at[1]]
        return [
            Outage(first, end if answering_again else None, slices, good)
            for first, end, answering_again, slices, good in zip(
                firsts.tolist(),
                ends.tolist(),
                answering.tolist(),
                bad_slices.tolist(),
                good_after.tolist(),
                strict=True,
            )
        ]

    def nth(self, state: int, start: int, n: int) -> int | None:
        """The slice of the n-th (from 1) slice of `state` at or after `start`; None when
        fewer have ended."""
        before = self._before(state)
        if len(self.starts) == 0 or start >= self.end:
            return None
        at = max(int(np.searchsorted(self.starts, start, "right")) - 1, 0)
        base = int(before[at])
        if self.states[at] == state:
            base += max(start - int(self.starts[at]), 0)
        target = base + n
        if target > before[-1]:
            return None
        run = int(np.searchsorted(before, target, "left")) - 1
        return int(self.starts[run]) + target - int(before[run]) - 1

    def codes_over(self, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """The states of the runs overlapping any of these [first, end) spans (the scope
        codes of an incident's outages)."""
        ends = np.append(self.starts[1:], self.end)
        found = [np.empty(0, np.int8)]
        for first, end in spans:
            low = int(np.searchsorted(ends, first, "right"))
            high = int(np.searchsorted(self.starts, end, "left"))
            found.append(self.states[low:high])
        return np.concatenate(found)


@dataclass(frozen=True)
class Outage:
    """A component failing: from a BAD slice to the next GOOD one (`Runs.outages`)."""

    first: int  # its first BAD slice
    end: int | None  # the first GOOD slice after it; None: not answering again yet
    bad: int  # BAD slices in it
    good_after: int  # GOOD slices from `end` to the next outage or the last slice known


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
