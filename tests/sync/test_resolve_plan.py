"""Table tests for the pure parts of sync: resolve, plan, merkle, batching."""

from __future__ import annotations

from typing import Any

import pytest

from neuralmemory import config
from neuralmemory.clock import MAX_CLOCK_SKEW_MS
from neuralmemory.config import STRATEGIES
from neuralmemory.protocol import EMPTY_DIGEST, Limits, Version, bucket_of, item_digest
from neuralmemory.sync import merkle, resolve
from neuralmemory.sync.batching import ENVELOPE_BYTES, plan_batches
from neuralmemory.sync.plan import DOWNGRADE, REMOTE_DELETE, Local, plan_incoming, plan_restore


def v(
    id: str = "m1",
    *,
    ms: int = 1_700_000_000_000,
    dev: str = "dev-a",
    parent: str | None = None,
    body: dict[str, Any] | None = None,
    deleted: bool = False,
    strength: int = 0,
    kind: str = "memory",
) -> Version:
    return Version.create(
        kind=kind,
        id=id,
        hlc=f"{ms:013d}-0000-{dev}",
        device_id=dev,
        parent=parent,
        deleted=deleted,
        strength=strength,
        body={"content": "x"} if body is None and not deleted else body,
    )


BASE = v(body={"content": "base"})
LOCAL = v(
    ms=1_700_000_000_500, dev="dev-a", parent=BASE.vhash, body={"content": "local"}, strength=100
)
REMOTE = v(
    ms=1_700_000_000_900, dev="dev-b", parent=BASE.vhash, body={"content": "remote"}, strength=900
)


@pytest.mark.parametrize(
    ("strategy", "keep", "loser"),
    [
        ("prefer_recent", "remote", LOCAL),
        ("prefer_local", "local", REMOTE),
        ("prefer_remote", "remote", LOCAL),
        ("prefer_stronger", "remote", LOCAL),
    ],
)
def test_each_strategy_on_a_real_edit_conflict(strategy: str, keep: str, loser: Version) -> None:
    outcome = resolve.resolve(LOCAL, REMOTE, strategy)
    assert outcome.keep == keep
    assert outcome.loser == loser
    winner = LOCAL if keep == "local" else REMOTE
    assert outcome.body == winner.body


def test_a_stamp_beyond_the_skew_bound_never_beats_a_believable_one() -> None:
    """A version stamped by a clock far ahead (stored by a hub older than the skew rule, or
    pulled before it) loses to an edit made now, whichever side it is on; the device with the
    right clock wins on both devices, so they agree."""
    now = 1_700_000_001_000
    runaway = v(ms=now + MAX_CLOCK_SKEW_MS + 1, dev="dev-z", parent=BASE.vhash, body={"c": "z"})
    edit = v(ms=now, dev="dev-a", parent=BASE.vhash, body={"c": "now"})
    for strategy in ("prefer_recent", "prefer_stronger"):
        assert resolve.resolve(edit, runaway, strategy, now).keep == "local"
        assert resolve.resolve(runaway, edit, strategy, now).keep == "remote"
    plan = plan_incoming(
        [runaway], {("memory", "m1"): Local(edit, pending=True)}, "prefer_recent", now
    )
    assert plan.rewrite and plan.rewrite[0].body == edit.body
    # Stored (not pending): the hub held ours once and moved on (plan.py); the runaway stamp
    # orders nothing, so nothing is asked (a hub would refuse such a stamp).
    stored = plan_incoming([runaway], {("memory", "m1"): Local(edit, pending=False)}, "x", now)
    assert stored.apply == [runaway] and not stored.requeue and not stored.rewrite


def test_prefer_recent_uses_the_stamp_and_stronger_ties_by_stamp() -> None:
    newer_local = v(ms=1_700_000_009_000, parent=BASE.vhash, body={"content": "late"})
    assert resolve.resolve(newer_local, REMOTE, "prefer_recent").keep == "local"
    tied = v(ms=1_700_000_009_000, parent=BASE.vhash, body={"content": "tie"}, strength=900)
    assert resolve.resolve(tied, REMOTE, "prefer_stronger").keep == "local"
    weaker = v(ms=1_700_000_009_000, parent=BASE.vhash, body={"content": "w"}, strength=899)
    assert resolve.resolve(weaker, REMOTE, "prefer_stronger").keep == "remote"


def test_edit_against_delete_is_a_conflict_and_the_loser_is_kept() -> None:
    tombstone = v(ms=1_700_000_000_100, dev="dev-b", parent=BASE.vhash, deleted=True)
    outcome = resolve.resolve(LOCAL, tombstone, "prefer_recent")
    assert outcome.keep == "local" and outcome.loser == tombstone


def test_identical_substance_is_not_a_conflict() -> None:
    twin = v(ms=1_700_000_000_700, dev="dev-b", parent=BASE.vhash, body={"content": "local"})
    outcome = resolve.resolve(LOCAL, twin, "prefer_local")
    assert outcome.loser is None


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown conflict strategy"):
        resolve.resolve(LOCAL, REMOTE, "prefer_luck")


def test_every_strategy_name_has_its_rule_and_every_rule_a_name() -> None:
    """The names are listed once (config.STRATEGIES, what the CLI, MCP and config.toml accept);
    resolve maps each to the function of that name, and has no rule nobody can choose."""
    assert tuple(resolve.STRATEGIES) == config.STRATEGIES
    assert all(rule.__name__ == name for name, rule in resolve.STRATEGIES.items())
    assert {rule.__name__ for rule in resolve._RULES.values()} == set(config.STRATEGIES)
    assert config.Config().conflict_strategy == config.DEFAULT_STRATEGY == "prefer_recent"


def counters(**devices: tuple[int, int]) -> dict[str, Any]:
    per_device = {d: {"count": c, "last": t} for d, (c, t) in devices.items()}
    return {"memory": "m1", "devices": per_device}


@pytest.mark.parametrize("strategy", sorted(resolve.STRATEGIES))
def test_counters_merge_by_per_device_max_never_a_conflict(strategy: str) -> None:
    a = v("m1", kind="activation", body=counters(a=(3, 30), b=(1, 10)), strength=10)
    b = v("m1", kind="activation", dev="dev-b", body=counters(a=(2, 20), b=(5, 50)), strength=20)
    outcome = resolve.resolve(a, b, strategy)
    assert outcome.loser is None
    assert outcome.body == counters(a=(3, 30), b=(5, 50))
    # idempotent and commutative: re-merging never double-counts
    assert resolve.merge_counters(outcome.body, b.body) == outcome.body
    assert resolve.merge_counters(b.body, a.body) == outcome.body


def test_conflict_copies_never_conflict_and_a_retired_copy_stays_retired() -> None:
    copy_body = resolve.conflict_body(LOCAL, REMOTE.vhash, "prefer_recent")
    live = v("cf-1", kind="conflict", body=copy_body)
    retired = v("cf-1", kind="conflict", dev="dev-b", ms=1_600_000_000_000, deleted=True)
    assert resolve.resolve(live, retired, "prefer_local").deleted is True
    assert resolve.resolve(retired, live, "prefer_remote").deleted is True
    assert resolve.loser_of(live) == LOCAL


def test_conflict_id_depends_on_the_loser_only() -> None:
    assert resolve.conflict_id(LOCAL) == resolve.conflict_id(LOCAL)
    assert resolve.conflict_id(LOCAL) != resolve.conflict_id(REMOTE)


# ---------------------------------------------------------------- plan


def key(version: Version) -> tuple[str, str]:
    return (version.kind, version.id)


def test_plan_applies_new_records_and_descendants() -> None:
    child = v(ms=1_700_000_001_000, dev="dev-b", parent=BASE.vhash, body={"content": "c"})
    other = v("m2")
    plan = plan_incoming([child, other], {key(BASE): Local(BASE, pending=False)}, "prefer_recent")
    assert plan.apply == [child, other] and not plan.copies and not plan.rewrite


def test_plan_acknowledges_a_pending_version_the_hub_already_has() -> None:
    plan = plan_incoming([LOCAL], {key(LOCAL): Local(LOCAL, pending=True)}, "prefer_recent")
    assert plan.acknowledged == [LOCAL] and not plan.apply


def test_plan_keeps_a_pending_fast_forward() -> None:
    plan = plan_incoming([BASE], {key(LOCAL): Local(LOCAL, pending=True)}, "prefer_recent")
    assert plan.is_empty() and plan.unchanged == 1


def test_plan_applies_a_descendant_of_a_pushed_version_whose_reply_was_lost() -> None:
    later = v(ms=1_700_000_002_000, dev="dev-b", parent=LOCAL.vhash, body={"content": "later"})
    plan = plan_incoming([later], {key(LOCAL): Local(LOCAL, pending=True)}, "prefer_recent")
    assert plan.apply == [later] and not plan.copies


@pytest.mark.parametrize(
    ("strategy", "winner", "loser"),
    [("prefer_recent", REMOTE, LOCAL), ("prefer_local", LOCAL, REMOTE)],
)
def test_plan_turns_a_real_conflict_into_a_winner_and_a_copy(
    strategy: str, winner: Version, loser: Version
) -> None:
    plan = plan_incoming([REMOTE], {key(LOCAL): Local(LOCAL, pending=True)}, strategy)
    assert plan.conflicts == 1
    (copy,) = plan.copies
    assert copy.loser == loser and copy.id == resolve.conflict_id(loser)
    if winner is REMOTE:
        assert plan.apply == [REMOTE] and not plan.rewrite
    else:
        (rewrite,) = plan.rewrite
        assert rewrite.base == REMOTE and rewrite.body == LOCAL.body


def test_plan_merges_counters_on_top_of_the_hub_version() -> None:
    mine = v("m1", kind="activation", body=counters(a=(3, 30)), parent=None)
    theirs = v("m1", kind="activation", dev="dev-b", body=counters(b=(1, 10)))
    plan = plan_incoming([theirs], {key(mine): Local(mine, pending=True)}, "prefer_remote")
    assert not plan.copies
    (rewrite,) = plan.rewrite
    assert rewrite.base == theirs
    assert rewrite.body == counters(a=(3, 30), b=(1, 10))


def test_plan_counters_already_included_are_just_applied() -> None:
    mine = v("m1", kind="activation", body=counters(a=(3, 30)))
    theirs = v("m1", kind="activation", dev="dev-b", body=counters(a=(3, 30), b=(1, 1)))
    plan = plan_incoming([theirs], {key(mine): Local(mine, pending=True)}, "prefer_recent")
    assert plan.apply == [theirs] and not plan.rewrite


# A stored version and the hub's two edits past it, written by a device whose clock ran two days
# behind: it never adopted OURS's stamp (more than 24 h ahead of its clock), so its edits carry
# smaller stamps than the version they descend from.
OURS_MS = 1_700_000_000_000 + 2 * 24 * 3_600_000
OURS = v(ms=OURS_MS, dev="dev-a", body={"content": "Tuesday"})
BEHIND_1 = v(ms=1_700_000_000_000, dev="dev-b", parent=OURS.vhash, body={"content": "Wednesday"})
BEHIND_2 = v(ms=1_700_000_000_100, dev="dev-b", parent=BEHIND_1.vhash, body={"content": "Thursday"})


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_plan_never_writes_a_stored_version_back_over_a_descendant_with_a_smaller_stamp(
    strategy: str,
) -> None:
    """The bad case: 'the newer stamp wins' wrote Tuesday back over Thursday, with no copy. Ours
    is marked pending so the push asks the hub, and the hub's `superseded` settles it."""
    now = OURS_MS + 1_000
    stored = {key(OURS): Local(OURS, pending=False)}
    plan = plan_incoming([BEHIND_2], stored, strategy, now)
    assert plan.requeue == [OURS]
    assert not plan.rewrite and not plan.apply and not plan.copies
    # the push: the hub holds Thursday on top of ours -> Thursday, with no copy
    asked = {key(OURS): Local(OURS, pending=True)}
    answered = plan_incoming([BEHIND_2], asked, strategy, now, superseded={OURS.vhash})
    assert answered.apply == [BEHIND_2] and not answered.rewrite and not answered.copies


def test_plan_takes_a_hub_version_with_a_newer_stamp_over_a_stored_one() -> None:
    """The hub moved on (two edits, so not a child): nothing to ask."""
    newer = v(ms=1_700_000_005_000, dev="dev-b", parent="v1:" + "3" * 64, body={"content": "n"})
    plan = plan_incoming([newer], {key(LOCAL): Local(LOCAL, pending=False)}, "prefer_local")
    assert plan.apply == [newer] and not plan.rewrite and not plan.requeue


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_plan_repushes_a_stored_version_over_one_this_device_replaced(strategy: str) -> None:
    """The hub went back (restored from a backup): it holds a version this device held before
    its own (`held`, from the local history). Ours goes back on top, whatever the stamps say and
    whatever the strategy, with no copy."""
    local = {key(BEHIND_2): Local(BEHIND_2, pending=False)}
    plan = plan_incoming([OURS], local, strategy, held={OURS.vhash})
    (rewrite,) = plan.rewrite
    assert rewrite.base == OURS and rewrite.body == BEHIND_2.body
    assert not plan.apply and not plan.copies and not plan.requeue


def test_plan_asks_the_hub_about_an_older_version_it_never_held_here() -> None:
    """An older hub version this device never held: the hub went back, or a clock behind wrote
    a descendant. Only the hub can tell."""
    plan = plan_incoming([BASE], {key(LOCAL): Local(LOCAL, pending=False)}, "prefer_remote")
    assert plan.requeue == [LOCAL] and not plan.rewrite and not plan.apply


def test_plan_merges_stored_counters_whatever_the_stamps() -> None:
    """Counters need no ancestry: a descendant stamped two days behind keeps its counts."""
    ours = v("m1", kind="activation", ms=OURS_MS, body=counters(a=(3, 30)))
    theirs = v(
        "m1",
        kind="activation",
        dev="dev-b",
        parent="v1:" + "4" * 64,
        body=counters(a=(3, 30), b=(7, 70)),
    )
    plan = plan_incoming([theirs], {key(ours): Local(ours, pending=False)}, "prefer_local")
    assert plan.apply == [theirs] and not plan.rewrite and not plan.requeue and not plan.copies


def test_plan_keeps_a_retired_conflict_copy_retired_whatever_the_stamps() -> None:
    live = v("cf-1", kind="conflict", ms=OURS_MS, body={"x": 1})
    retired = v("cf-1", kind="conflict", dev="dev-b", parent="v1:" + "5" * 64, deleted=True)
    plan = plan_incoming([retired], {key(live): Local(live, pending=False)}, "prefer_local")
    assert plan.apply == [retired] and not plan.rewrite and not plan.requeue


def test_plan_applies_another_brains_version_over_a_stored_one_for_the_push_to_settle() -> None:
    """Merging a split (`foreign`): the other brain's history is not this one's, so stamps say
    nothing about it -- it may be an ancestor of ours (what a device that moved here pushed
    before it edited) or a concurrent edit. It is applied and pushed: this brain's hub, which
    holds a descendant of ours, answers `superseded` or a conflict the strategy decides."""
    for remote in (BASE, REMOTE):
        local = {key(LOCAL): Local(LOCAL, pending=False)}
        plan = plan_incoming([remote], local, "prefer_recent", foreign=True)
        assert plan.apply == [remote] and not plan.copies and not plan.rewrite


@pytest.mark.parametrize("runaway_side", ["ours", "theirs"])
def test_plan_takes_the_hubs_version_over_a_stored_one_when_a_stamp_is_runaway(
    runaway_side: str,
) -> None:
    """A stamp beyond the skew bound orders nothing, and asking the hub would mean pushing it
    (refused) or stamping ours again -- a new edit, which would beat the hub's under
    prefer_recent and bring a replaced version back (found by the reliability model with clocks
    a year ahead). The hub's version is applied, as a hub that lost nothing always holds a
    descendant of a version it once held."""
    now = 1_700_000_010_000
    far = now + 2 * MAX_CLOCK_SKEW_MS
    ours = v(ms=far if runaway_side == "ours" else now, dev="dev-a", body={"content": "ours"})
    theirs = v(
        ms=now - 5_000 if runaway_side == "ours" else far,
        dev="dev-b",
        parent="v1:" + "2" * 64,
        body={"content": "theirs"},
    )
    plan = plan_incoming([theirs], {key(ours): Local(ours, pending=False)}, "prefer_local", now)
    assert plan.apply == [theirs] and not plan.requeue and not plan.rewrite and not plan.copies


# A restored backup: LOCAL is pending again, but the hub took it long ago and moved on twice.
EDITED = v(ms=1_700_000_003_000, dev="dev-b", parent=LOCAL.vhash, body={"content": "edited"})
NEWEST = v(ms=1_700_000_004_000, dev="dev-b", parent=EDITED.vhash, body={"content": "newest"})
GONE = v(ms=1_700_000_004_000, dev="dev-b", parent=EDITED.vhash, deleted=True)
GONE_HERE = v(ms=1_700_000_004_000, dev="dev-b", parent=LOCAL.vhash, deleted=True)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_plan_takes_the_hubs_version_over_a_superseded_one_under_every_strategy(
    strategy: str,
) -> None:
    local = {key(LOCAL): Local(LOCAL, pending=True)}
    plan = plan_incoming([NEWEST], local, strategy, superseded={LOCAL.vhash})
    assert plan.apply == [NEWEST] and not plan.rewrite and not plan.copies
    # without the hub's word it is a rival edit, as before (a hub from before history)
    assert plan_incoming([NEWEST], local, strategy).conflicts == 1


def test_plan_leaves_a_pending_memory_for_the_push_to_settle_when_deferring() -> None:
    local = {key(LOCAL): Local(LOCAL, pending=True)}
    plan = plan_incoming([NEWEST], local, "prefer_local", defer=True)
    assert plan.is_empty() and plan.unchanged == 1
    mine = v("m1", kind="activation", body=counters(a=(3, 30)))
    theirs = v("m1", kind="activation", dev="dev-b", body=counters(b=(1, 10)))
    merged = plan_incoming([theirs], {key(mine): Local(mine, pending=True)}, "x", defer=True)
    assert len(merged.rewrite) == 1  # counters merge at once: no copy to get wrong


def test_plan_decides_a_pending_runaway_memory_at_once_even_when_deferring() -> None:
    """Every hub refused it, so it is no hub's ancestor: there is nothing to ask, and it must
    meet the hub's version as older before the push stamps it again."""
    now = 1_700_000_000_000
    runaway = v(ms=now + 2 * MAX_CLOCK_SKEW_MS, dev="dev-a", parent=BASE.vhash, body={"c": "r"})
    local = {key(runaway): Local(runaway, pending=True)}
    plan = plan_incoming([REMOTE], local, "prefer_recent", now, defer=True)
    assert plan.apply == [REMOTE] and [c.loser for c in plan.copies] == [runaway]


@pytest.mark.parametrize(
    ("pending", "gone"),
    [(False, GONE), (False, GONE_HERE), (True, GONE_HERE)],
    ids=["stored, an edit deleted", "stored, ours deleted", "superseded, ours deleted"],
)
def test_plan_keeps_this_devices_version_when_a_remote_delete_replaces_it(
    pending: bool, gone: Version
) -> None:
    local = {key(LOCAL): Local(LOCAL, pending=pending)}
    superseded = {LOCAL.vhash} if pending else set()
    plan = plan_incoming([gone], local, "prefer_remote", me="dev-a", superseded=superseded)
    assert plan.apply == [gone]
    (copy,) = plan.copies
    assert copy.loser == LOCAL and copy.body["strategy"] == REMOTE_DELETE
    # another device's version, or this one's without knowing who it is: no copy
    assert not plan_incoming([gone], local, "x", me="dev-b", superseded=superseded).copies
    assert not plan_incoming([gone], local, "x", superseded=superseded).copies


def test_a_superseded_version_of_ours_is_not_kept_when_a_later_one_was_deleted() -> None:
    """The hub holds a descendant of our pending LOCAL (`superseded`: a restored backup) and the
    delete replaced a later version (EDITED; or ours rewritten after a conflict it won, which
    the device that wrote it keeps): keeping LOCAL too would keep one write twice."""
    local = {key(LOCAL): Local(LOCAL, pending=True)}
    plan = plan_incoming([GONE], local, "prefer_local", me="dev-a", superseded={LOCAL.vhash})
    assert plan.apply == [GONE] and not plan.copies and not plan.rewrite


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_plan_puts_our_later_write_on_top_of_our_own_earlier_one(strategy: str) -> None:
    """Ours replaced LOCAL here while LOCAL was pending (a lost push reply, a restored backup):
    the hub's LOCAL has our pending version's parent and our device. Ours wins whatever the
    strategy; LOCAL is kept as a copy (a clone of the folder on another machine writes as the
    same device). When ours says the same, LOCAL is ours already: applied, not written again."""
    forgot = v(ms=1_700_000_007_000, dev="dev-a", parent=BASE.vhash, deleted=True)
    plan = plan_incoming([LOCAL], {key(forgot): Local(forgot, True)}, strategy, me="dev-a")
    (rewrite,) = plan.rewrite
    assert rewrite.base == LOCAL and rewrite.deleted and not plan.apply
    (copy,) = plan.copies
    assert copy.loser == LOCAL
    again = v(ms=1_700_000_007_000, dev="dev-a", parent=BASE.vhash, body=LOCAL.body)
    plan = plan_incoming([LOCAL], {key(again): Local(again, True)}, strategy, me="dev-a")
    assert plan.apply == [LOCAL] and not plan.rewrite and not plan.copies


def test_plan_never_applies_a_plaintext_downgrade_as_a_local_write() -> None:
    sealed = v(body={"ciphertext": "gAAAA", "encrypted": True}, parent=BASE.vhash)
    plain = v(ms=1_700_000_009_000, dev="dev-x", parent=sealed.vhash, body={"content": "curl"})
    for pending in (True, False):
        local = {key(sealed): Local(sealed, pending=pending)}
        plan = plan_incoming([plain], local, "prefer_local", me="dev-a")
        assert plan.apply == [plain] and not plan.rewrite  # stored: the brain quarantines it
        (copy,) = plan.copies
        assert copy.loser == sealed and copy.body["strategy"] == DOWNGRADE
    mine = v(ms=1_700_000_009_000, dev="dev-a", parent=sealed.vhash, body={"content": "mine"})
    assert not plan_incoming([mine], {key(sealed): Local(sealed, False)}, "x", me="dev-a").copies


def test_plan_restore_swaps_the_loser_back_and_keeps_the_displaced_version() -> None:
    copy = v("cf-1", kind="conflict", body=resolve.conflict_body(LOCAL, REMOTE.vhash, "x"))
    plan = plan_restore(copy, REMOTE)
    restored, retired = plan.rewrite
    assert (restored.kind, restored.id, restored.body) == ("memory", "m1", LOCAL.body)
    assert restored.base is None
    assert (retired.kind, retired.deleted) == ("conflict", True)
    (kept,) = plan.copies
    assert kept.loser == REMOTE


# ---------------------------------------------------------------- merkle


def test_merkle_exchanges_only_what_differs() -> None:
    local = {("memory", "a"): "v1:a", ("memory", "b"): "v1:b", ("memory", "c"): "v1:c"}
    hub = {("memory", "a"): "v1:a", ("memory", "b"): "v1:B", ("memory", "d"): "v1:d"}
    exchange = merkle.plan_exchange(local, hub)
    assert exchange.fetch == [("memory", "b"), ("memory", "d")]
    assert exchange.push == [("memory", "c")]


def test_differing_buckets_and_root_without() -> None:
    a = [EMPTY_DIGEST] * 256
    b = list(a)
    item = item_digest("memory", "m1", BASE.vhash)
    b[bucket_of("memory", "m1")] = item
    assert merkle.differing_buckets(a, b) == [bucket_of("memory", "m1")]
    assert merkle.root_without(item, [("memory", "m1", BASE.vhash)]) == EMPTY_DIGEST
    with pytest.raises(ValueError):
        merkle.differing_buckets(a, b[:3])


# ---------------------------------------------------------------- batching

LIMITS = Limits(max_body_bytes=ENVELOPE_BYTES + 1000, max_records_per_push=3, max_record_bytes=600)


@pytest.mark.parametrize(
    ("sizes", "batches", "quarantined"),
    [
        ([], [], []),
        ([100, 100, 100, 100], [[0, 1, 2], [3]], []),  # record count limit
        ([400, 400, 400], [[0, 1], [2]], []),  # byte limit: 802 + 401 > 1000
        ([100, 700, 100], [[0, 2]], [1]),  # too large: quarantined, never blocks the rest
        ([599, 599], [[0], [1]], []),
    ],
)
def test_batches_fit_the_hub_limits(
    sizes: list[int], batches: list[list[int]], quarantined: list[int]
) -> None:
    result = plan_batches(list(enumerate(sizes)), LIMITS)
    assert result.batches == batches
    assert [k for k, _ in result.quarantined] == quarantined
    for batch in result.batches:
        assert sum(sizes[i] + 1 for i in batch) <= LIMITS.max_body_bytes - ENVELOPE_BYTES


def test_quarantine_reason_names_the_limit() -> None:
    (item,) = plan_batches([("big", 10_000)], LIMITS).quarantined
    assert item == ("big", "record is 10,000 bytes; the hub accepts at most 600 bytes per record")
