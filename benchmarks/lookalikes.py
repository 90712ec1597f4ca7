"""Look-alike notes for the gold set (benchmarks/goldset.py): the same templates about many people
and projects, so that a question's answer has hundreds of neighbours differing only in a name,
a value or a date.

  person notes:  "Ana Cho's daughter plays the cello."    x 400 people per half, 6 templates
  project notes: "Weekly status, Project Kestrel, week of 2024-03-04: ..."    x 10 projects, weeks

Everything comes in two halves with disjoint templates, names and projects: TUNING, which recall
was tuned on, and HELD_OUT, scored only at the end (a guard against tuning to this generator).
Questions of a half ask about that half's people and projects; the brain holds both halves.
Seeded: same memories and questions on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from goldset import Question, noise, people

TUNING, HELD_OUT = "tuning", "held-out"
HALVES = (TUNING, HELD_OUT)
FIRST = {
    TUNING: [
        "Ana",
        "Ben",
        "Carla",
        "Diego",
        "Erin",
        "Felix",
        "Greta",
        "Hamid",
        "Irene",
        "Jakob",
        "Kira",
        "Leon",
        "Marta",
        "Nils",
        "Olga",
        "Pavel",
        "Rosa",
        "Samir",
        "Tara",
        "Umar",
    ],
    HELD_OUT: [
        "Bianca",
        "Caleb",
        "Dmitri",
        "Esme",
        "Farah",
        "Gideon",
        "Hana",
        "Idris",
        "Jade",
        "Kofi",
        "Lena",
        "Milo",
        "Nadia",
        "Oskar",
        "Petra",
        "Rafael",
        "Selma",
        "Theo",
        "Vera",
        "Wanda",
    ],
}
LAST = {
    TUNING: [
        "Abbott",
        "Barros",
        "Cho",
        "Dubois",
        "Eriksen",
        "Fontaine",
        "Gallo",
        "Horvat",
        "Ivanova",
        "Jensen",
        "Klein",
        "Lopes",
        "Marsh",
        "Nagy",
        "Ortiz",
        "Petrov",
        "Quinn",
        "Rossi",
        "Silva",
        "Tran",
    ],
    HELD_OUT: [
        "Alvarez",
        "Bauer",
        "Costa",
        "Dahl",
        "Engel",
        "Falk",
        "Gomez",
        "Holm",
        "Iqbal",
        "Juarez",
        "Kaur",
        "Lund",
        "Moretti",
        "Nilsen",
        "Olsen",
        "Park",
        "Reyes",
        "Stone",
        "Varga",
        "Weber",
    ],
}
PROJECTS = {
    TUNING: [
        "Kestrel",
        "Marlin",
        "Sparrow",
        "Tundra",
        "Comet",
        "Basalt",
        "Willow",
        "Zephyr",
        "Onyx",
        "Rook",
    ],
    HELD_OUT: [
        "Harbor",
        "Cobalt",
        "Meadow",
        "Pylon",
        "Saffron",
        "Glacier",
        "Ember",
        "Vortex",
        "Larch",
        "Tern",
    ],
}
# (memory template, question template, values): {p} a person, {v} the value.
PERSON_NOTES = {
    TUNING: [
        (
            "{p} prefers {v} stand-ups.",
            "What kind of stand-ups does {p} prefer?",
            ["async", "morning", "short", "walking", "written", "video"],
        ),
        (
            "{p}'s daughter plays the {v}.",
            "What does {p}'s daughter play?",
            ["violin", "cello", "piano", "flute", "drums", "harp", "trumpet"],
        ),
        (
            "{p} is allergic to {v}.",
            "What is {p} allergic to?",
            ["peanuts", "shellfish", "pollen", "cats", "penicillin", "latex"],
        ),
        (
            "{p} drives a {v} to the office.",
            "What does {p} drive to the office?",
            ["red Volvo", "grey Tesla", "blue Fiat", "white Skoda", "green Mini", "black Audi"],
        ),
        (
            "{p}'s favourite lunch spot is the {v}.",
            "Where is {p}'s favourite lunch spot?",
            ["ramen bar", "taco truck", "falafel stand", "noodle house", "salad place", "deli"],
        ),
        (
            "{p} mentors the {v} interns this year.",
            "Which interns does {p} mentor?",
            ["backend", "frontend", "design", "data", "security", "mobile"],
        ),
    ],
    HELD_OUT: [
        (
            "{p} keeps a {v} on the desk.",
            "What does {p} keep on the desk?",
            ["cactus", "bonsai", "rubber duck", "lava lamp", "snow globe", "fern"],
        ),
        (
            "{p}'s son is learning {v} after school.",
            "What is {p}'s son learning after school?",
            ["chess", "judo", "Mandarin", "robotics", "swimming", "guitar"],
        ),
        (
            "{p} commutes by {v} most days.",
            "How does {p} commute?",
            ["bike", "ferry", "tram", "scooter", "train", "bus"],
        ),
        (
            "{p} is training for the {v} marathon.",
            "Which marathon is {p} training for?",
            ["Berlin", "Boston", "Chicago", "Tokyo", "London", "Valencia"],
        ),
        (
            "{p} speaks {v} with the family at home.",
            "Which language does {p} speak at home?",
            ["Portuguese", "Polish", "Korean", "Greek", "Turkish", "Dutch"],
        ),
        (
            "{p} owns the {v} runbook for on-call.",
            "Which on-call runbook does {p} own?",
            ["database failover", "DNS", "certificate renewal", "queue backlog", "CDN purge"],
        ),
    ],
}
# (memory template, question template, values): {j} a project, {d} a Monday, {n} a number.
PROJECT_NOTES = {
    TUNING: (
        "Weekly status, Project {j}, week of {d}: {n} tickets closed, the main risk is {v}.",
        "What was the main risk for Project {j} in the week of {d}?",
        ["vendor delays", "staffing", "flaky CI", "scope creep", "a data migration", "budget"],
    ),
    HELD_OUT: (
        "{j} sprint review on {d}: the demo showed {v}, velocity {n} points.",
        "What did the {j} demo show at the sprint review on {d}?",
        ["the new onboarding", "offline mode", "bulk export", "dark mode", "SSO", "audit logs"],
    ),
}
FIRST_MONDAY = date(2023, 1, 2)
WEEKS = 156  # three years of weekly notes per project
PERSONS_PER_HALF = 400
PERSON_QUESTIONS = 48  # per half
PROJECT_QUESTIONS = 16  # per half


@dataclass(frozen=True)
class Halves:
    """One question set per half, and the memories answering them."""

    questions: dict[str, list[Question]]
    answers: list[str]


def staff(half: str) -> list[str]:
    names = [f"{first} {last}" for first in FIRST[half] for last in LAST[half]]
    random.Random(f"staff-{half}").shuffle(names)
    return names[:PERSONS_PER_HALF]


def _person_value(person: str, template: int, half: str) -> str:
    values = PERSON_NOTES[half][template][2]
    return values[random.Random(f"{half}-{person}-{template}").randrange(len(values))]


def person_note(person: str, template: int, half: str) -> str:
    return PERSON_NOTES[half][template][0].format(p=person, v=_person_value(person, template, half))


def project_note(project: str, week: int, half: str) -> str:
    rng = random.Random(f"{half}-{project}-{week}")
    text, _, values = PROJECT_NOTES[half]
    monday = FIRST_MONDAY + timedelta(weeks=week)
    return text.format(j=project, d=monday.isoformat(), n=rng.randint(3, 60), v=rng.choice(values))


def questions() -> Halves:
    """Per half, PERSON_QUESTIONS about people and PROJECT_QUESTIONS about project weeks."""
    asked: dict[str, list[Question]] = {}
    for half in HALVES:
        rng = random.Random(f"questions-{half}")
        found = []
        for person in rng.sample(staff(half), PERSON_QUESTIONS):
            template = rng.randrange(len(PERSON_NOTES[half]))
            ask = PERSON_NOTES[half][template][1].format(p=person)
            found.append(Question(ask, person_note(person, template, half), 1))
        for _ in range(PROJECT_QUESTIONS):
            project, week = rng.choice(PROJECTS[half]), rng.randrange(WEEKS)
            monday = (FIRST_MONDAY + timedelta(weeks=week)).isoformat()
            ask = PROJECT_NOTES[half][1].format(j=project, d=monday)
            found.append(Question(ask, project_note(project, week, half), 1))
        asked[half] = found
    answers = list(dict.fromkeys(q.answer for half in HALVES for q in asked[half]))
    return Halves(asked, answers)


def neighbours(seed: int = 3) -> Iterator[str]:
    """Endless look-alike notes of both halves in a seeded order: every person's every note and
    every project's every week first (in random order), then nothing new (the caller stops)."""
    notes = [
        person_note(person, template, half)
        for half in HALVES
        for person in staff(half)
        for template in range(len(PERSON_NOTES[half]))
    ]
    notes += [
        project_note(project, week, half)
        for half in HALVES
        for project in PROJECTS[half]
        for week in range(WEEKS)
    ]
    random.Random(seed).shuffle(notes)
    yield from notes


def filler(count: int, *, seed: int = 17) -> list[str]:
    """`count` distinct notes of the gold set's noise (goldset.noise: its people and projects,
    none of the look-alikes'); a repeat gets a ticket number, as in goldset.realistic_text."""
    rng = random.Random(seed)
    team = people(rng)
    texts: dict[str, None] = {}
    n = 0
    while len(texts) < count:
        n += 1
        text = noise(rng, team, n)
        texts[text if text not in texts else f"{text} Ticket {n}."] = None
    return list(texts)


def corpus(size: int, asked: Halves, *, alike: bool) -> list[str]:
    """`size` memories: the answers, then (with `alike`) look-alikes up to half of `size`, then
    filler; shuffled."""
    memories = list(asked.answers)
    if alike:
        answers = set(memories)
        for note in neighbours():
            if len(memories) >= size // 2:
                break
            if note not in answers:
                memories.append(note)
    memories += filler(size - len(memories))
    random.Random(size).shuffle(memories)
    return memories
