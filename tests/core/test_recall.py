"""Recall by association: spreading activation fused with BM25, reinforcement, rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralmemory.core import recall, spread
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.store import memories as sql

FALCON = [
    "Alice Moreno leads Project Falcon.",
    "Project Falcon streams its events through Kafka.",
    "Bob Okafor prefers tabs over spaces in Python code.",
    "The checkout outage was caused by connection pool exhaustion.",
    "Raising the pool size to 50 fixed the exhaustion on checkout.",
    "Weekly planning happens every Monday at 10:00.",
]


def fill(brain: Brain, texts: list[str] = FALCON) -> dict[str, str]:
    return {text: brain.remember(text).memory.id for text in texts}


def test_a_memory_is_found_through_a_shared_concept_the_query_does_not_contain(
    brain: Brain,
) -> None:
    ids = fill(brain)
    hits = brain.recall("What is Alice working on?", reinforce=False)
    found = [h.memory.id for h in hits]
    kafka = ids["Project Falcon streams its events through Kafka."]
    assert found[0] == ids["Alice Moreno leads Project Falcon."]
    assert kafka in found[:3]  # shares no word with the query: reached via "project falcon"
    hit = hits[found.index(kafka)]
    assert hit.via == "concept"
    assert hit.path[0] == "term:alice"
    assert hit.path[1] == f"memory:{ids['Alice Moreno leads Project Falcon.']}"
    assert hit.path[2].startswith("concept:")
    assert hit.memory.content is not None
    assert not {"alice", "working"} & set(hit.memory.content.lower().split())


def test_direct_matches_rank_first(brain: Brain) -> None:
    ids = fill(brain)
    hits = brain.recall("tabs or spaces?", reinforce=False)
    assert hits[0].memory.id == ids["Bob Okafor prefers tabs over spaces in Python code."]
    assert hits[0].via == "text"


def test_filters_limit_and_expiry(brain: Brain) -> None:
    brain.remember("Deploy the api with make deploy", tags=["ops"], type="workflow")
    brain.remember("Deploy freeze during the holidays", tags=["ops", "policy"])
    brain.remember("Deploy previews are on Netlify", tags=["web"])
    expired = brain.remember("Deploy is broken today", expires_days=1).memory
    brain.db.execute("UPDATE memories SET expires_at = 1 WHERE id = ?", (expired.id,))
    assert len(brain.recall("deploy", reinforce=False)) == 3
    assert len(brain.recall("deploy", limit=2, reinforce=False)) == 2
    assert {h.memory.tags[-1] for h in brain.recall("deploy", tags=["OPS"], reinforce=False)} == {
        "ops",
        "policy",
    }
    assert [h.memory.type for h in brain.recall("deploy", type="workflow", reinforce=False)] == [
        "workflow"
    ]


def test_expired_memories_ranked_first_leave_room_for_the_next_ones(brain: Brain) -> None:
    # Without filters recall reads `limit` rows per chunk: expired ones send it to the next.
    kept = brain.remember("Deploy previews are on Netlify").memory
    for n in range(3):
        gone = brain.remember(f"Deploy broken broken broken, outage number {n}").memory
        brain.db.execute("UPDATE memories SET expires_at = 1 WHERE id = ?", (gone.id,))
    assert [h.memory.id for h in brain.recall("broken deploy", limit=1, reinforce=False)] == [
        kept.id
    ]


def test_typed_relations_carry_activation(brain: Brain) -> None:
    ids = fill(brain)
    hits = brain.recall("outage", reinforce=False)
    assert hits[0].memory.id == ids["The checkout outage was caused by connection pool exhaustion."]


def test_recall_reinforces_what_it_returned(brain: Brain) -> None:
    ids = fill(brain)
    alice = ids["Alice Moreno leads Project Falcon."]
    before = brain.get(alice).strength
    for _ in range(3):
        brain.recall("Alice Moreno")
    after = brain.get(alice)
    assert after.access_count == 3 and after.strength > before
    activation = brain.changes.current("activation", alice)
    assert activation is not None and activation.pending
    assert activation.version.body["devices"][brain.device_id]["count"] == 3
    assert sql.counts(brain.db)["links"] >= 1  # the hop-2 path became a learned link


def test_reinforce_false_writes_nothing(brain: Brain) -> None:
    fill(brain)
    pending = brain.changes.pending_count()
    brain.recall("Alice", reinforce=False)
    assert brain.changes.pending_count() == pending


def test_rebuilding_from_memory_records_alone_gives_the_same_recall(
    brain: Brain, home: Path
) -> None:
    fill(brain)
    queries = ["Alice", "checkout outage", "pool size", "Monday planning", "Kafka events"]

    def results(target: Brain) -> list[list[tuple[str, float, str]]]:
        return [
            [(h.memory.id, round(h.score, 4), h.via) for h in target.recall(q, reinforce=False)]
            for q in queries
        ]

    expected = results(brain)
    assert brain.rebuild_index() == len(FALCON)
    assert results(brain) == expected

    # Another device that only received the memory records rebuilds the same graph.
    with open_brain("replica", create=True) as replica:
        for version in brain.changes.versions("memory"):
            replica.apply_remote(version)
        assert results(replica) == expected


def test_recall_work_is_bounded_whatever_the_brain_size(brain: Brain) -> None:
    """Candidates come from bounded pools, so a very common word cannot make recall linear."""
    with brain.db.transaction():
        for n in range(1500):
            brain.remember(f"Status update {n}: the service is healthy (ticket T{n}).")
    parsed = recall.build_query("service status", now_ms=0, seal=None)
    ranked = recall.rank(
        brain.db, parsed, links=lambda rids: [], strength=lambda rids: dict.fromkeys(rids, 0.5)
    )
    bound = recall.POOL + (recall.MAX_SEEDS + spread.MAX_BRIDGES) * recall.FAN_OUT
    assert len(ranked) <= bound < 1500


def test_recall_work_grows_sub_linearly_with_the_brain(
    brain: Brain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite work (VM steps) of one recall, at n and 4n memories that all hold the query's
    words: BM25 must not count or score every posting of a common word."""
    monkeypatch.setattr(recall, "POSTINGS", 100)  # the large-brain regime, at test size
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    def work() -> int:
        nonlocal steps
        brain.recall("service status", reinforce=False)  # warm: the same statements each time
        steps = 0
        brain.db.conn.set_progress_handler(count, 100)
        brain.recall("service status", reinforce=False)
        brain.db.conn.set_progress_handler(None, 0)
        return steps

    def grow(first: int, last: int) -> None:
        with brain.db.transaction():
            for n in range(first, last):
                brain.remember(f"Status update {n}: the service is healthy.")

    grow(0, 400)
    small = work()
    grow(400, 1600)
    assert work() < 2 * small  # linear would be 4 times the work


def test_a_note_about_the_asked_name_and_date_beats_its_look_alikes(brain: Brain) -> None:
    # The same weekly note about four projects over twelve weeks: only the project and the date
    # tell the answer from its neighbours, which used to climb above it on what it spread to them.
    notes = {
        (project, week): f"Weekly status, Project {project}, week of 2024-{month:02d}-{day:02d}: "
        f"{week + 3} tickets closed, the main risk is {risk}."
        for project, risk in [("Kestrel", "budget"), ("Marlin", "staffing"), ("Rook", "scope")]
        for week, (month, day) in enumerate([(m, d) for m in (1, 2, 3) for d in (1, 8, 15, 22)])
    }
    fill(brain, list(notes.values()))
    hits = brain.recall(
        "What was the main risk for Project Marlin in the week of 2024-02-15?", reinforce=False
    )
    assert hits[0].memory.content == notes[("Marlin", 6)]
    people = [f"{first} {last}" for first in ("Ana", "Ben", "Rosa") for last in ("Cho", "Tran")]
    daughters = {p: f"{p}'s daughter plays the {i}." for p, i in zip(people, "abcdef", strict=True)}
    fill(brain, list(daughters.values()))
    hits = brain.recall("What does Ben Tran's daughter play?", reinforce=False)
    assert hits[0].memory.content == daughters["Ben Tran"]


def test_when_questions_prefer_memories_that_name_a_time(brain: Brain) -> None:
    dated = brain.remember("Ana: We finally moved to Lisbon last Friday!").memory.id
    fill(
        brain,
        [
            "Ana: Moving to Lisbon was exhausting.",
            "Ana: Lisbon is lovely, but I miss my old neighbours.",
        ],
    )
    assert brain.recall("When did Ana move to Lisbon?", reinforce=False)[0].memory.id == dated
    asked = brain.recall("What does Ana miss in Lisbon?", reinforce=False)
    assert asked[0].memory.id != dated


ADOPTIONS = [  # what the others' brothers adopted, told by someone else than the brother's sibling
    ("Ana", "Rui", "parrot"),
    ("Ana", "Ivo", "tortoise"),
    ("Ben", "Sven", "greyhound"),
    ("Olga", "Piet", "kitten"),
    ("Kira", "Emil", "rabbit"),
    ("Leon", "Hugo", "beagle"),
    ("Erin", "Bram", "parrot"),
]


def test_of_look_alike_matches_the_one_naming_someone_spreads(home: Path) -> None:
    # Ana's turns match "Ana's brother" equally; only one names him, and only that name leads
    # to what he adopted (told by Rosa, who never names Ana, as others tell of other brothers).
    # Her other turns hold only words others say too, and a day (two turns a day say
    # "yesterday"): they tell nothing about the brother.
    clock = [1_709_899_200_000]  # 2024-03-08T12:00Z
    topics = ["pasta", "jazz", "chess", "tennis", "yoga", "curry", "poetry", "ramen"]
    with open_brain() as opened:
        brain = Brain(opened.name, opened.db, device_id="d-test", now=lambda: clock[0])
        for day, topic in enumerate(topics):
            clock[0] += 86_400_000 * (day % 2)
            brain.remember(f"Ana: My brother called me about the {topic} yesterday.")
            brain.remember(f"Ben: Olga called me about ticket {day} yesterday.")
        brain.remember("Ana: My brother Tiago lives near the old harbour.")
        for who, name, pet in ADOPTIONS:
            brain.remember(f"{who}: I saw {name} at the vet, he adopted a {pet}.")
        adopted = brain.remember("Rosa: I saw Tiago at the vet, he adopted a beagle.").memory.id
        hits = brain.recall("What did Ana's brother adopt?", reinforce=False)
        assert adopted in [h.memory.id for h in hits[:5]]


def chat(brain: Brain, link: str, mentions: int) -> str:
    """Ana's turns that match two of "Ana's brother adopt" (her brother's opinions, a neighbour's
    cat), the one tying her brother to `link`, `mentions` more turns naming `link`, others'
    adoptions and small talk, and the id of the turn that tells what the brother adopted."""
    topics = ["pasta", "jazz", "chess", "tennis", "yoga", "curry", "poetry", "ramen"]
    for topic in topics:
        brain.remember(f"Ana: My brother thinks {topic} is overrated.")
        brain.remember(f"Ana: A neighbour adopted a stray cat, it sleeps on the {topic}.")
        for who, _, _ in ADOPTIONS:
            for place in ("park", "lake", "beach"):
                brain.remember(f"{who}: The weather at the {place} was terrible for {topic}.")
    brain.remember(f"Ana: My brother {link} lives near the old harbour.")
    for n in range(mentions):
        brain.remember(f"Ben: {link} came over for dinner with {topics[n % len(topics)]}.")
    for who, name, pet in ADOPTIONS:
        brain.remember(f"{who}: I saw {name} at the vet, he adopted a {pet}.")
    return brain.remember(f"Rosa: I saw {link} at the vet, he adopted a beagle.").memory.id


def test_a_chain_through_a_rare_name_outranks_what_matches_more_words(brain: Brain) -> None:
    # Rosa's turn holds one of the question's words, Ana's turns two; but with the turn naming
    # Ana's brother it says all the question asks, through a name rarer than any of its words.
    adopted = chat(brain, "Tiago", 3)
    hits = brain.recall("What did Ana's brother adopt?", reinforce=False)
    assert hits[0].memory.id == adopted
    assert hits[0].via == "concept"
    assert hits[0].path[-1] == "concept:tiago"


def test_a_link_as_common_as_the_question_s_words_makes_no_chain(brain: Brain) -> None:
    # The same turns, but "Tiago" said as often as "adopt": it tells no more than the question.
    adopted = chat(brain, "Tiago", 20)
    hits = brain.recall("What did Ana's brother adopt?", reinforce=False)
    assert adopted != hits[0].memory.id


def test_since_and_until_keep_the_day_a_memory_names(home: Path) -> None:
    friday = 1_709_899_200_000  # 2024-03-08T12:00Z
    day = 86_400_000
    with open_brain() as opened:
        brain = Brain(opened.name, opened.db, device_id="d-test", now=lambda: friday)
        moved = brain.remember("Ana: We moved to Lisbon last Friday!").memory.id  # 2024-03-01
        said = brain.remember("Ana: Lisbon is lovely.").memory.id  # no day named: 2024-03-08

        def found(since: int | None, until: int | None) -> set[str]:
            hits = brain.recall("Ana Lisbon", since=since, until=until, reinforce=False)
            return {h.memory.id for h in hits}

        assert found(friday - 3 * day, None) == {said}
        assert found(None, friday - 3 * day) == {moved}
        assert found(friday - 8 * day, friday - 6 * day) == {moved}
