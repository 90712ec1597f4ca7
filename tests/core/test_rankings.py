"""Recall ranks the pinned corpora exactly as tests/golden/recall_rankings.json says (how it is
made: tests/helpers/rankings.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.rankings import FIXTURE, corpora, rankings

CORPORA = corpora()


# Not traced for coverage (pytest-cov's no_cover): it recalls 300 questions three times over
# brains of up to 10K memories, on paths the other recall tests trace already, and tracing made
# it 1.6x as costly (47.4 s CPU instead of 28.9 s at load 12).
@pytest.mark.no_cover
@pytest.mark.parametrize("name", list(CORPORA))
def test_recall_reproduces_the_pinned_rankings(name: str, home: Path) -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))[name]
    got = rankings(CORPORA[name]())
    moved = [
        f"{phase} question {n}: top {want['top'][:4]}... became {have['top'][:4]}..."
        for phase, pins in expected.items()
        for n, (want, have) in enumerate(zip(pins, got[phase], strict=True))
        if want != have
    ]
    assert not moved, f"{len(moved)} rankings moved:\n" + "\n".join(moved[:20])
