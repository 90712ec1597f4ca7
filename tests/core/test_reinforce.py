"""Counter merges: commutative, associative, idempotent — so re-syncing never double-counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from neuralmemory.core.reinforce import (
    Counters,
    activation,
    bump,
    link_id,
    merge_counters,
    totals,
)

entry = st.fixed_dictionaries({"count": st.integers(0, 10_000), "last": st.integers(0, 2**41)})
counters = st.dictionaries(st.sampled_from(["dev-a", "dev-b", "dev-c"]), entry, max_size=3)


@given(counters, counters)
def test_merge_is_commutative(a: Counters, b: Counters) -> None:
    assert merge_counters(a, b) == merge_counters(b, a)


@given(counters, counters, counters)
def test_merge_is_associative(a: Counters, b: Counters, c: Counters) -> None:
    assert merge_counters(merge_counters(a, b), c) == merge_counters(a, merge_counters(b, c))


@given(counters, counters)
def test_merge_is_idempotent(a: Counters, b: Counters) -> None:
    once = merge_counters(a, b)
    assert merge_counters(once, b) == once
    assert merge_counters(once, once) == once


def test_two_devices_recalling_the_same_memory_add_up_once() -> None:
    a = bump(bump({}, "dev-a", 10), "dev-a", 20)
    b = bump({}, "dev-b", 15)
    merged = merge_counters(a, b)
    assert totals(merged) == (3, 20)
    assert totals(merge_counters(merged, a)) == (3, 20)  # a re-sync counts nothing twice


def test_strength_grows_with_use_and_decays_with_time() -> None:
    day = 86_400_000
    assert activation(0, 0, 0) == 0.5
    assert activation(5, 0, 0) > activation(1, 0, 0) > activation(0, 0, 0)
    assert activation(5, 0, 60 * day) < activation(5, 0, day)
    assert activation(0, 0, 10_000 * day) >= 0.25


def test_link_id_is_symmetric() -> None:
    assert link_id("m-a", "m-b") == link_id("m-b", "m-a")
    assert link_id("m-a", "m-b").startswith("l-")
