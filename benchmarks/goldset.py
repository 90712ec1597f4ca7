"""A seeded, deterministic synthetic gold set for recall quality (and realistic benchmark text).

A team's memories across projects and people:
  * facts: "Project Falcon uses Kafka as its message broker." (8 projects x 8 aspects)
  * people: "Dana Whitfield leads the Falcon project." (bridges a person to a project)
  * noise: stand-ups, bugs, reviews, plans, mentioning the same people, projects and aspects.
Questions:
  * 1 hop: "Which message broker does Project Falcon use?" -- shares words with its answer.
  * 2 hops: "Which message broker does Dana Whitfield's team use?" -- the answer never names
    Dana; it is linked to the question only through the project Dana leads.
Same seed, same memories and questions, on every machine.

Two more sets build on this one: benchmarks/lookalikes.py (the same notes about many people and
project weeks) and benchmarks/dialogues.py (multi-session conversations, one memory per turn),
each with a tuning and a held-out half; benchmarks/recall_quality.py scores all three.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PROJECTS = ["Falcon", "Orion", "Heron", "Lynx", "Atlas", "Nimbus", "Quartz", "Juniper"]
ASPECTS = {
    "message broker": [
        "Kafka",
        "RabbitMQ",
        "NATS",
        "Pulsar",
        "SQS",
        "Redpanda",
        "ZeroMQ",
        "Kinesis",
    ],
    "primary database": [
        "PostgreSQL",
        "MySQL",
        "MongoDB",
        "CockroachDB",
        "DynamoDB",
        "SQLite",
        "Cassandra",
        "MariaDB",
    ],
    "deployment platform": [
        "Kubernetes",
        "Nomad",
        "Heroku",
        "Fly.io",
        "ECS",
        "Lambda",
        "Cloud Run",
        "bare metal",
    ],
    "CI system": [
        "GitHub Actions",
        "GitLab CI",
        "Jenkins",
        "CircleCI",
        "Buildkite",
        "Drone",
        "TeamCity",
        "Travis",
    ],
    "monitoring stack": [
        "Prometheus",
        "Datadog",
        "Grafana Cloud",
        "New Relic",
        "Honeycomb",
        "Zabbix",
        "Sentry",
        "Splunk",
    ],
    "cache layer": [
        "Redis",
        "Memcached",
        "Varnish",
        "Hazelcast",
        "Dragonfly",
        "KeyDB",
        "Ehcache",
        "Caffeine",
    ],
    "frontend framework": [
        "React",
        "Vue",
        "Svelte",
        "Angular",
        "SolidJS",
        "Ember",
        "Preact",
        "Lit",
    ],
    "payment provider": [
        "Stripe",
        "Adyen",
        "Braintree",
        "PayPal",
        "Mollie",
        "Square",
        "Checkout.com",
        "Klarna",
    ],
}
FIRST = [
    "Dana",
    "Ravi",
    "Mei",
    "Tomas",
    "Aisha",
    "Lars",
    "Priya",
    "Kenji",
    "Sofia",
    "Omar",
    "Elena",
    "Jonas",
    "Fatima",
    "Hugo",
    "Ingrid",
    "Mateo",
    "Yuki",
    "Chloe",
    "Nikolai",
    "Zara",
]
LAST = [
    "Whitfield",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castellano",
    "Nakamura",
    "Brennan",
    "Haddad",
    "Kowalski",
    "Ferreira",
    "Novak",
    "Achterberg",
    "Delacroix",
    "Mbeki",
    "Ostrova",
    "Quintero",
    "Sorensen",
    "Tanaka",
    "Valdez",
    "Yilmaz",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
COMPONENTS = [
    "login page",
    "billing service",
    "search API",
    "checkout flow",
    "admin console",
    "mobile app",
    "data pipeline",
    "notification worker",
    "report exporter",
    "auth proxy",
]
PROBLEMS = [
    "a memory leak",
    "slow queries",
    "a race condition",
    "an expired certificate",
    "a flaky test",
    "disk pressure",
    "a DNS misconfiguration",
    "a bad feature flag",
]
NOISE = [
    "{person} reviewed the {component} pull request for the {project} project.",
    "{person} is out of office on {weekday}; ping someone else about the {component}.",
    "The {aspect} dashboards looked noisy during the {weekday} standup.",
    "Incident {n}: the {component} was down for {minutes} minutes because of {problem}.",
    "Meeting notes: compared {aspect} options for next quarter, no decision yet.",
    "{person} wants better docs for the {component} before the {weekday} demo.",
    "Retro: the {project} team shipped the {component} late because of {problem}.",
    "TODO: upgrade the {component} dependencies and rerun the load tests.",
    "Reminder: the {aspect} migration guide lives in the wiki under runbooks.",
    "{person} paired with {other} on the {component} for most of {weekday}.",
    "Customer feedback says the {component} feels slow on older phones.",
    "The {project} roadmap review moved to {weekday} afternoon.",
]


@dataclass(frozen=True)
class Question:
    text: str
    answer: str  # the gold memory's text
    hops: int


@dataclass(frozen=True)
class GoldSet:
    memories: list[str]
    questions: list[Question]


def people(rng: random.Random) -> list[tuple[str, str]]:
    """(person, project): every person leads or works on exactly one project."""
    names = [f"{first} {last}" for first in FIRST for last in LAST]
    rng.shuffle(names)
    return [(name, PROJECTS[i % len(PROJECTS)]) for i, name in enumerate(names[:48])]


def noise(rng: random.Random, staff: list[tuple[str, str]], n: int) -> str:
    person, project = rng.choice(staff)
    other, _ = rng.choice(staff)
    return rng.choice(NOISE).format(
        person=person,
        other=other,
        project=project,  # people are mentioned with their own project, as in real notes
        component=rng.choice(COMPONENTS),
        weekday=rng.choice(WEEKDAYS),
        aspect=rng.choice(list(ASPECTS)),
        problem=rng.choice(PROBLEMS),
        minutes=rng.randint(3, 240),
        n=n,
    )


def build(size: int, *, seed: int = 7) -> GoldSet:
    rng = random.Random(seed)
    staff = people(rng)
    facts: dict[tuple[str, str], str] = {}
    for p_index, project in enumerate(PROJECTS):
        for aspect, values in ASPECTS.items():
            value = values[(p_index + len(aspect)) % len(values)]
            facts[(project, aspect)] = f"The {project} project uses {value} as its {aspect}."
    roles = ["leads", "is the tech lead of", "runs"]
    bridges = {
        person: f"{person} {rng.choice(roles)} the {project} team." for person, project in staff
    }
    memories = list(facts.values()) + list(bridges.values())
    n = 0
    while len(memories) < size:
        n += 1
        memories.append(noise(rng, staff, n))
    memories = list(dict.fromkeys(memories))[:size]
    rng.shuffle(memories)

    questions = []
    for (project, aspect), answer in sorted(facts.items()):
        questions.append(Question(f"Which {aspect} does the {project} project use?", answer, 1))
    for person, project in sorted(staff)[:40]:
        aspect = rng.choice(list(ASPECTS))
        questions.append(
            Question(f"Which {aspect} does {person}'s team use?", facts[(project, aspect)], 2)
        )
    return GoldSet(memories, questions)


def realistic_text(count: int, *, seed: int = 11) -> list[str]:
    """`count` distinct realistic memory texts (for the performance benchmark).

    The templates repeat after a few thousand texts and remember keeps one memory per text, so a
    repeat gets a ticket number: a brain built from `count` texts then really holds `count`
    memories, with the same word frequencies as the templates.
    """
    rng = random.Random(seed)
    staff = people(rng)
    texts: dict[str, None] = {}
    for n in range(count):
        text = noise(rng, staff, n)
        texts[text if text not in texts else f"{text} Ticket {n}."] = None
    return list(texts)
