"""The renderer's caches hold nothing but what the uncached path would make."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support.status_snapshots import snapshots

from monitor.status.memo import SlotMemo
from monitor.status.site import SiteRenderer

rounds = st.lists(
    st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 3)), max_size=8), max_size=8
)


@given(rounds)
def test_a_slot_memo_gives_what_its_function_gives_and_keeps_only_the_last_round(rounds):
    calls = []

    def square(value: int) -> int:
        calls.append(value)
        return value * value

    memo: SlotMemo[str, int, int] = SlotMemo(square)
    last: dict[str, int] = {}
    for asked in rounds:
        memo.round()
        seen: dict[str, int] = {}
        for slot, value in asked:
            before = len(calls)
            assert memo.get(slot, value) == value * value
            # Computed only for an input that neither this round nor the last one gave it.
            known = {seen.get(slot), last.get(slot)} - {None}
            assert len(calls) == before + (value not in known)
            seen[slot] = value
        # What it keeps: the slots of this round and of the one before, nothing older.
        assert len(memo) <= len(set(seen) | set(last))
        last = seen
    assert memo.computed == len(calls)


@settings(max_examples=12, deadline=None)
@given(snapshots())
def test_a_long_lived_renderer_writes_what_a_fresh_one_writes(sequence):
    """Every memo of the renderer at once: a renderer that has seen the earlier snapshots
    (as `run`'s does) renders each one exactly as a new renderer (`status build`)."""
    warm = SiteRenderer()
    for snapshot in sequence:
        assert warm.files(snapshot) == SiteRenderer().files(snapshot)


@settings(max_examples=10, deadline=None)
@given(snapshots(length=3))
def test_a_snapshot_rendered_again_renders_nothing_again(sequence):
    renderer = SiteRenderer()
    for snapshot in sequence:
        renderer.files(snapshot)
    pages = renderer._pages
    memos = [
        getattr(pages, name) for name in vars(pages) if isinstance(getattr(pages, name), SlotMemo)
    ]
    before = [memo.computed for memo in memos]
    renderer.files(sequence[-1])
    assert [memo.computed for memo in memos] == before
