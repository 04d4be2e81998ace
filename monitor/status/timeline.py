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
        """Each stretch from a BAD slice to the next GOOD one (`outage_table`)."""
        return outages_of(outage_table([self])[0])

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


def outage_table(runs: Sequence[Runs]) -> list[np.ndarray]:
    """Each component's outages as rows (first, end, bad, good_after), `end` -1 while the
    component has not answered again: for all components in a few array operations.

    An outage runs from a BAD slice to the next GOOD one: step 7's runs, except that a
    gap of NO_DATA or EXCLUDED does not end one (only a GOOD slice shows the component
    answering again). `bad` counts its BAD slices, `good_after` the GOOD ones from its end
    to the next outage (or to the last slice known). Without the gaps, GOOD and BAD
    stretches alternate: each BAD one ends where the next (GOOD) one starts.
    """
    if not runs:
        return []
    joined = _Joined(runs)
    decisive = np.flatnonzero((joined.states == BAD) | (joined.states == GOOD))
    owner, state = joined.owner[decisive], joined.states[decisive]
    head = np.ones(len(decisive), bool)  # where a stretch of BAD or GOOD begins
    head[1:] = (state[1:] != state[:-1]) | (owner[1:] != owner[:-1])
    heads = decisive[head]
    head_owner = owner[head]
    bad = np.flatnonzero(joined.states[heads] == BAD)
    last = len(heads) - 1
    following = np.minimum(bad + 1, max(last, 0))
    answering = (bad + 1 <= last) & (head_owner[following] == head_owner[bad])
    bad_owner = head_owner[bad]
    after = joined.begins + joined.sizes  # each component's position after its last run
    first_at = heads[bad]
    end_at = np.where(answering, heads[following], after[bad_owner])
    ends = np.where(answering, joined.padded[end_at], -1)
    later = np.append(bad[1:], 0)[: len(bad)]  # the next outage, if of the same component
    same = np.append(bad_owner[1:] == bad_owner[:-1], False)[: len(bad)]
    next_at = np.where(same, heads[later], after[bad_owner])
    bad_before, good_before = joined.before(int(BAD)), joined.before(int(GOOD))
    table = np.stack(
        (
            joined.padded[first_at],
            ends,
            bad_before[end_at] - bad_before[first_at],
            np.where(answering, good_before[next_at] - good_before[end_at], 0),
        ),
        axis=1,
    )
    bounds = np.searchsorted(bad_owner, np.arange(1, len(runs)))
    return np.split(table, bounds)


def outages_of(table: np.ndarray) -> list[Outage]:
    return [
        Outage(first, end if end >= 0 else None, bad, good)
        for first, end, bad, good in table.tolist()
    ]


class _Joined:
    """Several components' runs side by side in one array (run order within each)."""

    def __init__(self, runs: Sequence[Runs]) -> None:
        self.sizes = np.array([len(one.starts) for one in runs], np.int64)
        self.begins = np.cumsum(self.sizes) - self.sizes  # each one's first run
        self.starts = np.concatenate([np.empty(0, np.int64), *(one.starts for one in runs)])
        self.states = np.concatenate([np.empty(0, np.int8), *(one.states for one in runs)])
        self.owner = np.repeat(np.arange(len(runs)), self.sizes)
        ends = np.array([one.end for one in runs], np.int64)
        following = np.append(self.starts[1:], 0)  # where each run ends: the next starts...
        filled = self.sizes > 0
        following[(self.begins + self.sizes - 1)[filled]] = ends[filled]  # ...or its slices end
        self.following = following
        self.padded = np.append(self.starts, 0)  # indexable at any position up to the end

    def before(self, state: int) -> np.ndarray:
        """Slices of `state` in the joined runs before each position (len + 1 counts)."""
        counts = np.where(self.states == state, self.following - self.starts, 0)
        return np.concatenate(([0], np.cumsum(counts)))


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
