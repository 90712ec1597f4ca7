"""Realistic memory texts for the performance benchmarks: what an agent and its user write.

Notes and conversation turns of 80-300 characters that name people, projects, components,
dates, versions, ports and tickets, built from the recall gold set's vocabulary
(benchmarks/goldset.py: its people, projects, components, problems and stacks), so the
benchmarks and the gold set speak of the same team. Seeded: the same texts on every machine.

    .venv/bin/python benchmarks/texts.py [COUNT]     # print COUNT samples and their lengths
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Callable

from goldset import ASPECTS, COMPONENTS, PROBLEMS, PROJECTS, WEEKDAYS, noise, people

MIN_CHARS = 80
MAX_CHARS = 300
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
REGIONS = ["eu-west-1", "us-east-2", "ap-south-1", "eu-central-1", "us-west-2"]


class _Writer:
    """One seeded source of sentences: each call picks a shape and fills it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.staff = people(rng)

    def person(self) -> tuple[str, str]:
        return self.rng.choice(self.staff)

    def date(self) -> str:
        rng = self.rng
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.choice([2025, 2026])
        shapes = [
            f"{year}-{month:02d}-{day:02d}",
            f"{day} {MONTHS[month - 1]}",
            f"{MONTHS[month - 1]} {year}",
            rng.choice(WEEKDAYS),
            rng.choice(["yesterday", "today", "tomorrow", "last week", "next sprint"]),
        ]
        return rng.choice(shapes)

    def version(self) -> str:
        rng = self.rng
        return f"v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"

    def ticket(self, project: str) -> str:
        return f"{project[:3].upper()}-{self.rng.randint(100, 9999)}"

    def stack(self, project: str) -> tuple[str, str]:
        aspect = self.rng.choice(list(ASPECTS))
        value = ASPECTS[aspect][(PROJECTS.index(project) + len(aspect)) % len(ASPECTS[aspect])]
        return aspect, value

    def sentence(self) -> str:
        rng = self.rng
        person, project = self.person()
        other, _ = self.person()
        component, problem = rng.choice(COMPONENTS), rng.choice(PROBLEMS)
        aspect, value = self.stack(project)
        first = person.split()[0]
        shapes: list[Callable[[], str]] = [
            lambda: (
                f"{person} moved the {project} {component} to {value} on {self.date()};"
                f" p95 latency went from {rng.randint(120, 900)} ms to {rng.randint(20, 110)} ms."
            ),
            lambda: (
                f"Decision ({self.date()}): the {project} team keeps {value} as its {aspect}"
                f" until {self.version()} ships, {first} owns the rollout."
            ),
            lambda: (
                f"Incident {self.ticket(project)}: the {component} was down for"
                f" {rng.randint(3, 240)} minutes in {rng.choice(REGIONS)} because of {problem}."
            ),
            lambda: (
                f"{person} said the {component} listens on port {rng.randint(1024, 9999)}"
                f" in staging and {rng.randint(1024, 9999)} in production."
            ),
            lambda: (
                f"TODO for {first}: upgrade the {component} to {self.version()} before"
                f" {self.date()} and rerun the load test at {rng.randint(2, 40)}k requests/s."
            ),
            lambda: (
                f"{person} and {other} paired on the {project} {component} for"
                f" {rng.randint(2, 9)} hours; the fix for {problem} is in {self.ticket(project)}."
            ),
            lambda: (
                f"Budget note: {project} spends about ${rng.randint(2, 90)},"
                f"{rng.randint(100, 999)} a month on {value}, {rng.randint(5, 60)}% of it"
                " on the staging cluster."
            ),
            lambda: (
                f"Retro {self.date()}: {project} shipped the {component} late because of"
                f" {problem}; {first} wants an alert at {rng.randint(60, 95)}% disk."
            ),
            lambda: (
                f"{person} prefers {value} over {rng.choice(ASPECTS[aspect])} for the"
                f" {aspect} of {project}: fewer moving parts, {rng.randint(2, 12)} fewer services."
            ),
            lambda: noise(rng, self.staff, rng.randint(1, 99_999)),
        ]
        return rng.choice(shapes)()

    def turn(self) -> str:
        """A conversation turn: the user asks, or the assistant answers, about the team's work."""
        rng = self.rng
        person, project = self.person()
        component = rng.choice(COMPONENTS)
        aspect, value = self.stack(project)
        shapes: list[Callable[[], str]] = [
            lambda: (
                f"User: can you check why the {project} {component} failed on {self.date()}?"
                f" {person.split()[0]} saw errors after deploy {self.version()}."
            ),
            lambda: (
                f"Assistant: the {component} of {project} uses {value} as its {aspect};"
                f" the config is in {project.lower()}/{component.replace(' ', '_')}.yaml,"
                f" owned by {person}."
            ),
            lambda: (
                f"User: remember that {person} is on call for {project} from {self.date()},"
                f" pager rotation {rng.randint(1, 12)}."
            ),
            lambda: (
                f"Assistant: I opened {self.ticket(project)} for the {component};"
                f" {rng.randint(2, 40)} tests fail with {rng.choice(PROBLEMS)}."
            ),
        ]
        return rng.choice(shapes)()

    def text(self) -> str:
        """A note or a turn of one to three sentences, between MIN_CHARS and MAX_CHARS."""
        target = self.rng.randint(MIN_CHARS, MAX_CHARS)
        make = self.turn if self.rng.random() < 0.35 else self.sentence
        text = make()
        while len(text) < target:
            more = f"{text} {self.sentence()}"
            if len(more) > MAX_CHARS:
                break
            text = more
        if len(text) < MIN_CHARS:
            text += f" Follow-up on {self.date()}."
        return text[:MAX_CHARS]


def memories(count: int, *, seed: int = 21) -> list[str]:
    """`count` distinct realistic memory texts (a repeat gets a ticket number, so a brain built
    from them holds `count` memories)."""
    writer = _Writer(random.Random(seed))
    texts: dict[str, None] = {}
    for n in range(count):
        text = writer.text()
        texts[text if text not in texts else f"{text[: MAX_CHARS - 14]} Ticket {n}."] = None
    return list(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("count", type=int, nargs="?", default=8, help="samples to print")
    args = parser.parse_args()
    texts = memories(max(args.count, 1000))
    for text in texts[: args.count]:
        print(f"{len(text):3d}  {text}")
    lengths = [len(text) for text in texts]
    print(
        f"of {len(texts):,}: {min(lengths)}-{max(lengths)} characters,"
        f" median {statistics.median(lengths):.0f}"
    )


if __name__ == "__main__":
    main()
