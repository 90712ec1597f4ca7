from __future__ import annotations

import pytest

from neuralmemory.clock import MAX_CLOCK_SKEW_MS, HybridClock, Stamp


def test_stamps_grow_even_when_the_wall_clock_goes_back() -> None:
    times = iter([1_000, 1_000, 900, 2_000])
    clock = HybridClock("dev-a", now=lambda: next(times))
    stamps = [clock.tick() for _ in range(4)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 4
    assert [str(s) for s in stamps] == sorted(str(s) for s in stamps)


def test_observe_moves_past_a_remote_stamp() -> None:
    clock = HybridClock("dev-a", now=lambda: 1_000)
    remote = Stamp(5_000, 7, "dev-b")
    clock.observe(str(remote))
    assert clock.tick() > remote


def test_a_stamp_beyond_the_skew_bound_is_not_adopted() -> None:
    now = 1_700_000_000_000
    clock = HybridClock("dev-a", now=lambda: now)
    assert clock.observe(Stamp(now + MAX_CLOCK_SKEW_MS, 3, "dev-b"))  # at the bound: adopted
    assert clock.tick() == Stamp(now + MAX_CLOCK_SKEW_MS, 4, "dev-a")
    fresh = HybridClock("dev-a", now=lambda: now)
    assert not fresh.observe("9999999999999-ffff-dev-x")
    assert not fresh.observe(Stamp(now + MAX_CLOCK_SKEW_MS + 1, 0, "dev-b"))
    assert [fresh.tick() for _ in range(2)] == [Stamp(now, 0, "dev-a"), Stamp(now, 1, "dev-a")]


def test_a_clock_that_ran_ahead_follows_the_wall_clock_again() -> None:
    times = iter([5_000_000_000_000, 1_700_000_000_000, 1_700_000_000_000])
    clock = HybridClock("dev-a", now=lambda: next(times))
    clock.tick()  # the wall clock was a century ahead, then set right
    assert clock.tick() == Stamp(1_700_000_000_000, 0, "dev-a")
    assert clock.tick() == Stamp(1_700_000_000_000, 1, "dev-a")


def test_counter_overflow_borrows_the_next_millisecond() -> None:
    clock = HybridClock("dev-a", last=Stamp(1_000, 0xFFFF, "dev-a"), now=lambda: 1_000)
    assert clock.tick() == Stamp(1_001, 0, "dev-a")


def test_parse_round_trips() -> None:
    stamp = Stamp(1_732_460_000_000, 0xAB, "dev-x.y")
    assert Stamp.parse(str(stamp)) == stamp


def test_parse_refuses_non_ascii_digits() -> None:
    with pytest.raises(ValueError):
        Stamp.parse("\u0661" * 13 + "-0000-dev-a")
