"""Every query word counts at any brain size (issue #19, "no silent cliff").

Recall bounds the postings it reads, so a word held by a large share of the brain cannot make it
linear. These tests check that the bound costs no quality: in a brain of generated team notes
where "billing" is in a third of them and "Kafka" in a few percent, the memories holding both
words rank first, as FTS5 BM25 ranks them, whether one word or both are over the budget.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator

import pytest

from helpers.untraced import untraced
from neuralmemory.core import recall
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.core.extract import extract, stem
from neuralmemory.store import memories as sql

NOTES = 7_000
COMPONENTS = ["billing"] * 7 + [
    "search",
    "checkout",
    "login",
    "reporting",
    "notification",
    "export",
    "admin",
    "mobile",
    "auth",
    "pipeline",
    "invoicing",
    "analytics",
    "ingest",
    "scheduler",
]
TECH = ["Kafka"] * 2 + [
    "Redis",
    "Postgres",
    "Elasticsearch",
    "S3",
    "RabbitMQ",
    "Nginx",
    "Terraform",
    "Grafana",
    "Sentry",
    "Celery",
    "Spark",
    "Airflow",
    "Consul",
    "Vault",
    "Envoy",
]
PEOPLE = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
PROBLEMS = ["a memory leak", "slow queries", "a race condition", "disk pressure", "consumer lag"]
TEMPLATES = [
    "{p} looked into {problem} in the {c} service; the {t} metrics looked fine.",
    "Moved the {c} consumer to {t} and reran the load tests.",
    "{p}: the {c} alerts fired again on {day} because of {problem}.",
    "Standup: {p} is pairing on the {c} service with {q}.",
    "Cost review: {t} spend for the {c} team went up this month.",
    "{p} upgraded {t} on the {c} cluster, ticket {n}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def notes(count: int, seed: int = 3) -> list[str]:
    """`count` distinct notes; "billing" in a third of them, "Kafka" in about one in twenty."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    n = 0
    while len(found) < count:
        n += 1
        found[
            rng.choice(TEMPLATES).format(
                p=rng.choice(PEOPLE),
                q=rng.choice(PEOPLE),
                c=rng.choice(COMPONENTS),
                t=rng.choice(TECH),
                problem=rng.choice(PROBLEMS),
                day=rng.choice(DAYS),
                n=n,
            )
        ] = None
    return list(found)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Brain]:
    """One brain of NOTES generated notes, shared by this module's tests (read-only recalls)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NMEM_HOME", str(tmp_path_factory.mktemp("team") / "home"))
        with open_brain() as brain:
            with untraced(), brain.db.transaction():  # the recalls below are what is traced
                for text in notes(NOTES):
                    brain.remember(text)
            yield brain


def holding_all(texts: list[str], words: list[str]) -> int:
    """How many of the texts hold every one of the words (whole words, any case)."""
    return sum(set(words) <= set(re.findall(r"\w+", text.lower())) for text in texts)


def top(brain: Brain, query: str) -> list[str]:
    return [h.memory.content or "" for h in brain.recall(query, limit=10, reinforce=False)]


def test_the_generated_brain_puts_a_common_word_over_the_budget(team: Brain) -> None:
    billing, kafka = stem("billing"), stem("kafka")  # their neuron keys: bill, kafka
    df = {n.key: n.df for n in sql.neurons_by_key(team.db, [billing, kafka])}
    assert df[kafka] < recall.POSTINGS < df[billing]  # the regime of the cliff
    assert 100 < holding_all(notes(NOTES), ["kafka", "billing"]) < 200


def bm25_top(texts: list[str], query: str) -> list[str]:
    """Plain FTS5 BM25 over the same texts and query words: the ranking to match."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    conn.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", enumerate(texts, 1))
    words = list(dict.fromkeys(extract(query, now_ms=0).words))
    match = recall.fts_expression(words)
    rows = conn.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (match,))
    return [texts[rid - 1] for (rid,) in rows]


# 150: "Kafka" (445 memories) is over the budget too, as every word is in a big enough brain.
@pytest.mark.parametrize("postings", [recall.POSTINGS, 150])
@pytest.mark.parametrize(
    ("query", "expected"),
    [("Kafka billing", 10), ("billing Kafka consumer", 10), ("Ana Kafka billing service", 2)],
)
def test_memories_holding_every_query_word_come_first(
    team: Brain, postings: int, query: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As many of the top ten hold every query word as in FTS5 BM25's top ten (`expected`)."""
    monkeypatch.setattr(recall, "POSTINGS", postings)
    words = query.lower().split()
    assert holding_all(bm25_top(notes(NOTES), query), words) == expected
    assert holding_all(top(team, query), words) >= expected


@pytest.mark.parametrize("postings", [recall.POSTINGS, 150])
def test_rare_words_select_and_common_ones_refine(
    team: Brain, postings: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person and a tech with two common words: every hit is about the person and the tech."""
    monkeypatch.setattr(recall, "POSTINGS", postings)
    assert holding_all(top(team, "Ana Kafka billing service"), ["ana", "kafka"]) == 10
