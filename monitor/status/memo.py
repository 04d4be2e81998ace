"""The status renderer's one kind of cache: the last output of a pure function, per slot.

A refresh of a large page renders the same HTML as the last one for almost everything (a
thousand components, thousands of incidents). `SlotMemo` keeps, for each slot (a
component's id, an incident's id, a month), the last input it was given and what the
function made of it, and makes it again only when the input changed.

- Keyed from the data: the input IS the key, compared with `==`. The builder hands the
  same frozen objects for things that did not change, so the comparison is mostly an
  identity check in C; anything the function reads must be part of the input.
- Never changed while Jinja renders: the renderer asks its memos for every piece first
  and renders the page templates from the finished pieces afterwards.
- Bounded: `round()` starts a new generation; only the slots asked for since the last
  round survive it, so a memo holds what one snapshot shows, never more. A memo asked
  only for the parts that changed is pruned with `retain()` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Slot = TypeVar("Slot", bound=Hashable)
In = TypeVar("In")
Out = TypeVar("Out")


class SlotMemo(Generic[Slot, In, Out]):
    """`get(slot, input)` equals `function(input)`; computed once per change of input."""

    def __init__(self, function: Callable[[In], Out]) -> None:
        self._function = function
        self._kept: dict[Slot, tuple[In, Out]] = {}  # the last round's
        self._fresh: dict[Slot, tuple[In, Out]] = {}  # this round's
        self.computed = 0  # calls of `function`, for tests and profiles

    def get(self, slot: Slot, value: In) -> Out:
        entry = self._fresh.get(slot)
        if entry is None or entry[0] != value:
            entry = self._kept.get(slot)
            if entry is None or entry[0] != value:
                self.computed += 1
                entry = (value, self._function(value))
        self._fresh[slot] = entry
        return entry[1]

    def round(self) -> None:
        """Start a new snapshot: slots not asked for since the last round are dropped."""
        self._kept, self._fresh = self._fresh, {}

    def retain(self, keep: Callable[[Slot], bool]) -> None:
        """For a memo asked only for what changed (so rounds would forget the rest): keep
        the entries of the slots `keep` accepts, whichever round they are from."""
        entries = {**self._kept, **self._fresh}
        self._kept = {slot: entry for slot, entry in entries.items() if keep(slot)}
        self._fresh = {}

    def __len__(self) -> int:
        return len(self._kept.keys() | self._fresh.keys())
